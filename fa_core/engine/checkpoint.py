"""Checkpoints: one dict {model, optimizer, scheduler, scaler, step, config, metrics, ...},
written to a temporary file and renamed so that a crash never leaves a half-written file."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any, Dict

import torch

from fa_core.errors import CheckpointError
from fa_core.weights_io import load_weights_file

LAST = "last.pth"
BEST = "best.pth"


def save_checkpoint(path: Path, state: Dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            torch.save(state, file)
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def load_checkpoint(path: Path) -> Dict[str, Any]:
    state = load_weights_file(path)
    if not isinstance(state, dict) or "model" not in state or "step" not in state:
        raise CheckpointError(f"'{path}' is not an fa_core training checkpoint (no model/step entries)")
    return state
