"""Frozen dataclasses that are written as JSON objects and read back from them exactly.

results.json and the header of scores.csv are JSON; the harness hands the same content around
as typed records (``authapp.harness.results``). One rule maps the two: a record is an object
whose keys are its fields in declaration order (``field_key`` renames one that is not a Python
name, such as "with"), nested records and tuples become objects and lists, and a field marked
``optional`` is left out while it is None -- the sections and keys only some runs have. So
``Record.from_dict(d).as_dict() == d``, key order included, for every dict the harness wrote.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field, fields
from functools import cache
from typing import Any, Self


def optional(key: str | None = None) -> Any:
    """A field that is None when its key is absent, and is left out again while None."""
    meta: dict[str, Any] = {"omit_none": True}
    if key is not None:
        meta["key"] = key
    return field(default=None, metadata=meta)


def field_key(key: str) -> Any:
    """A field written under another key (one that is not a Python name)."""
    return field(metadata={"key": key})


def _key(f: Any) -> str:
    return f.metadata.get("key", f.name)


def dump(value: Any) -> Any:
    """``value`` as plain JSON data: records as dicts, tuples as lists, mappings as dicts."""
    if isinstance(value, Record):
        return value.as_dict()
    if isinstance(value, Mapping):
        return {k: dump(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [dump(v) for v in value]
    return value


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _load(tp: Any, value: Any) -> Any:
    """JSON data ``value`` as the type ``tp`` says (records, mappings and tuples of them)."""
    if value is None:
        return None
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        return _load(inner[0], value) if len(inner) == 1 else value
    if isinstance(tp, type) and issubclass(tp, Record):
        return tp.from_dict(value)
    if origin is Mapping or origin is dict:
        return {k: _load(args[1], v) for k, v in value.items()}
    if origin is tuple:
        return tuple(_load(args[0], v) for v in value)
    return value


@dataclass(frozen=True)
class Record:
    """Base of the typed results: ``as_dict`` / ``from_dict`` by the rule of this module."""

    def as_dict(self) -> dict[str, Any]:
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None and f.metadata.get("omit_none"):
                continue
            out[_key(f)] = dump(value)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """The record ``as_dict`` wrote; a key that is absent reads as None (or the
        field's default)."""
        hints = _hints(cls)
        kwargs = {}
        for f in fields(cls):
            key = _key(f)
            if key in data:
                kwargs[f.name] = _load(hints[f.name], data[key])
            elif f.default is MISSING and f.default_factory is MISSING:
                kwargs[f.name] = None
        return cls(**kwargs)
