"""Fixtures for the data tests: image/mask pairs in finetune-anything's folder layout."""

import numpy as np
import pytest
from PIL import Image


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
