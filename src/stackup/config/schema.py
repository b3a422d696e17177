"""Pydantic models of the raw stack file (version 1), before interpolation.

Only the shape is checked here: unknown keys (`extra="forbid"`), types, durations,
signals, restart policies. Strings that may hold `${VAR}` (ports among them) are kept
as strings; `load` interpolates and converts them. Validation errors are turned into
one ConfigError naming the key path and its line.
"""

from __future__ import annotations

import difflib
import re
import signal
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from stackup.config.fields import (
    none_as_empty,
    parse_check_period,
    parse_command,
    parse_dependency,
    parse_duration,
    parse_env_name,
    parse_env_value,
    parse_port_value,
    parse_restart,
    parse_routes,
    parse_service_name,
    parse_signal,
    parse_str_list,
    parse_version,
    require_services,
)
from stackup.config.yamlsource import KeyPath, Source
from stackup.errors import ConfigError

Duration = Annotated[float, BeforeValidator(parse_duration)]
PositiveDuration = Annotated[float, BeforeValidator(parse_check_period)]
PortValue = Annotated[int | str, BeforeValidator(parse_port_value)]
Command = Annotated[str | list[str], BeforeValidator(parse_command)]
EnvName = Annotated[str, BeforeValidator(parse_env_name)]
EnvMap = dict[EnvName, Annotated[str, BeforeValidator(parse_env_value)]]
PathList = Annotated[list[str], BeforeValidator(parse_str_list)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TcpSpec(_Model):
    port: PortValue | None = None
    host: str | None = None


class HttpSpec(_Model):
    path: str = "/"
    status: Annotated[int, Field(ge=100, le=599)] | None = None
    port: PortValue | None = None
    host: str | None = None


class HealthSchema(_Model):
    tcp: bool | TcpSpec | None = None
    http: str | HttpSpec | None = None
    command: Command | None = None
    log: str | None = None
    interval: PositiveDuration | None = None
    timeout: PositiveDuration | None = None
    retries: Annotated[int, Field(ge=1)] | None = None
    start_timeout: PositiveDuration | None = None


class RouteSpec(_Model):
    """`{path: /api/v1/, to: /api/}`: served behind a proxy at `path`, forwarded as `to`."""

    path: str
    to: str | None = None


class DependencySchema(_Model):
    condition: Literal["healthy", "started", "completed"] | None = None


class ServiceSchema(_Model):
    command: Command | None = None
    cwd: str | None = None
    port: PortValue | None = None
    host: str | None = None
    env: EnvMap = {}
    env_file: PathList | None = None
    user: Annotated[str, BeforeValidator(lambda v: str(v) if isinstance(v, int) else v)] | None = (
        None
    )
    depends_on: (
        list[str] | dict[str, Annotated[DependencySchema, BeforeValidator(parse_dependency)]]
    ) = []
    # `health: false` turns off the default tcp check of a service with a port.
    health: Literal[False] | HealthSchema | None = None
    oneshot: bool = False
    restart: Annotated[str, BeforeValidator(parse_restart)] = "no"
    max_restarts: Annotated[int, Field(ge=0)] | None = None
    stop_signal: Annotated[signal.Signals, BeforeValidator(parse_signal)] = signal.SIGTERM
    stop_timeout: Duration = 10.0
    profiles: list[str] = []
    description: str | None = None
    routes: Annotated[list[str | RouteSpec], BeforeValidator(parse_routes)] = []


class StackSchema(_Model):
    version: Annotated[int, BeforeValidator(parse_version)] | None = None
    name: str | None = None
    env_file: PathList | None = None
    env: EnvMap = {}
    procfile: str | None = None
    port_offset: PortValue | None = None
    services: Annotated[
        dict[
            Annotated[str, BeforeValidator(parse_service_name)],
            Annotated[ServiceSchema, BeforeValidator(none_as_empty)],
        ],
        AfterValidator(require_services),
        BeforeValidator(none_as_empty),
    ]


def validate(source: Source) -> StackSchema:
    """Check the shape of the file; the first problem (by line) becomes a ConfigError."""
    try:
        return StackSchema.model_validate(source.data)
    except ValidationError as exc:
        raise _first_error(source, exc) from None


def _first_error(source: Source, exc: ValidationError) -> ConfigError:
    """The one error to report: the first in the file, after dropping union noise.

    For a union (`depends_on: list | dict`) pydantic reports one error per member. The
    member that matched the shape fails deeper in the data; an error on an ancestor of
    another error's key path is a member that did not, so it is dropped.
    """
    found = [(_error_path(source.data, e), e) for e in exc.errors()]
    paths = {path for path, _ in found}
    specific = [
        (path, e)
        for path, e in found
        if not any(len(other) > len(path) and other[: len(path)] == path for other in paths)
    ] or found
    errors = [_to_config_error(source, e) for _, e in specific]
    return min(errors, key=lambda e: e.line if e.line is not None else 1 << 30)


def _error_path(data: Any, err: Any) -> KeyPath:
    # A missing key counts as deeper than its mapping: in `str | RouteSpec`, the map
    # member missing `path` is more specific than "not a string".
    path, last_missing = _data_path(data, err["loc"], err["type"])
    return (*path, err["loc"][-1]) if last_missing else path


def _to_config_error(source: Source, err: Any) -> ConfigError:
    path, last_missing = _data_path(source.data, err["loc"], err["type"])
    line = source.line(path)
    if last_missing:
        path = (*path, err["loc"][-1])
    if err["type"] == "extra_forbidden":
        return source.error(_unknown_key(path), path, line=line)
    if err["type"] == "missing":
        return source.error("required key is missing", path, line=line)
    message = str(err["msg"]).removeprefix("Value error, ")
    # "a valid dictionary or instance of DependencySchema": our class names mean
    # nothing to the user; the key path already says what is expected there.
    message = re.sub(r" or instance of \w+Schema", "", message)
    value = err.get("input")
    if err["type"] not in ("value_error",) and isinstance(value, str | int | float | bool):
        message += f" (got {value!r})"
    return source.error(message, path, line=line)


def _data_path(data: Any, loc: tuple[Any, ...], kind: str) -> tuple[KeyPath, bool]:
    """Map pydantic's `loc` onto the file's key path.

    `loc` also holds names that are not in the file: union members (`str`,
    `list[str]`, `function-before[...]`), `[key]`, and a missing field. Follow only
    the parts that exist in the data.
    """
    path: list[Any] = []
    current = data
    for index, part in enumerate(loc):
        in_dict = isinstance(current, dict) and part in current
        in_list = isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current)
        if in_dict or in_list:
            path.append(part)
            current = current[part]
        elif kind == "missing" and index == len(loc) - 1:
            return tuple(path), True
    return tuple(path), False


def _unknown_key(path: KeyPath) -> str:
    key = str(path[-1]) if path else "?"
    message = f"unknown key '{key}'"
    model = _model_at(path[:-1])
    if model is not None:
        close = difflib.get_close_matches(key, list(model.model_fields), n=1)
        if close:
            message += f" (did you mean '{close[0]}'?)"
    return message


def _model_at(path: KeyPath) -> type[BaseModel] | None:
    """The schema model for a mapping at `path`, to suggest a close key name."""
    if not path:
        return StackSchema
    if path[0] == "services" and len(path) == 2:
        return ServiceSchema
    if path[0] == "services" and len(path) == 3 and path[2] == "health":
        return HealthSchema
    if path[0] == "services" and len(path) == 4 and path[2] == "health":
        return {"tcp": TcpSpec, "http": HttpSpec}.get(str(path[3]))
    if path[0] == "services" and len(path) == 4 and path[2] == "routes":
        return RouteSpec
    return None
