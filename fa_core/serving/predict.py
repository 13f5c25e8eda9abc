"""`fa predict`: run an exported ONNX model over images and write label and overlay PNGs."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterator, List, Sequence, Tuple

import numpy as np
from PIL import Image
from tqdm import tqdm

from fa_core.errors import FAError
from fa_core.serving.images import label_png, overlay, preprocess, restore_labels

logger = logging.getLogger(__name__)
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}
DEFAULT_PROVIDERS = ("CUDAExecutionProvider", "CPUExecutionProvider")


class PredictError(FAError):
    exit_code = 6


@dataclass
class PredictSummary:
    written: List[str] = field(default_factory=list)
    skipped: Dict[str, str] = field(default_factory=dict)


class OnnxPredictor:
    """An exported Extend-SAM model in ONNX Runtime, with its preprocessing read from the metadata."""

    def __init__(self, model_path: str, providers: Sequence[str] = DEFAULT_PROVIDERS):
        import onnxruntime as ort

        path = Path(model_path)
        if not path.is_file():
            raise PredictError(f"--model '{path}' does not exist")
        available = ort.get_available_providers()
        usable = [p for p in providers if p in available] or ["CPUExecutionProvider"]
        try:
            self.session = ort.InferenceSession(str(path), providers=usable)
        except Exception as error:
            raise PredictError(f"--model '{path}' cannot be loaded by ONNX Runtime: {error}")
        meta = self.session.get_modelmeta().custom_metadata_map
        missing = [k for k in ("input_size", "preprocessing", "class_names") if k not in meta]
        if missing:
            raise PredictError(f"--model '{path}' lacks fa_core metadata ({', '.join(missing)}); export it with `fa export`")
        self.input_size = int(meta["input_size"])
        self.class_names = json.loads(meta["class_names"])
        preprocessing = json.loads(meta["preprocessing"])
        self.resize = preprocessing["resize"]
        self.pad_value = preprocessing.get("pad_value") or (0, 0, 0)
        self.input_name = meta.get("input_name", "image")
        logger.info("model %s on %s: %d classes, %d px, %s", path, self.session.get_providers()[0],
                    len(self.class_names), self.input_size, self.resize)  # fmt: skip

    def predict(self, images: Sequence[np.ndarray]) -> List[np.ndarray]:
        """uint8 HxWx3 RGB images of any size -> label maps (uint8/int64 HxW) at their own size."""
        prepared = [preprocess(image, self.input_size, self.resize, self.pad_value) for image in images]
        batch = np.stack([pixels for pixels, _ in prepared])
        _, labels = self.session.run(None, {self.input_name: batch})
        return [restore_labels(labels[i], valid, image.shape[:2]) for i, ((_, valid), image) in enumerate(zip(prepared, images))]


def list_inputs(input_path: Path) -> List[Path]:
    if input_path.is_file():
        return [input_path]
    if input_path.is_dir():
        return sorted(p for p in input_path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    raise PredictError(f"--input '{input_path}' is neither a file nor a folder")


def read_rgb(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def _batches(paths: List[Path], batch_size: int, summary: PredictSummary) -> Iterator[Tuple[List[Path], List[np.ndarray]]]:
    paths_batch, images_batch = [], []
    for path in paths:
        try:
            image = read_rgb(path)
        except Exception as error:  # unreadable inputs are reported and skipped, not fatal
            summary.skipped[str(path)] = f"{type(error).__name__}: {error}"
            logger.warning("skipping %s: cannot read it as an image (%s)", path, error)
            continue
        paths_batch.append(path)
        images_batch.append(image)
        if len(paths_batch) == batch_size:
            yield paths_batch, images_batch
            paths_batch, images_batch = [], []
    if paths_batch:
        yield paths_batch, images_batch


def predict_folder(
    model_path: str, input_path: str, out_dir: str, batch_size: int = 4,
    providers: Sequence[str] = DEFAULT_PROVIDERS, show_progress: bool = True,
) -> PredictSummary:  # fmt: skip
    """Write <out>/<name>.png (palette label map) and <out>/<name>_overlay.png for every readable input."""
    if batch_size < 1:
        raise PredictError(f"--batch-size must be >= 1, got {batch_size}")
    predictor = OnnxPredictor(model_path, providers)
    paths = list_inputs(Path(input_path))
    if not paths:
        raise PredictError(f"--input '{input_path}' holds no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    summary = PredictSummary()
    with tqdm(total=len(paths), desc="predict", unit="img", disable=not show_progress or len(paths) == 1) as bar:
        for batch_paths, images in _batches(paths, batch_size, summary):
            for path, image, labels in zip(batch_paths, images, predictor.predict(images)):
                label_png(labels).save(out / f"{path.stem}.png")
                overlay(image, labels).save(out / f"{path.stem}_overlay.png")
                summary.written.append(str(out / f"{path.stem}.png"))
            bar.update(len(batch_paths))
        bar.update(len(paths) - bar.n)
    (out / "predictions.json").write_text(json.dumps({"written": summary.written, "skipped": summary.skipped,
                                                      "class_names": predictor.class_names}, indent=2))  # fmt: skip
    logger.info("wrote %d label maps to %s; skipped %d unreadable input(s)", len(summary.written), out, len(summary.skipped))
    if not summary.written:
        raise PredictError(f"no input under '{input_path}' could be read; see {out / 'predictions.json'}")
    return summary

