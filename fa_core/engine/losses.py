"""Segmentation losses selected by name from the config's `losses:` section.

Every loss takes BxCxHxW logits and a target that is either BxHxW int64 class indices
(pixels equal to `ignore_index` are excluded) or, when the config sets `label_one_hot`, a
BxCxHxW float one-hot tensor whose ignored pixels are all-zero vectors.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from fa_core.config.kwargs_check import call_with_config
from fa_core.errors import ConfigError
from fa_core.registry import Registry

LOSSES = Registry("loss")

__all__ = ["LOSSES", "to_one_hot", "PixelLoss", "WeightedLoss", "build_losses"]


def to_one_hot(target: Tensor, num_classes: int, ignore_index: int = 255) -> Tensor:
    """BxHxW class indices -> BxCxHxW float one-hot; ignored pixels become all-zero vectors."""
    valid = target != ignore_index
    safe = torch.where(valid, target, torch.zeros_like(target))
    if bool(((safe < 0) | (safe >= num_classes)).any()):
        # A label outside [0, C) that is not ignore_index is a data bug; say so instead of a
        # device-side assert deep inside scatter.
        bad = torch.unique(target[valid & ((target < 0) | (target >= num_classes))]).tolist()
        raise ValueError(f"target has labels {bad} outside [0, {num_classes}) that are not ignore_index={ignore_index}")
    one_hot = F.one_hot(safe.long(), num_classes).permute(0, 3, 1, 2).float()
    return one_hot * valid.unsqueeze(1)


def _zero_loss(logits: Tensor) -> Tensor:
    # Zero that keeps the graph, so backward() and DDP gradient hooks still run.
    return logits.sum() * 0.0


class PixelLoss(nn.Module):
    """Base class: turns either target form into what a loss needs, plus the valid-pixel mask."""

    def __init__(self, ignore_index: int = 255):
        super().__init__()
        self.ignore_index = ignore_index

    @staticmethod
    def _is_one_hot(logits: Tensor, target: Tensor) -> bool:
        if target.dim() == 4 and target.is_floating_point():
            if target.shape != logits.shape:
                raise ValueError(f"one-hot target shape {tuple(target.shape)} != logits shape {tuple(logits.shape)}")
            return True
        if target.dim() == 3 and not target.is_floating_point():
            return False
        raise ValueError(
            f"target must be BxHxW int class indices or BxCxHxW float one-hot, got {target.dtype} {tuple(target.shape)}"
        )

    def indices(self, logits: Tensor, target: Tensor) -> Tuple[Tensor, Tensor]:
        """(BxHxW int64 indices with ignored pixels set to ignore_index, BxHxW bool valid mask)."""
        if self._is_one_hot(logits, target):
            valid = target.sum(dim=1) > 0
            idx = torch.where(valid, target.argmax(dim=1), torch.full_like(valid, self.ignore_index, dtype=torch.long))
            return idx, valid
        target = target.long()
        return target, target != self.ignore_index

    def one_hot(self, logits: Tensor, target: Tensor) -> Tuple[Tensor, Tensor]:
        """(BxCxHxW float one-hot with zero vectors at ignored pixels, BxHxW bool valid mask)."""
        if self._is_one_hot(logits, target):
            return target.to(logits.dtype), target.sum(dim=1) > 0
        one_hot = to_one_hot(target, logits.shape[1], self.ignore_index).to(logits.dtype)
        return one_hot, target != self.ignore_index


def _class_weights(weight: Optional[Sequence[float]]) -> Optional[Tensor]:
    return None if weight is None else torch.as_tensor(list(weight), dtype=torch.float32)


@LOSSES.register("ce")
class CrossEntropyLoss(PixelLoss):
    """Pixel-wise cross entropy; a one-hot target is reduced to its argmax class."""

    def __init__(self, ignore_index: int = 255, weight: Optional[List[float]] = None, label_smoothing: float = 0.0):
        super().__init__(ignore_index)
        if not 0.0 <= label_smoothing < 1.0:
            raise ValueError(f"label_smoothing must be in [0, 1), got {label_smoothing}")
        self.label_smoothing = label_smoothing
        self.register_buffer("weight", _class_weights(weight), persistent=False)

    def forward(self, logits: Tensor, target: Tensor) -> Tensor:
        idx, valid = self.indices(logits, target)
        if not bool(valid.any()):
            return _zero_loss(logits)
        weight = None if self.weight is None else self.weight.to(logits.dtype)
        return F.cross_entropy(
            logits, idx, weight=weight, ignore_index=self.ignore_index, label_smoothing=self.label_smoothing
        )


@LOSSES.register("dice")
class DiceLoss(PixelLoss):
    """1 - mean over classes of soft dice between softmax probabilities and one-hot targets."""

    def __init__(self, ignore_index: int = 255, smooth: float = 1.0):
        super().__init__(ignore_index)
        self.smooth = smooth

    def forward(self, logits: Tensor, target: Tensor) -> Tensor:
        one_hot, valid = self.one_hot(logits, target)
        if not bool(valid.any()):
            return _zero_loss(logits)
        probs = logits.softmax(dim=1) * valid.unsqueeze(1)
        dims = (0, 2, 3)  # sum over the whole batch, keep classes
        intersection = (probs * one_hot).sum(dims)
        total = probs.sum(dims) + one_hot.sum(dims)
        dice = (2.0 * intersection + self.smooth) / (total + self.smooth)
        return 1.0 - dice.mean()


@LOSSES.register("focal")
class FocalLoss(PixelLoss):
    """Multi-class focal loss -alpha_t (1 - p_t)^gamma log p_t, averaged over valid pixels.

    `alpha` is None (no weighting), one float for every class, or a per-class list.
    """

    def __init__(self, ignore_index: int = 255, gamma: float = 2.0, alpha: Union[None, float, List[float]] = None):
        super().__init__(ignore_index)
        if gamma < 0:
            raise ValueError(f"gamma must be >= 0, got {gamma}")
        self.gamma = gamma
        alpha_t = None if alpha is None else torch.as_tensor(alpha, dtype=torch.float32)
        self.register_buffer("alpha", alpha_t, persistent=False)

    def forward(self, logits: Tensor, target: Tensor) -> Tensor:
        idx, valid = self.indices(logits, target)
        if not bool(valid.any()):
            return _zero_loss(logits)
        safe = torch.where(valid, idx, torch.zeros_like(idx)).unsqueeze(1)
        log_pt = logits.log_softmax(dim=1).gather(1, safe).squeeze(1)
        loss = -((1.0 - log_pt.exp()) ** self.gamma) * log_pt
        if self.alpha is not None:
            alpha = self.alpha.to(logits.dtype)
            loss = loss * (alpha[safe.squeeze(1)] if alpha.dim() == 1 else alpha)
        return loss[valid].mean()


@LOSSES.register("multi_label_soft_margin")
class MultiLabelSoftMarginLoss(PixelLoss):
    """Per-pixel multi-label soft margin: mean over valid pixels of the per-class mean of
    -[y log sigmoid(x) + (1 - y) log sigmoid(-x)]."""

    def forward(self, logits: Tensor, target: Tensor) -> Tensor:
        one_hot, valid = self.one_hot(logits, target)
        if not bool(valid.any()):
            return _zero_loss(logits)
        per_pixel = F.binary_cross_entropy_with_logits(logits, one_hot, reduction="none").mean(dim=1)
        return per_pixel[valid].mean()


@LOSSES.register("mse")
class MSELoss(PixelLoss):
    """Mean squared error between softmax probabilities and one-hot targets, over every class
    of every valid pixel."""

    def forward(self, logits: Tensor, target: Tensor) -> Tensor:
        one_hot, valid = self.one_hot(logits, target)
        if not bool(valid.any()):
            return _zero_loss(logits)
        per_pixel = ((logits.softmax(dim=1) - one_hot) ** 2).mean(dim=1)
        return per_pixel[valid].mean()


class WeightedLoss(nn.Module):
    """Weighted sum of named losses; returns the total and each term for logging."""

    def __init__(self, losses: Dict[str, nn.Module], weights: Dict[str, float], one_hot: Dict[str, bool], ignore_index: int = 255):
        super().__init__()
        if not losses:
            raise ValueError("WeightedLoss needs at least one loss")
        self.losses = nn.ModuleDict(losses)
        self.weights = {name: float(weights.get(name, 1.0)) for name in losses}
        self.label_one_hot = {name: bool(one_hot.get(name, False)) for name in losses}
        self.ignore_index = ignore_index

    def forward(self, logits: Tensor, target: Tensor) -> Tuple[Tensor, Dict[str, Tensor]]:
        one_hot: Optional[Tensor] = None  # built at most once, only if some loss wants it
        total: Optional[Tensor] = None
        terms: Dict[str, Tensor] = {}
        for name, loss_fn in self.losses.items():
            if self.label_one_hot[name]:
                if one_hot is None:
                    one_hot = to_one_hot(target, logits.shape[1], self.ignore_index).to(logits.dtype)
                value = loss_fn(logits, one_hot)
            else:
                value = loss_fn(logits, target)
            terms[name] = value.detach().float()
            weighted = self.weights[name] * value
            total = weighted if total is None else total + weighted
        return total, terms


def build_losses(losses_cfg: Optional[Dict[str, Any]], ignore_index: int, config_path: str = "losses") -> WeightedLoss:
    """Build a WeightedLoss from finetune-anything's `losses:` mapping.

    Each entry is `name: {weight: float = 1.0, params: dict|None, label_one_hot: bool = False}`.
    """
    if not losses_cfg:
        raise ConfigError(f"{config_path}: at least one loss is required (valid names: {', '.join(LOSSES.names())})")
    if not isinstance(losses_cfg, dict):
        raise ConfigError(f"{config_path}: expected a mapping of loss name -> settings, got {type(losses_cfg).__name__}")
    losses, weights, one_hot = {}, {}, {}
    for name, entry in losses_cfg.items():
        path = f"{config_path}.{name}"
        if name not in LOSSES:
            raise ConfigError(f"{path}: unknown loss '{name}' (valid names: {', '.join(LOSSES.names())})")
        entry = {} if entry is None else entry
        if not isinstance(entry, dict):
            raise ConfigError(f"{path}: expected a mapping with weight/params/label_one_hot, got {entry!r}")
        unknown = set(entry) - {"weight", "params", "label_one_hot"}
        if unknown:
            raise ConfigError(f"{path}: unknown keys {sorted(unknown)} (valid keys: label_one_hot, params, weight)")
        weight = entry.get("weight", 1.0)
        if isinstance(weight, bool) or not isinstance(weight, (int, float)):
            raise ConfigError(f"{path}.weight: expected a number, got {weight!r}")
        losses[name] = call_with_config(LOSSES.get(name), entry.get("params"), f"{path}.params", ignore_index=ignore_index)
        weights[name] = float(weight)
        one_hot[name] = bool(entry.get("label_one_hot", False))
    return WeightedLoss(losses, weights, one_hot, ignore_index=ignore_index)
