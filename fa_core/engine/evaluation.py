"""Evaluation: logits back to each label's own resolution, confusion matrix, metrics."""

from __future__ import annotations

import logging
from typing import Dict, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader
from tqdm import tqdm

from fa_core.engine.metrics import ConfusionMatrix

logger = logging.getLogger(__name__)


def logits_to_original(logits: torch.Tensor, input_size: int, valid_size, orig_size) -> torch.Tensor:
    """Class logits KxhxW of one sample -> Kx H x W at the source image's size.

    The model sees an SxS tensor whose top-left `valid_size` region holds the (resized) image;
    padding is cropped away before resizing to `orig_size`.
    """
    full = F.interpolate(logits[None], size=(input_size, input_size), mode="bilinear", align_corners=False)
    valid_h, valid_w = int(valid_size[0]), int(valid_size[1])
    cropped = full[..., :valid_h, :valid_w]
    return F.interpolate(cropped, size=(int(orig_size[0]), int(orig_size[1])), mode="bilinear", align_corners=False)[0]


@torch.no_grad()
def evaluate(
    model: nn.Module,
    loader: DataLoader,
    num_classes: int,
    ignore_index: int,
    device: torch.device,
    class_names: Optional[Sequence[str]] = None,
    description: str = "eval",
    show_progress: bool = True,
) -> Dict:
    """mIoU, per-class IoU and pixel accuracy of `model` over `loader`, scored at each label's resolution."""
    was_training = model.training
    model.eval()
    # On the run's device, so that summing over DDP ranks also works with NCCL.
    matrix = ConfusionMatrix(num_classes, ignore_index, device=device, class_names=class_names)
    for batch in tqdm(loader, desc=description, leave=False, disable=not show_progress):
        if "embedding" in batch:  # served by the embedding cache
            logits, _ = model(image_embeddings=batch["embedding"].to(device, non_blocking=True))
            input_size = model.image_size
        else:
            images = batch["image"].to(device, non_blocking=True)
            logits, _ = model(images)
            input_size = images.shape[-1]
        for i, mask in enumerate(batch["mask"]):
            sample_logits = logits_to_original(logits[i].float(), input_size, batch["valid_size"][i], batch["orig_size"][i])
            matrix.update(sample_logits.argmax(0), mask)
    model.train(was_training)
    matrix.reduce()
    return matrix.compute()


def most_frequent_class_miou(confusion_matrix: Optional[Sequence[Sequence[int]]]) -> Optional[float]:
    """The mIoU of predicting the most frequent label everywhere: the floor a model must beat.

    Derived from an evaluation's confusion matrix (its row sums are the label counts): the majority
    class scores count/total, every other labelled class 0, and classes absent from both are left out.
    """
    if not confusion_matrix:
        return None
    counts = torch.tensor(confusion_matrix, dtype=torch.int64).sum(dim=1)
    total = int(counts.sum())
    if total == 0:
        return None
    majority = int(counts.argmax())
    present = int((counts > 0).sum())
    return (int(counts[majority]) / total) / present
