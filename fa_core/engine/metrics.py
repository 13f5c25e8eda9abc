"""Semantic-segmentation metrics from an accumulated confusion matrix.

Rows are target classes, columns are predicted classes. Results are plain Python values
(None where a value is undefined) so they can be written to JSON as is.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, Union

import torch
import torch.distributed as dist

__all__ = ["ConfusionMatrix"]


def _mean(values: List[Optional[float]]) -> Optional[float]:
    defined = [v for v in values if v is not None]
    return sum(defined) / len(defined) if defined else None


class ConfusionMatrix:
    """Accumulates pixel counts per (target, prediction) pair over an evaluation run."""

    def __init__(
        self,
        num_classes: int,
        ignore_index: int = 255,
        device: Union[str, torch.device] = "cpu",
        class_names: Optional[Sequence[str]] = None,
    ):
        if num_classes < 1:
            raise ValueError(f"num_classes must be >= 1, got {num_classes}")
        if class_names is not None and len(class_names) != num_classes:
            raise ValueError(f"got {len(class_names)} class names for {num_classes} classes")
        self.num_classes = num_classes
        self.ignore_index = ignore_index
        self.class_names = list(class_names) if class_names is not None else None
        self.matrix = torch.zeros(num_classes, num_classes, dtype=torch.int64, device=device)

    def reset(self) -> None:
        self.matrix.zero_()

    @torch.no_grad()
    def update(self, pred: torch.Tensor, target: torch.Tensor) -> None:
        """Add a batch of predicted and target class indices (same shape, any layout)."""
        if pred.shape != target.shape:
            raise ValueError(f"pred shape {tuple(pred.shape)} != target shape {tuple(target.shape)}")
        n = self.num_classes
        pred = pred.reshape(-1).to(self.matrix.device, torch.int64)
        target = target.reshape(-1).to(self.matrix.device, torch.int64)
        # Out-of-range values would land in a neighbouring row of the flattened matrix.
        keep = (target != self.ignore_index) & (target >= 0) & (target < n) & (pred >= 0) & (pred < n)
        counts = torch.bincount(n * target[keep] + pred[keep], minlength=n * n)
        self.matrix += counts.reshape(n, n)

    def reduce(self) -> None:
        """Sum the matrices of all processes (no-op outside torch.distributed)."""
        if dist.is_available() and dist.is_initialized():
            dist.all_reduce(self.matrix, op=dist.ReduceOp.SUM)

    def compute(self) -> Dict[str, Any]:
        """mIoU, per-class IoU, pixel accuracy, mean class accuracy and the raw matrix.

        A class that appears in neither target nor prediction (union 0) has IoU None and is
        left out of mIoU; likewise a class absent from the target is left out of mean_accuracy.
        """
        m = self.matrix.detach().to("cpu", torch.float64)
        tp = m.diag()
        target_count = m.sum(dim=1)
        union = target_count + m.sum(dim=0) - tp
        per_class_iou = [float(t / u) if u > 0 else None for t, u in zip(tp.tolist(), union.tolist())]
        per_class_acc = [float(t / c) if c > 0 else None for t, c in zip(tp.tolist(), target_count.tolist())]
        total = float(m.sum())
        result: Dict[str, Any] = {
            "mIoU": _mean(per_class_iou),
            "per_class_iou": per_class_iou,
            "pixel_accuracy": float(tp.sum()) / total if total > 0 else None,
            "mean_accuracy": _mean(per_class_acc),
            "per_class_accuracy": per_class_acc,
            "confusion_matrix": self.matrix.detach().cpu().tolist(),
        }
        if self.class_names is not None:
            result["per_class_iou_by_name"] = dict(zip(self.class_names, per_class_iou))
        return result
