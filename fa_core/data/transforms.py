"""Paired image/mask transforms and the config-driven pipeline builder.

Every random transform draws from the `torch.Generator` it is given, never from global RNG
state, so the augmentation of any sample can be replayed exactly (deterministic resume, any
number of worker processes). Masks are always resized with nearest neighbour so that no
label value is invented; masks may be None (evaluation/inference transforms the image only).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from fa_core.config.kwargs_check import call_with_config
from fa_core.errors import ConfigError
from fa_core.registry import Registry

logger = logging.getLogger(__name__)

TRANSFORMS = Registry("transform")

# SAM normalizes 0..255 RGB pixels with these (segment_anything.modeling.Sam defaults).
SAM_PIXEL_MEAN = (123.675, 116.28, 103.53)
SAM_PIXEL_STD = (58.395, 57.12, 57.375)

Size = Union[int, Sequence[int]]


@dataclass
class Sample:
    """One image (float32 3xHxW, RGB, 0..255 scale), its label mask (int64 HxW or None) and meta.

    meta["orig_size"] is the (H, W) of the source image; meta["valid_size"] is the (h, w) of the
    top-left region of `image` holding real content (smaller than the tensor after padding).
    """

    image: Tensor
    mask: Optional[Tensor] = None
    meta: Dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_numpy(cls, image: np.ndarray, mask: Optional[np.ndarray] = None) -> "Sample":
        """Build a Sample from a uint8 HxWx3 RGB array and an optional HxW label array."""
        tensor = torch.from_numpy(np.array(image, dtype=np.float32)).permute(2, 0, 1).contiguous()  # a copy: PIL arrays are read-only
        mask_tensor = None if mask is None else torch.from_numpy(np.asarray(mask, dtype=np.int64).copy())
        size = (int(image.shape[0]), int(image.shape[1]))
        return cls(tensor, mask_tensor, {"orig_size": size, "valid_size": size})

    @property
    def size(self) -> Tuple[int, int]:
        return int(self.image.shape[-2]), int(self.image.shape[-1])

    @property
    def valid_size(self) -> Tuple[int, int]:
        return tuple(self.meta.get("valid_size", self.size))  # type: ignore[return-value]


def _pair(size: Size, name: str) -> Tuple[int, int]:
    if isinstance(size, int):
        pair = (size, size)
    else:
        pair = tuple(int(s) for s in size)
        if len(pair) != 2:
            raise ValueError(f"{name} must be an int or [height, width], got {list(size)}")
    if min(pair) <= 0:
        raise ValueError(f"{name} must be positive, got {size}")
    return pair  # type: ignore[return-value]


def _resize_image(image: Tensor, size: Tuple[int, int]) -> Tensor:
    if tuple(image.shape[-2:]) == size:
        return image
    downscale = size[0] < image.shape[-2] or size[1] < image.shape[-1]
    out = F.interpolate(image[None], size=size, mode="bilinear", align_corners=False, antialias=downscale)
    return out[0]


def _resize_mask(mask: Optional[Tensor], size: Tuple[int, int]) -> Optional[Tensor]:
    if mask is None or tuple(mask.shape) == size:
        return mask
    # nearest-exact samples at pixel centres, matching bilinear align_corners=False geometry.
    out = F.interpolate(mask[None, None].to(torch.float32), size=size, mode="nearest-exact")
    return out[0, 0].to(torch.int64)


def _pad(sample: Sample, size: Tuple[int, int], ignore_index: int) -> Sample:
    """Pad bottom/right to `size` with SAM's mean (0 after normalization) and ignore_index."""
    h, w = sample.size
    pad_h, pad_w = max(size[0] - h, 0), max(size[1] - w, 0)
    if pad_h == 0 and pad_w == 0:
        return sample
    image = torch.empty((3, h + pad_h, w + pad_w), dtype=sample.image.dtype)
    image[:] = torch.tensor(SAM_PIXEL_MEAN, dtype=image.dtype)[:, None, None]
    image[:, :h, :w] = sample.image
    mask = sample.mask
    if mask is not None:
        mask = F.pad(mask, (0, pad_w, 0, pad_h), value=ignore_index)
    return replace(sample, image=image, mask=mask)


def _rescale(sample: Sample, size: Tuple[int, int]) -> Sample:
    """Resize image and mask to `size`, scaling the valid region along with them."""
    (h, w), (vh, vw) = sample.size, sample.valid_size
    meta = dict(sample.meta, valid_size=(min(size[0], round(vh * size[0] / h)), min(size[1], round(vw * size[1] / w))))
    return Sample(_resize_image(sample.image, size), _resize_mask(sample.mask, size), meta)


def _uniform(generator: torch.Generator, low: float, high: float) -> float:
    return low + (high - low) * torch.rand((), generator=generator).item()


@TRANSFORMS.register("to_tensor")
class ToTensor:
    """finetune-anything compatibility: samples are already tensors, so only ensure float32."""

    is_random = False

    def __call__(self, sample: Sample, generator: torch.Generator) -> Sample:
        return replace(sample, image=sample.image.to(torch.float32))


@TRANSFORMS.register("resize")
class Resize:
    """Resize to a fixed size (aspect ratio not kept)."""

    is_random = False

    def __init__(self, size: Size):
        self.size = _pair(size, "size")

    def __call__(self, sample: Sample, generator: torch.Generator) -> Sample:
        return _rescale(sample, self.size)


@TRANSFORMS.register("long_side_resize_pad")
class LongSideResizePad:
    """SAM's preprocessing: long side -> target_length keeping aspect, then pad to a square."""

    is_random = False

    def __init__(self, target_length: int = 1024, ignore_index: int = 255):
        if target_length <= 0:
            raise ValueError(f"target_length must be positive, got {target_length}")
        self.target_length = int(target_length)
        self.ignore_index = int(ignore_index)

    def __call__(self, sample: Sample, generator: torch.Generator) -> Sample:
        h, w = sample.size
        scale = self.target_length / max(h, w)
        # Same rounding as segment_anything's ResizeLongestSide.get_preprocess_shape.
        new_size = (int(h * scale + 0.5), int(w * scale + 0.5))
        resized = _rescale(sample, new_size)
        return _pad(resized, (self.target_length, self.target_length), self.ignore_index)


@TRANSFORMS.register("hflip")
class HorizontalFlip:
    """Mirror left-right with probability p (only the valid region, so padding stays right)."""

    is_random = True

    def __init__(self, p: float = 0.5):
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"p must be in [0, 1], got {p}")
        self.p = float(p)

    def __call__(self, sample: Sample, generator: torch.Generator) -> Sample:
        # Always draw, so the generator advances identically whatever the outcome.
        if torch.rand((), generator=generator).item() >= self.p:
            return sample
        vh, vw = sample.valid_size
        image = sample.image.clone()
        image[:, :vh, :vw] = image[:, :vh, :vw].flip(-1)
        mask = sample.mask
        if mask is not None:
            mask = mask.clone()
            mask[:vh, :vw] = mask[:vh, :vw].flip(-1)
        return replace(sample, image=image, mask=mask)


@TRANSFORMS.register("random_scale_crop")
class RandomScaleCrop:
    """Rescale by a random factor, then crop a random crop_size window (padding if smaller)."""

    is_random = True

    def __init__(self, crop_size: Size, scale_range: Sequence[float] = (0.5, 2.0), ignore_index: int = 255):
        self.crop_size = _pair(crop_size, "crop_size")
        if len(scale_range) != 2 or not 0 < scale_range[0] <= scale_range[1]:
            raise ValueError(f"scale_range must be [low, high] with 0 < low <= high, got {list(scale_range)}")
        self.scale_range = (float(scale_range[0]), float(scale_range[1]))
        self.ignore_index = int(ignore_index)

    def __call__(self, sample: Sample, generator: torch.Generator) -> Sample:
        scale = _uniform(generator, *self.scale_range)
        h, w = sample.size
        sample = _rescale(sample, (max(1, round(h * scale)), max(1, round(w * scale))))
        sample = _pad(sample, self.crop_size, self.ignore_index)
        (h, w), (ch, cw) = sample.size, self.crop_size
        top = int(torch.randint(0, h - ch + 1, (), generator=generator))
        left = int(torch.randint(0, w - cw + 1, (), generator=generator))
        vh, vw = sample.valid_size
        meta = dict(sample.meta, valid_size=(max(0, min(ch, vh - top)), max(0, min(cw, vw - left))))
        mask = None if sample.mask is None else sample.mask[top : top + ch, left : left + cw]
        return Sample(sample.image[:, top : top + ch, left : left + cw], mask, meta)


@TRANSFORMS.register("color_jitter")
class ColorJitter:
    """Random brightness, contrast and saturation (image only; padding is left untouched)."""

    is_random = True
    image_only = True

    def __init__(self, brightness: float = 0.2, contrast: float = 0.2, saturation: float = 0.2):
        for name, value in (("brightness", brightness), ("contrast", contrast), ("saturation", saturation)):
            if not 0.0 <= value < 1.0:
                raise ValueError(f"{name} must be in [0, 1), got {value}")
        self.brightness, self.contrast, self.saturation = float(brightness), float(contrast), float(saturation)

    def __call__(self, sample: Sample, generator: torch.Generator) -> Sample:
        factors = [_uniform(generator, 1 - amount, 1 + amount) for amount in (self.brightness, self.contrast, self.saturation)]
        vh, vw = sample.valid_size
        region = sample.image[:, :vh, :vw] * factors[0]
        weights = torch.tensor([0.299, 0.587, 0.114], dtype=region.dtype)[:, None, None]
        gray_mean = (region * weights).sum(0).mean()
        region = (region - gray_mean) * factors[1] + gray_mean
        gray = (region * weights).sum(0, keepdim=True)
        region = ((region - gray) * factors[2] + gray).clamp(0.0, 255.0)
        image = sample.image.clone()
        image[:, :vh, :vw] = region
        return replace(sample, image=image)


@TRANSFORMS.register("normalize")
class Normalize:
    """(pixel - mean) / std per channel, on the 0..255 scale SAM uses."""

    is_random = False
    image_only = True

    def __init__(self, mean: Sequence[float] = SAM_PIXEL_MEAN, std: Sequence[float] = SAM_PIXEL_STD):
        if len(mean) != 3 or len(std) != 3 or min(std) <= 0:
            raise ValueError(f"mean and std need 3 values each (std > 0), got mean={list(mean)} std={list(std)}")
        self.mean = torch.tensor(mean, dtype=torch.float32)[:, None, None]
        self.std = torch.tensor(std, dtype=torch.float32)[:, None, None]

    def __call__(self, sample: Sample, generator: torch.Generator) -> Sample:
        return replace(sample, image=(sample.image.to(torch.float32) - self.mean) / self.std)


class Compose:
    """Apply transforms in order, all drawing from the same generator."""

    def __init__(self, transforms: List[Any]):
        self.transforms = list(transforms)

    @property
    def is_random(self) -> bool:
        return any(getattr(t, "is_random", False) for t in self.transforms)

    def __call__(self, sample: Sample, generator: torch.Generator) -> Sample:
        for transform in self.transforms:
            sample = transform(sample, generator)
        return sample

    def __len__(self) -> int:
        return len(self.transforms)

    def __repr__(self) -> str:
        return f"Compose([{', '.join(type(t).__name__ for t in self.transforms)}])"


def build_transforms(spec: Optional[Dict[str, Any]], ignore_index: int, config_path: str) -> Compose:
    """Build a pipeline from finetune-anything's `{name: {params: {...}}}` mapping (in order)."""
    if spec is not None and not isinstance(spec, dict):
        raise ConfigError(f"{config_path}: expected a mapping of transform name -> {{params: ...}}, got {type(spec).__name__}")
    transforms = []
    for name, entry in (spec or {}).items():
        path = f"{config_path}.{name}"
        if name not in TRANSFORMS:
            raise ConfigError(f"{path}: unknown transform '{name}'; valid names: {', '.join(TRANSFORMS.names())}")
        if entry is None:
            entry = {}
        if not isinstance(entry, dict) or set(entry) - {"params"}:
            raise ConfigError(f"{path}: expected {{params: {{...}}}} or nothing, got {entry!r}")
        params = entry.get("params")
        if params is not None and not isinstance(params, dict):
            raise ConfigError(f"{path}.params: expected a mapping of parameters, got {params!r}")
        transforms.append(call_with_config(TRANSFORMS.get(name), params, f"{path}.params", ignore_index=ignore_index))
    if not any(isinstance(t, Normalize) for t in transforms):
        logger.info("%s: appended 'normalize' (SAM mean/std) because SAM expects normalized pixels", config_path)
        transforms.append(Normalize())
    return Compose(transforms)
