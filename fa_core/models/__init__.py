"""Extend-SAM models on the segment-anything package."""

from fa_core.models.adapters import (
    BaseImgEncodeAdapter,
    BaseMaskDecoderAdapter,
    BasePromptEncodeAdapter,
    SemMaskDecoderAdapter,
    freeze,
)
from fa_core.models.extend_sam import MODELS, BaseExtendSam, SemanticSam
from fa_core.models.fa_checkpoint import load_model_weights, read_weights, select_model_keys
from fa_core.models.heads import SemSegHead
from fa_core.models.neck import MaskDecoderNeck
from fa_core.models.sam_builders import MODEL_TYPES, build_sam

__all__ = [
    "MODELS",
    "MODEL_TYPES",
    "BaseExtendSam",
    "BaseImgEncodeAdapter",
    "BaseMaskDecoderAdapter",
    "BasePromptEncodeAdapter",
    "MaskDecoderNeck",
    "SemMaskDecoderAdapter",
    "SemSegHead",
    "SemanticSam",
    "build_sam",
    "freeze",
    "load_model_weights",
    "read_weights",
    "select_model_keys",
]
