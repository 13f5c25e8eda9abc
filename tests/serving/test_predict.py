"""`fa predict` with an exported model: labels equal the PyTorch model's, at each image's size."""

import json
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from fa_core.cli import main
from fa_core.config.loader import parse_config
from fa_core.export.onnx_model import OnnxSegmenter
from fa_core.engine.runner import build_model
from fa_core.models import load_model_weights
from fa_core.serving.images import preprocess
from fa_core.stages.export import run_export


@pytest.fixture(scope="module")
def onnx_model(trained_tiny, tmp_path_factory):
    data, _, ckpt = trained_tiny
    return run_export(parse_config(data), str(ckpt), str(tmp_path_factory.mktemp("onnx") / "model.onnx")).onnx_path


def pytorch_labels(data, ckpt, image: np.ndarray) -> np.ndarray:
    """The PyTorch model's label map at the image's own size (same pre- and post-processing rule)."""
    model = build_model(parse_config(data))
    load_model_weights(model, str(ckpt))
    pixels, (valid_h, valid_w) = preprocess(image, 64, "long_side_resize_pad", (123.675, 116.28, 103.53))
    with torch.no_grad():
        _, labels = OnnxSegmenter(model.eval())(torch.from_numpy(pixels)[None])
    cropped = labels[:, None, :valid_h, :valid_w].float()
    restored = torch.nn.functional.interpolate(cropped, size=image.shape[:2], mode="nearest-exact")
    return restored[0, 0].long().numpy()


def test_predict_folder_matches_pytorch_and_skips_corrupt_files(trained_tiny, onnx_model, tmp_path, capsys):
    data, _, ckpt = trained_tiny
    rng = np.random.default_rng(1)
    inputs = tmp_path / "in"
    inputs.mkdir()
    images = {"square": rng.integers(0, 255, (64, 64, 3), dtype=np.uint8),
              "wide": rng.integers(0, 255, (45, 100, 3), dtype=np.uint8),
              "tall": rng.integers(0, 255, (90, 37, 3), dtype=np.uint8)}  # fmt: skip
    for name, image in images.items():
        Image.fromarray(image).save(inputs / f"{name}.png")
    (inputs / "corrupt.jpg").write_bytes(b"\xff\xd8 this is not a jpeg")

    out = tmp_path / "out"
    code = main(["predict", "--model", str(onnx_model), "--input", str(inputs), "--out", str(out),
                 "--batch-size", "2", "--no-progress"])  # fmt: skip

    assert code == 0
    assert "skipping" in capsys.readouterr().err
    summary = json.loads((out / "predictions.json").read_text())
    assert list(summary["skipped"]) == [str(inputs / "corrupt.jpg")]
    for name, image in images.items():
        written = np.asarray(Image.open(out / f"{name}.png"))
        assert written.shape == image.shape[:2]
        assert np.array_equal(written, pytorch_labels(data, ckpt, image)), name
        assert Image.open(out / f"{name}_overlay.png").size == (image.shape[1], image.shape[0])


def test_predict_needs_no_torch(onnx_model, tmp_path):
    Image.fromarray(np.zeros((30, 40, 3), np.uint8)).save(tmp_path / "a.png")
    code = (
        "import sys; from fa_core.cli import main; "
        f"rc = main(['predict', '--model', r'{onnx_model}', '--input', r'{tmp_path / 'a.png'}', '--out', r'{tmp_path / 'o'}']); "
        "assert 'torch' not in sys.modules, 'torch was imported'; sys.exit(rc)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "o" / "a.png").is_file()


def test_predict_reports_a_missing_model(tmp_path, capsys):
    assert main(["predict", "--model", str(tmp_path / "none.onnx"), "--input", str(tmp_path), "--out", str(tmp_path)]) == 6
    assert "none.onnx' does not exist" in capsys.readouterr().err
