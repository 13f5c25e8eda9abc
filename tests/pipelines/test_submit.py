"""`fa pipeline submit` with kfp.Client replaced: there is no Kubeflow cluster here."""

import json

import kfp
import pytest

from fa_core.cli import main
from pipelines.compile import COMPILED
from pipelines.submit import SubmitError, parse_params


class FakeClient:
    """Records what a real kfp.Client would have sent to the KFP API server."""

    calls = []

    def __init__(self, host):
        self.host = host

    def create_run_from_pipeline_package(self, pipeline_file, arguments, run_name, experiment_name, enable_caching):
        FakeClient.calls.append(dict(host=self.host, pipeline_file=pipeline_file, arguments=arguments,
                                     run_name=run_name, experiment_name=experiment_name, enable_caching=enable_caching))  # fmt: skip

        class Result:
            run_id = "run-123"

        return Result()


def test_submit_passes_package_parameters_experiment_and_run_name(tmp_path, monkeypatch, capsys):
    FakeClient.calls.clear()
    monkeypatch.setattr(kfp, "Client", FakeClient)
    config = tmp_path / "params.yaml"
    config.write_text("train: {max_iter: 5}\n")
    code = main(["pipeline", "submit", "--host", "http://kfp.example", "--experiment", "sam", "--run-name", "try-1",
                 "--config", str(config), "--param", "dataset_uri=s3://bucket/data", "--param", "gpu_count=2",
                 "--param", "miou_floor=0.6", "--no-cache"])  # fmt: skip
    assert code == 0
    (call,) = FakeClient.calls
    assert call["host"] == "http://kfp.example" and call["pipeline_file"] == str(COMPILED)
    assert call["arguments"] == {"config_yaml": "train: {max_iter: 5}\n", "dataset_uri": "s3://bucket/data",
                                 "gpu_count": 2, "miou_floor": 0.6}  # fmt: skip
    assert call["experiment_name"] == "sam" and call["run_name"] == "try-1" and call["enable_caching"] is False
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert printed == {"run_name": "try-1", "run_id": "run-123", "link": "http://kfp.example/#/runs/details/run-123"}


def test_bad_parameters_and_missing_packages_are_explained(tmp_path, capsys):
    with pytest.raises(SubmitError, match="expected NAME=VALUE"):
        parse_params(["gpu_count"])
    code = main(["pipeline", "submit", "--host", "http://x", "--package", str(tmp_path / "none.yaml")])
    assert code == 8 and "run `fa pipeline compile` first" in capsys.readouterr().err
