"""The first half of SAM's mask decoder: output tokens + two-way transformer."""

from __future__ import annotations

from typing import Tuple

import torch
from torch import nn


class MaskDecoderNeck(nn.Module):
    """Runs SAM's two-way transformer on image embeddings and SAM's IoU and mask tokens.

    Parameter names (transformer, iou_token, mask_tokens) match SAM's MaskDecoder, so its weights
    pair by name.
    """

    def __init__(self, *, transformer_dim: int, transformer: nn.Module, num_multimask_outputs: int = 3):
        super().__init__()
        self.transformer_dim = transformer_dim
        self.transformer = transformer
        self.num_mask_tokens = num_multimask_outputs + 1
        self.iou_token = nn.Embedding(1, transformer_dim)
        self.mask_tokens = nn.Embedding(self.num_mask_tokens, transformer_dim)

    def forward(
        self,
        image_embeddings: torch.Tensor,
        image_pe: torch.Tensor,
        sparse_prompt_embeddings: torch.Tensor,
        dense_prompt_embeddings: torch.Tensor,
    ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Size]:
        """
        Args:
            image_embeddings: BxCxhxw from the image encoder.
            image_pe: 1xCxhxw positional encoding.
            sparse_prompt_embeddings: B'xNxC with B' = B or 1 (no prompts).
            dense_prompt_embeddings: B'xCxhxw.
        Returns:
            src: Bx(h*w)xC transformed image embedding; iou_token_out: BxC;
            mask_tokens_out: Bx(num_mask_tokens)xC; src_shape: (B, C, h, w).
        """
        batch_size, dtype = image_embeddings.shape[0], image_embeddings.dtype
        # SAM's prompt encoder builds its positional grid in fp32; follow the image branch's precision.
        image_pe = image_pe.to(dtype)
        sparse_prompt_embeddings = sparse_prompt_embeddings.to(dtype)
        dense_prompt_embeddings = dense_prompt_embeddings.to(dtype)
        output_tokens = torch.cat([self.iou_token.weight, self.mask_tokens.weight], dim=0)
        output_tokens = output_tokens.unsqueeze(0).expand(batch_size, -1, -1)
        sparse = sparse_prompt_embeddings.expand(batch_size, -1, -1)
        tokens = torch.cat((output_tokens, sparse), dim=1)

        src = image_embeddings + dense_prompt_embeddings
        pos_src = image_pe.expand(batch_size, -1, -1, -1)
        src_shape = src.shape
        hs, src = self.transformer(src, pos_src, tokens)
        iou_token_out = hs[:, 0, :]
        mask_tokens_out = hs[:, 1 : 1 + self.num_mask_tokens, :]
        return src, iou_token_out, mask_tokens_out, src_shape
