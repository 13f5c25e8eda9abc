"""Submit the compiled pipeline to a Kubeflow Pipelines server."""

from __future__ import annotations

import datetime
import logging
from pathlib import Path
from typing import Any, Dict, Iterable, Optional

import yaml

from fa_core.errors import FAError

logger = logging.getLogger("fa_core.pipelines")


class SubmitError(FAError):
    exit_code = 8


def parse_params(pairs: Iterable[str]) -> Dict[str, Any]:
    """['miou_floor=0.6', 'gpu_count=2'] -> {'miou_floor': 0.6, 'gpu_count': 2} (values read as YAML)."""
    params = {}
    for pair in pairs:
        if "=" not in pair:
            raise SubmitError(f"--param '{pair}': expected NAME=VALUE")
        name, value = pair.split("=", 1)
        params[name.strip()] = yaml.safe_load(value)
    return params


def dataset_uri_from_dvc(path: str, repo: Optional[str] = None, rev: Optional[str] = None) -> str:
    """The remote storage URL of a DVC-tracked dataset folder (what the pipeline's importer reads)."""
    import dvc.api

    try:
        return dvc.api.get_url(path, repo=repo, rev=rev)
    except Exception as error:  # dvc raises many types (no remote, not tracked, ...)
        raise SubmitError(f"--dvc-dataset '{path}': cannot resolve its remote URL ({error}); `dvc add` and `dvc push` it first")


def submit(
    host: str,
    package: Path,
    arguments: Dict[str, Any],
    experiment: Optional[str] = None,
    run_name: Optional[str] = None,
    enable_caching: Optional[bool] = None,
    client_factory=None,
) -> Dict[str, str]:
    """Create a run from `package` on `host`; returns the run name, id and a link to it."""
    import kfp

    if not package.is_file():
        raise SubmitError(f"pipeline package '{package}' does not exist; run `fa pipeline compile` first")
    run_name = run_name or f"fa-{datetime.datetime.now(datetime.timezone.utc):%Y%m%d-%H%M%S}"
    client = (client_factory or kfp.Client)(host=host)
    result = client.create_run_from_pipeline_package(
        str(package), arguments=arguments, run_name=run_name, experiment_name=experiment, enable_caching=enable_caching
    )
    run_id = result.run_id
    link = f"{host.rstrip('/')}/#/runs/details/{run_id}"
    logger.info("submitted run %s (%s): %s", run_name, run_id, link)
    return {"run_name": run_name, "run_id": run_id, "link": link}
