"""The embedded default learns: vit_tiny on synthetic shapes, CPU, within 3 minutes."""

import json
import time

import pytest

from fa_core.config.loader import load_config
from fa_core.engine.runner import build_runner


@pytest.mark.slow
def test_demo_reaches_half_miou_on_cpu_within_three_minutes(tmp_path):
    config = load_config(
        task_name="semantic_seg",
        overrides=[f"train.model_folder={tmp_path}/model", f"train.log_folder={tmp_path}/log", "train.device=cpu"],
    )
    started = time.monotonic()
    history = build_runner(config, show_progress=False).train()
    elapsed = time.monotonic() - started

    miou, baseline = history["val"]["mIoU"], history["baseline_val_mIoU_most_frequent_class"]
    print(json.dumps({"val_mIoU": round(miou, 4), "most_frequent_class_mIoU": round(baseline, 4),
                      "train_seconds": round(elapsed, 1), "max_iter": config.train.max_iter}))  # fmt: skip
    assert elapsed < 180
    assert miou >= 0.5
    assert miou > baseline + 0.3
