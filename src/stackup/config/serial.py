"""A resolved `Stack` as plain JSON data, and back: what the start-up cache stores.

Generic over the model's dataclasses, driven by their type hints (Path, tuples,
optional values, nested dataclasses, signals), so a field added to the model is
carried without anyone remembering to update this module; a round-trip test over
every stack file in the repository keeps it honest. Stdlib only: loading a cached
stack must not import pydantic.
"""

from __future__ import annotations

import dataclasses
import signal
import types
import typing
from functools import cache
from pathlib import Path
from typing import Any

from stackup.config import model


def dump(stack: model.Stack) -> dict[str, Any]:
    return _dump(stack)


def load(data: dict[str, Any]) -> model.Stack:
    return _load(model.Stack, data)


def _dump(value: Any) -> Any:
    if dataclasses.is_dataclass(value):
        return {f.name: _dump(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, signal.Signals):
        return int(value)
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, dict):
        return {k: _dump(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_dump(v) for v in value]
    return value


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls, vars(model))


def _load(kind: Any, data: Any) -> Any:
    origin = typing.get_origin(kind)
    args = typing.get_args(kind)
    if data is None:
        return None
    if dataclasses.is_dataclass(kind):
        hints = _hints(kind)
        return kind(**{name: _load(hints[name], value) for name, value in data.items()})
    if kind is Path:
        return Path(data)
    if kind is signal.Signals:
        return signal.Signals(data)
    if origin is tuple:
        return tuple(_load(args[0], v) for v in data)
    if origin is list:
        return [_load(args[0], v) for v in data]
    if origin is dict:
        return {k: _load(args[1], v) for k, v in data.items()}
    if origin in (typing.Union, types.UnionType):
        # `X | None`, or a union of plain JSON types (`str | list[str]`): the first
        # member whose shape fits.
        members = [a for a in args if a is not type(None)]
        if len(members) == 1:
            return _load(members[0], data)
        for member in members:
            base = typing.get_origin(member) or member
            if isinstance(base, type) and isinstance(data, base):
                return _load(member, data)
        return data
    return data  # str, int, float, bool, Literal values
