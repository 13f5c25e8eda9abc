"""Every registry: unknown names raise KeyError listing the valid names; registration works."""

import pytest

from fa_core.data import DATASETS, TRANSFORMS
from fa_core.engine.losses import LOSSES
from fa_core.engine.optim import OPTIMIZERS
from fa_core.engine.runner import RUNNERS
from fa_core.engine.schedulers import SCHEDULERS
from fa_core.models import MODELS
from fa_core.registry import Registry

REGISTRIES = {
    "model": (MODELS, ["sem_sam"]),
    "dataset": (DATASETS, ["base_sem", "synthetic", "torch_voc_sem"]),
    "transform": (TRANSFORMS, ["color_jitter", "hflip", "long_side_resize_pad", "normalize", "random_scale_crop", "resize", "to_tensor"]),
    "loss": (LOSSES, ["ce", "dice", "focal", "mse", "multi_label_soft_margin"]),
    "optimizer": (OPTIMIZERS, ["adam", "adamw", "sgd"]),
    "scheduler": (SCHEDULERS, ["constant", "cosine", "linear", "multi_step", "single_step", "warmup_multi_step"]),
    "runner": (RUNNERS, ["sem_runner"]),
}


@pytest.mark.parametrize("family", sorted(REGISTRIES))
def test_unknown_name_lists_the_valid_names(family):
    registry, builtin = REGISTRIES[family]
    assert set(builtin) <= set(registry.names())
    with pytest.raises(KeyError) as info:
        registry.get("no_such_thing")
    message = str(info.value)
    assert f"unknown {family} 'no_such_thing'" in message
    for name in builtin:
        assert name in message


def test_register_by_decorator_and_refuse_silent_replacement():
    registry = Registry("widget")

    @registry.register("a")
    class A:
        pass

    assert registry.get("a") is A and "a" in registry
    with pytest.raises(KeyError, match="already registered"):
        registry.register("a", obj=object)
    registry.register("a", obj=int, force=True)
    assert registry.build("a") == 0
