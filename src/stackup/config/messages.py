"""pydantic's validation errors in stackup's own words.

pydantic says `Input should be a valid dictionary` or `Input should be 'healthy',
'started' or 'completed'`; a stack file's author wants `must be a mapping` and `must be
healthy, started or completed (got 'ready')`, next to the key path. Where a key takes
several shapes (a union: `depends_on` is a list or a mapping), pydantic reports one
error per shape; the message then says what the key takes, from WHAT_IT_TAKES.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from typing import Any

from stackup.config.yamlsource import KeyPath, format_path

# What a key of several shapes takes, by key path (fnmatch patterns).
WHAT_IT_TAKES = {
    "services.*.health": "must be a mapping with one check (tcp, http, command or log) "
    "and its options, or false",
    "services.*.health.tcp": "must be true, or a mapping {port, host}",
    "services.*.health.http": "must be a path such as /health, or a mapping "
    "{path, status, port, host}",
    "services.*.depends_on": "must be a list of service names, or a mapping of "
    "service name to {condition: ...}",
    "services.*.depends_on.*": "must be a mapping {condition: healthy, started or completed}",
    "services.*": "must be a mapping of the service's keys (command, port, ...)",
    "services": "must be a mapping of service name to service",
}

# pydantic error types that mean "wrong kind of value", by what was expected.
_TYPES = {
    "dict_type": "must be a mapping",
    "model_type": "must be a mapping",
    "model_attributes_type": "must be a mapping",
    "list_type": "must be a list",
    "string_type": "must be a string",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
}

_BOUNDS = {
    "greater_than_equal": ("ge", "at least"),
    "greater_than": ("gt", "more than"),
    "less_than_equal": ("le", "at most"),
    "less_than": ("lt", "less than"),
}


def house_style(err: Mapping[str, Any], path: KeyPath, several_shapes: bool) -> str:
    """The message for one pydantic error at the file's key `path` (without the path)."""
    kind = err["type"]
    if kind == "value_error":  # raised by our own validators, already in our words
        return str(err["msg"]).removeprefix("Value error, ")
    takes = _what_it_takes(path) if several_shapes or kind in _TYPES else None
    message = takes or _generic(kind, err)
    return f"{message} (got {describe(err.get('input'))})"


def _what_it_takes(path: KeyPath) -> str | None:
    shown = format_path(path)
    return next(
        (text for pattern, text in WHAT_IT_TAKES.items() if fnmatch.fnmatchcase(shown, pattern)
         and shown.count(".") == pattern.count(".")),
        None,
    )


def _generic(kind: str, err: Mapping[str, Any]) -> str:
    ctx = err.get("ctx") or {}
    if kind in _TYPES:
        return _TYPES[kind]
    if kind == "literal_error":
        choices = str(ctx.get("expected", "")).replace("'", "")
        return f"must be {choices}"
    if kind in _BOUNDS:
        key, words = _BOUNDS[kind]
        return f"must be {words} {ctx.get(key)}"
    # Anything else: pydantic's own sentence, in our voice at least.
    text = str(err.get("msg", "is not valid"))
    if text.startswith("Input should "):
        return "must " + text.removeprefix("Input should ")
    return text


def describe(value: Any) -> str:
    """A value as the message shows it: scalars as written, containers by kind."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "nothing"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return repr(value)
