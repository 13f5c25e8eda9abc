"""Run environment: device, seeding, torchrun/DDP detection and logging."""

from __future__ import annotations

import logging
import os
import random
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np
import torch
import torch.distributed as dist

from fa_core.errors import ConfigError

LOGGER_NAME = "fa_core"


@dataclass
class DistContext:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def resolve_device(name: str, local_rank: int = 0) -> torch.device:
    """'auto' picks CUDA when present; under torchrun each process takes cuda:<LOCAL_RANK>."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ConfigError(f"train.device: '{name}' requested but CUDA is not available; use 'cpu' or 'auto'")
        if name == "cuda":
            name = f"cuda:{local_rank}"
    return torch.device(name)


def init_distributed(device_name: str) -> DistContext:
    """Join the process group when started by torchrun (WORLD_SIZE > 1)."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return DistContext()
    context = DistContext(int(os.environ["RANK"]), world_size, int(os.environ.get("LOCAL_RANK", "0")))
    if not dist.is_initialized():
        use_cuda = device_name != "cpu" and torch.cuda.is_available()
        if use_cuda:
            torch.cuda.set_device(context.local_rank)
        dist.init_process_group(backend="nccl" if use_cuda else "gloo")
    return context


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is at emit time (it is swapped by test runners and notebooks)."""

    _fa_console = True

    def __init__(self):
        super().__init__()

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value):
        pass


def setup_logging(log_file: Optional[Path] = None, is_main: bool = True, verbose: bool = False) -> logging.Logger:
    """Console (stderr) and optional file logging for the `fa_core` logger hierarchy."""
    logger = logging.getLogger(LOGGER_NAME)
    logger.setLevel(logging.DEBUG if verbose else logging.INFO)
    logger.propagate = False
    formatter = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S")
    if not any(getattr(h, "_fa_console", False) for h in logger.handlers):
        console = _StderrHandler()
        console.setFormatter(formatter)
        logger.addHandler(console)
    for handler in logger.handlers:
        if getattr(handler, "_fa_console", False):
            handler.setLevel(logging.INFO if is_main else logging.WARNING)
    if log_file is not None and is_main:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        resolved = str(log_file.resolve())
        if not any(getattr(h, "baseFilename", None) == resolved for h in logger.handlers):
            file_handler = logging.FileHandler(resolved)
            file_handler.setFormatter(formatter)
            logger.addHandler(file_handler)
    return logger
