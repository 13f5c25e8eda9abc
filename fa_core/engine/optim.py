"""Optimizers with finetune-anything's per-group learning rates (`train.opt_params`).

Group i takes every trainable parameter whose name contains any substring of group_keys[i]
(first matching group wins) and uses lr_list[i] / wd_list[i]; the remaining trainable
parameters form a final "default" group with lr_default / wd_default.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import torch
from torch import nn

from fa_core.config.kwargs_check import call_with_config
from fa_core.errors import ConfigError
from fa_core.registry import Registry

logger = logging.getLogger(__name__)

OPTIMIZERS = Registry("optimizer")

__all__ = ["OPTIMIZERS", "build_param_groups", "build_optimizer", "format_group_summary"]

OPT_PARAMS_PATH = "train.opt_params"


def _fused_kwargs(fused: Optional[bool]) -> Dict[str, Any]:
    # Only pass `fused` when set, so torch keeps choosing its own default implementation.
    return {} if fused is None else {"fused": fused}


@OPTIMIZERS.register("sgd")
def sgd(param_groups: List[Dict[str, Any]], lr: float, weight_decay: float, momentum: float, fused: Optional[bool] = None) -> torch.optim.Optimizer:
    return torch.optim.SGD(param_groups, lr=lr, momentum=momentum, weight_decay=weight_decay, nesterov=False, **_fused_kwargs(fused))


@OPTIMIZERS.register("adam")
def adam(param_groups: List[Dict[str, Any]], lr: float, weight_decay: float, momentum: float, fused: Optional[bool] = None) -> torch.optim.Optimizer:
    # `momentum` is an SGD setting; Adam keeps its default betas.
    return torch.optim.Adam(param_groups, lr=lr, weight_decay=weight_decay, **_fused_kwargs(fused))


@OPTIMIZERS.register("adamw")
def adamw(param_groups: List[Dict[str, Any]], lr: float, weight_decay: float, momentum: float, fused: Optional[bool] = None) -> torch.optim.Optimizer:
    return torch.optim.AdamW(param_groups, lr=lr, weight_decay=weight_decay, **_fused_kwargs(fused))


def _as_key_list(keys: Union[str, Sequence[str]], index: int) -> List[str]:
    # A bare string would otherwise be matched character by character.
    if isinstance(keys, str):
        return [keys]
    if not isinstance(keys, (list, tuple)) or not all(isinstance(k, str) for k in keys):
        raise ConfigError(f"{OPT_PARAMS_PATH}.group_keys[{index}]: expected a list of name substrings, got {keys!r}")
    return list(keys)


def build_param_groups(
    model: nn.Module,
    lr_default: float,
    wd_default: float,
    lr_list: Sequence[float] = (),
    wd_list: Sequence[float] = (),
    group_keys: Sequence[Union[str, Sequence[str]]] = (),
) -> Tuple[List[Dict[str, Any]], List[Dict[str, Any]]]:
    """(optimizer param groups, summary rows {name, num_tensors, num_params, lr, weight_decay})."""
    lr_list, wd_list, group_keys = list(lr_list or []), list(wd_list or []), list(group_keys or [])
    if not len(lr_list) == len(wd_list) == len(group_keys):
        raise ConfigError(
            f"{OPT_PARAMS_PATH}.lr_list, {OPT_PARAMS_PATH}.wd_list and {OPT_PARAMS_PATH}.group_keys must have the same "
            f"length (one entry per group), got {len(lr_list)}, {len(wd_list)} and {len(group_keys)}"
        )
    key_lists = [_as_key_list(keys, i) for i, keys in enumerate(group_keys)]
    specs = [
        {"name": "group_" + str(i) + ":" + ",".join(keys), "lr": float(lr), "weight_decay": float(wd), "params": []}
        for i, (keys, lr, wd) in enumerate(zip(key_lists, lr_list, wd_list))
    ]
    specs.append({"name": "default", "lr": float(lr_default), "weight_decay": float(wd_default), "params": []})

    for param_name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        slot = next((i for i, keys in enumerate(key_lists) if any(k in param_name for k in keys)), len(key_lists))
        specs[slot]["params"].append(param)

    summary = [
        {
            "name": spec["name"],
            "num_tensors": len(spec["params"]),
            "num_params": sum(p.numel() for p in spec["params"]),
            "lr": spec["lr"],
            "weight_decay": spec["weight_decay"],
        }
        for spec in specs
    ]
    groups = [spec for spec in specs if spec["params"]]  # torch rejects empty groups
    return groups, summary


def format_group_summary(summary: List[Dict[str, Any]]) -> str:
    """The summary rows as a small fixed-width table for the log."""
    header = ("group", "tensors", "params", "lr", "weight_decay")
    rows = [(r["name"], str(r["num_tensors"]), f"{r['num_params']:,}", f"{r['lr']:g}", f"{r['weight_decay']:g}") for r in summary]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in [header, *rows]]
    return "\n".join(lines)


def _opt_settings(
    lr_default: float,
    wd_default: float = 0.0,
    momentum: float = 0.9,
    lr_list: Optional[List[float]] = None,
    wd_list: Optional[List[float]] = None,
    group_keys: Optional[List[List[str]]] = None,
    fused: Optional[bool] = None,
) -> Dict[str, Any]:
    """Signature of `train.opt_params`, so call_with_config can validate its keys."""
    return dict(locals())


def build_optimizer(model: nn.Module, opt_name: str, opt_params: Optional[Dict[str, Any]]) -> Tuple[torch.optim.Optimizer, List[Dict[str, Any]]]:
    """Build the optimizer named by `train.opt_name` over the groups of `train.opt_params`."""
    if opt_name not in OPTIMIZERS:
        raise ConfigError(f"train.opt_name: unknown optimizer '{opt_name}' (valid names: {', '.join(OPTIMIZERS.names())})")
    settings = call_with_config(_opt_settings, opt_params, OPT_PARAMS_PATH)
    groups, summary = build_param_groups(
        model,
        settings["lr_default"],
        settings["wd_default"],
        settings["lr_list"],
        settings["wd_list"],
        settings["group_keys"],
    )
    if not groups:
        raise ConfigError(
            "no trainable parameters: every part of the model is frozen; set at least one of "
            "train.model.params.fix_img_en / fix_prompt_en / fix_mask_de to false"
        )
    factory = OPTIMIZERS.get(opt_name)
    extra = _fused_kwargs(settings["fused"])
    try:
        optimizer = factory(groups, settings["lr_default"], settings["wd_default"], settings["momentum"], **extra)
    except (TypeError, ValueError, RuntimeError) as error:  # e.g. negative lr, fused unsupported here
        raise ConfigError(f"train.opt_name '{opt_name}' with {OPT_PARAMS_PATH}: {error}") from error
    logger.info("optimizer %s parameter groups:\n%s", opt_name, format_group_summary(summary))
    return optimizer, summary
