"""Pydantic models of the raw stack file (version 1), before interpolation.

Only the shape is checked here: unknown keys (`extra="forbid"`), types, durations,
signals, restart policies. Strings that may hold `${VAR}` (ports among them) are kept
as strings; `load` interpolates and converts them. Validation errors are turned into
one ConfigError naming the key path and its line.
"""

from __future__ import annotations

import difflib
import signal
from collections import Counter
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
    parse_watch,
    require_services,
)
from stackup.config.messages import house_style
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
    port: PortValue | None = Field(
        None,
        description="The port to connect to; default: the service's port.",
        examples=[5432, "${DB_PORT}"],
    )
    host: str | None = Field(
        None,
        description="Where to connect; default: the service's host (127.0.0.1).",
        examples=["127.0.0.1", "localhost"],
    )


class HttpSpec(_Model):
    path: str = Field(
        "/", description="The path a GET is sent to.", examples=["/api/health/", "/healthz"]
    )
    status: Annotated[int, Field(ge=100, le=599)] | None = Field(
        None,
        description="The exact HTTP status that counts as ready; default: any 2xx or 3xx.",
        examples=[200, 204],
    )
    port: PortValue | None = Field(
        None,
        description="The port to send the request to; default: the service's port.",
        examples=[8000, "${BACKEND_PORT}"],
    )
    host: str | None = Field(
        None,
        description="Where to connect; default: the service's host (127.0.0.1).",
        examples=["127.0.0.1"],
    )


class HealthSchema(_Model):
    tcp: bool | TcpSpec | None = Field(
        None,
        description="Ready when the port accepts a connection (the default check of a service"
        " with a port): `true`, or `{port, host}`.",
        examples=[True, {"port": 5432}],
    )
    http: str | HttpSpec | None = Field(
        None,
        description="Ready when a GET answers 2xx/3xx (or exactly `status`): a path, or"
        " `{path, status, port, host}`.",
        examples=["/api/health/", {"path": "/healthz", "status": 200}],
    )
    command: Command | None = Field(
        None,
        description="Ready when this command exits 0: a string run by /bin/sh -c, or a list"
        " run as argv.",
        examples=["pg_isready -h 127.0.0.1 -p ${PORT}", ["redis-cli", "ping"]],
    )
    log: str | None = Field(
        None,
        description="Ready when a line of the service's output matches this regex"
        " (readiness only, no liveness).",
        examples=["ready to accept connections", "Local:.*http://"],
    )
    interval: PositiveDuration | None = Field(
        None,
        description="Time between liveness checks once ready (default 2s): seconds, or a"
        " string with a unit (ms, s, m, h); at least 1ms.",
        examples=["2s", "500ms", 5],
    )
    timeout: PositiveDuration | None = Field(
        None,
        description="How long one check may take (default 1s); at least 1ms.",
        examples=["1s", "250ms"],
    )
    retries: Annotated[int, Field(ge=1)] | None = Field(
        None,
        description="Consecutive failed liveness checks before the service is `unhealthy`"
        " (default 3).",
        examples=[3],
    )
    start_timeout: PositiveDuration | None = Field(
        None,
        description="How long from start until ready (default 60s); then the start fails.",
        examples=["60s", "2m"],
    )


class RouteSpec(_Model):
    """`{path: /api/v1/, to: /api/}`: served behind a proxy at `path`, forwarded as `to`."""

    path: str = Field(
        description="The URL path prefix the proxy serves this service at.",
        examples=["/api/v1/"],
    )
    to: str | None = Field(
        None,
        description="The prefix the service expects instead (the proxy rewrites `path` to"
        " it); default: passed on unchanged.",
        examples=["/api/"],
    )


class DependencySchema(_Model):
    condition: Literal["healthy", "started", "completed"] | None = Field(
        None,
        description="When the dependent may start: the dependency `started`, is `healthy`"
        " (passed its check), or `completed` (a oneshot that exited 0). Default: `completed`"
        " for a oneshot, `healthy` otherwise.",
        examples=["healthy", "completed"],
    )
    restart: bool | None = Field(
        None,
        description="Restart this service once the dependency is ready again after it was"
        " recreated (an edited definition applied by `up -d` or a foreground `up`) or"
        " restarted for a changed watched file (compose's spelling). Default: false, the"
        " dependent stays up.",
        examples=[True],
    )


class WatchSchema(_Model):
    """`watch: {paths: [...], ignore: [...], debounce: 300ms}`."""

    paths: PathList = Field(
        description="Folders (watched with everything under them), files, or glob patterns"
        " (`*`, `?`, `**`), relative to the stack file.",
        examples=[["app/", "config/*.toml"]],
    )
    ignore: PathList = Field(
        [],
        description="Patterns whose changes do not count, beside the default ones (.git/,"
        " node_modules/, __pycache__/, *.pyc, .stackup/, editors' swap and backup files): a"
        " name (`*.log`, `tmp/` for a folder) matches anywhere; a pattern with a `/` inside"
        " is relative to the stack file.",
        examples=[["*.log", "app/generated/"]],
    )
    debounce: PositiveDuration | None = Field(
        None,
        description="How long after the last change of a burst the service restarts"
        " (default 300ms).",
        examples=["300ms", "1s"],
    )


class ServiceSchema(_Model):
    command: Command | None = Field(
        None,
        description="What to run: a string run by /bin/sh -c, or a list run as argv without a"
        " shell. Optional only when the stack's `procfile` has an entry of this name.",
        examples=["python manage.py runserver 127.0.0.1:${PORT}", ["npm", "run", "dev"]],
    )
    cwd: str | None = Field(
        None,
        description="Working directory, relative to the stack file; default: the stack"
        " file's folder.",
        examples=["backend", "frontend"],
    )
    image: str | None = Field(
        None,
        description="A container image that runs this service, for `stackup export compose`"
        " (instead of a `build:` placeholder) and `stackup export kubernetes` (required"
        " there). stackup itself runs `command` on this machine and ignores it.",
        examples=["ghcr.io/acme/backend:1.4", "postgres:15"],
    )
    port: PortValue | None = Field(
        None,
        description="The TCP port the service listens on; given to it as PORT, and to every"
        " service as <NAME>_PORT. A number or a ${VAR} string; `port_offset` is added.",
        examples=[8000, "${DB_PORT:-5432}"],
    )
    host: str | None = Field(
        None,
        description="Where health checks connect; default 127.0.0.1.",
        examples=["127.0.0.1", "localhost"],
    )
    env: EnvMap = Field(
        {},
        description="Extra environment for this service (overrides the stack's `env`).",
        examples=[{"DJANGO_DEBUG": "1", "CORS_ALLOWED_ORIGINS": "http://localhost:${FRONTEND_PORT}"}],
    )
    env_file: PathList | None = Field(
        None,
        description="A file or list of files of KEY=value lines for this service, relative to"
        " the stack file; each must exist.",
        examples=["backend/.env", ["common.env", "backend.env"]],
    )
    user: Annotated[str, BeforeValidator(lambda v: str(v) if isinstance(v, int) else v)] | None = (
        Field(
            None,
            description="Run as this user (and its group) when stackup runs as root, e.g."
            " postgres, which refuses to run as root; ignored with a note otherwise.",
            examples=["postgres"],
        )
    )
    depends_on: (
        list[str] | dict[str, Annotated[DependencySchema, BeforeValidator(parse_dependency)]]
    ) = Field(
        [],
        description="Services that must be ready first: a list of names (a oneshot must have"
        " completed, anything else be healthy), or a map name -> {condition: ...}.",
        examples=[["db"], {"migrate": {"condition": "completed"}, "db": {"condition": "healthy"}}],
    )
    # `health: false` turns off the default tcp check of a service with a port.
    health: Literal[False] | HealthSchema | None = Field(
        None,
        description="How to tell the service is ready: one of tcp, http, command or log, plus"
        " timing options. `false` turns off the default tcp check of a service with a port.",
        examples=[{"http": "/api/health/"}, {"log": "ready to accept connections"}],
    )
    oneshot: bool = Field(
        False,
        description="A task that must run to completion with exit 0 (a migration); never"
        " restarted.",
        examples=[True],
    )
    restart: Annotated[str, BeforeValidator(parse_restart)] = Field(
        "no",
        description="Restart policy: `no` (default; may be written unquoted), `on-failure`,"
        " `always`; with exponential backoff between attempts.",
        examples=["on-failure", "always"],
    )
    max_restarts: Annotated[int, Field(ge=0)] | None = Field(
        None,
        description="Give up after this many restarts (state `failed`); default: no limit.",
        examples=[3],
    )
    stop_signal: Annotated[signal.Signals, BeforeValidator(parse_signal)] = Field(
        signal.SIGTERM,
        description="The signal that stops the service (default SIGTERM): a name such as"
        " SIGINT or INT, or a number.",
        examples=["SIGINT", "SIGQUIT"],
    )
    stop_timeout: Duration = Field(
        10.0,
        description="How long to wait after the stop signal before SIGKILL (default 10s).",
        examples=["5s", 30],
    )
    profiles: list[str] = Field(
        [],
        description="Started only when one of these profiles is active (--profile) or the"
        " service is named on the command line.",
        examples=[["voice"], ["debug", "tools"]],
    )
    description: str | None = Field(
        None,
        description="What the service is; shown by `stackup ports`.",
        examples=["patients API (Django)"],
    )
    routes: Annotated[list[str | RouteSpec], BeforeValidator(parse_routes)] = Field(
        [],
        description="URL paths the service serves behind a proxy (`stackup export nginx`):"
        " a path prefix, or {path, to} to rewrite the prefix for the service.",
        examples=[["/api/v1/"], [{"path": "/api/v1/", "to": "/api/"}]],
    )
    watch: Annotated[WatchSchema, BeforeValidator(parse_watch)] | None = Field(
        None,
        description="Restart the service when these files change: paths and glob patterns"
        " relative to the stack file, or {paths, ignore, debounce}. A burst of changes gives"
        " one restart, through the stop ladder and readiness.",
        examples=[["app/", "config/*.toml"], {"paths": ["app/"], "ignore": ["*.log"],
                                               "debounce": "300ms"}],
    )
    external: bool = Field(
        False,
        description="Run by someone else (a shared database, a staging API): stackup never"
        " starts, restarts or stops it, but waits for its check (its port, by default) like"
        " any dependency. Needs a `port` or a `health` check, and takes no `command`.",
        examples=[True],
    )


class StackSchema(_Model):
    version: Annotated[int, BeforeValidator(parse_version)] | None = Field(
        None, description="The file format version: 1 (optional).", examples=[1]
    )
    name: str | None = Field(
        None,
        description="The stack's name; default: the name of the stack file's folder.",
        examples=["myapp"],
    )
    env_file: PathList | None = Field(
        None,
        description="A file or list of files of KEY=value lines, relative to the stack file;"
        " each must exist. Without it, a .env beside the stack file is read when present.",
        examples=[".env", [".env", ".env.local"]],
    )
    env: EnvMap = Field(
        {},
        description="Environment for every service. ${VAR}, ${VAR:-default} and $$ are"
        " interpolated; every service's port is <NAME>_PORT.",
        examples=[{"DATABASE_URL": "postgresql://app@127.0.0.1:${DB_PORT}/app"}],
    )
    procfile: str | None = Field(
        None,
        description="A Procfile whose entries supply `command` for services that have none.",
        examples=["Procfile"],
    )
    port_offset: PortValue | None = Field(
        None,
        description="Added to every port of the stack (also --port-offset): a whole number"
        " or a ${VAR} string.",
        examples=[100, "${PORT_OFFSET:-0}"],
    )
    services: Annotated[
        dict[
            Annotated[str, BeforeValidator(parse_service_name)],
            Annotated[ServiceSchema, BeforeValidator(none_as_empty)],
        ],
        AfterValidator(require_services),
        BeforeValidator(none_as_empty),
    ] = Field(
        description="The services, by name (lowercase letters, digits, - and _, starting"
        " with a letter); at least one.",
        examples=[{"web": {"command": "python -m http.server ${PORT}", "port": 8000}}],
    )


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
    # Several errors on one key: it takes several shapes (a union) and matched none.
    shapes = Counter(path for path, _ in specific)
    errors = [_to_config_error(source, e, shapes[path] > 1) for path, e in specific]
    return min(errors, key=lambda e: e.line if e.line is not None else 1 << 30)


def _error_path(data: Any, err: Any) -> KeyPath:
    # A missing key counts as deeper than its mapping: in `str | RouteSpec`, the map
    # member missing `path` is more specific than "not a string".
    path, last_missing = _data_path(data, err["loc"], err["type"])
    return (*path, err["loc"][-1]) if last_missing else path


def _to_config_error(source: Source, err: Any, several_shapes: bool = False) -> ConfigError:
    path, last_missing = _data_path(source.data, err["loc"], err["type"])
    line = source.line(path)
    if last_missing:
        path = (*path, err["loc"][-1])
    if err["type"] == "extra_forbidden":
        return source.error(_unknown_key(path), path, line=line)
    if err["type"] == "missing":
        return source.error("required key is missing", path, line=line)
    return source.error(house_style(err, path, several_shapes), path, line=line)


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
    if path[0] == "services" and len(path) == 3 and path[2] == "watch":
        return WatchSchema
    if path[0] == "services" and len(path) == 4 and path[2] == "depends_on":
        return DependencySchema
    return None
