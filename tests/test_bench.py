"""The benchmark scripts still run (tiny settings; the figures themselves live in docs/benchmarks.md)."""

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).parents[1]


def test_train_step_benchmark_runs_both_paths(tmp_path):
    out = tmp_path / "bench.json"
    result = subprocess.run(
        [sys.executable, "bench/train_step.py", "--model-type", "vit_tiny", "--image-size", "64", "--batch-size", "2",
         "--steps", "1", "--device", "cpu", "--json", str(out)],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert "fa_core step is" in result.stdout
    report = json.loads(out.read_text())
    fa_style, ours = report["results"]
    assert fa_style["path"] == "fa_style" and ours["path"] == "fa_core"
    # Same weights and batch: the cached (fp16) path starts from the same loss.
    assert abs(fa_style["first_step_loss"] - ours["first_step_loss"]) < 1e-2


def test_inference_benchmark_runs(tmp_path):
    out = tmp_path / "inference.json"
    result = subprocess.run(
        [sys.executable, "bench/inference.py", "--model-types", "vit_tiny", "--runs", "1", "--json", str(out)],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    (row,) = json.loads(out.read_text())["results"]
    assert row["provider"] == "CPUExecutionProvider" and row["pytorch_ms"] > 0 and row["onnxruntime_ms"] > 0
