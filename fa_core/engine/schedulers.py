"""Learning-rate schedules selected by `train.scheduler_name`, stepped once per iteration.

Each factory takes (optimizer, max_iter, **params) and returns a torch LRScheduler, so
state_dict()/load_state_dict() work for resuming.
"""

from __future__ import annotations

import bisect
from typing import Any, Dict, List, Optional

import torch
from torch.optim import lr_scheduler

from fa_core.config.kwargs_check import call_with_config
from fa_core.errors import ConfigError
from fa_core.registry import Registry

SCHEDULERS = Registry("scheduler")

__all__ = ["SCHEDULERS", "build_scheduler", "default_milestones"]


def default_milestones(max_iter: int) -> List[int]:
    """Decay at about 2/3 and 8/9 of training, as is common for step schedules."""
    return sorted({max(1, round(0.67 * max_iter)), max(1, round(0.89 * max_iter))})


def _check_milestones(milestones: List[int]) -> List[int]:
    milestones = [int(m) for m in milestones]
    if any(b <= a for a, b in zip(milestones, milestones[1:])) or any(m < 0 for m in milestones):
        raise ValueError(f"milestones must be non-negative and strictly increasing, got {milestones}")
    return milestones


@SCHEDULERS.register("constant")
def constant(optimizer: torch.optim.Optimizer, max_iter: int) -> lr_scheduler.LRScheduler:
    return lr_scheduler.LambdaLR(optimizer, lambda it: 1.0)


@SCHEDULERS.register("single_step")
def single_step(optimizer: torch.optim.Optimizer, max_iter: int, step_size: Optional[int] = None, gamma: float = 0.1) -> lr_scheduler.LRScheduler:
    # Default: one decay halfway through training.
    step_size = max(1, max_iter // 2) if step_size is None else int(step_size)
    if step_size < 1:
        raise ValueError(f"step_size must be >= 1, got {step_size}")
    return lr_scheduler.StepLR(optimizer, step_size=step_size, gamma=gamma)


@SCHEDULERS.register("multi_step")
def multi_step(optimizer: torch.optim.Optimizer, max_iter: int, milestones: Optional[List[int]] = None, gamma: float = 0.1) -> lr_scheduler.LRScheduler:
    milestones = default_milestones(max_iter) if milestones is None else _check_milestones(milestones)
    return lr_scheduler.MultiStepLR(optimizer, milestones=milestones, gamma=gamma)


@SCHEDULERS.register("warmup_multi_step")
def warmup_multi_step(
    optimizer: torch.optim.Optimizer,
    max_iter: int,
    warmup_iter: Optional[int] = None,
    warmup_factor: float = 0.001,
    milestones: Optional[List[int]] = None,
    gamma: float = 0.1,
) -> lr_scheduler.LRScheduler:
    """Linear warmup from warmup_factor*lr to lr over warmup_iter steps, then multi-step decay."""
    warmup_iter = min(500, max_iter // 10) if warmup_iter is None else int(warmup_iter)
    if warmup_iter < 0:
        raise ValueError(f"warmup_iter must be >= 0, got {warmup_iter}")
    if not 0.0 < warmup_factor <= 1.0:
        raise ValueError(f"warmup_factor must be in (0, 1], got {warmup_factor}")
    milestones = default_milestones(max_iter) if milestones is None else _check_milestones(milestones)

    def factor(it: int) -> float:
        warmup = 1.0
        if it < warmup_iter:
            warmup = warmup_factor + (1.0 - warmup_factor) * it / warmup_iter
        return warmup * gamma ** bisect.bisect_right(milestones, it)

    return lr_scheduler.LambdaLR(optimizer, factor)


@SCHEDULERS.register("cosine")
def cosine(optimizer: torch.optim.Optimizer, max_iter: int, eta_min: float = 0.0) -> lr_scheduler.LRScheduler:
    # T_max spans the whole run so lr reaches eta_min exactly at max_iter
    # (finetune-anything used T_max=1, which made the lr oscillate every step).
    return lr_scheduler.CosineAnnealingLR(optimizer, T_max=max_iter, eta_min=eta_min)


@SCHEDULERS.register("linear")
def linear(optimizer: torch.optim.Optimizer, max_iter: int, end_factor: float = 0.0) -> lr_scheduler.LRScheduler:
    if not 0.0 <= end_factor <= 1.0:
        raise ValueError(f"end_factor must be in [0, 1], got {end_factor}")
    return lr_scheduler.LinearLR(optimizer, start_factor=1.0, end_factor=end_factor, total_iters=max_iter)


def build_scheduler(
    name: str,
    optimizer: torch.optim.Optimizer,
    max_iter: int,
    params: Optional[Dict[str, Any]] = None,
    config_path: str = "train.scheduler_params",
) -> lr_scheduler.LRScheduler:
    """Build the scheduler `name` with the config's params, checked against its signature."""
    if name not in SCHEDULERS:
        raise ConfigError(f"train.scheduler_name: unknown scheduler '{name}' (valid names: {', '.join(SCHEDULERS.names())})")
    if int(max_iter) < 1:
        raise ConfigError(f"train.max_iter: must be >= 1 for the learning-rate schedule, got {max_iter}")
    params = dict(params or {})
    for reserved in ("optimizer", "max_iter"):
        if reserved in params:
            # fa_core fills these itself; a user value would silently desynchronise the schedule.
            raise ConfigError(f"{config_path}.{reserved}: set by fa_core, remove it (use train.max_iter instead)")
    return call_with_config(SCHEDULERS.get(name), params, config_path, optimizer=optimizer, max_iter=int(max_iter))
