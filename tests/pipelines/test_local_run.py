"""The pipeline, unchanged, under kfp.local.SubprocessRunner (no cluster, no containers), tiny config."""

import json
import time

import pytest
import yaml
from kfp import local
from mlflow import MlflowClient

from pipelines.pipeline import build_pipeline
from tests.pipeline.test_dvc_pipeline import tiny_params


@pytest.mark.slow
@pytest.mark.parametrize("gpu_count", [1, 2])
def test_pipeline_runs_locally_and_registers_a_model(tmp_path, gpu_count):
    """gpu_count=2 takes the multi-GPU path: train runs under torchrun with 2 processes (gloo on CPU here)."""
    raw = tmp_path / "raw"  # the synthetic source ignores it; on a cluster this is the DVC remote URL
    raw.mkdir()
    tracking = f"sqlite:///{tmp_path / 'mlflow.db'}"
    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(tmp_path / "root"))
    started = time.monotonic()
    # GPU settings stay as compiled; only require_gpu is off, since this machine has no CUDA.
    build_pipeline()(config_yaml=yaml.safe_dump(tiny_params()), dataset_uri=str(raw), tracking_uri=tracking,
                     model_name="shapes", miou_floor=0.0, require_gpu=False, gpu_count=gpu_count)  # fmt: skip
    print(json.dumps({"gpu_count": gpu_count, "kfp_local_run_seconds": round(time.monotonic() - started, 1)}))
    versions = MlflowClient(tracking, tracking).search_model_versions("name='shapes'")
    assert len(versions) == 1
    assert str(MlflowClient(tracking, tracking).get_model_version_by_alias("shapes", "champion").version) == "1"
