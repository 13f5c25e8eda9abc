"""Speed settings chosen by configuration, with defaults that suit the device."""

from __future__ import annotations

import logging

import torch
from torch import nn

from fa_core.config.schema import TrainConfig
from fa_core.models.sdpa import use_sdpa_attention

logger = logging.getLogger(__name__)


def configure_performance(model: nn.Module, cfg: TrainConfig, device: torch.device) -> str:
    """Apply TF32, SDPA attention and torch.compile as configured; returns a summary for the run log."""
    used = []
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = cfg.tf32
        torch.backends.cudnn.allow_tf32 = cfg.tf32
        torch.backends.cudnn.benchmark = True  # fixed input sizes: let cuDNN pick its fastest kernels
        used.append(f"tf32 {'on' if cfg.tf32 else 'off'}")
    if cfg.sdpa and hasattr(model, "img_adapter"):
        switched = use_sdpa_attention(model.img_adapter.sam_img_encoder)
        used.append(f"sdpa attention ({switched} blocks)")
    else:
        used.append("eager attention")
    if cfg.compile:
        model.forward = torch.compile(model.forward)
        used.append("torch.compile")
    return ", ".join(used)
