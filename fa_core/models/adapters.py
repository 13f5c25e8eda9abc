"""The three adapters wrapping SAM's parts, as in finetune-anything.

Each adapter holds one SAM part and can freeze it. A task swaps in its own adapter: semantic
segmentation replaces the mask decoder adapter with a neck + class-aware head
(`SemMaskDecoderAdapter`), whose weights are copied from SAM's decoder by parameter name.
"""

from __future__ import annotations

from typing import Optional, Tuple

import torch
from segment_anything.modeling import Sam
from torch import nn

from fa_core.models.heads import SemSegHead
from fa_core.models.neck import MaskDecoderNeck


def freeze(module: nn.Module) -> None:
    for param in module.parameters():
        param.requires_grad_(False)


def is_frozen(module: nn.Module) -> bool:
    return not any(p.requires_grad for p in module.parameters())


class BaseImgEncodeAdapter(nn.Module):
    """Wraps SAM's image encoder. Input: normalized images Bx3xSxS; output: embeddings BxCx(S/16)x(S/16)."""

    def __init__(self, ori_sam: Sam, fix: bool = False):
        super().__init__()
        self.sam_img_encoder = ori_sam.image_encoder
        if fix:
            freeze(self.sam_img_encoder)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        # A frozen encoder needs no autograd graph: this saves most of the activation memory.
        with torch.set_grad_enabled(torch.is_grad_enabled() and not is_frozen(self.sam_img_encoder)):
            return self.sam_img_encoder(images)


class BasePromptEncodeAdapter(nn.Module):
    """Wraps SAM's prompt encoder; with no prompts it returns its learned 'no prompt' embeddings."""

    def __init__(self, ori_sam: Sam, fix: bool = False):
        super().__init__()
        self.sam_prompt_encoder = ori_sam.prompt_encoder
        if fix:
            freeze(self.sam_prompt_encoder)

    def forward(
        self,
        points: Optional[Tuple[torch.Tensor, torch.Tensor]] = None,
        boxes: Optional[torch.Tensor] = None,
        masks: Optional[torch.Tensor] = None,
    ) -> Tuple[torch.Tensor, torch.Tensor]:
        """Returns sparse embeddings BxNxC and dense embeddings BxCxHxW (B = 1 without prompts)."""
        return self.sam_prompt_encoder(points=points, boxes=boxes, masks=masks)


class BaseMaskDecoderAdapter(nn.Module):
    """Wraps SAM's mask decoder unchanged (class-agnostic masks and IoU predictions)."""

    def __init__(self, ori_sam: Sam, fix: bool = False):
        super().__init__()
        self.sam_mask_decoder = ori_sam.mask_decoder
        if fix:
            freeze(self.sam_mask_decoder)

    def forward(
        self,
        image_embeddings: torch.Tensor,
        prompt_adapter: BasePromptEncodeAdapter,
        sparse_embeddings: torch.Tensor,
        dense_embeddings: torch.Tensor,
        multimask_output: bool = True,
    ) -> Tuple[torch.Tensor, torch.Tensor]:
        return self.sam_mask_decoder(
            image_embeddings=image_embeddings,
            image_pe=prompt_adapter.sam_prompt_encoder.get_dense_pe(),
            sparse_prompt_embeddings=sparse_embeddings,
            dense_prompt_embeddings=dense_embeddings,
            multimask_output=multimask_output,
        )

    def pair_params(self, target: nn.Module) -> int:
        """Copy SAM decoder weights into `target`'s parameters of the same name and shape.

        Returns how many tensors were copied. Parameters with no counterpart keep their init.
        """
        source = self.sam_mask_decoder.state_dict()
        copied = 0
        with torch.no_grad():
            for name, param in target.named_parameters():
                if name in source and source[name].shape == param.shape:
                    param.copy_(source[name])
                    copied += 1
        return copied


class SemMaskDecoderAdapter(BaseMaskDecoderAdapter):
    """Semantic segmentation decoder: SAM's decoder split into a neck and a class-aware head.

    The neck runs SAM's two-way transformer over the image embedding and SAM's output tokens;
    the head upscales the embedding and makes one hypernetwork MLP per class from the mask token
    `mask_scale`, giving class logits at 4x the embedding resolution.
    """

    def __init__(self, ori_sam: Sam, fix: bool = False, class_num: int = 20, mask_scale: int = 1):
        super().__init__(ori_sam, fix=False)
        decoder = self.sam_mask_decoder
        iou_head = decoder.iou_prediction_head
        self.decoder_neck = MaskDecoderNeck(
            transformer_dim=decoder.transformer_dim,
            transformer=decoder.transformer,
            num_multimask_outputs=decoder.num_multimask_outputs,
        )
        self.decoder_head = SemSegHead(
            transformer_dim=decoder.transformer_dim,
            num_multimask_outputs=decoder.num_multimask_outputs,
            iou_head_depth=iou_head.num_layers,
            iou_head_hidden_dim=iou_head.layers[0].out_features,
            class_num=class_num,
        )
        self.pair_params(self.decoder_neck)
        self.pair_params(self.decoder_head)
        # The original decoder is only a weight source; keeping it would leave unused parameters.
        del self.sam_mask_decoder
        self.mask_scale = mask_scale
        if fix:
            freeze(self)

    def forward(
        self,
        image_embeddings: torch.Tensor,
        prompt_adapter: BasePromptEncodeAdapter,
        sparse_embeddings: torch.Tensor,
        dense_embeddings: torch.Tensor,
        multimask_output: bool = True,
    ) -> Tuple[torch.Tensor, torch.Tensor]:
        """Returns class logits BxKx(4h)x(4w) for embeddings BxCxhxw, and IoU predictions."""
        src, iou_token_out, mask_tokens_out, src_shape = self.decoder_neck(
            image_embeddings=image_embeddings,
            image_pe=prompt_adapter.sam_prompt_encoder.get_dense_pe(),
            sparse_prompt_embeddings=sparse_embeddings,
            dense_prompt_embeddings=dense_embeddings,
        )
        return self.decoder_head(src, iou_token_out, mask_tokens_out, src_shape, mask_scale=self.mask_scale)
