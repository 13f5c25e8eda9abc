"""Build SAM models from the segment-anything package, loading Meta's checkpoints safely.

The real model types (vit_b, vit_l, vit_h, and `default` = vit_h) come from
`segment_anything.sam_model_registry`; `vit_tiny` is a scaled-down SAM made of the same
`segment_anything.modeling` classes, with random weights unless a checkpoint is given. It exists
so that the demo and the tests run on a CPU in minutes.
"""

from __future__ import annotations

import logging
from functools import partial
from pathlib import Path
from typing import Optional

import torch
from segment_anything import sam_model_registry
from segment_anything.modeling import ImageEncoderViT, MaskDecoder, PromptEncoder, Sam, TwoWayTransformer

from fa_core.errors import CheckpointError, ConfigError
from fa_core.weights_io import load_weights_file

logger = logging.getLogger(__name__)

META_MODEL_TYPES = ("vit_b", "vit_l", "vit_h", "default")
MODEL_TYPES = META_MODEL_TYPES + ("vit_tiny",)
META_INPUT_SIZE = 1024
META_CHECKPOINT_URLS = {
    "vit_b": "https://dl.fbaipublicfiles.com/segment_anything/sam_vit_b_01ec64.pth",
    "vit_l": "https://dl.fbaipublicfiles.com/segment_anything/sam_vit_l_0b3195.pth",
    "vit_h": "https://dl.fbaipublicfiles.com/segment_anything/sam_vit_h_4b8939.pth",
    "default": "https://dl.fbaipublicfiles.com/segment_anything/sam_vit_h_4b8939.pth",
}
SAM_PATCH_SIZE = 16


def build_sam_vit_tiny(image_size: int = 256) -> Sam:
    """A ~2.5M-parameter SAM: 4 ViT blocks of width 192, a 128-wide prompt encoder and decoder."""
    if image_size % SAM_PATCH_SIZE:
        raise ConfigError(f"train.model.params.image_size: {image_size} is not a multiple of {SAM_PATCH_SIZE}")
    prompt_embed_dim = 128
    embedding_size = image_size // SAM_PATCH_SIZE
    return Sam(
        image_encoder=ImageEncoderViT(
            depth=4,
            embed_dim=192,
            img_size=image_size,
            mlp_ratio=4,
            norm_layer=partial(torch.nn.LayerNorm, eps=1e-6),
            num_heads=4,
            patch_size=SAM_PATCH_SIZE,
            qkv_bias=True,
            use_rel_pos=True,
            global_attn_indexes=(1, 3),
            window_size=8,
            out_chans=prompt_embed_dim,
        ),
        prompt_encoder=PromptEncoder(
            embed_dim=prompt_embed_dim,
            image_embedding_size=(embedding_size, embedding_size),
            input_image_size=(image_size, image_size),
            mask_in_chans=16,
        ),
        mask_decoder=MaskDecoder(
            num_multimask_outputs=3,
            transformer=TwoWayTransformer(depth=2, embedding_dim=prompt_embed_dim, mlp_dim=512, num_heads=4),
            transformer_dim=prompt_embed_dim,
            iou_head_depth=3,
            iou_head_hidden_dim=128,
        ),
    )


def build_sam(model_type: str, ckpt_path: Optional[str] = None, image_size: Optional[int] = None) -> Sam:
    """Build a SAM of `model_type`, with the weights of `ckpt_path` (a Meta-format state dict) if given.

    `image_size` may only differ from 1024 for vit_tiny: Meta's models have fixed position embeddings.
    """
    if model_type not in MODEL_TYPES:
        raise ConfigError(f"train.model.params.model_type: unknown '{model_type}'; valid: {', '.join(MODEL_TYPES)}")
    if model_type == "vit_tiny":
        sam = build_sam_vit_tiny(image_size or 256)
    else:
        if image_size not in (None, META_INPUT_SIZE):
            raise ConfigError(
                f"train.model.params.image_size: {model_type} takes {META_INPUT_SIZE} px inputs only, got {image_size}"
            )
        sam = sam_model_registry[model_type](checkpoint=None)
    if ckpt_path:
        load_sam_checkpoint(sam, ckpt_path, model_type)
    else:
        logger.warning("train.model.params.ckpt_path is not set: %s starts from random weights", model_type)
    return sam


def load_sam_checkpoint(sam: Sam, ckpt_path: str, model_type: str) -> None:
    """Load a Meta-format SAM state dict (keys image_encoder.*, prompt_encoder.*, mask_decoder.*)."""
    path = Path(ckpt_path)
    url = META_CHECKPOINT_URLS.get(model_type)
    state_dict = load_weights_file(
        path, what="SAM checkpoint (train.model.params.ckpt_path)", missing_hint=f"; download it from {url}" if url else ""
    )
    if isinstance(state_dict, dict) and "model" in state_dict and isinstance(state_dict["model"], dict):
        state_dict = state_dict["model"]
    expected = sam.state_dict()
    missing = [k for k in expected if k not in state_dict]
    mismatched = [k for k in expected if k in state_dict and state_dict[k].shape != expected[k].shape]
    if missing or mismatched:
        detail = (missing + mismatched)[:3]
        raise CheckpointError(
            f"train.model.params.ckpt_path: '{path}' does not fit SAM model_type '{model_type}' "
            f"({len(missing)} missing and {len(mismatched)} mis-shaped tensors, e.g. {', '.join(detail)}); "
            f"check that model.params.model_type matches the checkpoint"
        )
    sam.load_state_dict({k: state_dict[k] for k in expected})
    logger.info("loaded SAM %s weights from %s", model_type, path)
