"""DDP under torchrun: two CPU processes (gloo backend) train the tiny config together."""

import json
import subprocess
import sys

import pytest
import torch

from fa_core.config.loader import parse_config
from fa_core.engine.runner import build_runner
from tests.conftest import tiny_config_dict, write_config


@pytest.mark.slow
def test_torchrun_two_processes_train_and_rank0_writes(tmp_path):
    config = write_config(tmp_path / "c.yaml", tiny_config_dict(tmp_path, max_iter=4))
    result = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
         "-m", "fa_core", "train", "--cfg", str(config), "--no-progress"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert "world size 2" in result.stderr
    run_dir = tmp_path / "model" / "tiny"
    state = torch.load(run_dir / "last.pth", weights_only=True)
    assert state["step"] == 4
    assert not any(k.startswith("module.") for k in state["model"])  # saved unwrapped
    logged_steps = [json.loads(line)["step"] for line in (run_dir / "train_log.jsonl").read_text().splitlines()]
    assert logged_steps == [2, 4]  # one writer

    # Validation was sharded over the two ranks; summed, it equals one process scoring everything.
    ddp_val = json.loads((run_dir / "metrics.json").read_text())["val"]
    single = build_runner(parse_config(tiny_config_dict(tmp_path, max_iter=4)), show_progress=False)
    single.model.load_state_dict(state["model"])
    alone = single.evaluate("val")
    assert alone["confusion_matrix"] == ddp_val["confusion_matrix"]
    assert alone["mIoU"] == pytest.approx(ddp_val["mIoU"])
