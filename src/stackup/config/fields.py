"""Parsers for single values of the stack file, used as pydantic validators.

Each raises ValueError with a message meant for the user; `schema` turns it into a
ConfigError naming the key path and line.
"""

from __future__ import annotations

import re
import signal
from typing import Any

from stackup.naming import SERVICE_NAME

_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)\s*(ms|s|m|h)?")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def parse_duration(value: Any) -> float:
    """Seconds from `5`, `0.5`, `"250ms"`, `"1.5s"`, `"2m"`, `"1h"`, `"1m30s"`."""
    if isinstance(value, bool):
        raise ValueError("a duration must be a number of seconds or a string like 1.5s")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip()
        pos, seconds = 0, 0.0
        while pos < len(text):
            match = _DURATION_PART.match(text, pos)
            # A bare number is only allowed alone: "1.5.2s" must not read as 1.5 + 0.2.
            if not match or (match.group(2) is None and (pos or match.end() < len(text))):
                pos = -1
                break
            seconds += float(match.group(1)) * _UNITS[match.group(2)]
            pos = match.end()
            while pos < len(text) and text[pos] == " ":
                pos += 1
        if not text or pos != len(text):
            raise ValueError(f"invalid duration {value!r} (use seconds, or 250ms, 1.5s, 2m)")
    else:
        raise ValueError("a duration must be a number of seconds or a string like 1.5s")
    if seconds < 0:
        raise ValueError("a duration cannot be negative")
    return seconds


def parse_port_value(value: Any) -> int | str:
    # A port may be `${DB_PORT:-5432}`; interpolation and the range check come later.
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        return value
    raise ValueError(f"a port must be a whole number or a ${{VAR}} string, got {value!r}")


def parse_signal(value: Any) -> signal.Signals:
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            return signal.Signals(value)
        except ValueError:
            raise ValueError(f"unknown signal number {value}") from None
    if isinstance(value, str):
        name = value.strip().upper()
        name = name if name.startswith("SIG") else "SIG" + name
        if name in signal.Signals.__members__:
            return signal.Signals[name]
    raise ValueError(f"unknown signal {value!r} (use a name such as SIGTERM, TERM or INT)")


def parse_restart(value: Any) -> str:
    # YAML 1.1 reads an unquoted `no` as false; that is what the user meant.
    if value is False:
        return "no"
    if value in ("no", "on-failure", "always"):
        return value
    raise ValueError(f"restart must be no, on-failure or always, not {value!r}")


def parse_command(value: Any) -> str | list[str]:
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return value
    raise ValueError("must be a string (run by /bin/sh -c) or a list of strings (argv)")


def parse_env_value(value: Any) -> str:
    # `DEBUG: 1` or `FLAG: true` in YAML are not strings; the environment only has text.
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        return str(value)
    raise ValueError("an env value must be a string, number or boolean")


def parse_env_name(value: Any) -> str:
    if isinstance(value, str) and _ENV_NAME.match(value):
        return value
    raise ValueError(f"invalid variable name {value!r}")


def parse_str_list(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return value
    raise ValueError("must be a path or a list of paths")


def parse_service_name(value: Any) -> str:
    if isinstance(value, str) and SERVICE_NAME.match(value):
        return value
    raise ValueError(
        f"invalid service name {str(value)!r}: use lowercase letters, digits, '-' and '_',"
        " starting with a letter"
    )


def parse_routes(value: Any) -> Any:
    """`routes: /api/` alone, or a list of paths and `{path, to}` maps."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return value
    raise ValueError("routes must be a URL path or a list of paths and {path, to} maps")


def parse_watch(value: Any) -> Any:
    """`watch: app/`, `watch: [app/, "config/*.toml"]`, or the map form."""
    if isinstance(value, str | list):
        return {"paths": value}
    if value is None or isinstance(value, dict):
        return value
    raise ValueError("watch takes a path, a list of paths, or {paths, ignore, debounce}")


def require_services(value: dict[str, Any]) -> dict[str, Any]:
    if not value:
        raise ValueError("at least one service is required")
    return value


def parse_version(value: Any) -> int:
    if value in (1, "1"):
        return 1
    raise ValueError(f"unsupported version {value!r} (this stackup reads version 1)")


def none_as_empty(value: Any) -> Any:
    # `web:` with nothing under it is a service whose command comes from the Procfile.
    return {} if value is None else value


def parse_dependency(value: Any) -> Any:
    """The map form's value: `{condition: …}` (or nothing, for the default)."""
    if isinstance(value, str):
        raise ValueError(f"write {{condition: {value}}} (a map), not a bare string")
    return none_as_empty(value)


def parse_check_period(value: Any) -> float:
    """A check interval or timeout: a duration of at least 1 ms (0 would busy-loop)."""
    seconds = parse_duration(value)
    if seconds < 0.001:
        raise ValueError(f"must be at least 1ms (got {value!r})")
    return seconds
