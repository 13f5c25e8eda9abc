"""Datasets, transforms, validation and loaders (importing this fills DATASETS and TRANSFORMS)."""

from fa_core.data.datasets import (
    DATASETS,
    BaseSemantic,
    SegmentationDataset,
    SyntheticShapes,
    TorchVOCSemantic,
    build_dataset,
)
from fa_core.data.loaders import ResumableSampler, TransformedDataset, build_eval_loader, build_train_loader, collate
from fa_core.data.transforms import SAM_PIXEL_MEAN, SAM_PIXEL_STD, TRANSFORMS, Compose, Sample, build_transforms
from fa_core.data.validation import validate_dataset

__all__ = [
    "DATASETS",
    "TRANSFORMS",
    "SAM_PIXEL_MEAN",
    "SAM_PIXEL_STD",
    "BaseSemantic",
    "Compose",
    "ResumableSampler",
    "Sample",
    "SegmentationDataset",
    "SyntheticShapes",
    "TorchVOCSemantic",
    "TransformedDataset",
    "build_dataset",
    "build_eval_loader",
    "build_train_loader",
    "build_transforms",
    "collate",
    "validate_dataset",
]
