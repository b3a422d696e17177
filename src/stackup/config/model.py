"""The resolved stack: what the loader hands to the rest of stackup.

Every value here is final: variables interpolated, port offset applied, defaults set,
paths absolute. Nothing below `config` ever reads the YAML or the environment again.
"""

from __future__ import annotations

import signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from stackup import locations

Condition = Literal["healthy", "started", "completed"]
CheckKind = Literal["tcp", "http", "command", "log", "none"]
RestartPolicy = Literal["no", "on-failure", "always"]


@dataclass(frozen=True)
class HealthCheck:
    """How to tell a service is ready (and, once ready, still alive)."""

    kind: CheckKind
    host: str = "127.0.0.1"  # tcp/http: where to connect
    port: int | None = None  # tcp/http: defaults to the service's port
    path: str = "/"  # http
    status: int | None = None  # http: expected status; None means any 2xx/3xx
    command: str | list[str] | None = None  # command: str via /bin/sh -c, list as argv
    pattern: str | None = None  # log: a regex searched in each output line
    interval: float = 2.0  # seconds between liveness checks once ready
    timeout: float = 1.0  # seconds one check may take
    retries: int = 3  # consecutive liveness failures before `unhealthy`
    start_timeout: float = 60.0  # seconds from spawn until ready, or the start fails


@dataclass(frozen=True)
class Dependency:
    name: str
    condition: Condition
    # compose's `restart: true`: when the dependency is recreated or restarted (an
    # edited definition, a watched file), the dependent is restarted once it is ready.
    restart: bool = False


@dataclass(frozen=True)
class Watch:
    """`watch:`: files whose change restarts the service (paths final: absolute)."""

    paths: tuple[str, ...]  # folders, files, or glob patterns (`/abs/config/*.toml`)
    ignore: tuple[str, ...] = ()  # the service's own patterns, beside the default ones
    debounce: float = 0.3  # seconds without a further change before the restart


@dataclass(frozen=True)
class Route:
    """A URL path the service serves behind a proxy (`stackup export nginx`).

    Requests under `path` go to the service with that prefix replaced by `to`
    (`/api/v1/health/` → `/api/health/`); `to == path` forwards them unchanged.
    """

    path: str
    to: str

    @property
    def rewrites(self) -> bool:
        return self.to != self.path

    def describe(self) -> str:
        return f"{self.path} → {self.to}" if self.rewrites else self.path


@dataclass(frozen=True)
class Service:
    name: str
    command: str | list[str]
    cwd: Path
    port: int | None
    host: str
    # The environment stackup adds for this service, already merged in SPEC's order:
    # port variables > service env > service env_file > stack env > stack env files.
    # The inherited process environment goes beneath it at spawn time.
    env: dict[str, str]
    health: HealthCheck
    depends_on: tuple[Dependency, ...] = ()
    oneshot: bool = False
    restart: RestartPolicy = "no"
    max_restarts: int | None = None
    stop_signal: signal.Signals = signal.SIGTERM
    stop_timeout: float = 10.0
    profiles: tuple[str, ...] = ()
    description: str | None = None
    user: str | None = None
    image: str | None = None  # a container image, for the compose and kubernetes exports
    routes: tuple[Route, ...] = ()
    # Run by someone else (a shared database, a staging API): never started, restarted
    # or stopped; waited for through its check like any dependency.
    external: bool = False
    watch: Watch | None = None
    line: int | None = None  # where the service is defined in the stack file


@dataclass(frozen=True)
class ValueOrigin:
    """Where a variable's value came from, for `config --explain`."""

    source: str  # "port", "process env", "env file", "stack env", "service env",
    # "service env file", "default"
    detail: str = ""  # e.g. the env file's path, or "services.db.port"
    value: str = ""
    service: str | None = None  # set when the value applies to one service only
    # A port variable whose `port:` field read that same variable (`port:
    # ${DB_PORT:-5432}`): the source that really decided it ("process env", "env file",
    # "stack env" or "default"), so that source is not reported as overridden.
    via: str = ""


@dataclass
class Stack:
    name: str
    file: Path  # absolute path of the stack file
    services: dict[str, Service]  # every service in the file, in file order
    active_profiles: tuple[str, ...] = ()
    port_offset: int = 0
    # Every variable the stack defines (port vars, env files, stack env, service env and
    # env files, defaults used) plus the process variables the file refers to, each with
    # its origin chain: interpolation's order first, service-only origins after.
    origins: dict[str, list[ValueOrigin]] = field(default_factory=dict)
    # The stack-wide environment (port variables > stack env > stack env files), what
    # `stackup run` gives its command; services get theirs in Service.env.
    env: dict[str, str] = field(default_factory=dict)
    # `-p NAME` / STACKUP_PROJECT: which copy of this file (None: the file's own).
    project: str | None = None
    # The files the stack was read from (the stack file, env files — also a `.env`
    # that would be read if it appeared —, the Procfile): what a foreground `up` watches.
    inputs: tuple[Path, ...] = ()

    @property
    def root(self) -> Path:
        return self.file.parent

    @property
    def state_dir(self) -> Path:
        return locations.state_dir(self.file, self.project)

    def default_services(self) -> list[str]:
        """Services started by a bare `up`: those with no profile, or an active one."""
        return [
            name
            for name, svc in self.services.items()
            if not svc.profiles or set(svc.profiles) & set(self.active_profiles)
        ]
