"""The real vit_b architecture (random weights) at 1024 px exports and validates on the CPU."""

import json

import pytest
import torch

from fa_core.config.loader import parse_config
from fa_core.models import SemanticSam
from fa_core.stages.export import run_export
from tests.conftest import tiny_config_dict


@pytest.mark.slow
def test_vit_b_exports_and_validates_on_cpu(tmp_path):
    torch.manual_seed(0)
    ckpt = tmp_path / "vit_b_random.pth"
    torch.save(SemanticSam(class_num=3, model_type="vit_b", fix_img_en=True).state_dict(), ckpt)
    data = tiny_config_dict(tmp_path)
    data["train"]["model"]["params"] = {"class_num": 3, "model_type": "vit_b", "fix_img_en": True}
    data["val"]["dataset"]["transforms"] = {"resize": {"params": {"size": 1024}}}
    data["export"] = {"num_samples": 1, "batch_size": 1, "latency_runs": 1}

    result = run_export(parse_config(data), str(ckpt), str(tmp_path / "vit_b.onnx"))

    report = result.report
    print(json.dumps({"export_seconds": round(report["export_seconds"], 1), "file_mb": round(report["file"]["size_bytes"] / 2**20),
                      "logits_max_abs_diff": report["logits_max_abs_diff"], "latency": report["latency"]}))  # fmt: skip
    assert report["passed"]
    assert report["providers_used"][0] == "CPUExecutionProvider"
    assert report["file"]["size_bytes"] > 300 * 2**20  # the full vit_b weights are inside
