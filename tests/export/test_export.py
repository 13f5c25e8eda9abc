"""ONNX export of a vit_tiny SemanticSam, validated in ONNX Runtime on the CPU provider."""

import json

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import numpy_helper

from fa_core.cli import main
from fa_core.config.loader import parse_config
from fa_core.config.schema import Tolerances
from fa_core.data import build_eval_loader
from fa_core.engine.runner import build_model, build_split_data
from fa_core.errors import FAError
from fa_core.export.validation import validate_onnx
from fa_core.models import load_model_weights
from fa_core.stages.export import run_export


@pytest.fixture(scope="module")
def exported(trained_tiny, tmp_path_factory):
    data, _, ckpt = trained_tiny
    out = tmp_path_factory.mktemp("export") / "model.onnx"
    return run_export(parse_config(data), str(ckpt), str(out))


def test_export_validates_on_the_cpu_provider(exported):
    report = json.loads(exported.report_path.read_text())
    assert report["passed"] and report["failures"] == []
    assert report["providers_used"][0] == "CPUExecutionProvider"
    assert report["logits_max_abs_diff"] <= 1e-3 and report["label_agreement"] >= 0.999
    assert report["miou_diff"] <= 0.001 and report["num_samples"] == 4
    assert report["onnxruntime_version"] == ort.__version__ and report["opset"] == 17
    latency = report["latency"]
    assert latency["pytorch_median_ms"] > 0 and latency["onnxruntime_median_ms"] > 0
    assert latency["pytorch_over_onnxruntime"] == pytest.approx(latency["pytorch_median_ms"] / latency["onnxruntime_median_ms"])
    assert report["file"]["size_bytes"] == exported.onnx_path.stat().st_size and len(report["file"]["sha256"]) == 64


def test_a_missing_cuda_provider_is_reported_as_a_fallback(exported):
    notes = json.loads(exported.report_path.read_text())["provider_notes"]
    assert any("CUDAExecutionProvider requested but not offered" in note for note in notes)


@pytest.mark.parametrize("batch", [1, 3])
def test_dynamic_batch_runs(exported, batch):
    session = ort.InferenceSession(str(exported.onnx_path), providers=["CPUExecutionProvider"])
    pixels = np.random.default_rng(0).uniform(0, 255, (batch, 3, 64, 64)).astype(np.float32)
    logits, labels = session.run(None, {"image": pixels})
    assert logits.shape == (batch, 3, 64, 64) and labels.shape == (batch, 64, 64)
    assert labels.dtype == np.int64 and (labels == logits.argmax(1)).all()


def test_metadata_is_read_back(exported):
    meta = ort.InferenceSession(str(exported.onnx_path), providers=["CPUExecutionProvider"]).get_modelmeta().custom_metadata_map
    assert json.loads(meta["class_names"]) == ["background", "disk", "rectangle"]
    assert meta["input_size"] == "64" and meta["pixel_range"] == "RGB float32 in [0, 255]"
    assert json.loads(meta["preprocessing"])["resize"] == "long_side_resize_pad"
    assert meta["model_type"] == "vit_tiny" and meta["precision"] == "fp32"
    assert len(meta["config_hash"]) == 16 and meta["fa_core_version"]


def test_one_perturbed_weight_fails_validation_with_the_size_of_the_miss(exported, trained_tiny, tmp_path):
    data, _, ckpt = trained_tiny
    proto = onnx.load(str(exported.onnx_path))
    weight = next(init for init in proto.graph.initializer if init.name.endswith("patch_embed.proj.bias"))
    array = numpy_helper.to_array(weight).copy()
    array += 1.0
    weight.CopyFrom(numpy_helper.from_array(array, weight.name))
    broken = tmp_path / "broken.onnx"
    onnx.save(proto, str(broken))

    config = parse_config(data)
    model = build_model(config)
    load_model_weights(model, str(ckpt))
    dataset, transforms = build_split_data(config.val.dataset, "val", config, 3)
    report = validate_onnx(broken, model.eval(), build_eval_loader(dataset, transforms, 2, 0), 3, 255,
                           ["CPUExecutionProvider"], Tolerances(), num_samples=4, latency_runs=1)  # fmt: skip
    assert not report["passed"]
    assert any(f.startswith("max |logit difference|") and "exceeds 0.001 by" in f for f in report["failures"])


def test_out_of_tolerance_export_exits_non_zero_and_keeps_the_report(trained_tiny, tmp_path, capsys):
    _, config, ckpt = trained_tiny
    out = tmp_path / "model.onnx"
    code = main(["export", "--cfg", str(config), "--ckpt", str(ckpt), "--out", str(out),
                 "--set", "export.tolerances.logits_max_abs=0.0", "--set", "export.tolerances.label_agreement=1.01"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 5
    assert "ONNX validation failed" in err and "label agreement" in err and "below 1.01 by" in err
    assert json.loads((tmp_path / "model.report.json").read_text())["passed"] is False


def test_require_gpu_fails_where_cuda_does_not_run(trained_tiny, tmp_path):
    data, _, ckpt = trained_tiny
    with pytest.raises(FAError, match="require_gpu is set but ONNX Runtime ran on CPUExecutionProvider"):
        run_export(parse_config(data), str(ckpt), str(tmp_path / "model.onnx"), require_gpu=True)


def test_fp16_export_is_validated_with_its_own_tolerances(trained_tiny, tmp_path):
    data, _, ckpt = trained_tiny
    result = run_export(parse_config(data), str(ckpt), str(tmp_path / "model.onnx"), fp16=True)
    fp16 = result.report["fp16"]
    assert result.fp16_path.is_file() and fp16["precision"] == "fp16" and fp16["passed"]
    assert fp16["tolerances"]["logits_max_abs"] == 0.1
    assert result.fp16_path.stat().st_size < 0.6 * result.onnx_path.stat().st_size
