"""Evaluate stage: metrics JSON, per-class IoU plot data, confusion matrix image, overlays."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, Dict, List

import numpy as np
import torch
from PIL import Image, ImageDraw

from fa_core.config.schema import Config
from fa_core.data import TransformedDataset
from fa_core.engine.evaluation import logits_to_original
from fa_core.engine.runner import build_runner
from fa_core.models import load_model_weights
from fa_core.serving.images import overlay

logger = logging.getLogger(__name__)


def run_evaluate(config: Config, ckpt_path: str, out_dir: str, split: str = "val", num_overlays: int = 6) -> Dict[str, Any]:
    """Score `ckpt_path` on `split`; write metrics.json, per_class_iou.json, confusion_matrix.png, overlays/."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    runner = build_runner(config)
    load_model_weights(runner.model, ckpt_path)
    loader, class_names = runner.eval_loader(split)
    metrics = runner.evaluate(split, loader, class_names)
    metrics.update(checkpoint=str(ckpt_path), split=split, class_names=class_names)
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2))
    per_class = [{"class": name, "iou": iou if iou is not None else 0.0} for name, iou in zip(class_names, metrics["per_class_iou"])]
    (out / "per_class_iou.json").write_text(json.dumps(per_class, indent=2))
    confusion_matrix_image(np.array(metrics["confusion_matrix"]), class_names).save(out / "confusion_matrix.png")
    write_overlays(runner, loader.dataset, out / "overlays", num_overlays)
    logger.info("%s mIoU %.4f, pixel accuracy %.4f; outputs in %s", split, metrics["mIoU"] or 0.0,
                metrics["pixel_accuracy"] or 0.0, out)  # fmt: skip
    return metrics


def confusion_matrix_image(matrix: np.ndarray, class_names: List[str], cell: int = 48) -> Image.Image:
    """Row-normalised confusion matrix (rows: ground truth, columns: prediction) as a heat map."""
    rows = matrix.sum(axis=1, keepdims=True)
    normalised = np.divide(matrix, rows, out=np.zeros(matrix.shape, dtype=np.float64), where=rows > 0)
    n = len(class_names)
    margin = 110
    image = Image.new("RGB", (margin + n * cell, margin + n * cell), "white")
    draw = ImageDraw.Draw(image)
    for i in range(n):
        draw.text((4, margin + i * cell + cell // 3), class_names[i][:16], fill="black")
        draw.text((margin + i * cell + 2, margin - 14 - (i % 2) * 14), class_names[i][:8], fill="black")
        for j in range(n):
            shade = int(255 * (1 - normalised[i, j]))
            box = (margin + j * cell, margin + i * cell, margin + (j + 1) * cell - 1, margin + (i + 1) * cell - 1)
            draw.rectangle(box, fill=(shade, shade, 255))
            draw.text((box[0] + 6, box[1] + cell // 3), f"{normalised[i, j]:.2f}", fill="black" if shade > 120 else "white")
    draw.text((4, 4), "rows: ground truth, columns: prediction (row-normalised)", fill="black")
    return image


@torch.no_grad()
def write_overlays(runner, dataset: TransformedDataset, out_dir: Path, count: int) -> None:
    """Image | ground truth | prediction, side by side, for the first `count` samples."""
    out_dir.mkdir(parents=True, exist_ok=True)
    runner.model.eval()
    for index in range(min(count, len(dataset))):
        sample = dataset[index]
        image, _, name = dataset.dataset.load(index)
        logits, _ = runner.model(sample["image"][None].to(runner.device))
        labels = logits_to_original(logits[0].float().cpu(), sample["image"].shape[-1], sample["valid_size"], sample["orig_size"]).argmax(0)
        truth = sample["mask"].numpy().copy()
        truth[truth >= 255] = 0
        panels = [Image.fromarray(image), overlay(image, truth), overlay(image, labels.numpy())]
        strip = Image.new("RGB", (sum(p.width for p in panels), panels[0].height))
        for k, panel in enumerate(panels):
            strip.paste(panel, (k * panels[0].width, 0))
        strip.save(out_dir / f"{name}.png")
