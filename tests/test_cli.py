"""The `fa` command line: exit codes, one-line errors, evaluate output, FA's train.py."""

import json
import subprocess
import sys
from pathlib import Path

import torch

from fa_core.cli import main
from tests.conftest import tiny_config_dict, write_config

REPO = Path(__file__).parents[1]


def test_bad_config_exits_2_with_one_line_naming_the_key(tmp_path, capsys):
    data = tiny_config_dict(tmp_path)
    data["train"]["lr"] = 0.1
    code = main(["train", "--cfg", str(write_config(tmp_path / "c.yaml", data))])
    err = capsys.readouterr().err
    assert code == 2
    assert "fa train: error: invalid config" in err and "train.lr: unknown key" in err
    assert "Traceback" not in err


def test_bad_data_exits_3_naming_the_files(tmp_path, capsys):
    root = tmp_path / "data"
    for split in ("train", "val"):
        (root / "img" / split).mkdir(parents=True)
        (root / "ann" / split).mkdir(parents=True)
    (root / "img" / "train" / "a.jpg").write_bytes(b"not an image")
    (root / "ann" / "train" / "a.png").write_bytes(b"not a png")
    data = tiny_config_dict(tmp_path)
    data["train"]["dataset"] = {
        "name": "base_sem",
        "params": {"dataset_dir": str(root), "image_set": "train"},
        "transforms": {"resize": {"params": {"size": 64}}},
    }
    code = main(["train", "--cfg", str(write_config(tmp_path / "c.yaml", data))])
    err = capsys.readouterr().err
    assert code == 3
    assert "a.jpg" in err and "Traceback" not in err


def test_debug_flag_shows_the_traceback(tmp_path):
    data = tiny_config_dict(tmp_path)
    data["train"]["lr"] = 0.1
    path = write_config(tmp_path / "c.yaml", data)
    result = subprocess.run(
        [sys.executable, "-m", "fa_core", "--debug", "train", "--cfg", str(path)], capture_output=True, text=True
    )
    assert result.returncode != 0 and "Traceback" in result.stderr


def test_train_then_evaluate_writes_a_metrics_json(tmp_path, capsys):
    path = write_config(tmp_path / "c.yaml", tiny_config_dict(tmp_path))
    assert main(["train", "--cfg", str(path), "--no-progress", "--set", "train.max_iter=2"]) == 0
    ckpt = tmp_path / "model" / "tiny" / "best.pth"
    out = tmp_path / "eval.json"
    assert main(["evaluate", "--cfg", str(path), "--ckpt", str(ckpt), "--split", "val", "--out", str(out)]) == 0
    metrics = json.loads(out.read_text())
    trained = torch.load(ckpt, weights_only=True)["metrics"]
    assert metrics["mIoU"] == trained["mIoU"]  # same weights, same data: same score
    assert metrics["split"] == "val" and len(metrics["confusion_matrix"]) == 3


def test_finetune_anything_entry_point_runs_from_the_repository_root(tmp_path):
    path = write_config(tmp_path / "c.yaml", tiny_config_dict(tmp_path, max_iter=2))
    result = subprocess.run(
        [sys.executable, "train.py", "--cfg", str(path), "--no-progress"], cwd=REPO, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1])["run_dir"].endswith("tiny")
