"""Raw segmentation datasets: each yields (uint8 HxWx3 RGB image, int64 HxW label mask, name)."""

from __future__ import annotations

import colorsys
import json
import zlib
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import numpy as np
import torch
from PIL import Image

from fa_core.config.kwargs_check import call_with_config
from fa_core.errors import ConfigError, DataError
from fa_core.registry import Registry

DATASETS = Registry("dataset")
MANIFEST_NAME = "manifest.json"  # written by the prepare stage next to img/ and ann/

VOC_CLASS_NAMES = [
    "background", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
    "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train", "tvmonitor",
]  # fmt: skip

RawSample = Tuple[np.ndarray, np.ndarray, str]


class SegmentationDataset(torch.utils.data.Dataset):
    """Base class: subclasses implement __len__, load and describe."""

    class_names: List[str] = []  # may be empty when the config gives none; see names_for

    def __len__(self) -> int:
        raise NotImplementedError

    def load(self, index: int) -> RawSample:
        """The raw pair: (uint8 HxWx3 RGB image, int64 HxW mask, sample name)."""
        raise NotImplementedError

    def describe(self, index: int) -> str:
        """Where sample `index` comes from (file paths), for error messages."""
        return f"sample {index}"

    def names_for(self, class_num: int) -> List[str]:
        """class_names padded with "class_<i>" (or cut) to class_num entries, for reports."""
        names = list(self.class_names[:class_num])
        return names + [f"class_{i}" for i in range(len(names), class_num)]

    def unpaired_files(self) -> List[str]:
        """Files that have no partner (an image without mask or a mask without image)."""
        return []

    def __getitem__(self, index: int) -> RawSample:
        return self.load(index)


def read_image(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"), dtype=np.uint8)


def read_mask(path: Path) -> np.ndarray:
    """Read a single-channel index mask; palette (P) masks give their indices, not colours."""
    with Image.open(path) as mask:
        if mask.mode not in ("L", "P", "I", "I;16", "1"):
            raise DataError(
                f"{path}: mask has mode {mask.mode}; masks must be single-channel index images "
                "(mode L or P) whose pixel values are class ids"
            )
        return np.asarray(mask, dtype=np.int64)


@DATASETS.register("base_sem")
class BaseSemantic(SegmentationDataset):
    """finetune-anything's folder layout: <dir>/img/<set>/*.jpg paired by stem with <dir>/ann/<set>/*.png."""

    def __init__(
        self,
        dataset_dir: str,
        image_set: str,
        metainfo: Optional[Dict[str, Any]] = None,
        img_suffix: str = ".jpg",
        ann_suffix: str = ".png",
        data_prefix: Optional[Dict[str, str]] = None,
    ):
        self.ann_suffix = ann_suffix
        prefix = {"img_path": "img", "ann_path": "ann", **(data_prefix or {})}
        self.image_dir = Path(dataset_dir) / prefix["img_path"] / image_set
        self.mask_dir = Path(dataset_dir) / prefix["ann_path"] / image_set
        for kind, folder in (("image", self.image_dir), ("mask", self.mask_dir)):
            if not folder.is_dir():
                raise DataError(
                    f"{kind} folder {folder} does not exist; expected the layout "
                    f"<dataset_dir>/{prefix['img_path']}/<image_set>/*{img_suffix} and "
                    f"<dataset_dir>/{prefix['ann_path']}/<image_set>/*{ann_suffix}: create it or fix "
                    "dataset_dir / image_set / data_prefix in the config"
                )
        images = {p.name[: -len(img_suffix)]: p for p in self.image_dir.iterdir() if p.name.endswith(img_suffix)}
        masks = {p.name[: -len(ann_suffix)]: p for p in self.mask_dir.iterdir() if p.name.endswith(ann_suffix)}
        self.pairs = [(images[stem], masks[stem]) for stem in sorted(images.keys() & masks.keys())]
        self._unpaired = sorted(
            [str(images[s]) for s in images.keys() - masks.keys()] + [str(masks[s]) for s in masks.keys() - images.keys()]
        )
        self.class_names = list((metainfo or {}).get("class_names") or []) or _manifest_class_names(Path(dataset_dir))

    def __len__(self) -> int:
        return len(self.pairs)

    def load(self, index: int) -> RawSample:
        image_path, mask_path = self.pairs[index]
        return read_image(image_path), read_mask(mask_path), mask_path.name[: -len(self.ann_suffix)]

    def describe(self, index: int) -> str:
        image_path, mask_path = self.pairs[index]
        return f"{image_path} + {mask_path}"

    def unpaired_files(self) -> List[str]:
        return list(self._unpaired)


def _manifest_class_names(dataset_dir: Path) -> List[str]:
    """Class names recorded by the prepare stage, for folders it wrote (metainfo then is optional)."""
    manifest = dataset_dir / MANIFEST_NAME
    if manifest.is_file():
        return list(json.loads(manifest.read_text()).get("class_names", []))
    return []


@DATASETS.register("torch_voc_sem")
class TorchVOCSemantic(SegmentationDataset):
    """PASCAL VOC segmentation via torchvision, read from disk (never downloaded here)."""

    class_names = VOC_CLASS_NAMES

    def __init__(self, root: str, year: str = "2012", image_set: str = "train"):
        from torchvision.datasets import VOCSegmentation

        try:
            self.voc = VOCSegmentation(root=root, year=str(year), image_set=image_set, download=False)
        except (RuntimeError, FileNotFoundError, OSError) as error:
            raise DataError(
                f"PASCAL VOC {year} ({image_set}) not found under root {root} ({error}); it must be downloaded "
                "beforehand (e.g. torchvision.datasets.VOCSegmentation(root, download=True)) so that "
                f"{root}/VOCdevkit/VOC{year} exists"
            ) from error

    def __len__(self) -> int:
        return len(self.voc)

    def load(self, index: int) -> RawSample:
        image_path, mask_path = Path(self.voc.images[index]), Path(self.voc.masks[index])
        return read_image(image_path), read_mask(mask_path), image_path.stem

    def describe(self, index: int) -> str:
        return f"{self.voc.images[index]} + {self.voc.masks[index]}"


SHAPES = ["disk", "rectangle", "triangle", "ring", "cross", "diamond"]


@DATASETS.register("synthetic")
class SyntheticShapes(SegmentationDataset):
    """Coloured shapes on textured backgrounds, generated in memory (for smoke tests and demos).

    Class k >= 1 has its own shape type and a jittered hue of its own, so a working pipeline
    learns it quickly on a CPU, while misaligned labels leave it near chance.
    """

    def __init__(self, num_images: int = 64, image_size: int = 128, num_classes: int = 4, seed: int = 0, image_set: str = "train"):
        if num_images < 1 or image_size < 16 or num_classes < 2:
            raise ValueError("synthetic needs num_images >= 1, image_size >= 16 and num_classes >= 2")
        self.num_images, self.image_size, self.num_classes = int(num_images), int(image_size), int(num_classes)
        self.seed, self.image_set = int(seed), str(image_set)
        self.class_names = ["background"] + [
            SHAPES[(k - 1) % len(SHAPES)] + ("" if k <= len(SHAPES) else f"_{k}") for k in range(1, num_classes)
        ]
        # Hues spread evenly over the colour wheel: class k's hue centre.
        self.hues = [(k - 1) / (num_classes - 1) for k in range(num_classes)]

    def __len__(self) -> int:
        return self.num_images

    def describe(self, index: int) -> str:
        return f"synthetic {self.image_set} sample {index} (seed {self.seed})"

    def load(self, index: int) -> RawSample:
        if not 0 <= index < self.num_images:
            raise IndexError(index)
        # crc32 is stable across processes (unlike hash()), so the data never changes between runs.
        rng = np.random.default_rng([self.seed, zlib.crc32(self.image_set.encode()), index])
        n = self.image_size
        image = self._background(rng, n)
        mask = np.zeros((n, n), dtype=np.int64)
        yy, xx = np.mgrid[0:n, 0:n].astype(np.float32) + 0.5
        for _ in range(rng.integers(1, 5)):
            label = int(rng.integers(1, self.num_classes))
            size = rng.uniform(0.1, 0.4) * n
            cy, cx = rng.uniform(0.1, 0.9, size=2) * n
            region = self._shape(SHAPES[(label - 1) % len(SHAPES)], yy - cy, xx - cx, size, rng)
            hue = (self.hues[label] + rng.normal(0, 0.3 / self.num_classes)) % 1.0
            colour = np.array(colorsys.hsv_to_rgb(hue, rng.uniform(0.6, 1.0), rng.uniform(0.55, 1.0))) * 255
            shading = 1 + 0.15 * ((yy - cy) / n) + rng.normal(0, 0.05, size=(n, n))  # texture, not flat fill
            image[region] = colour * shading[region][:, None]
            mask[region] = label  # later objects occlude earlier ones
        image += rng.normal(0, 6, size=image.shape)
        return np.clip(image, 0, 255).astype(np.uint8), mask, f"{self.image_set}_{index:05d}"

    @staticmethod
    def _background(rng: np.random.Generator, n: int) -> np.ndarray:
        """Desaturated colour gradient plus blurry low-frequency blobs."""
        t = np.linspace(0, 1, n, dtype=np.float32)
        angle = rng.uniform(0, 2 * np.pi)
        ramp = np.cos(angle) * t[None, :] + np.sin(angle) * t[:, None]
        ramp = (ramp - ramp.min()) / max(np.ptp(ramp), 1e-6)
        start, end = rng.uniform(40, 200, size=(2, 3))
        image = start + ramp[..., None] * (end - start)
        coarse = torch.from_numpy(rng.normal(0, 14, size=(1, 3, 6, 6)).astype(np.float32))
        blobs = torch.nn.functional.interpolate(coarse, size=(n, n), mode="bicubic", align_corners=False)
        return image + blobs[0].permute(1, 2, 0).numpy()

    @staticmethod
    def _shape(shape: str, dy: np.ndarray, dx: np.ndarray, size: float, rng: np.random.Generator) -> np.ndarray:
        """Boolean mask of `shape` with radius (half-extent) `size` pixels centred at dy = dx = 0."""
        r = size  # size is the radius / half-width
        if shape == "disk":
            return dy**2 + dx**2 <= r**2
        if shape == "rectangle":
            aspect = rng.uniform(0.5, 1.0)
            hy, hx = (r, r * aspect) if rng.random() < 0.5 else (r * aspect, r)
            return (np.abs(dy) <= hy) & (np.abs(dx) <= hx)
        if shape == "triangle":  # upright or upside-down isosceles
            flip = 1 if rng.random() < 0.5 else -1
            y = dy * flip
            return (y <= r) & (np.abs(dx) <= (y + r) / 2)
        if shape == "ring":
            d2 = dy**2 + dx**2
            return (d2 <= r**2) & (d2 >= (0.55 * r) ** 2)
        if shape == "cross":
            arm = r * 0.35
            return ((np.abs(dy) <= arm) & (np.abs(dx) <= r)) | ((np.abs(dx) <= arm) & (np.abs(dy) <= r))
        return np.abs(dy) + np.abs(dx) <= r  # diamond


def build_dataset(name: str, params: Optional[Dict[str, Any]], config_path: str) -> SegmentationDataset:
    if name not in DATASETS:
        raise ConfigError(f"{config_path}.name: unknown dataset '{name}'; valid names: {', '.join(DATASETS.names())}")
    try:
        return call_with_config(DATASETS.get(name), params, f"{config_path}.params")
    except DataError as error:  # say which config entry pointed at the missing or broken data
        raise DataError(f"{config_path}.params: {error}") from error
