"""Pull a registered ONNX model (`models:/NAME@ALIAS` or `models:/NAME/VERSION`) for serving."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Optional

from fa_core.errors import FAError
from fa_core.tracking.connection import configure_client_retries, resolve_tracking_uri, wait_for_server

logger = logging.getLogger(__name__)
MODEL_FILE = "model.onnx"


class PullError(FAError):
    exit_code = 7


def pull_model(model_uri: str, out_dir: str, tracking_uri: Optional[str] = None, attempts: int = 3) -> Path:
    """Download the MLflow model at `model_uri` into `out_dir`; returns the ONNX file's path.

    Next to it, metadata.json holds the ONNX metadata (class names, preprocessing, ...).
    """
    import mlflow
    import onnx
    from mlflow.exceptions import MlflowException

    if not model_uri.startswith("models:/"):
        raise PullError(f"'{model_uri}' is not a registry URI; use models:/NAME@ALIAS or models:/NAME/VERSION")
    uri = resolve_tracking_uri(tracking_uri)
    configure_client_retries()
    wait_for_server(uri, attempts, 1.0)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    try:
        local = Path(mlflow.artifacts.download_artifacts(artifact_uri=model_uri, dst_path=str(out), tracking_uri=uri))
    except MlflowException as error:
        raise PullError(f"cannot pull {model_uri} from {uri}: {error.message}")
    onnx_file = next(local.rglob(MODEL_FILE), None)
    if onnx_file is None:
        raise PullError(f"{model_uri} holds no {MODEL_FILE}: it was not logged by `fa register`")
    proto = onnx.load(str(onnx_file), load_external_data=False)
    metadata = {entry.key: entry.value for entry in proto.metadata_props}
    (onnx_file.parent / "metadata.json").write_text(json.dumps(metadata, indent=2))
    logger.info("pulled %s from %s to %s", model_uri, uri, onnx_file)
    return onnx_file
