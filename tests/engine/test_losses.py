import math

import pytest
import torch

from fa_core.engine.losses import LOSSES, WeightedLoss, build_losses, to_one_hot
from fa_core.errors import ConfigError

LN2 = math.log(2.0)


def tiny_logits():
    # 1x2x1x2: pixel 0 has softmax [0.5, 0.5], pixel 1 has softmax [0.75, 0.25].
    return torch.tensor([[[[0.0, math.log(3.0)]], [[0.0, 0.0]]]], requires_grad=True)


TARGET = torch.tensor([[[0, 1]]])
TARGET_IGNORE_1 = torch.tensor([[[0, 255]]])
ALL_IGNORED = torch.tensor([[[255, 255]]])


def make(name, **params):
    return LOSSES.get(name)(**params)


def test_registry_lists_valid_names():
    with pytest.raises(KeyError) as err:
        LOSSES.get("nope")
    for name in ("ce", "dice", "focal", "multi_label_soft_margin", "mse"):
        assert name in str(err.value)


def test_to_one_hot_zeroes_ignored_pixels():
    one_hot = to_one_hot(TARGET_IGNORE_1, 2, 255)
    assert one_hot.shape == (1, 2, 1, 2)
    assert one_hot[0, :, 0, 0].tolist() == [1.0, 0.0]
    assert one_hot[0, :, 0, 1].tolist() == [0.0, 0.0]
    with pytest.raises(ValueError, match="outside"):
        to_one_hot(torch.tensor([[[0, 5]]]), 2, 255)


@pytest.mark.parametrize(
    "name, params, target, expected",
    [
        ("ce", {}, TARGET, 1.5 * LN2),  # (ln 2 + ln 4) / 2
        ("ce", {}, TARGET_IGNORE_1, LN2),
        ("ce", {"weight": [1.0, 3.0]}, TARGET, (1 * LN2 + 3 * 2 * LN2) / 4),
        ("dice", {}, TARGET, 60 / 143),  # 1 - (8/13 + 6/11) / 2
        ("dice", {}, TARGET_IGNORE_1, 4 / 15),  # 1 - (0.8 + 2/3) / 2
        ("focal", {}, TARGET, (0.25 * LN2 + 0.5625 * 2 * LN2) / 2),
        ("focal", {}, TARGET_IGNORE_1, 0.25 * LN2),
        ("focal", {"alpha": [0.25, 0.75]}, TARGET, (0.25 * 0.25 * LN2 + 0.75 * 0.5625 * 2 * LN2) / 2),
        ("focal", {"gamma": 0.0}, TARGET, 1.5 * LN2),  # gamma 0 is cross entropy
        ("multi_label_soft_margin", {}, TARGET, (LN2 + 1.5 * LN2) / 2),
        ("multi_label_soft_margin", {}, TARGET_IGNORE_1, LN2),
        ("mse", {}, TARGET, (0.25 + 0.5625) / 2),
        ("mse", {}, TARGET_IGNORE_1, 0.25),
    ],
)
def test_loss_matches_hand_value_and_one_hot_form(name, params, target, expected):
    loss_fn = make(name, **params)
    logits = tiny_logits()
    by_index = loss_fn(logits, target)
    by_one_hot = loss_fn(logits, to_one_hot(target, 2, 255))
    assert by_index.dim() == 0
    assert by_index.item() == pytest.approx(expected, rel=1e-6)
    assert by_one_hot.item() == pytest.approx(expected, rel=1e-6)


def test_ce_label_smoothing():
    eps = 0.2
    p1 = [0.75, 0.25]
    pixel0 = LN2  # uniform prediction: smoothing changes nothing
    pixel1 = (1 - eps) * -math.log(p1[1]) + eps * -(math.log(p1[0]) + math.log(p1[1])) / 2
    loss = make("ce", label_smoothing=eps)(tiny_logits(), TARGET)
    assert loss.item() == pytest.approx((pixel0 + pixel1) / 2, rel=1e-6)


@pytest.mark.parametrize("name", ["ce", "dice", "focal", "multi_label_soft_margin", "mse"])
def test_all_ignored_gives_connected_zero(name):
    logits = tiny_logits()
    for target in (ALL_IGNORED, to_one_hot(ALL_IGNORED, 2, 255)):
        loss = make(name)(logits, target)
        assert loss.item() == 0.0 and not torch.isnan(loss)
        assert loss.grad_fn is not None
        loss.backward()
        assert torch.equal(logits.grad, torch.zeros_like(logits))


def test_custom_ignore_index():
    loss = make("ce", ignore_index=1)(tiny_logits(), TARGET)
    assert loss.item() == pytest.approx(LN2)


def test_weighted_loss_combines_terms():
    combo = WeightedLoss(
        {"ce": make("ce"), "mse": make("mse")}, weights={"ce": 0.5, "mse": 2.0}, one_hot={"mse": True}
    )
    total, terms = combo(tiny_logits(), TARGET)
    assert terms["ce"].item() == pytest.approx(1.5 * LN2)
    assert terms["mse"].item() == pytest.approx(0.40625)
    assert total.item() == pytest.approx(0.5 * 1.5 * LN2 + 2.0 * 0.40625)
    assert total.requires_grad and not terms["ce"].requires_grad


def test_build_losses_finetune_anything_shape():
    cfg = {
        "ce": {"weight": 0.5, "params": {"ignore_index": 255}, "label_one_hot": False},
        "multi_label_soft_margin": {"weight": 1.0, "params": None, "label_one_hot": True},
        "dice": {},
    }
    combo = build_losses(cfg, ignore_index=255, config_path="losses")
    assert combo.weights == {"ce": 0.5, "multi_label_soft_margin": 1.0, "dice": 1.0}
    assert combo.label_one_hot["multi_label_soft_margin"] and not combo.label_one_hot["ce"]
    total, terms = combo(tiny_logits(), TARGET_IGNORE_1)
    assert total.item() == pytest.approx(0.5 * LN2 + LN2 + 4 / 15)
    assert set(terms) == set(cfg)


def test_build_losses_passes_ignore_index():
    combo = build_losses({"ce": {}}, ignore_index=1, config_path="losses")
    assert combo.losses["ce"].ignore_index == 1


def test_build_losses_errors_name_key_path():
    with pytest.raises(ConfigError, match=r"losses\.cee.*valid names: ce, dice, focal"):
        build_losses({"cee": {}}, 255, "losses")
    with pytest.raises(ConfigError, match=r"losses\.focal\.params\.gama.*did you mean 'gamma'"):
        build_losses({"focal": {"params": {"gama": 1.0}}}, 255, "losses")
    with pytest.raises(ConfigError, match=r"losses\.ce.*wieght"):
        build_losses({"ce": {"wieght": 1.0}}, 255, "losses")
    with pytest.raises(ConfigError, match=r"losses\.ce\.weight"):
        build_losses({"ce": {"weight": "big"}}, 255, "losses")
    with pytest.raises(ConfigError, match="at least one loss"):
        build_losses({}, 255, "losses")
