"""Turn nested dicts from YAML into typed dataclasses, collecting every problem with its key path.

Field types understood: str, int, float, bool, Any, Optional[X], List[X], Dict[str, X], dict,
nested dataclasses, and `choices` in a field's metadata. Numbers written as strings that YAML 1.1
leaves unparsed (e.g. `1e-3`) are accepted for float fields.
"""

from __future__ import annotations

import dataclasses
import typing
from typing import Any, Dict, List, Type, TypeVar

from fa_core.config.kwargs_check import unknown_key_message

T = TypeVar("T")
_MISSING = object()


def join(path: str, key: object) -> str:
    return f"{path}.{key}" if path else str(key)


def from_dict(cls: Type[T], data: Any, path: str, problems: List[str]) -> T:
    """Build dataclass `cls` from `data`; append 'path: message' strings to `problems`."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        problems.append(f"{path}: expected a mapping, got {type(data).__name__}")
        data = {}
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    for key in data:
        if key not in fields:
            problems.append(unknown_key_message(path, str(key), fields).lstrip("."))
    hints = typing.get_type_hints(cls)
    values = {}
    for name, field in fields.items():
        key_path = join(path, name)
        if name in data:
            values[name] = convert(data[name], hints[name], key_path, problems, field.metadata.get("choices"))
        elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            problems.append(f"{key_path}: required key is missing")
            values[name] = None
    instance = cls.__new__(cls)
    # Defaults first, then the given values; __post_init__ checks run on the complete object.
    for name, field in fields.items():
        if name in values:
            object.__setattr__(instance, name, values[name])
        elif field.default is not dataclasses.MISSING:
            object.__setattr__(instance, name, field.default)
        elif field.default_factory is not dataclasses.MISSING:
            object.__setattr__(instance, name, field.default_factory())
    check = getattr(instance, "check", None)
    if check is not None:
        problems.extend(check(path))
    return instance


def convert(value: Any, hint: Any, path: str, problems: List[str], choices=None) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if hint is Any:
        return value
    if origin is typing.Union:
        non_none = [a for a in args if a is not type(None)]
        if value is None:
            return None
        return convert(value, non_none[0], path, problems, choices)
    if dataclasses.is_dataclass(hint):
        return from_dict(hint, value, path, problems)
    if origin in (list, List):
        if not isinstance(value, (list, tuple)):
            problems.append(f"{path}: expected a list, got {_describe(value)}")
            return value
        item_hint = args[0] if args else Any
        return [convert(v, item_hint, f"{path}[{i}]", problems) for i, v in enumerate(value)]
    if origin in (dict, Dict) or hint is dict:
        if value is None:
            return {}
        if not isinstance(value, dict):
            problems.append(f"{path}: expected a mapping, got {_describe(value)}")
            return value
        item_hint = args[1] if len(args) == 2 else Any
        return {k: convert(v, item_hint, join(path, k), problems) for k, v in value.items()}
    converted = _convert_scalar(value, hint, path, problems)
    if choices is not None and converted not in choices:
        problems.append(f"{path}: '{converted}' is not allowed; choose one of {', '.join(map(str, choices))}")
    return converted


def _convert_scalar(value: Any, hint: Any, path: str, problems: List[str]) -> Any:
    if hint is bool:
        if isinstance(value, bool):
            return value
        problems.append(f"{path}: expected true or false, got {_describe(value)}")
        return value
    if hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        problems.append(f"{path}: expected an integer, got {_describe(value)}")
        return value
    if hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)  # YAML 1.1 reads `1e-3` as a string
            except ValueError:
                pass
        problems.append(f"{path}: expected a number, got {_describe(value)}")
        return value
    if hint is str:
        if isinstance(value, str):
            return value
        problems.append(f"{path}: expected a string, got {_describe(value)}")
        return value
    return value


def _describe(value: Any) -> str:
    return f"{type(value).__name__} {value!r}"


def to_dict(instance: Any) -> Dict[str, Any]:
    return dataclasses.asdict(instance)
