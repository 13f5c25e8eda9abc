"""Load a YAML config (a file or a packaged task), apply --set overrides, type and validate it."""

from __future__ import annotations

import copy
import hashlib
import json
from importlib import resources
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Tuple

import yaml

from fa_core.config.schema import Config
from fa_core.config.typed import from_dict, to_dict
from fa_core.errors import ConfigError

PACKAGED_CONFIGS = "fa_core.configs"


def task_names() -> List[str]:
    return sorted(p.name[: -len(".yaml")] for p in resources.files(PACKAGED_CONFIGS).iterdir() if p.name.endswith(".yaml"))


def read_yaml(path: Path) -> Dict[str, Any]:
    if not path.is_file():
        raise ConfigError(f"config file '{path}' does not exist")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        raise ConfigError(f"config file '{path}' is not valid YAML: {error}")
    if not isinstance(data, dict):
        raise ConfigError(f"config file '{path}' must hold a mapping with train/val/test sections")
    return data


def read_task_yaml(task_name: str) -> Dict[str, Any]:
    resource = resources.files(PACKAGED_CONFIGS) / f"{task_name}.yaml"
    if not resource.is_file():
        raise ConfigError(f"--task_name: unknown task '{task_name}'; packaged tasks: {', '.join(task_names())}")
    return yaml.safe_load(resource.read_text())


def parse_override(text: str) -> Tuple[List[str], Any]:
    """'train.bs=4' -> (['train', 'bs'], 4). The value is read as YAML, so lists and numbers work."""
    if "=" not in text:
        raise ConfigError(f"--set '{text}': expected KEY.PATH=VALUE, e.g. train.max_iter=100")
    key, raw = text.split("=", 1)
    parts = [p for p in key.strip().split(".") if p]
    if not parts:
        raise ConfigError(f"--set '{text}': empty key")
    try:
        value = yaml.safe_load(raw) if raw.strip() else None
    except yaml.YAMLError as error:
        raise ConfigError(f"--set '{text}': value is not valid YAML: {error}")
    return parts, value


def apply_overrides(data: Dict[str, Any], overrides: Iterable[str]) -> Dict[str, Any]:
    data = copy.deepcopy(data)
    for text in overrides:
        parts, value = parse_override(text)
        node = data
        for depth, part in enumerate(parts[:-1]):
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            if not isinstance(child, dict):
                raise ConfigError(f"--set '{text}': '{'.'.join(parts[: depth + 1])}' is not a mapping")
            node = child
        node[parts[-1]] = value
    return data


def parse_config(data: Dict[str, Any], source: str = "config") -> Config:
    """Type the raw dict and run every check; raise one ConfigError listing all problems."""
    from fa_core.config.checks import cross_check  # imports the registries, which import torch

    problems: List[str] = []
    config = from_dict(Config, data, "", problems)
    if not problems:
        problems = cross_check(config)
    else:
        # Still report registry and params problems, if the mistyped values let the checks run.
        try:
            problems += cross_check(config)
        except Exception:
            pass
    if problems:
        raise ConfigError(f"invalid config ({source}):\n  " + "\n  ".join(problems))
    return config


def load_config(
    cfg_path: Optional[str] = None, task_name: Optional[str] = None, overrides: Iterable[str] = ()
) -> Config:
    """The typed config from a YAML file or a packaged task, with `--set` overrides applied."""
    if (cfg_path is None) == (task_name is None):
        raise ConfigError("give exactly one of --cfg FILE or --task_name NAME")
    data = read_yaml(Path(cfg_path)) if cfg_path else read_task_yaml(task_name)
    data = apply_overrides(data, overrides)
    return parse_config(data, source=cfg_path or f"task {task_name}")


def config_to_dict(config: Config) -> Dict[str, Any]:
    return to_dict(config)


def config_hash(config: Config) -> str:
    """A stable short hash of the typed config, recorded with checkpoints and exports."""
    text = json.dumps(config_to_dict(config), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def dump_config(config: Config, path: Path) -> None:
    path.write_text(yaml.safe_dump(config_to_dict(config), sort_keys=False))
