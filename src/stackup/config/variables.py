"""Where `${VAR}` gets its value, and the record of it for `config --explain`.

Interpolation order (SPEC): port variables (a service's own `PORT` first) > process
environment > env files > the stack's `env`. Stack `env` values are interpolated with
the same order, lazily, so `env` entries may refer to each other.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from stackup.config.envfiles import EnvFile
from stackup.config.interpolate import InterpolationError, interpolate
from stackup.config.model import ValueOrigin
from stackup.config.yamlsource import KeyPath, Source, format_path
from stackup.naming import port_variable


@dataclass
class Resolver:
    source: Source
    environ: Mapping[str, str]
    file_env: Mapping[str, str]  # the stack's env files, merged
    stack_env_raw: Mapping[str, str]  # the stack's `env`, not yet interpolated
    port_vars: Mapping[str, str]  # empty while the ports themselves are resolved
    referenced: set[str] = field(default_factory=set)
    # (variable, where its `${VAR:-default}` default was used)
    defaults: list[tuple[str, ValueOrigin]] = field(default_factory=list)
    # (variable, the source that gave its value), in lookup order: which source
    # decided a `port:` field that reads a variable.
    found: list[tuple[str, str]] = field(default_factory=list)
    _memo: dict[str, str] = field(default_factory=dict)
    _resolving: set[str] = field(default_factory=set)

    def lookup(self, name: str, own_port: int | None = None) -> str | None:
        self.referenced.add(name)
        if name == "PORT" and own_port is not None:
            return str(own_port)
        for source, layer in (
            ("port", self.port_vars), ("process env", self.environ), ("env file", self.file_env)
        ):
            if name in layer:
                self.found.append((name, source))
                return layer[name]
        # While `env.A` is being resolved, `${A}` inside it cannot mean itself; it falls
        # through to "undefined", so `${A:-fallback}` works and `${A}` is an error.
        if name in self.stack_env_raw and name not in self._resolving:
            self.found.append((name, "stack env"))
            return self.stack_env(name)
        return None

    def stack_env(self, name: str) -> str:
        if name not in self._memo:
            self._resolving.add(name)
            try:
                self._memo[name] = self.interpolate(self.stack_env_raw[name], ("env", name))
            finally:
                self._resolving.discard(name)
        return self._memo[name]

    def interpolate(
        self, text: str, path: KeyPath, own_port: int | None = None, where: str = ""
    ) -> str:
        """Expand `text` found at `path`; an error names that key path and its line."""

        def on_default(name: str, value: str) -> None:
            self.defaults.append((name, ValueOrigin("default", format_path(path), value)))

        try:
            return interpolate(text, lambda name: self.lookup(name, own_port), on_default)
        except InterpolationError as exc:
            raise self.source.error(f"{where}{exc}", path) from None


@dataclass
class ServiceEnvRecord:
    """What one service's own `env` and `env_file` defined, for the origins."""

    name: str
    env: dict[str, str]
    env_files: list[EnvFile]


def collect_origins(
    *,
    ports: Mapping[str, int],
    environ: Mapping[str, str],
    referenced: set[str],
    stack_files: list[EnvFile],
    stack_env: Mapping[str, str],
    services: list[ServiceEnvRecord],
    defaults: list[tuple[str, ValueOrigin]],
    ports_via: Mapping[str, str] | None = None,
) -> dict[str, list[ValueOrigin]]:
    """Every place each variable has a value, interpolation's order first.
    `ports_via`: service -> the source its `port:` field took its own port variable
    from (see ValueOrigin.via)."""
    ports_via = ports_via or {}
    origins: dict[str, list[ValueOrigin]] = {}

    def add(name: str, origin: ValueOrigin) -> None:
        origins.setdefault(name, []).append(origin)

    for service, port in ports.items():
        origin = ValueOrigin(
            "port", f"services.{service}.port", str(port), via=ports_via.get(service, "")
        )
        add(port_variable(service), origin)
    for service, port in ports.items():
        add("PORT", ValueOrigin("port", f"services.{service}.port", str(port), service))
    for name in referenced:
        if name in environ:
            add(name, ValueOrigin("process env", "", environ[name]))
    for env_file in reversed(stack_files):  # a later file overrides an earlier one
        for name, value in env_file.values.items():
            add(name, ValueOrigin("env file", str(env_file.path), value))
    for name, value in stack_env.items():
        add(name, ValueOrigin("stack env", f"env.{name}", value))
    for record in services:
        for name, value in record.env.items():
            detail = f"services.{record.name}.env.{name}"
            add(name, ValueOrigin("service env", detail, value, record.name))
        for env_file in reversed(record.env_files):
            for name, value in env_file.values.items():
                add(name, ValueOrigin("service env file", str(env_file.path), value, record.name))
    for name, origin in defaults:
        add(name, origin)
    # A process variable shadows (or is shadowed by) the stack's own value even when the
    # file never refers to it, so record it for every name the stack defines.
    for name, chain in origins.items():
        if name in environ and name not in referenced:
            chain.insert(_process_slot(chain), ValueOrigin("process env", "", environ[name]))
    return origins


def _process_slot(chain: list[ValueOrigin]) -> int:
    """Process env goes right after the port variables."""
    return sum(1 for origin in chain if origin.source == "port" and origin.service is None)
