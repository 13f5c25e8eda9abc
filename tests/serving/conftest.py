"""A tiny trained checkpoint and its config, shared by the export and serving tests."""

import pytest

from fa_core.config.loader import parse_config
from fa_core.engine.runner import build_runner
from tests.conftest import tiny_config_dict, write_config


@pytest.fixture(scope="session")
def trained_tiny(tmp_path_factory):
    """(config dict, config path, checkpoint path) of a vit_tiny model trained for a few steps."""
    root = tmp_path_factory.mktemp("trained_tiny")
    data = tiny_config_dict(root, max_iter=4)
    data["val"]["dataset"]["transforms"] = {"long_side_resize_pad": {"params": {"target_length": 64}}}
    data["export"] = {"num_samples": 4, "latency_runs": 2, "batch_size": 2}
    build_runner(parse_config(data), show_progress=False).train()
    return data, write_config(root / "config.yaml", data), root / "model" / "tiny" / "best.pth"
