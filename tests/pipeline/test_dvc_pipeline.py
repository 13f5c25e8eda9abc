"""The whole pipeline with `dvc repro` in a temporary git + DVC copy, against a real MLflow server;
then the champion is served with `mlflow models serve` and its labels are compared with `fa predict`."""

import json
import os
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

from tests.mlflow_server import free_port, mlflow_server, wait_http

REPO = Path(__file__).parents[2]
BIN = Path(sys.executable).parent
SIZE = 64


def tiny_params() -> dict:
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    for split, count in (("train", 16), ("val", 8)):
        params["prepare"][split]["params"].update(num_images=count, image_size=SIZE, num_classes=3)
    params["train"]["model"]["params"].update(class_num=3, image_size=SIZE)
    for section in (params["train"], params["val"]):
        section["dataset"]["transforms"]["resize"]["params"]["size"] = [SIZE, SIZE]
    params["train"].update(max_iter=10, log_iter=5, eval_iter=5, bs=4)
    params["val"]["bs"] = 4
    params["export"].update(num_samples=4, latency_runs=1)
    params["register"].update(model_name="shapes", miou_floor=0.0, retries=2)
    return params


def run(cmd, cwd, env, timeout=900):
    result = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{' '.join(cmd)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-5000:]}"
    return result.stdout + result.stderr


@pytest.fixture
def workspace(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    shutil.copy(REPO / "dvc.yaml", work)
    shutil.copytree(REPO / "fa_core", work / "fa_core", ignore=shutil.ignore_patterns("__pycache__"))
    (work / "params.yaml").write_text(yaml.safe_dump(tiny_params(), sort_keys=False))
    env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}", "DVC_NO_ANALYTICS": "1",
           "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}  # fmt: skip
    env.pop("MLFLOW_TRACKING_URI", None)
    run(["git", "init", "-q"], work, env)
    run(["dvc", "init", "-q"], work, env)
    return work, env


@pytest.mark.slow
def test_dvc_pipeline_registers_a_champion_that_mlflow_serves(workspace, tmp_path):
    work, env = workspace
    with mlflow_server(tmp_path / "mlflow") as uri:
        env["MLFLOW_TRACKING_URI"] = uri
        out = run(["dvc", "repro"], work, env)
        for stage in ("prepare", "train", "evaluate", "export", "register"):
            assert f"Running stage '{stage}'" in out
        registration = json.loads((work / "outputs/register/registration.json").read_text())
        assert registration["aliases"] == ["candidate", "champion"] and registration["tracking_uri"] == uri
        assert json.loads((work / "outputs/export/model.report.json").read_text())["passed"]
        manifest = json.loads((work / "data/prepared/manifest.json").read_text())
        assert manifest["splits"]["train"]["num_samples"] == 16 and len(manifest["content_hash"]) == 64

        assert "Data and pipelines are up to date" in run(["dvc", "repro"], work, env)
        summary = run(["fa", "summary", "--cfg", "params.yaml"], work, env)
        assert "registered:      models:/shapes/1 aliases candidate, champion" in summary
        assert "fa predict --model models:/shapes@champion" in summary
        assert "mIoU" in run(["dvc", "metrics", "show"], work, env)
        run(["dvc", "plots", "show", "-o", str(tmp_path / "plots")], work, env)
        assert (tmp_path / "plots" / "index.html").is_file()

        image = np.random.default_rng(5).integers(0, 255, (SIZE, SIZE, 3), dtype=np.uint8)
        Image.fromarray(image).save(tmp_path / "probe.png")
        run(["fa", "predict", "--model", "models:/shapes@champion", "--input", str(tmp_path / "probe.png"),
             "--out", str(tmp_path / "predicted"), "--no-progress"], work, env)  # fmt: skip
        predicted = np.asarray(Image.open(tmp_path / "predicted" / "probe.png"))

        port = free_port()
        server = subprocess.Popen(
            [str(BIN / "mlflow"), "models", "serve", "-m", "models:/shapes@champion", "--env-manager", "local",
             "--host", "127.0.0.1", "--port", str(port)],
            cwd=work, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            wait_http(f"http://127.0.0.1:{port}/ping", 120, server)
            body = json.dumps({"inputs": {"image": image.transpose(2, 0, 1)[None].astype(np.float32).tolist()}})
            request = urllib.request.Request(f"http://127.0.0.1:{port}/invocations", body.encode(),
                                             {"Content-Type": "application/json"})  # fmt: skip
            with urllib.request.urlopen(request, timeout=60) as response:
                served = json.loads(response.read())["predictions"]
        finally:
            server.terminate()
            server.wait(timeout=30)
        assert np.array_equal(np.asarray(served["labels"])[0], predicted)

        # An experiment with another run length registers a new candidate version.
        run(["git", "add", "-A"], work, env)
        run(["git", "commit", "-qm", "baseline"], work, env)
        run(["dvc", "exp", "run", "-S", "train.max_iter=6"], work, env)
        assert json.loads((work / "outputs/register/registration.json").read_text())["version"] == "2"
