"""Load fine-tuned weights: fa_core checkpoints and finetune-anything's `model.pth`.

finetune-anything saves `model.state_dict()` of its SemanticSam. Because that model registers
SAM's parts several times (ori_sam.*, the adapters' sam_* attributes, a MaskDecoder base class
and an unused neck upscaling), its state dict holds each shared tensor under several names. Our
model registers each tensor once, under the name finetune-anything's forward pass actually uses,
so migrating is selecting those keys (with ori_sam.* as a fallback spelling).
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, Mapping

import torch
from torch import nn

from fa_core.errors import CheckpointError
from fa_core.weights_io import load_weights_file

# Our key prefix -> the other prefixes finetune-anything stores the same tensors under.
FA_ALIASES = {
    "img_adapter.sam_img_encoder.": ("ori_sam.image_encoder.",),
    "prompt_adapter.sam_prompt_encoder.": ("ori_sam.prompt_encoder.",),
}
DDP_PREFIX = "module."


def read_weights(path: str) -> Dict[str, torch.Tensor]:
    """The model state dict stored in `path`: an fa_core checkpoint or a plain (FA) state dict."""
    file = Path(path)
    payload = load_weights_file(file)
    if isinstance(payload, Mapping) and isinstance(payload.get("model"), Mapping):
        payload = payload["model"]
    if not isinstance(payload, Mapping):
        raise CheckpointError(f"checkpoint '{file}' holds a {type(payload).__name__}, not a state dict")
    return {_strip_ddp(key): value for key, value in payload.items()}


def _strip_ddp(key: str) -> str:
    return key[len(DDP_PREFIX) :] if key.startswith(DDP_PREFIX) else key


def select_model_keys(state_dict: Mapping[str, torch.Tensor], model: nn.Module, source: str) -> Dict[str, torch.Tensor]:
    """Map `state_dict` (ours or finetune-anything's) onto `model`'s keys; raise on gaps or shape mismatches."""
    selected, missing, mismatched = {}, [], []
    for key, expected in model.state_dict().items():
        value = _lookup(state_dict, key)
        if value is None:
            missing.append(key)
        elif value.shape != expected.shape:
            mismatched.append(f"{key} {tuple(value.shape)} vs model {tuple(expected.shape)}")
        else:
            selected[key] = value
    if missing or mismatched:
        problems = [f"{len(missing)} missing tensors (e.g. {', '.join(missing[:3])})"] if missing else []
        if mismatched:
            problems.append(f"{len(mismatched)} with other shapes (e.g. {'; '.join(mismatched[:3])})")
        raise CheckpointError(
            f"checkpoint '{source}' does not fit the configured model: {', '.join(problems)}; "
            "check model.sam_name, model.params.model_type and model.params.class_num"
        )
    return selected


def _lookup(state_dict: Mapping[str, torch.Tensor], key: str):
    if key in state_dict:
        return state_dict[key]
    for prefix, aliases in FA_ALIASES.items():
        if key.startswith(prefix):
            for alias in aliases:
                candidate = alias + key[len(prefix) :]
                if candidate in state_dict:
                    return state_dict[candidate]
    return None


def load_model_weights(model: nn.Module, path: str) -> None:
    """Load fine-tuned weights from an fa_core checkpoint or a finetune-anything model.pth."""
    model.load_state_dict(select_model_keys(read_weights(path), model, path))
