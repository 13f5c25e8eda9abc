"""Mask decoder heads that turn the neck's outputs into task predictions."""

from __future__ import annotations

from typing import Tuple, Type

import torch
from segment_anything.modeling.common import LayerNorm2d
from segment_anything.modeling.mask_decoder import MLP
from torch import nn


class SemSegHead(nn.Module):
    """Class-aware head: one hypernetwork MLP per class over a shared upscaled embedding.

    Parameter names (output_upscaling, output_hypernetworks_mlps.<i>, iou_prediction_head) match
    SAM's MaskDecoder, so SAM's weights pair by name (classes 0-3 take SAM's four mask MLPs).
    """

    def __init__(
        self,
        *,
        transformer_dim: int,
        num_multimask_outputs: int = 3,
        activation: Type[nn.Module] = nn.GELU,
        iou_head_depth: int = 3,
        iou_head_hidden_dim: int = 256,
        class_num: int = 20,
    ):
        super().__init__()
        self.class_num = class_num
        self.num_mask_tokens = num_multimask_outputs + 1
        self.output_upscaling = nn.Sequential(
            nn.ConvTranspose2d(transformer_dim, transformer_dim // 4, kernel_size=2, stride=2),
            LayerNorm2d(transformer_dim // 4),
            activation(),
            nn.ConvTranspose2d(transformer_dim // 4, transformer_dim // 8, kernel_size=2, stride=2),
            activation(),
        )
        self.output_hypernetworks_mlps = nn.ModuleList(
            [MLP(transformer_dim, transformer_dim, transformer_dim // 8, 3) for _ in range(class_num)]
        )
        self.iou_prediction_head = MLP(transformer_dim, iou_head_hidden_dim, self.num_mask_tokens, iou_head_depth)

    def forward(
        self,
        src: torch.Tensor,
        iou_token_out: torch.Tensor,
        mask_tokens_out: torch.Tensor,
        src_shape: Tuple[int, int, int, int],
        mask_scale: int = 1,
    ) -> Tuple[torch.Tensor, torch.Tensor]:
        """
        Args:
            src: Bx(h*w)xC from the neck; src_shape: (B, C, h, w).
            mask_tokens_out: BxTxC; token `mask_scale` (SAM's small-to-large masks 1..3) feeds every class.
        Returns:
            masks: BxKx(4h)x(4w) class logits; iou_pred: Bx(num_mask_tokens).
        """
        b, c, h, w = src_shape
        src = src.transpose(1, 2).reshape(b, c, h, w)
        upscaled = self.output_upscaling(src)
        token = mask_tokens_out[:, mask_scale, :]
        hyper_in = torch.stack([mlp(token) for mlp in self.output_hypernetworks_mlps], dim=1)
        b, c, h, w = upscaled.shape
        masks = (hyper_in @ upscaled.reshape(b, c, h * w)).reshape(b, -1, h, w)
        iou_pred = self.iou_prediction_head(iou_token_out)
        return masks, iou_pred
