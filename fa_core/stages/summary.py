"""What a pipeline run produced, in a few lines (printed after `dvc repro` by `make demo`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import List

from fa_core.config.schema import Config
from fa_core.tracking.connection import resolve_tracking_uri

EVAL_METRICS = Path("outputs/eval/metrics.json")
ONNX_FILE = Path("outputs/export/model.onnx")
REGISTRATION = Path("outputs/register/registration.json")


def summary_lines(config: Config) -> List[str]:
    lines = []
    if EVAL_METRICS.is_file():
        metrics = json.loads(EVAL_METRICS.read_text())
        lines.append(f"val mIoU:        {metrics['mIoU']:.4f} (pixel accuracy {metrics['pixel_accuracy']:.4f})")
    report = ONNX_FILE.with_name(ONNX_FILE.stem + ".report.json")
    if report.is_file():
        data = json.loads(report.read_text())
        state = "validated" if data["passed"] else "FAILED validation"
        lines.append(f"ONNX model:      {ONNX_FILE} ({state} on {data['providers_used'][0]}, "
                     f"max |logit diff| {data['logits_max_abs_diff']:.1e})")  # fmt: skip
    if REGISTRATION.is_file():
        registration = json.loads(REGISTRATION.read_text())
        lines.append(f"registered:      {registration['model_uri']} aliases {', '.join(registration['aliases'])}"
                     f" (gate: {registration['gate'].get('reason', 'n/a')})")  # fmt: skip
        uri = registration["tracking_uri"]
        if uri.startswith("http"):
            lines.append(f"MLflow UI:       {uri}")
        else:
            lines.append(f"MLflow UI:       mlflow ui --backend-store-uri {uri}   (then open http://127.0.0.1:5000)")
        champion = f"models:/{registration['model_name']}@champion"
        lines.append(f"try it:          fa predict --model {champion} --input <image or folder> --out predictions/")
    if not lines:
        lines.append(f"nothing produced yet: run `dvc repro` (tracking URI {resolve_tracking_uri(config.register.tracking_uri)})")
    return lines
