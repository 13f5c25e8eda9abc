"""Prepare stage: read each configured source split, check it, and write it in finetune-anything's
folder layout (img/<split>/*.png, ann/<split>/*.png) with a manifest of files, content hashes, class
names and pixel counts. The new folder replaces the old one only once it is complete."""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import tempfile
from pathlib import Path
from typing import Any, Dict

import numpy as np
from PIL import Image
from tqdm import tqdm

from fa_core.config.schema import Config
from fa_core.data import build_dataset, validate_dataset
from fa_core.data.datasets import MANIFEST_NAME
from fa_core.errors import ConfigError

logger = logging.getLogger(__name__)
SPLITS = ("train", "val", "test")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _class_num(config: Config) -> int:
    class_num = config.train.model.params.get("class_num")
    if not isinstance(class_num, int):
        raise ConfigError("train.model.params.class_num: required to check the prepared labels")
    return class_num


def run_prepare(config: Config, show_progress: bool = True) -> Dict[str, Any]:
    """Write the prepared data set to `prepare.out_dir`; returns the manifest."""
    prepare = config.prepare
    for split in ("train", "val"):
        if getattr(prepare, split) is None:
            raise ConfigError(f"prepare.{split}: required (a dataset name and params to read the {split} split from)")
    class_num, ignore_index = _class_num(config), config.train.ignore_index
    out_dir = Path(prepare.out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        manifest: Dict[str, Any] = {"class_names": None, "ignore_index": ignore_index, "splits": {}}
        for split in SPLITS:
            source = getattr(prepare, split)
            if source is None:
                continue
            dataset = build_dataset(source.name, source.params, f"prepare.{split}")
            summary = validate_dataset(dataset, class_num, ignore_index, split, f"prepare.{split}")
            manifest["class_names"] = manifest["class_names"] or dataset.names_for(class_num)
            manifest["splits"][split] = _write_split(dataset, staging, split, show_progress) | {
                "source": {"name": source.name, "params": source.params},
                "pixel_counts": summary["pixel_counts"],
                "ignored_pixels": summary["ignored_pixels"],
            }
        entries = json.dumps(manifest["splits"], sort_keys=True).encode()
        manifest["content_hash"] = hashlib.sha256(entries).hexdigest()
        (staging / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2))
        if out_dir.exists():
            shutil.rmtree(out_dir)
        staging.rename(out_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    logger.info("prepared %s in %s (content hash %s)",
                ", ".join(f"{s}: {v['num_samples']}" for s, v in manifest["splits"].items()), out_dir,
                manifest["content_hash"][:12])  # fmt: skip
    return manifest


def _write_split(dataset, root: Path, split: str, show_progress: bool) -> Dict[str, Any]:
    image_dir, mask_dir = root / "img" / split, root / "ann" / split
    image_dir.mkdir(parents=True)
    mask_dir.mkdir(parents=True)
    files = []
    for index in tqdm(range(len(dataset)), desc=f"prepare {split}", disable=not show_progress, leave=False):
        image, mask, name = dataset.load(index)
        image_path, mask_path = image_dir / f"{name}.png", mask_dir / f"{name}.png"
        Image.fromarray(image).save(image_path)
        Image.fromarray(mask.astype(np.uint8), mode="L").save(mask_path)
        files.append({"name": name, "image": f"img/{split}/{name}.png", "mask": f"ann/{split}/{name}.png",
                      "image_sha256": _sha256(image_path), "mask_sha256": _sha256(mask_path),
                      "height": int(image.shape[0]), "width": int(image.shape[1])})  # fmt: skip
    return {"num_samples": len(files), "files": files}
