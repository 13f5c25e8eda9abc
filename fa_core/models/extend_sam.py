"""Extend-SAM models: SAM's three adapters composed into a task model."""

from __future__ import annotations

from typing import Optional, Tuple

import torch
from torch import nn

from fa_core.models.adapters import (
    BaseImgEncodeAdapter,
    BaseMaskDecoderAdapter,
    BasePromptEncodeAdapter,
    SemMaskDecoderAdapter,
)
from fa_core.models.sam_builders import build_sam
from fa_core.registry import Registry

MODELS = Registry("model")


class BaseExtendSam(nn.Module):
    """SAM as image-encoder, prompt-encoder and mask-decoder adapters, each optionally frozen.

    Subclasses replace an adapter after calling this constructor (see SemanticSam). The original
    SAM stays reachable as `self.ori_sam` to build adapters from, but is not a registered
    submodule: its parameters live in the adapters, so each appears once in the state dict.
    """

    def __init__(
        self,
        ckpt_path: Optional[str] = None,
        fix_img_en: bool = False,
        fix_prompt_en: bool = False,
        fix_mask_de: bool = False,
        model_type: str = "vit_b",
        image_size: Optional[int] = None,
    ):
        super().__init__()
        sam = build_sam(model_type, ckpt_path, image_size=image_size)
        object.__setattr__(self, "ori_sam", sam)
        self.model_type = model_type
        self.image_size = sam.image_encoder.img_size
        self.img_adapter = BaseImgEncodeAdapter(sam, fix=fix_img_en)
        self.prompt_adapter = BasePromptEncodeAdapter(sam, fix=fix_prompt_en)
        self.mask_adapter = BaseMaskDecoderAdapter(sam, fix=fix_mask_de)

    def forward(
        self, images: Optional[torch.Tensor] = None, image_embeddings: Optional[torch.Tensor] = None
    ) -> Tuple[torch.Tensor, torch.Tensor]:
        """
        Args:
            images: Bx3xSxS, normalized with SAM's pixel mean/std, S = self.image_size; or
            image_embeddings: BxCx(S/16)x(S/16), the image encoder's output (e.g. from the
                embedding cache), which skips the encoder.
        Returns:
            masks: BxKx(S/4)x(S/4) logits (K = 3 SAM masks, or the number of classes);
            iou_predictions: BxK'.
        """
        embeddings = self.img_adapter(images) if image_embeddings is None else image_embeddings
        sparse_embeddings, dense_embeddings = self.prompt_adapter(points=None, boxes=None, masks=None)
        return self.mask_adapter(
            image_embeddings=embeddings,
            prompt_adapter=self.prompt_adapter,
            sparse_embeddings=sparse_embeddings,
            dense_embeddings=dense_embeddings,
            multimask_output=True,
        )


@MODELS.register("sem_sam")
class SemanticSam(BaseExtendSam):
    """Semantic segmentation: the mask decoder becomes a neck + class-aware head (class_num logits)."""

    def __init__(
        self,
        ckpt_path: Optional[str] = None,
        fix_img_en: bool = False,
        fix_prompt_en: bool = False,
        fix_mask_de: bool = False,
        class_num: int = 20,
        model_type: str = "vit_b",
        image_size: Optional[int] = None,
    ):
        super().__init__(ckpt_path, fix_img_en, fix_prompt_en, fix_mask_de, model_type, image_size)
        self.class_num = class_num
        self.mask_adapter = SemMaskDecoderAdapter(self.ori_sam, fix=fix_mask_de, class_num=class_num)
