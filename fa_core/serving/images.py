"""Image pre/post-processing for ONNX serving, in NumPy and Pillow (no torch).

Pre: bring any RGB image to the model's S x S input as its metadata says ("resize", or SAM's
"long_side_resize_pad" padded with the pixel mean). Post: crop the padding off the label map and
resize it to the source image size with nearest-neighbour sampling at pixel centres (the same
rule as torch's `nearest-exact`), so served labels match the PyTorch model's.
"""

from __future__ import annotations

from typing import Sequence, Tuple

import numpy as np
from PIL import Image


def preprocess(image: np.ndarray, input_size: int, resize: str, pad_value: Sequence[float] = (0, 0, 0)) -> Tuple[np.ndarray, Tuple[int, int]]:
    """uint8 HxWx3 -> (float32 3xSxS pixels 0..255, (h, w) of the valid top-left region)."""
    height, width = image.shape[:2]
    if resize == "long_side_resize_pad":
        scale = input_size / max(height, width)
        valid = (max(1, int(height * scale + 0.5)), max(1, int(width * scale + 0.5)))
    elif resize == "resize":
        valid = (input_size, input_size)
    else:
        raise ValueError(f"unknown preprocessing '{resize}' in the model metadata")
    resized = np.asarray(Image.fromarray(image).resize((valid[1], valid[0]), Image.BILINEAR), dtype=np.float32)
    canvas = np.empty((input_size, input_size, 3), dtype=np.float32)
    canvas[:] = np.asarray(pad_value, dtype=np.float32)
    canvas[: valid[0], : valid[1]] = resized
    return canvas.transpose(2, 0, 1).copy(), valid


def nearest_resize(labels: np.ndarray, size: Tuple[int, int]) -> np.ndarray:
    """Nearest-neighbour resize of a 2-D label map, sampling source pixel centres."""
    in_h, in_w = labels.shape
    rows = np.minimum(((np.arange(size[0]) + 0.5) * in_h / size[0]).astype(np.int64), in_h - 1)
    cols = np.minimum(((np.arange(size[1]) + 0.5) * in_w / size[1]).astype(np.int64), in_w - 1)
    return labels[rows[:, None], cols[None, :]]


def restore_labels(labels: np.ndarray, valid: Tuple[int, int], original: Tuple[int, int]) -> np.ndarray:
    """SxS label map -> the source image's HxW, padding cropped away."""
    return nearest_resize(labels[: valid[0], : valid[1]], original)


def palette(num_classes: int) -> np.ndarray:
    """Distinct colours per class (PASCAL VOC's bit-interleaved scheme); uint8 [256, 3]."""
    colours = np.zeros((256, 3), dtype=np.uint8)
    for index in range(256):
        value, r, g, b = index, 0, 0, 0
        for bit in range(8):
            r |= ((value >> 0) & 1) << (7 - bit)
            g |= ((value >> 1) & 1) << (7 - bit)
            b |= ((value >> 2) & 1) << (7 - bit)
            value >>= 3
        colours[index] = (r, g, b)
    return colours


def label_png(labels: np.ndarray) -> Image.Image:
    """A palette PNG whose pixel values are the class indices."""
    image = Image.fromarray(labels.astype(np.uint8), mode="P")
    image.putpalette(palette(256).flatten().tolist())
    return image


def overlay(image: np.ndarray, labels: np.ndarray, alpha: float = 0.5) -> Image.Image:
    colours = palette(256)[labels.astype(np.uint8)]
    blended = (1 - alpha) * image.astype(np.float32) + alpha * colours.astype(np.float32)
    return Image.fromarray(blended.clip(0, 255).astype(np.uint8))
