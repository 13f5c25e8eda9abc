"""SAM's image-encoder attention on torch's scaled_dot_product_attention.

segment-anything computes softmax(q k^T * scale + rel_pos) v by hand, materialising the full
attention matrix in fp32. The same product through F.scaled_dot_product_attention (the relative
position terms passed as an additive mask) lets PyTorch pick a fused kernel. The result is the same
up to floating-point rounding (tests/models/test_sdpa.py checks it).
"""

from __future__ import annotations

import types

import torch
import torch.nn.functional as F
from segment_anything.modeling.image_encoder import Attention, add_decomposed_rel_pos
from torch import nn


def _sdpa_forward(self: Attention, x: torch.Tensor) -> torch.Tensor:
    batch, height, width, _ = x.shape
    qkv = self.qkv(x).reshape(batch, height * width, 3, self.num_heads, -1).permute(2, 0, 3, 1, 4)
    q, k, v = qkv.reshape(3, batch * self.num_heads, height * width, -1).unbind(0)
    bias = None
    if self.use_rel_pos:
        zeros = torch.zeros(q.shape[0], q.shape[1], q.shape[1], dtype=q.dtype, device=q.device)
        bias = add_decomposed_rel_pos(zeros, q, self.rel_pos_h, self.rel_pos_w, (height, width), (height, width))
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=bias, scale=self.scale)
    out = out.view(batch, self.num_heads, height, width, -1).permute(0, 2, 3, 1, 4).reshape(batch, height, width, -1)
    return self.proj(out)


def use_sdpa_attention(image_encoder: nn.Module) -> int:
    """Switch every attention block of `image_encoder` to SDPA; returns how many were switched."""
    switched = 0
    for module in image_encoder.modules():
        if isinstance(module, Attention):
            module.forward = types.MethodType(_sdpa_forward, module)
            switched += 1
    return switched
