"""Which MLflow to talk to, and a bounded wait for it to answer."""

from __future__ import annotations

import logging
import os
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Optional

from fa_core.errors import FAError

logger = logging.getLogger(__name__)
LOCAL_DEFAULT = "sqlite:///mlflow.db"


class TrackingUnavailableError(FAError):
    """The MLflow tracking server could not be reached."""

    exit_code = 7


def resolve_tracking_uri(configured: Optional[str]) -> str:
    """register.tracking_uri, else $MLFLOW_TRACKING_URI, else a sqlite file in the working tree."""
    uri = configured or os.environ.get("MLFLOW_TRACKING_URI") or LOCAL_DEFAULT
    if uri.startswith("sqlite:///") and not uri.startswith("sqlite:////"):
        uri = "sqlite:///" + str(Path(uri[len("sqlite:///") :]).resolve())
    return uri


def configure_client_retries() -> None:
    """Our own bounded retry loop decides; MLflow's default HTTP retries would wait minutes per call."""
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "1")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "30")


def wait_for_server(uri: str, attempts: int, backoff_s: float) -> None:
    """Raise TrackingUnavailableError naming `uri` unless an http(s) server answers /health in time."""
    if not uri.startswith(("http://", "https://")):
        return
    url = uri.rstrip("/") + "/health"
    delay = backoff_s
    for attempt in range(1, attempts + 1):
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            logger.warning("MLflow tracking server %s not reachable (attempt %d/%d): %s", uri, attempt, attempts, reason)
        if attempt < attempts:
            time.sleep(delay)
            delay *= 2
    raise TrackingUnavailableError(
        f"MLflow tracking server {uri} did not answer after {attempts} attempts; start it (or fix "
        "register.tracking_uri / MLFLOW_TRACKING_URI) and rerun: earlier stages' outputs are kept"
    )
