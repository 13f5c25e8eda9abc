"""A self-contained HTML report of an evaluation (metrics, per-class IoU, overlays), for UIs."""

from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import Any, Dict


def html_report(metrics: Dict[str, Any], eval_dir: Path, max_overlays: int = 6) -> str:
    rows = "".join(
        f"<tr><td>{html.escape(name)}</td><td>{(iou if iou is not None else float('nan')):.4f}</td></tr>"
        for name, iou in zip(metrics["class_names"], metrics["per_class_iou"])
    )
    images = []
    for path in sorted((eval_dir / "overlays").glob("*.png"))[:max_overlays]:
        encoded = base64.b64encode(path.read_bytes()).decode()
        images.append(f'<figure><img src="data:image/png;base64,{encoded}"><figcaption>{html.escape(path.stem)}'
                      "</figcaption></figure>")  # fmt: skip
    matrix = eval_dir / "confusion_matrix.png"
    matrix_img = f'<img src="data:image/png;base64,{base64.b64encode(matrix.read_bytes()).decode()}">' if matrix.is_file() else ""
    return (
        "<html><body style='font-family:sans-serif'>"
        f"<h2>Evaluation ({html.escape(str(metrics.get('split', 'val')))})</h2>"
        f"<p>mIoU <b>{(metrics['mIoU'] or 0):.4f}</b>, pixel accuracy {(metrics['pixel_accuracy'] or 0):.4f}</p>"
        f"<h3>Per-class IoU</h3><table border=1 cellpadding=4><tr><th>class</th><th>IoU</th></tr>{rows}</table>"
        f"<h3>Confusion matrix</h3>{matrix_img}"
        "<h3>Overlays (image | ground truth | prediction)</h3>" + "".join(images) + "</body></html>"
    )
