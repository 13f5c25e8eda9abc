"""Make `fa_core` importable under a plain `pytest` run from the repository root (no install)."""

import sys
from pathlib import Path

ROOT = str(Path(__file__).resolve().parents[2])
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402


def _write_pair(root, stem, size=(12, 16), img_dir="img", ann_dir="ann", split="train", img_suffix=".jpg", ann_suffix=".png", label=1):
    """Write a grey image and an L-mode mask whose top half is `label` (finetune-anything layout)."""
    (root / img_dir / split).mkdir(parents=True, exist_ok=True)
    (root / ann_dir / split).mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((*size, 3), 100, np.uint8)).save(root / img_dir / split / f"{stem}{img_suffix}")
    mask = np.zeros(size, np.uint8)
    mask[: size[0] // 2] = label
    Image.fromarray(mask, mode="L").save(root / ann_dir / split / f"{stem}{ann_suffix}")


@pytest.fixture
def write_pair():
    return _write_pair
