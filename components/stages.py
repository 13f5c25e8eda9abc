"""One lightweight KFP component per pipeline stage.

Each runs on the project image (docker/), which has fa_core installed, so `install_kfp_package`
is off and fa_core is imported inside the body. The bodies only translate between KFP artifacts
and the stage functions' paths; the work happens in fa_core.stages. The image is a parameter of
`build_components`, so one pipeline definition serves any registry and tag.
(No `from __future__ import annotations` here: KFP reads the artifact types from the annotations.)
"""


from types import SimpleNamespace

from kfp import dsl
from kfp.dsl import HTML, Artifact, ClassificationMetrics, Dataset, Input, Metrics, Model, Output


def prepare(config_yaml: str, source: Input[Dataset], prepared: Output[Dataset]):
    """Check the source data and write it prepared, with manifests."""
    import yaml

    from fa_core.config.loader import parse_config
    from fa_core.log import setup_logging
    from fa_core.stages.prepare import run_prepare
    from fa_core.stages.relocate import relocate

    setup_logging()
    data = relocate(yaml.safe_load(config_yaml), source_dir=source.path, prepared_dir=prepared.path)
    manifest = run_prepare(parse_config(data), show_progress=False)
    prepared.metadata.update(
        content_hash=manifest["content_hash"],
        class_names=manifest["class_names"],
        samples={split: info["num_samples"] for split, info in manifest["splits"].items()},
    )


def train(config_yaml: str, num_gpus: int, prepared: Input[Dataset], model: Output[Model], metrics: Output[Metrics]) -> float:
    """Fine-tune; with more than one GPU, under torchrun DDP in this pod. Returns the best val mIoU."""
    import json
    import os
    import subprocess
    import sys
    import tempfile
    from pathlib import Path

    import yaml

    from fa_core.config.loader import parse_config
    from fa_core.engine.runner import build_runner
    from fa_core.log import setup_logging
    from fa_core.stages.relocate import relocate

    setup_logging()
    data = relocate(yaml.safe_load(config_yaml), prepared_dir=prepared.path, run_root=model.path)
    run_dir = Path(model.path) / data["train"]["experiment_name"]
    if num_gpus > 1:
        with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as handle:
            yaml.safe_dump(data, handle)
        command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={num_gpus}",
                   "-m", "fa_core", "train", "--cfg", handle.name, "--no-progress"]  # fmt: skip
        subprocess.run(command, check=True, env=os.environ.copy())
        history = json.loads((run_dir / "metrics.json").read_text())
    else:
        history = build_runner(parse_config(data), show_progress=False).train()
    best = float(history["best_val_mIoU"])
    metrics.log_metric("best_val_mIoU", best)
    metrics.log_metric("val_mIoU", float(history["val"]["mIoU"] or 0.0))
    model.metadata.update(experiment=data["train"]["experiment_name"], best_val_mIoU=best)
    return best


def evaluate(
    config_yaml: str,
    prepared: Input[Dataset],
    model: Input[Model],
    metrics: Output[Metrics],
    confusion: Output[ClassificationMetrics],
    evaluation: Output[Artifact],
    report: Output[HTML],
) -> float:
    """Score the best checkpoint on val; confusion matrix, HTML report with overlays. Returns mIoU."""
    from pathlib import Path

    import yaml

    from fa_core.config.loader import parse_config
    from fa_core.log import setup_logging
    from fa_core.stages.evaluate import run_evaluate
    from fa_core.stages.relocate import relocate
    from fa_core.stages.report import html_report

    setup_logging()
    data = relocate(yaml.safe_load(config_yaml), prepared_dir=prepared.path, run_root=model.path)
    ckpt = Path(model.path) / data["train"]["experiment_name"] / "best.pth"
    result = run_evaluate(parse_config(data), str(ckpt), evaluation.path)
    miou = float(result["mIoU"] or 0.0)
    metrics.log_metric("mIoU", miou)
    metrics.log_metric("pixel_accuracy", float(result["pixel_accuracy"] or 0.0))
    for name, iou in zip(result["class_names"], result["per_class_iou"]):
        metrics.log_metric(f"IoU_{name}", float(iou or 0.0))
    confusion.log_confusion_matrix(result["class_names"], result["confusion_matrix"])
    Path(report.path).write_text(html_report(result, Path(evaluation.path)))
    return miou


def export(
    config_yaml: str, require_gpu: bool, prepared: Input[Dataset], model: Input[Model],
    onnx_model: Output[Model], validation: Output[Artifact],
):  # fmt: skip
    """Export to ONNX and validate in ONNX Runtime (CUDA provider required on GPU nodes)."""
    import shutil
    from pathlib import Path

    import yaml

    from fa_core.config.loader import parse_config
    from fa_core.log import setup_logging
    from fa_core.stages.export import run_export
    from fa_core.stages.relocate import relocate

    setup_logging()
    data = relocate(yaml.safe_load(config_yaml), prepared_dir=prepared.path, run_root=model.path)
    ckpt = Path(model.path) / data["train"]["experiment_name"] / "best.pth"
    Path(onnx_model.path).mkdir(parents=True, exist_ok=True)
    result = run_export(parse_config(data), str(ckpt), str(Path(onnx_model.path) / "model.onnx"), require_gpu=require_gpu)
    shutil.copy(result.report_path, validation.path)
    onnx_model.metadata.update(sha256=result.report["file"]["sha256"], providers=result.report["providers_used"])


def register(
    config_yaml: str, tracking_uri: str, model_name: str, onnx_model: Input[Model],
    evaluation: Input[Artifact], model: Input[Model], registration: Output[Artifact],
) -> str:  # fmt: skip
    """Log the run to MLflow and register the ONNX model; returns the models:/ URI."""
    from pathlib import Path

    import yaml

    from fa_core.config.loader import parse_config
    from fa_core.log import setup_logging
    from fa_core.stages.relocate import relocate
    from fa_core.tracking.registry import run_register

    setup_logging()
    data = relocate(yaml.safe_load(config_yaml), run_root=model.path)
    data.setdefault("register", {}).update(tracking_uri=tracking_uri or None, model_name=model_name)
    result = run_register(
        parse_config(data), str(Path(onnx_model.path) / "model.onnx"), str(Path(evaluation.path) / "metrics.json"),
        str(Path(model.path) / data["train"]["experiment_name"]), registration.path, evaluation.path,
    )  # fmt: skip
    return result["model_uri"]


def build_components(image: str) -> SimpleNamespace:
    """The five components on `image` (the fa_core image; see docker/)."""

    def make(func):
        return dsl.component(func, base_image=image, install_kfp_package=False)

    return SimpleNamespace(
        prepare=make(prepare), train=make(train), evaluate=make(evaluate), export=make(export), register=make(register)
    )
