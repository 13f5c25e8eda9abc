"""Export stage: checkpoint -> validated ONNX file (+ optional fp16 file) and a JSON report."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Optional

from fa_core.config.loader import config_hash
from fa_core.config.schema import Config
from fa_core.data import build_eval_loader
from fa_core.engine.runner import build_model, build_split_data, check_input_size, model_class_num
from fa_core.engine.setup import resolve_device
from fa_core.errors import ConfigError
from fa_core.export.onnx_model import build_metadata, export_onnx, preprocessing_of
from fa_core.export.validation import ExportValidationError, validate_onnx
from fa_core.models import load_model_weights

logger = logging.getLogger(__name__)


@dataclass
class ExportResult:
    onnx_path: Path
    report_path: Path
    report: Dict[str, Any]
    fp16_path: Optional[Path] = None


def report_path_for(onnx_path: Path) -> Path:
    return onnx_path.with_name(onnx_path.stem + ".report.json")


def run_export(
    config: Config, ckpt_path: str, out_path: str, require_gpu: Optional[bool] = None, fp16: Optional[bool] = None
) -> ExportResult:
    """Export the checkpoint's model to ONNX and validate it; the report is written even on failure."""
    export_cfg = config.export
    require_gpu = export_cfg.require_gpu if require_gpu is None else require_gpu
    fp16 = export_cfg.fp16 if fp16 is None else fp16
    onnx_path = Path(out_path)
    if onnx_path.suffix != ".onnx":
        raise ConfigError(f"--out '{onnx_path}': the file name must end in .onnx")
    if config.val.dataset is None:
        raise ConfigError("val.dataset: needed to validate the export on real images")

    device = resolve_device(config.train.device)
    model = build_model(config)
    load_model_weights(model, ckpt_path)
    model.eval()
    class_num = model_class_num(model, config)
    dataset, transforms = build_split_data(config.val.dataset, "val", config, class_num)
    check_input_size(dataset, transforms, model.image_size, "val")
    loader = build_eval_loader(dataset, transforms, export_cfg.batch_size, config.val.num_workers)
    names = dataset.names_for(class_num)
    preprocessing = preprocessing_of(list((config.val.dataset.transforms or {}).keys()))

    def export_and_validate(path: Path, half: bool, tolerances) -> Dict[str, Any]:
        metadata = build_metadata(names, model.image_size, preprocessing, getattr(model, "model_type", "unknown"),
                                  config_hash(config), "fp16" if half else "fp32")  # fmt: skip
        export_device = device if half else "cpu"  # fp16 kernels are a GPU feature
        seconds = export_onnx(model.to(export_device), path, model.image_size, metadata, export_cfg.opset, half=half)
        model.float().to(device)
        report = validate_onnx(
            path, model, loader, class_num, config.train.ignore_index, export_cfg.providers, tolerances,
            export_cfg.num_samples, export_cfg.latency_runs, require_gpu=require_gpu, precision="fp16" if half else "fp32",
        )  # fmt: skip
        report["export_seconds"] = seconds
        report["metadata"] = metadata
        return report

    report = export_and_validate(onnx_path, False, export_cfg.tolerances)
    fp16_path = None
    if fp16:
        fp16_path = onnx_path.with_name(onnx_path.stem + ".fp16.onnx")
        report["fp16"] = export_and_validate(fp16_path, True, export_cfg.fp16_tolerances)
    report_path = report_path_for(onnx_path)
    report_path.write_text(json.dumps(report, indent=2))
    failures = report["failures"] + [f"fp16: {f}" for f in report.get("fp16", {}).get("failures", [])]
    _log_summary(report)
    if failures:
        raise ExportValidationError(
            f"ONNX validation failed for {onnx_path} ({len(failures)} problem(s)): " + "; ".join(failures)
            + f". Full report: {report_path}"
        )
    return ExportResult(onnx_path, report_path, report, fp16_path)


def _log_summary(report: Dict[str, Any]) -> None:
    latency = report["latency"]
    logger.info(
        "ONNX validation on %s: max |logit diff| %.2e, label agreement %.5f, mIoU PyTorch %.4f vs ONNX Runtime %.4f; "
        "latency (batch %d) PyTorch %.1f ms, ONNX Runtime %.1f ms (ratio %.2f)",
        report["providers_used"][0], report["logits_max_abs_diff"], report["label_agreement"],
        report["miou_pytorch"], report["miou_onnxruntime"], latency["batch_size"],
        latency["pytorch_median_ms"], latency["onnxruntime_median_ms"], latency["pytorch_over_onnxruntime"],
    )  # fmt: skip
