import logging

import pytest
import torch
from torch import nn

from fa_core.engine.optim import OPTIMIZERS, build_optimizer, build_param_groups
from fa_core.errors import ConfigError


class TinyNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.Linear(2, 2)
        self.decoder = nn.Linear(2, 3)
        self.head = nn.Linear(3, 1)
        self.frozen = nn.Linear(1, 1)
        self.frozen.requires_grad_(False)


def opt_params(**overrides):
    params = {"lr_default": 1e-3, "wd_default": 1e-4, "momentum": 0.9, "lr_list": [], "wd_list": [], "group_keys": []}
    params.update(overrides)
    return params


def test_unknown_optimizer_lists_valid_names():
    with pytest.raises(KeyError, match="adam, adamw, sgd"):
        OPTIMIZERS.get("lion")
    with pytest.raises(ConfigError, match=r"train\.opt_name.*adam, adamw, sgd"):
        build_optimizer(TinyNet(), "lion", opt_params())


def test_groups_partition_trainable_parameters():
    model = TinyNet()
    groups, summary = build_param_groups(
        model, 1e-3, 1e-4, lr_list=[1e-2, 5e-3], wd_list=[0.0, 0.1],
        group_keys=[["decoder"], ["head", "decoder.bias"]],  # decoder.bias: first group wins
    )
    by_name = {g["name"]: g for g in groups}
    assert [g["name"] for g in groups] == ["group_0:decoder", "group_1:head,decoder.bias", "default"]
    assert by_name["group_0:decoder"]["params"] == [model.decoder.weight, model.decoder.bias]
    assert by_name["group_1:head,decoder.bias"]["params"] == [model.head.weight, model.head.bias]
    assert by_name["default"]["params"] == [model.encoder.weight, model.encoder.bias]
    assert (by_name["group_0:decoder"]["lr"], by_name["group_0:decoder"]["weight_decay"]) == (1e-2, 0.0)
    assert (by_name["default"]["lr"], by_name["default"]["weight_decay"]) == (1e-3, 1e-4)

    grouped = [id(p) for g in groups for p in g["params"]]
    trainable = [id(p) for p in model.parameters() if p.requires_grad]
    assert sorted(grouped) == sorted(trainable) and len(set(grouped)) == len(grouped)
    assert id(model.frozen.weight) not in grouped
    assert [row["num_params"] for row in summary] == [9, 4, 6]


def test_empty_group_dropped_but_reported():
    groups, summary = build_param_groups(TinyNet(), 1e-3, 0.0, [1e-2], [0.0], [["no_such_module"]])
    assert [g["name"] for g in groups] == ["default"]
    assert summary[0] == {"name": "group_0:no_such_module", "num_tensors": 0, "num_params": 0, "lr": 1e-2, "weight_decay": 0.0}


def test_bare_string_group_key_is_one_substring():
    groups, _ = build_param_groups(TinyNet(), 1e-3, 0.0, [1e-2], [0.0], ["head"])
    assert groups[0]["name"] == "group_0:head" and len(groups[0]["params"]) == 2


def test_mismatched_lengths_error():
    with pytest.raises(ConfigError, match=r"train\.opt_params\.lr_list.*got 2, 1 and 1"):
        build_param_groups(TinyNet(), 1e-3, 0.0, [1e-2, 1e-3], [0.0], [["head"]])


def test_build_optimizer_sgd_and_summary_log(caplog):
    model = TinyNet()
    with caplog.at_level(logging.INFO, logger="fa_core.engine.optim"):
        optimizer, summary = build_optimizer(
            model, "sgd", opt_params(lr_list=[1e-2], wd_list=[0.0], group_keys=[["head"]])
        )
    assert isinstance(optimizer, torch.optim.SGD)
    assert [(g["lr"], g["weight_decay"], g["momentum"]) for g in optimizer.param_groups] == [
        (1e-2, 0.0, 0.9),
        (1e-3, 1e-4, 0.9),
    ]
    assert [row["name"] for row in summary] == ["group_0:head", "default"]
    assert "group_0:head" in caplog.text and "weight_decay" in caplog.text


@pytest.mark.parametrize("name, cls", [("adam", torch.optim.Adam), ("adamw", torch.optim.AdamW)])
def test_build_optimizer_adam_family_ignores_momentum(name, cls):
    optimizer, _ = build_optimizer(TinyNet(), name, opt_params(fused=False))
    assert isinstance(optimizer, cls)
    assert "momentum" not in optimizer.param_groups[0]


def test_opt_params_unknown_key_and_all_frozen():
    with pytest.raises(ConfigError, match=r"train\.opt_params\.lr_defualt.*did you mean 'lr_default'"):
        build_optimizer(TinyNet(), "sgd", {"lr_defualt": 1e-3})
    with pytest.raises(ConfigError, match="fix_img_en"):
        build_optimizer(TinyNet().requires_grad_(False), "sgd", opt_params())
