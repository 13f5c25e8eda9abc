"""Cross-field checks that need the registries: names exist, params fit their constructors."""

from __future__ import annotations

from typing import List, Optional

from fa_core.config.kwargs_check import kwargs_problems
from fa_core.config.schema import Config, DatasetConfig


def _registry_problem(registry, name: str, path: str) -> Optional[str]:
    if name in registry:
        return None
    return f"{path}: unknown {registry.family} '{name}'; valid names: {', '.join(registry.names())}"


def _dataset_problems(dataset: DatasetConfig, path: str, ignore_index: int) -> List[str]:
    from fa_core.data import DATASETS, TRANSFORMS

    problem = _registry_problem(DATASETS, dataset.name, f"{path}.name")
    if problem:
        return [problem]
    problems = kwargs_problems(DATASETS.get(dataset.name), dataset.params, f"{path}.params")
    for section in ("transforms", "target_transforms"):
        for name, spec in (getattr(dataset, section) or {}).items():
            entry_path = f"{path}.{section}.{name}"
            problem = _registry_problem(TRANSFORMS, name, entry_path)
            if problem:
                problems.append(problem)
                continue
            params = (spec or {}).get("params") if isinstance(spec, dict) else None
            if spec is not None and not isinstance(spec, dict):
                problems.append(f"{entry_path}: expected a mapping like {{params: ...}}, got {spec!r}")
                continue
            problems += kwargs_problems(
                TRANSFORMS.get(name), params or {}, f"{entry_path}.params", provided_by_caller=["ignore_index"]
            )
    return problems


def cross_check(config: Config) -> List[str]:
    from fa_core.engine.losses import LOSSES
    from fa_core.engine.optim import OPTIMIZERS
    from fa_core.engine.runner import RUNNERS
    from fa_core.engine.schedulers import SCHEDULERS
    from fa_core.models import MODELS, MODEL_TYPES

    train = config.train
    problems: List[str] = []

    model_problem = _registry_problem(MODELS, train.model.sam_name, "train.model.sam_name")
    if model_problem:
        problems.append(model_problem)
    else:
        problems += kwargs_problems(MODELS.get(train.model.sam_name), train.model.params, "train.model.params")
    model_type = train.model.params.get("model_type")
    if model_type is not None and model_type not in MODEL_TYPES:
        problems.append(f"train.model.params.model_type: '{model_type}' is not allowed; choose one of {', '.join(MODEL_TYPES)}")
    class_num = train.model.params.get("class_num")
    if class_num is not None and (not isinstance(class_num, int) or class_num < 1):
        problems.append(f"train.model.params.class_num: must be a positive integer, got {class_num!r}")

    problems += _dataset_problems(train.dataset, "train.dataset", train.ignore_index)
    if config.val.dataset is not None:
        problems += _dataset_problems(config.val.dataset, "val.dataset", train.ignore_index)
    if config.test.dataset is not None:
        problems += _dataset_problems(config.test.dataset, "test.dataset", train.ignore_index)

    for name, loss in train.losses.items():
        path = f"train.losses.{name}"
        problem = _registry_problem(LOSSES, name, path)
        if problem:
            problems.append(problem)
            continue
        params = loss.params or {}
        problems += kwargs_problems(LOSSES.get(name), params, f"{path}.params", provided_by_caller=["ignore_index"])
        if "ignore_index" in params and params["ignore_index"] != train.ignore_index:
            problems.append(
                f"{path}.params.ignore_index: {params['ignore_index']} differs from train.ignore_index "
                f"{train.ignore_index}; set them equal (or drop the loss's own value)"
            )

    for registry, name, path in (
        (OPTIMIZERS, train.opt_name, "train.opt_name"),
        (RUNNERS, train.runner_name, "train.runner_name"),
    ):
        problem = _registry_problem(registry, name, path)
        if problem:
            problems.append(problem)
    problem = _registry_problem(SCHEDULERS, train.scheduler_name, "train.scheduler_name")
    if problem:
        problems.append(problem)
    else:
        problems += kwargs_problems(
            SCHEDULERS.get(train.scheduler_name),
            train.scheduler_params,
            "train.scheduler_params",
            provided_by_caller=["optimizer", "max_iter"],
        )
    return problems
