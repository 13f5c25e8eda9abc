"""Print the config reference (every key, its default and its doc) as a Markdown table."""

from __future__ import annotations

import dataclasses
import typing
from typing import Iterator, Tuple

from fa_core.config.schema import Config


def _rows(cls, prefix: str) -> Iterator[Tuple[str, str, str]]:
    hints = typing.get_type_hints(cls)
    for field in dataclasses.fields(cls):
        path = f"{prefix}{field.name}"
        hint = hints[field.name]
        nested = [a for a in (hint, *typing.get_args(hint)) if dataclasses.is_dataclass(a)]
        if nested:
            yield path, "", field.metadata.get("doc", "")
            is_mapping = typing.get_origin(hint) is dict
            yield from _rows(nested[0], f"{path}.<name>." if is_mapping else f"{path}.")
            continue
        if field.default is not dataclasses.MISSING:
            default = repr(field.default)
        elif field.default_factory is not dataclasses.MISSING:
            default = repr(field.default_factory())
        else:
            default = "required"
        yield path, default, field.metadata.get("doc", "")


def markdown_reference() -> str:
    lines = ["| key | default | meaning |", "|---|---|---|"]
    for path, default, text in _rows(Config, ""):
        lines.append(f"| `{path}` | {f'`{default}`' if default else ''} | {text} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown_reference())
