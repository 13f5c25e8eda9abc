"""Reading weight files safely: `torch.load(weights_only=True)` with errors that name the file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from fa_core.errors import CheckpointError


def load_weights_file(path: Path, what: str = "checkpoint", missing_hint: str = "") -> Any:
    """Load `path` without unpickling arbitrary objects; `what` names the file's role in errors."""
    if not path.is_file():
        raise CheckpointError(f"{what} '{path}' does not exist{missing_hint}")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many types for corrupt or pickled files
        raise CheckpointError(f"cannot read {what} '{path}' as a weights-only file: {error}")
