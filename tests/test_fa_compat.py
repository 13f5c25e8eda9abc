"""finetune-anything's own config/semantic_seg.yaml runs unchanged but for its data paths.

It is the real vit_b architecture at 1024 px (random weights saved as a Meta-format checkpoint)
on a two-image PASCAL VOC layout made here; only the run length is overridden.
"""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from fa_core.cli import main
from fa_core.models import build_sam
from tests.config.test_config import fa_config_text


def make_voc(root, names=("2007_000032", "2007_000039"), size=(120, 90)):
    voc = root / "VOCdevkit" / "VOC2012"
    for folder in ("JPEGImages", "SegmentationClass", "ImageSets/Segmentation"):
        (voc / folder).mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in names:
        Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)).save(voc / "JPEGImages" / f"{name}.jpg")
        mask = np.zeros((size[1], size[0]), dtype=np.uint8)
        mask[20:60, 30:90] = 15  # person
        mask[19, 30:90] = 255  # VOC's boundary label
        png = Image.fromarray(mask, mode="P")
        png.putpalette([v for i in range(256) for v in (i, i, i)])
        png.save(voc / "SegmentationClass" / f"{name}.png")
    (voc / "ImageSets" / "Segmentation" / "train.txt").write_text("\n".join(names) + "\n")


@pytest.mark.slow
def test_finetune_anything_config_trains_with_vit_b(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the config writes ./experiment/...
    make_voc(tmp_path / "voc")
    ckpt = tmp_path / "sam_vit_b_random.pth"
    torch.save(build_sam("vit_b").state_dict(), ckpt)
    config = tmp_path / "semantic_seg.yaml"
    config.write_text(fa_config_text(root=str(tmp_path / "voc"), ckpt=str(ckpt)))

    code = main(["train", "--cfg", str(config), "--no-progress",
                 "--set", "train.max_iter=1", "--set", "train.bs=1", "--set", "val.bs=1"])  # fmt: skip

    assert code == 0
    run_dir = tmp_path / "experiment" / "model" / "semantic_sam"
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert len(metrics["val"]["per_class_iou"]) == 21
    state = torch.load(run_dir / "last.pth", weights_only=True)
    assert state["model"]["mask_adapter.decoder_head.output_hypernetworks_mlps.20.layers.0.weight"].shape[0] == 256
