"""Register stage: one MLflow run per pipeline execution, the ONNX model registered with aliases.

The run gets the config as params, the training loss/lr and validation series per step, the final
metrics, and the artifacts (config, metrics, plots, confusion matrix, overlays, export report). The
ONNX file is logged with MLflow's ONNX flavor and registered under register.model_name. Alias
`candidate` always moves to the new version; `champion` only when the gate passes (val mIoU at
least register.miou_floor and not below the current champion's). A file already registered (same
sha256) creates no new version.
"""

from __future__ import annotations

import json
import logging
import subprocess
from pathlib import Path
from typing import Any, Dict, Iterable, Optional, Tuple

from fa_core.config.loader import config_hash, config_to_dict
from fa_core.config.schema import Config
from fa_core.errors import ConfigError
from fa_core.export.validation import sha256_of
from fa_core.tracking.connection import configure_client_retries, resolve_tracking_uri, wait_for_server

logger = logging.getLogger(__name__)
SHA_TAG = "onnx_sha256"
MIOU_TAG = "val_mIoU"
CANDIDATE, CHAMPION = "candidate", "champion"


def flatten(data: Any, prefix: str = "") -> Dict[str, str]:
    """Nested config -> {'train.opt_params.lr_default': '0.001', ...} (MLflow params are flat strings)."""
    if isinstance(data, dict):
        items: Dict[str, str] = {}
        for key, value in data.items():
            items.update(flatten(value, f"{prefix}{key}."))
        return items
    return {prefix[:-1]: json.dumps(data) if isinstance(data, (list, tuple)) else str(data)}


def champion_gate(miou: float, floor: float, champion_miou: Optional[float]) -> Tuple[bool, str]:
    """(passes, reason). The champion only moves to a model at least as good as the floor and itself."""
    if miou < floor:
        return False, f"val mIoU {miou:.4f} is below the floor {floor:.4f}"
    if champion_miou is not None and miou < champion_miou:
        return False, f"val mIoU {miou:.4f} is below the current champion's {champion_miou:.4f}"
    return True, f"val mIoU {miou:.4f} >= floor {floor:.4f}" + (
        f" and >= champion's {champion_miou:.4f}" if champion_miou is not None else " (no champion yet)"
    )


def _git_revision() -> Optional[str]:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def _read_jsonl(path: Path) -> Iterable[Dict[str, Any]]:
    if path.is_file():
        for line in path.read_text().splitlines():
            if line.strip():
                yield json.loads(line)


def run_register(
    config: Config, onnx_path: str, metrics_path: str, train_dir: str, out_path: str,
    eval_dir: Optional[str] = None, manifest_path: Optional[str] = None,
) -> Dict[str, Any]:  # fmt: skip
    """Log the pipeline run, register the ONNX model, apply aliases; write and return the registration."""
    import mlflow
    import onnx
    from mlflow import MlflowClient

    settings = config.register
    onnx_file, metrics_file, train_path = Path(onnx_path), Path(metrics_path), Path(train_dir)
    for label, path in (("--onnx", onnx_file), ("--metrics", metrics_file)):
        if not path.is_file():
            raise ConfigError(f"{label} '{path}' does not exist; run the earlier stages first")
    metrics = json.loads(metrics_file.read_text())
    miou = float(metrics["mIoU"] or 0.0)
    sha = sha256_of(onnx_file)

    uri = resolve_tracking_uri(settings.tracking_uri)
    configure_client_retries()
    wait_for_server(uri, settings.retries, settings.retry_backoff_s)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    client = MlflowClient(uri, uri)

    existing = _version_with_sha(client, settings.model_name, sha)
    if existing is not None:
        logger.info("%s (sha256 %s) is already version %s of %s: no new version", onnx_file, sha[:12], existing.version, settings.model_name)
        gate = json.loads(existing.tags["gate"]) if "gate" in existing.tags else None
        if gate is None:  # an earlier attempt stopped between registering and setting the aliases
            gate = _apply_aliases(client, settings, existing.version, miou)
        registration = _registration(settings.model_name, str(existing.version), sha, miou, False, gate, uri, existing.run_id)
        _write(out_path, registration)
        return registration

    report_file = onnx_file.with_name(onnx_file.stem + ".report.json")
    manifest_hash = None
    if manifest_path and Path(manifest_path).is_file():
        manifest_hash = json.loads(Path(manifest_path).read_text()).get("content_hash")
    proto = onnx.load(str(onnx_file))
    onnx_meta = {entry.key: entry.value for entry in proto.metadata_props}
    mlflow.set_experiment(settings.experiment_name)
    with mlflow.start_run(run_name=f"{config.train.experiment_name}-{sha[:8]}") as run:
        mlflow.log_params(flatten(config_to_dict(config)))
        mlflow.set_tags({"config_hash": config_hash(config), "git_revision": _git_revision() or "unknown",
                         "data_manifest_hash": manifest_hash or "unknown", SHA_TAG: sha})  # fmt: skip
        for row in _read_jsonl(train_path / "train_log.jsonl"):
            mlflow.log_metrics({f"train_{k}": v for k, v in row.items() if k != "step"}, step=row["step"])
        for row in _read_jsonl(train_path / "val_log.jsonl"):
            mlflow.log_metrics({f"val_{k}": v for k, v in row.items() if k != "step" and v is not None}, step=row["step"])
        mlflow.log_metrics({"val_mIoU": miou, "val_pixel_accuracy": float(metrics.get("pixel_accuracy") or 0.0)})
        for artifact in (train_path / "config.yaml", metrics_file, report_file):
            if artifact.is_file():
                mlflow.log_artifact(str(artifact))
        if eval_dir and Path(eval_dir).is_dir():
            mlflow.log_artifacts(eval_dir, artifact_path="evaluation")
        model_info = mlflow.onnx.log_model(
            proto,
            name="model",
            registered_model_name=settings.model_name,
            signature=_signature(onnx_meta),
            input_example=_input_example(onnx_meta),
            metadata={**onnx_meta, "onnx_sha256": sha, "data_manifest_hash": manifest_hash or "unknown",
                      "git_revision": _git_revision() or "unknown", "val_mIoU": miou},  # fmt: skip
            save_as_external_data=_needs_external_data(onnx_file),
        )
        version = str(model_info.registered_model_version)
        client.set_model_version_tag(settings.model_name, version, SHA_TAG, sha)
        gate = _apply_aliases(client, settings, version, miou)
        mlflow.set_tags({"champion_gate": "passed" if gate["passed"] else "failed", "champion_gate_reason": gate["reason"]})
        registration = _registration(settings.model_name, version, sha, miou, True, gate, uri, run.info.run_id)
    _write(out_path, registration)
    return registration


def _apply_aliases(client, settings, version: str, miou: float) -> Dict[str, Any]:
    """Tag the version with its mIoU, move `candidate` to it, and `champion` if the gate passes."""
    champion_miou = _alias_miou(client, settings.model_name, CHAMPION)
    passed, reason = champion_gate(miou, settings.miou_floor, champion_miou)
    gate = {"passed": passed, "reason": reason, "floor": settings.miou_floor, "champion_mIoU_before": champion_miou}
    client.set_model_version_tag(settings.model_name, version, MIOU_TAG, str(miou))
    client.set_registered_model_alias(settings.model_name, CANDIDATE, version)
    if passed:
        client.set_registered_model_alias(settings.model_name, CHAMPION, version)
    # Written last: its presence marks a version whose aliases are settled.
    client.set_model_version_tag(settings.model_name, version, "gate", json.dumps(gate))
    logger.info("%s version %s: candidate%s; champion gate %s: %s", settings.model_name, version,
                ", champion" if passed else "", "passed" if passed else "failed", reason)  # fmt: skip
    return gate


def _needs_external_data(onnx_file: Path) -> bool:
    """Protobuf caps one file at 2 GB: big models (vit_h) keep their weights in external data."""
    import onnx

    graph_only = onnx.load(str(onnx_file), load_external_data=False)
    external = any(init.data_location == onnx.TensorProto.EXTERNAL for init in graph_only.graph.initializer)
    return external or onnx_file.stat().st_size > 1.5 * 2**30


def _version_with_sha(client, name: str, sha: str):
    from mlflow.exceptions import MlflowException

    try:
        versions = client.search_model_versions(f"name='{name}'")
    except MlflowException:
        return None
    return next((v for v in versions if v.tags.get(SHA_TAG) == sha), None)


def _alias_miou(client, name: str, alias: str) -> Optional[float]:
    from mlflow.exceptions import MlflowException

    try:
        version = client.get_model_version_by_alias(name, alias)
    except MlflowException:
        return None
    value = version.tags.get(MIOU_TAG)
    return float(value) if value is not None else None


def _signature(onnx_meta: Dict[str, str]):
    import numpy as np
    from mlflow.models import ModelSignature
    from mlflow.types.schema import Schema, TensorSpec

    size = int(onnx_meta.get("input_size", "-1"))
    classes = len(json.loads(onnx_meta.get("class_names", "[]"))) or -1
    return ModelSignature(
        inputs=Schema([TensorSpec(np.dtype(np.float32), (-1, 3, size, size), "image")]),
        outputs=Schema([TensorSpec(np.dtype(np.float32), (-1, classes, size, size), "logits"),
                        TensorSpec(np.dtype(np.int64), (-1, size, size), "labels")]),  # fmt: skip
    )


def _input_example(onnx_meta: Dict[str, str]):
    """A one-image example (mid-grey); skipped for large inputs where it would bloat the artifact."""
    import numpy as np

    size = int(onnx_meta.get("input_size", "0"))
    if not 0 < size <= 256:
        return None
    return {"image": np.full((1, 3, size, size), 128.0, dtype=np.float32)}


def _registration(name, version, sha, miou, created, gate, uri, run_id) -> Dict[str, Any]:
    return {
        "model_name": name,
        "version": str(version),
        "aliases": [CANDIDATE] + ([CHAMPION] if gate.get("passed") else []),
        "model_uri": f"models:/{name}/{version}",
        "champion_uri": f"models:/{name}@{CHAMPION}",
        "onnx_sha256": sha,
        "val_mIoU": miou,
        "created_new_version": created,
        "gate": gate,
        "tracking_uri": uri,
        "run_id": run_id,
    }


def _write(out_path: str, registration: Dict[str, Any]) -> None:
    path = Path(out_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(registration, indent=2))
