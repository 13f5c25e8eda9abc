"""A small name -> object registry per family (models, datasets, losses, ...).

Users extend fa_core by registering their own classes under a name and setting that
name in the config, as in finetune-anything:

    from fa_core.models import MODELS

    @MODELS.register("my_sam")
    class MySam(BaseExtendSam): ...
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Iterator, List, Optional


class Registry:
    """Maps names to classes or factory functions of one family."""

    def __init__(self, family: str):
        self.family = family
        self._entries: Dict[str, Any] = {}

    def register(self, name: Optional[str] = None, *, obj: Any = None, force: bool = False) -> Callable:
        """Register `obj` under `name`; usable as `@REG.register("name")` or directly."""

        def _add(target: Any) -> Any:
            key = name or target.__name__
            if key in self._entries and not force and self._entries[key] is not target:
                raise KeyError(f"{self.family} '{key}' is already registered; pass force=True to replace it")
            self._entries[key] = target
            return target

        if obj is not None:
            return _add(obj)
        return _add

    def get(self, name: str) -> Any:
        if name not in self._entries:
            raise KeyError(f"unknown {self.family} '{name}'; valid names: {', '.join(self.names())}")
        return self._entries[name]

    def build(self, name: str, **kwargs: Any) -> Any:
        return self.get(name)(**kwargs)

    def names(self) -> List[str]:
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __repr__(self) -> str:
        return f"Registry({self.family}: {self.names()})"
