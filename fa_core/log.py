"""Logging for the `fa_core` logger hierarchy: console and an optional log file (no torch import)."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Optional

LOGGER_NAME = "fa_core"


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
