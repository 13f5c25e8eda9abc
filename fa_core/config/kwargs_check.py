"""Validate free-form `params:` sections of the config against a constructor's signature.

Registered classes (models, datasets, losses, transforms, schedulers) take their parameters
from the config as keyword arguments; these helpers turn a wrong key into a message that names
its full config path and the nearest valid key, before anything is built.
"""

from __future__ import annotations

import difflib
import inspect
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional

from fa_core.errors import ConfigError


def nearest(name: str, candidates: Iterable[str]) -> Optional[str]:
    """The candidate closest to `name`, or None when nothing is close."""
    matches = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.5)
    return matches[0] if matches else None


def unknown_key_message(path: str, key: str, valid: Iterable[str]) -> str:
    valid = sorted(valid)
    hint = nearest(key, valid)
    did_you_mean = f"; did you mean '{hint}'?" if hint else ""
    return f"{path}.{key}: unknown key{did_you_mean} (valid keys: {', '.join(valid) or 'none'})"


def accepted_kwargs(target: Callable) -> Optional[List[str]]:
    """Keyword names `target` accepts, or None when it takes **kwargs (anything goes)."""
    signature = inspect.signature(target)
    names = []
    for param in signature.parameters.values():
        if param.kind is inspect.Parameter.VAR_KEYWORD:
            return None
        if param.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY):
            if param.name != "self":
                names.append(param.name)
    return names


def required_kwargs(target: Callable) -> List[str]:
    signature = inspect.signature(target)
    return [
        p.name
        for p in signature.parameters.values()
        if p.default is inspect.Parameter.empty
        and p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
        and p.name != "self"
    ]


def kwargs_problems(
    target: Callable, kwargs: Mapping[str, Any], path: str, provided_by_caller: Iterable[str] = ()
) -> List[str]:
    """Problems with calling `target(**kwargs)`, each naming its config key path.

    `provided_by_caller` are arguments fa_core fills in itself (e.g. ignore_index), so they are
    neither required from the user nor reported as unknown.
    """
    problems = []
    provided = set(provided_by_caller)
    valid = accepted_kwargs(target)
    if valid is not None:
        for key in kwargs:
            if key not in valid:
                problems.append(unknown_key_message(path, key, valid))
    for key in required_kwargs(target):
        if key not in kwargs and key not in provided:
            problems.append(f"{path}.{key}: required parameter is missing")
    return problems


def check_kwargs(target: Callable, kwargs: Mapping[str, Any], path: str, provided_by_caller: Iterable[str] = ()) -> None:
    """Raise one ConfigError listing every problem with `target(**kwargs)`."""
    problems = kwargs_problems(target, kwargs, path, provided_by_caller)
    if problems:
        raise ConfigError("invalid config:\n  " + "\n  ".join(problems))


def call_with_config(target: Callable, kwargs: Optional[Dict[str, Any]], path: str, **provided: Any) -> Any:
    """Check `kwargs` against `target`'s signature, then call it with them plus `provided`.

    A provided argument is only passed when `target` accepts it and the user did not set it.
    """
    kwargs = dict(kwargs or {})
    check_kwargs(target, kwargs, path, provided_by_caller=provided)
    valid = accepted_kwargs(target)
    for key, value in provided.items():
        if key not in kwargs and (valid is None or key in valid):
            kwargs[key] = value
    try:
        return target(**kwargs)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"{path}: {error}") from error
