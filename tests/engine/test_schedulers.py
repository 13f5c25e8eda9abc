import pytest
import torch
from torch import nn

from fa_core.engine.schedulers import SCHEDULERS, build_scheduler
from fa_core.errors import ConfigError


def make_optimizer(lr=1.0):
    return torch.optim.SGD(nn.Linear(1, 1).parameters(), lr=lr)


def lrs_over(scheduler, steps):
    """lr in effect at iterations 0..steps (scheduler.step() after each iteration)."""
    values = [scheduler.get_last_lr()[0]]
    for _ in range(steps):
        scheduler.optimizer.step()
        scheduler.step()
        values.append(scheduler.get_last_lr()[0])
    return values


def test_unknown_scheduler_lists_valid_names():
    with pytest.raises(KeyError, match="constant, cosine, linear, multi_step, single_step, warmup_multi_step"):
        SCHEDULERS.get("poly")
    with pytest.raises(ConfigError, match=r"train\.scheduler_name.*cosine"):
        build_scheduler("poly", make_optimizer(), 10)


def test_cosine_reaches_eta_min_at_max_iter_monotonically():
    lrs = lrs_over(build_scheduler("cosine", make_optimizer(), 10, {"eta_min": 0.01}), 10)
    assert lrs[0] == 1.0
    assert lrs[10] == pytest.approx(0.01, abs=1e-12)
    assert all(b <= a + 1e-12 for a, b in zip(lrs, lrs[1:]))
    assert lrs[5] == pytest.approx(0.505)  # halfway: (1 + 0.01) / 2


def test_warmup_increases_then_steps():
    params = {"warmup_iter": 4, "warmup_factor": 0.1, "milestones": [6], "gamma": 0.1}
    lrs = lrs_over(build_scheduler("warmup_multi_step", make_optimizer(), 10, params), 8)
    assert lrs == pytest.approx([0.1, 0.325, 0.55, 0.775, 1.0, 1.0, 0.1, 0.1, 0.1])


def test_warmup_defaults():
    lrs = lrs_over(build_scheduler("warmup_multi_step", make_optimizer(), 100, None), 100)
    assert lrs[0] == pytest.approx(0.001)  # warmup_iter = min(500, 100 // 10) = 10
    assert lrs[10] == pytest.approx(1.0)
    assert lrs[66] == pytest.approx(1.0) and lrs[67] == pytest.approx(0.1) and lrs[89] == pytest.approx(0.01)


def test_step_schedules_defaults():
    single = lrs_over(build_scheduler("single_step", make_optimizer(), 10, {}), 9)
    assert single[4] == 1.0 and single[5] == pytest.approx(0.1) and single[9] == pytest.approx(0.1)
    multi = lrs_over(build_scheduler("multi_step", make_optimizer(), 100, {}), 100)
    assert multi[66] == 1.0 and multi[67] == pytest.approx(0.1) and multi[89] == pytest.approx(0.01)


def test_linear_and_constant():
    linear = lrs_over(build_scheduler("linear", make_optimizer(), 4, {"end_factor": 0.2}), 4)
    assert linear == pytest.approx([1.0, 0.8, 0.6, 0.4, 0.2])
    assert lrs_over(build_scheduler("constant", make_optimizer(), 4), 4) == [1.0] * 5


@pytest.mark.parametrize("name", ["warmup_multi_step", "cosine", "linear", "multi_step"])
def test_state_dict_round_trip(name):
    optimizer = make_optimizer()
    scheduler = build_scheduler(name, optimizer, 20)
    lrs_over(scheduler, 7)
    resumed_opt = make_optimizer()
    resumed = build_scheduler(name, resumed_opt, 20)
    resumed_opt.load_state_dict(optimizer.state_dict())
    resumed.load_state_dict(scheduler.state_dict())
    assert lrs_over(resumed, 13) == pytest.approx(lrs_over(scheduler, 13))


def test_params_are_checked_with_config_path():
    with pytest.raises(ConfigError, match=r"train\.scheduler_params\.eta_mn.*did you mean 'eta_min'"):
        build_scheduler("cosine", make_optimizer(), 10, {"eta_mn": 0.0})
    with pytest.raises(ConfigError, match=r"train\.scheduler_params\.max_iter"):
        build_scheduler("cosine", make_optimizer(), 10, {"max_iter": 5})
    with pytest.raises(ConfigError, match=r"train\.scheduler_params.*strictly increasing"):
        build_scheduler("multi_step", make_optimizer(), 10, {"milestones": [5, 3]})
