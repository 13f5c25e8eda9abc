"""Shared fixtures: tiny configs that train in seconds on a CPU."""

import copy
from pathlib import Path

import pytest
import yaml

TINY_IMAGE = 64


def tiny_config_dict(tmp_path: Path, **train_overrides) -> dict:
    """A complete config: vit_tiny at 64 px on a few synthetic images, outputs under tmp_path."""
    dataset = {
        "name": "synthetic",
        "params": {"num_images": 8, "image_size": TINY_IMAGE, "num_classes": 3, "seed": 0, "image_set": "train"},
        "transforms": {"resize": {"params": {"size": [TINY_IMAGE, TINY_IMAGE]}}, "to_tensor": {"params": None}},
    }
    val_dataset = copy.deepcopy(dataset)
    val_dataset["params"].update(num_images=4, image_set="val")
    train = {
        "experiment_name": "tiny",
        "model": {
            "sam_name": "sem_sam",
            "params": {"class_num": 3, "model_type": "vit_tiny", "image_size": TINY_IMAGE, "fix_prompt_en": True},
        },
        "dataset": dataset,
        "losses": {"ce": {"weight": 1.0, "params": None}},
        "opt_params": {"lr_default": 1e-3, "wd_default": 0.0},
        "opt_name": "adamw",
        "scheduler_name": "cosine",
        "max_iter": 4,
        "log_iter": 2,
        "eval_iter": 2,
        "bs": 2,
        "num_workers": 0,
        "device": "cpu",
        "log_folder": str(tmp_path / "log"),
        "model_folder": str(tmp_path / "model"),
        "tensorboard_folder": str(tmp_path / "tb"),
    }
    train.update(train_overrides)
    return {"train": train, "val": {"dataset": val_dataset, "bs": 2}, "test": {"need_test": False}}


def write_config(path: Path, data: dict) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.fixture
def tiny_config(tmp_path):
    return tiny_config_dict(tmp_path)


@pytest.fixture(scope="session")
def trained_tiny(tmp_path_factory):
    """(config dict, config path, checkpoint path) of a vit_tiny model trained for a few steps.

    Shared by the export, serving and tracking tests.
    """
    from fa_core.config.loader import parse_config
    from fa_core.engine.runner import build_runner

    root = tmp_path_factory.mktemp("trained_tiny")
    data = tiny_config_dict(root, max_iter=4)
    data["val"]["dataset"]["transforms"] = {"long_side_resize_pad": {"params": {"target_length": 64}}}
    data["export"] = {"num_samples": 4, "latency_runs": 2, "batch_size": 2}
    build_runner(parse_config(data), show_progress=False).train()
    return data, write_config(root / "config.yaml", data), root / "model" / "tiny" / "best.pth"
