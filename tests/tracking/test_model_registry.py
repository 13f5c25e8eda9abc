"""Registration: aliases, the champion gate, idempotence, and an unreachable tracking server."""

import json
import shutil

import onnx
import pytest
from mlflow import MlflowClient

from fa_core.cli import main
from fa_core.config.loader import parse_config
from fa_core.stages.export import run_export
from fa_core.tracking.registry import champion_gate, run_register
from tests.conftest import write_config
from tests.mlflow_server import free_port, mlflow_server


@pytest.fixture(scope="module")
def onnx_file(trained_tiny, tmp_path_factory):
    data, _, ckpt = trained_tiny
    return run_export(parse_config(data), str(ckpt), str(tmp_path_factory.mktemp("onnx") / "model.onnx")).onnx_path


def variant(onnx_path, tmp_path, tag: str):
    """The same network with one more metadata entry: another file (another sha256)."""
    proto = onnx.load(str(onnx_path))
    entry = proto.metadata_props.add()
    entry.key, entry.value = "variant", tag
    path = tmp_path / f"model_{tag}.onnx"
    onnx.save(proto, str(path))
    return path


def metrics_file(tmp_path, name: str, miou: float):
    path = tmp_path / name / "metrics.json"
    path.parent.mkdir()
    path.write_text(json.dumps({"mIoU": miou, "pixel_accuracy": 0.9}))
    return path


def config_for(trained_tiny, uri, **register):
    data = json.loads(json.dumps(trained_tiny[0]))
    data["register"] = {"tracking_uri": uri, "model_name": "shapes", "miou_floor": 0.5, **register}
    return data


@pytest.mark.parametrize(
    "miou, champion, passes",
    [(0.6, None, True), (0.4, None, False), (0.6, 0.7, False), (0.7, 0.7, True), (0.8, 0.7, True)],
)
def test_champion_gate(miou, champion, passes):
    assert champion_gate(miou, 0.5, champion)[0] is passes


def test_aliases_gate_and_idempotence(trained_tiny, onnx_file, tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    config = parse_config(config_for(trained_tiny, uri))
    train_dir = str(trained_tiny[2].parent)
    client = MlflowClient(uri, uri)

    first = run_register(config, str(onnx_file), str(metrics_file(tmp_path, "a", 0.7)), train_dir, str(tmp_path / "r1.json"))
    assert first["created_new_version"] and first["aliases"] == ["candidate", "champion"]

    again = run_register(config, str(onnx_file), str(metrics_file(tmp_path, "b", 0.7)), train_dir, str(tmp_path / "r2.json"))
    assert not again["created_new_version"] and again["version"] == first["version"]
    assert len(client.search_model_versions("name='shapes'")) == 1

    worse = variant(onnx_file, tmp_path, "worse")
    gated = run_register(config, str(worse), str(metrics_file(tmp_path, "c", 0.6)), train_dir, str(tmp_path / "r3.json"))
    assert gated["aliases"] == ["candidate"] and not gated["gate"]["passed"]
    assert "below the current champion's 0.7000" in gated["gate"]["reason"]
    assert str(client.get_model_version_by_alias("shapes", "champion").version) == first["version"]
    assert str(client.get_model_version_by_alias("shapes", "candidate").version) == gated["version"]

    run = client.get_run(gated["run_id"])
    assert run.data.tags["champion_gate"] == "failed"
    assert run.data.params["train.max_iter"] == "4"
    assert [m.step for m in client.get_metric_history(run.info.run_id, "train_loss")] == [2, 4]
    assert {"config.yaml", "metrics.json"} <= {a.path for a in client.list_artifacts(run.info.run_id)}
    assert "model.report.json" in {a.path for a in client.list_artifacts(first["run_id"])}


def test_unreachable_server_fails_bounded_then_registers_once(trained_tiny, onnx_file, tmp_path, capsys):
    port = free_port()
    uri = f"http://127.0.0.1:{port}"
    data = config_for(trained_tiny, uri, retries=2, retry_backoff_s=0.1, miou_floor=0.0)
    config_path = write_config(tmp_path / "config.yaml", data)
    metrics = metrics_file(tmp_path, "eval", 0.4)
    onnx_copy = tmp_path / "export" / "model.onnx"
    onnx_copy.parent.mkdir()
    shutil.copy(onnx_file, onnx_copy)
    before = {p: p.read_bytes() for p in (onnx_copy, metrics)}
    args = ["register", "--cfg", str(config_path), "--onnx", str(onnx_copy), "--metrics", str(metrics),
            "--train-dir", str(trained_tiny[2].parent), "--out", str(tmp_path / "registration.json")]  # fmt: skip

    assert main(args) == 7
    err = capsys.readouterr().err
    assert f"MLflow tracking server {uri} did not answer after 2 attempts" in err
    assert all(p.read_bytes() == content for p, content in before.items())  # earlier outputs intact
    assert not (tmp_path / "registration.json").exists()

    with mlflow_server(tmp_path / "server", port=port):
        assert main(args) == 0
        assert main(args) == 0  # a rerun finds the same file registered
        versions = MlflowClient(uri, uri).search_model_versions("name='shapes'")
    assert len(versions) == 1
    assert json.loads((tmp_path / "registration.json").read_text())["created_new_version"] is False
