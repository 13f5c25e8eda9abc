"""End-to-end runs of the training runner on a tiny config (CPU, seconds)."""

import json
import re

import pytest
import torch

from fa_core.config.loader import parse_config
from fa_core.engine import runner as runner_module
from fa_core.engine.checkpoint import load_checkpoint
from fa_core.engine.runner import SemRunner, build_runner
from fa_core.errors import ConfigError
from tests.conftest import tiny_config_dict


def run(data, resume=False):
    runner = build_runner(parse_config(data), show_progress=False)
    return runner, runner.train(resume=resume)


def test_training_writes_checkpoints_logs_and_metrics(tmp_path):
    runner, history = run(tiny_config_dict(tmp_path, use_tensorboard=True))
    run_dir = tmp_path / "model" / "tiny"
    for name in ("last.pth", "best.pth", "config.yaml", "metrics.json", "train_log.jsonl", "val_log.jsonl"):
        assert (run_dir / name).is_file(), name
    assert len(re.findall(r"step \d+: val mIoU", (tmp_path / "log" / "tiny" / "train.log").read_text())) == 2
    assert any((tmp_path / "tb" / "tiny").iterdir())
    state = load_checkpoint(run_dir / "last.pth")
    assert {"model", "optimizer", "scheduler", "step", "config", "metrics"} <= set(state)
    assert state["step"] == 4
    assert state["config"]["train"]["max_iter"] == 4
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert 0.0 <= metrics["val"]["mIoU"] <= 1.0
    assert len(metrics["val"]["per_class_iou"]) == 3
    assert [json.loads(line)["step"] for line in (run_dir / "train_log.jsonl").read_text().splitlines()] == [2, 4]
    assert not list(run_dir.glob("*.tmp"))  # atomic writes leave no temporary files


def test_resume_ends_with_the_same_weights_as_an_uninterrupted_run(tmp_path, monkeypatch):
    straight, _ = run(tiny_config_dict(tmp_path / "a", max_iter=6, eval_iter=3))

    # Crash in step 5, after the step-3 checkpoint, then resume.
    calls = {"n": 0}
    real_step = runner_module.train_step

    def crashing_step(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 5:
            raise RuntimeError("simulated node failure")
        return real_step(*args, **kwargs)

    data = tiny_config_dict(tmp_path / "b", max_iter=6, eval_iter=3)
    monkeypatch.setattr(runner_module, "train_step", crashing_step)
    with pytest.raises(RuntimeError, match="simulated"):
        run(data)
    monkeypatch.setattr(runner_module, "train_step", real_step)
    assert load_checkpoint(tmp_path / "b" / "model" / "tiny" / "last.pth")["step"] == 3
    resumed, _ = run(data, resume=True)

    for (name, a), (_, b) in zip(straight.model.state_dict().items(), resumed.model.state_dict().items()):
        assert torch.equal(a, b), name


def test_resume_without_a_checkpoint_is_explained(tmp_path):
    from fa_core.errors import CheckpointError

    with pytest.raises(CheckpointError, match="no checkpoint to resume from"):
        run(tiny_config_dict(tmp_path), resume=True)


def test_transforms_that_miss_the_model_input_size_fail_before_training(tmp_path):
    data = tiny_config_dict(tmp_path)
    data["train"]["dataset"]["transforms"]["resize"]["params"]["size"] = [96, 96]
    with pytest.raises(ConfigError, match="produce 96x96 images but the model takes 64x64"):
        run(data)


def test_test_split_is_evaluated_when_need_test(tmp_path):
    data = tiny_config_dict(tmp_path)
    test_dataset = json.loads(json.dumps(data["val"]["dataset"]))
    test_dataset["params"]["image_set"] = "test"
    data["test"] = {"need_test": True, "dataset": test_dataset}
    _, history = run(data)
    assert "mIoU" in history["test"]


def test_frozen_encoder_keeps_its_weights(tmp_path):
    data = tiny_config_dict(tmp_path)
    data["train"]["model"]["params"]["fix_img_en"] = True
    runner = build_runner(parse_config(data), show_progress=False)
    before = {k: v.clone() for k, v in runner.model.img_adapter.state_dict().items()}
    runner.train()
    for key, value in runner.model.img_adapter.state_dict().items():
        assert torch.equal(before[key], value), key
    assert isinstance(runner, SemRunner)
