"""Check a dataset split before training so bad data fails early, with every problem at once."""

from __future__ import annotations

import logging
import time
from typing import List

import numpy as np

from fa_core.data.datasets import SegmentationDataset
from fa_core.errors import DataError

logger = logging.getLogger(__name__)


def _listing(items: List[str], max_listed: int) -> str:
    shown = ", ".join(items[:max_listed])
    rest = len(items) - max_listed
    return shown + (f" (and {rest} more)" if rest > 0 else "")


def validate_dataset(
    dataset: SegmentationDataset, class_num: int, ignore_index: int, split: str, config_path: str, max_listed: int = 5
) -> dict:
    """Read every sample of `split` once; raise one DataError listing all problems found.

    Returns a summary: {"split", "num_samples", "pixel_counts" (per class), "ignored_pixels"}.
    """
    where = f"{split} split ({config_path})"
    if len(dataset) == 0:
        unpaired = dataset.unpaired_files()
        detail = f"; unpaired files: {_listing(unpaired, max_listed)}" if unpaired else ""
        raise DataError(f"{where} has no samples{detail}; check the dataset folder, image_set and file suffixes")

    unreadable: List[str] = []
    mismatched: List[str] = []
    bad_labels: List[str] = []
    bad_values: set = set()
    pixel_counts = np.zeros(class_num, dtype=np.int64)
    ignored = 0
    total = len(dataset)
    last_log = time.monotonic()
    for index in range(total):
        try:
            image, mask, _ = dataset.load(index)
        except Exception as error:  # any decoder error means the file is unusable
            unreadable.append(f"{dataset.describe(index)} [{type(error).__name__}: {error}]")
            continue
        if image.shape[:2] != mask.shape[:2] or mask.ndim != 2:
            mismatched.append(f"{dataset.describe(index)} [image {image.shape[0]}x{image.shape[1]}, mask {'x'.join(map(str, mask.shape))}]")
            continue
        in_range = (mask >= 0) & (mask < class_num)
        is_ignored = mask == ignore_index
        outside = ~in_range & ~is_ignored
        if outside.any():
            values = np.unique(mask[outside])
            bad_values.update(int(v) for v in values)
            bad_labels.append(f"{dataset.describe(index)} [values {', '.join(map(str, values[:10]))}]")
        pixel_counts += np.bincount(mask[in_range & ~is_ignored], minlength=class_num)
        ignored += int(is_ignored.sum())
        if time.monotonic() - last_log > 10:  # keep the user informed on large datasets
            logger.info("validating %s: %d/%d samples checked", where, index + 1, total)
            last_log = time.monotonic()

    problems = []
    unpaired = dataset.unpaired_files()
    if unpaired:
        problems.append(f"{len(unpaired)} file(s) without a partner image/mask (pair them by name or remove them): {_listing(unpaired, max_listed)}")
    if unreadable:
        problems.append(f"{len(unreadable)} sample(s) could not be read (replace or remove the corrupt files): {_listing(unreadable, max_listed)}")
    if mismatched:
        problems.append(f"{len(mismatched)} sample(s) whose mask size differs from the image size (re-export the masks at image size): {_listing(mismatched, max_listed)}")
    if bad_labels:
        problems.append(
            f"{len(bad_labels)} mask(s) with label values {sorted(bad_values)} outside [0, {class_num}) that are not "
            f"ignore_index {ignore_index}: {_listing(bad_labels, max_listed)}. Fix the masks, or set "
            "train.model.params.class_num to cover these classes, or train.ignore_index to the value marking unlabeled pixels"
        )
    if problems:
        raise DataError(f"{where}: {len(problems)} problem(s) found:\n  - " + "\n  - ".join(problems))

    empty = [str(c) for c in range(class_num) if pixel_counts[c] == 0]
    if empty:
        logger.warning("%s: classes %s have no pixels in this split", where, ", ".join(empty))
    logger.info("%s: %d samples OK", where, total)
    return {"split": split, "num_samples": total, "pixel_counts": pixel_counts.tolist(), "ignored_pixels": ignored}
