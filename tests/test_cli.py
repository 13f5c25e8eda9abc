"""The `fa` command line: exit codes, one-line errors, evaluate output, FA's train.py."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

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


def _write_pair(root, stem, split="train", image_size=(24, 32), mask_size=(24, 32), label=1):
    (root / "img" / split).mkdir(parents=True, exist_ok=True)
    (root / "ann" / split).mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((*image_size, 3), 90, np.uint8)).save(root / "img" / split / f"{stem}.jpg")
    mask = np.zeros(mask_size, np.uint8)
    mask[: mask_size[0] // 2] = label
    Image.fromarray(mask, mode="L").save(root / "ann" / split / f"{stem}.png")


def _missing_pair(root):
    (root / "ann" / "train" / "b.png").unlink()


def _unreadable(root):
    (root / "img" / "train" / "b.jpg").write_bytes(b"not an image")


def _size_mismatch(root):
    _write_pair(root, "b", mask_size=(12, 16))


def _label_out_of_range(root):
    _write_pair(root, "b", label=7)


def _empty_split(root):
    for folder in ("img", "ann"):
        for file in (root / folder / "train").iterdir():
            file.unlink()


@pytest.mark.parametrize(
    "fault, expected",
    [
        (_missing_pair, ["without a partner", "b.jpg"]),
        (_unreadable, ["could not be read", "b.jpg"]),
        (_size_mismatch, ["mask size differs", "b.png", "image 24x32, mask 12x16"]),
        (_label_out_of_range, ["label values [7] outside [0, 3)", "b.png", "train.model.params.class_num"]),
        (_empty_split, ["has no samples"]),
    ],
)
def test_each_bad_dataset_exits_3_naming_the_files(tmp_path, capsys, fault, expected):
    root = tmp_path / "data"
    for stem in ("a", "b"):
        _write_pair(root, stem)
    fault(root)
    data = tiny_config_dict(tmp_path)
    data["train"]["dataset"] = {
        "name": "base_sem",
        "params": {"dataset_dir": str(root), "image_set": "train"},
        "transforms": {"resize": {"params": {"size": 64}}},
    }
    code = main(["train", "--cfg", str(write_config(tmp_path / "c.yaml", data))])
    err = capsys.readouterr().err
    assert code == 3
    assert "fa train: error:" in err and "Traceback" not in err
    for text in expected:
        assert text in err
    assert not (tmp_path / "model" / "tiny" / "last.pth").exists()


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
    out = tmp_path / "eval"
    assert main(["evaluate", "--cfg", str(path), "--ckpt", str(ckpt), "--split", "val", "--out-dir", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert (out / "confusion_matrix.png").is_file() and len(list((out / "overlays").glob("*.png"))) == 4
    assert [row["class"] for row in json.loads((out / "per_class_iou.json").read_text())] == metrics["class_names"]
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
