"""Turn one validated service entry into the final `Service`: interpolated command,
absolute cwd, health check with its defaults, dependency conditions, merged env."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from stackup import globs
from stackup.config.checks import dependency_items
from stackup.config.envfiles import EnvFile, EnvFileError, merged, read_env_files
from stackup.config.model import Dependency, HealthCheck, Service, Watch
from stackup.config.routes import build_routes
from stackup.config.schema import HealthSchema, HttpSpec, PortValue, ServiceSchema, TcpSpec
from stackup.config.variables import Resolver, ServiceEnvRecord
from stackup.config.yamlsource import KeyPath

Expand = Callable[..., str]  # (text, key path[, where]) -> interpolated text
_CHECKS = ("tcp", "http", "command", "log")
_TIMINGS = ("interval", "timeout", "retries", "start_timeout")
DEFAULT_DEBOUNCE = 0.3  # seconds: an editor's save is one burst, a `git checkout` too
# Keys that say how stackup runs a process: meaningless for a service it never runs.
_NOT_EXTERNAL = ("command", "oneshot", "restart", "max_restarts", "stop_signal",
                 "stop_timeout", "user", "watch", "depends_on")


@dataclass
class StackContext:
    """What every service build needs from the stack as a whole."""

    root: Path
    resolver: Resolver  # sees the port variables
    ports: Mapping[str, int]  # final ports (offset applied) of services that have one
    port_vars: Mapping[str, str]  # every `<NAME>_PORT`
    oneshots: frozenset[str]
    procfile: Mapping[str, str] | None
    procfile_path: Path | None
    stack_file_env: Mapping[str, str]  # the stack's env files, merged
    stack_env: Mapping[str, str]  # the stack's `env`, interpolated
    environ: Mapping[str, str]


def build_service(
    name: str, raw: ServiceSchema, ctx: StackContext
) -> tuple[Service, ServiceEnvRecord]:
    base: KeyPath = ("services", name)
    port = ctx.ports.get(name)

    def expand(text: str, path: KeyPath, where: str = "") -> str:
        return ctx.resolver.interpolate(text, path, own_port=port, where=where)

    host = expand(raw.host, (*base, "host")) if raw.host is not None else "127.0.0.1"
    own_env = {k: expand(v, (*base, "env", k)) for k, v in raw.env.items()}
    env_files = _service_env_files(name, raw, ctx)
    env = {
        **ctx.stack_file_env,
        **ctx.stack_env,
        **merged(env_files),
        **own_env,
        **ctx.port_vars,
    }
    if port is not None:
        env["PORT"] = str(port)
    health = build_health(name, raw.health, port, host, ctx.resolver)
    if raw.external:
        _check_external(name, raw, health, ctx)
    service = Service(
        name=name,
        command="" if raw.external else _command(name, raw, ctx, expand),
        cwd=_cwd(raw.cwd, ctx.root, lambda text: expand(text, (*base, "cwd"))),
        port=port,
        host=host,
        env=env,
        health=health,
        depends_on=tuple(
            Dependency(dep, _condition(raw, dep, ctx.oneshots), _restart_with(raw, dep))
            for dep, _ in dependency_items(name, raw)
        ),
        oneshot=raw.oneshot,
        restart=raw.restart,  # type: ignore[arg-type]  # checked by the schema
        max_restarts=raw.max_restarts,
        stop_signal=raw.stop_signal,
        stop_timeout=raw.stop_timeout,
        profiles=tuple(raw.profiles),
        description=_optional(raw.description, (*base, "description"), expand),
        user=_optional(raw.user, (*base, "user"), expand),
        image=_optional(raw.image, (*base, "image"), expand),
        routes=build_routes(name, raw, port, expand, ctx.resolver.source),
        external=raw.external,
        watch=_watch(name, raw, ctx, expand),
        line=ctx.resolver.source.line(base),
    )
    return service, ServiceEnvRecord(name, own_env, env_files)


def _optional(value: str | None, path: KeyPath, expand: Expand) -> str | None:
    return expand(value, path) if value is not None else None


def _command(name: str, raw: ServiceSchema, ctx: StackContext, expand: Expand) -> str | list[str]:
    path: KeyPath = ("services", name, "command")
    if raw.command is not None:
        if isinstance(raw.command, list):
            command: str | list[str] = [
                expand(arg, (*path, i)) for i, arg in enumerate(raw.command)
            ]
        else:
            command = expand(raw.command, path)
    elif ctx.procfile is not None and name in ctx.procfile:
        where = f"in Procfile entry '{name}': "
        command = expand(ctx.procfile[name], ("services", name), where)
    else:
        hint = (
            f"and {ctx.procfile_path} has no entry '{name}'"
            if ctx.procfile_path
            else "(give 'command', or a 'procfile' with an entry of that name)"
        )
        raise ctx.resolver.source.error(f"service has no command {hint}", ("services", name))
    if not command or (isinstance(command, str) and not command.strip()):
        raise ctx.resolver.source.error("command is empty", path)
    return command


def _cwd(cwd: str | None, root: Path, expand: Callable[[str], str]) -> Path:
    if cwd is None:
        return root
    # normpath, not resolve(): keep symlinked project folders as the user named them.
    return Path(os.path.normpath(root / os.path.expanduser(expand(cwd))))


def _condition(raw: ServiceSchema, dep: str, oneshots: frozenset[str]) -> str:
    if isinstance(raw.depends_on, dict) and raw.depends_on[dep].condition:
        return raw.depends_on[dep].condition  # type: ignore[return-value]
    return "completed" if dep in oneshots else "healthy"


def _restart_with(raw: ServiceSchema, dep: str) -> bool:
    return isinstance(raw.depends_on, dict) and bool(raw.depends_on[dep].restart)


def _check_external(
    name: str, raw: ServiceSchema, health: HealthCheck, ctx: StackContext
) -> None:
    """An external service is only waited for: it needs something to check, and keys
    about running a process are refused rather than silently ignored."""
    source = ctx.resolver.source
    base: KeyPath = ("services", name)
    for key in _NOT_EXTERNAL:
        default = ServiceSchema.model_fields[key].default
        if key in raw.model_fields_set and getattr(raw, key) not in (default, [], {}, None):
            raise source.error(
                f"{key} does not apply to an external service (stackup never runs it)",
                (*base, key),
            )
    if health.kind == "none":
        raise source.error(
            "an external service needs a port or a health check: stackup waits for it"
            " through its check", (*base, "external"),
        )
    if health.kind == "log":
        raise source.error(
            "a log check reads the service's output, and stackup does not run an external"
            " service: give it a port, or a tcp, http or command check", (*base, "health"),
        )


def _watch(name: str, raw: ServiceSchema, ctx: StackContext, expand: Expand) -> Watch | None:
    """The `watch:` paths made absolute (relative to the stack file), each checked to
    exist — a pattern's folder, for a glob."""
    if raw.watch is None:
        return None
    base: KeyPath = ("services", name, "watch")
    written = ctx.resolver.source.data["services"][name]["watch"]
    in_map = isinstance(written, dict)
    listed = isinstance(written.get("paths") if in_map else written, list)
    paths: list[str] = []
    for index, rel in enumerate(raw.watch.paths):
        key: KeyPath = (*base, "paths") if in_map else base
        if listed:
            key = (*key, index)
        text = expand(rel, key)
        path = os.path.normpath(ctx.root / os.path.expanduser(text))
        must_exist = globs.glob_base(path) if globs.has_magic(path) else path
        if not os.path.exists(must_exist):
            raise ctx.resolver.source.error(
                f"{must_exist} does not exist (watch paths are relative to the stack file)",
                key,
            )
        paths.append(path)
    ignore_key: KeyPath = (*base, "ignore")
    ignore = tuple(expand(p, ignore_key) for p in raw.watch.ignore)
    debounce = raw.watch.debounce if raw.watch.debounce is not None else DEFAULT_DEBOUNCE
    return Watch(tuple(paths), ignore, debounce)


def _service_env_files(name: str, raw: ServiceSchema, ctx: StackContext) -> list[EnvFile]:
    files: list[EnvFile] = []
    for index, rel in enumerate(raw.env_file or []):
        path = ctx.root / os.path.expanduser(rel)
        try:
            files += read_env_files([path], ctx.environ, {**ctx.stack_file_env, **merged(files)})
        except EnvFileError as exc:
            key: KeyPath = ("services", name, "env_file")
            if isinstance(raw.env_file, list) and len(raw.env_file) > 1:
                key = (*key, index)
            raise ctx.resolver.source.error(str(exc), key) from None
    return files


def build_health(
    name: str, raw: HealthSchema | None | bool, port: int | None, host: str, resolver: Resolver
) -> HealthCheck:
    """The one check of a service, with defaults from `HealthCheck` (set in one place)."""
    base: KeyPath = ("services", name, "health")
    if raw is False:
        return HealthCheck(kind="none")
    spec = raw if isinstance(raw, HealthSchema) else HealthSchema()
    timings = {f: getattr(spec, f) for f in _TIMINGS if getattr(spec, f) is not None}
    given = [c for c in _CHECKS if getattr(spec, c) not in (None, False)]
    if len(given) > 1:
        raise resolver.source.error(f"health takes one check, not {' and '.join(given)}", base)
    kind = given[0] if given else ("tcp" if port is not None else "none")

    def expand(text: str, path: KeyPath) -> str:
        return resolver.interpolate(text, path, own_port=port)

    if kind in ("tcp", "http"):
        sub = spec.tcp if kind == "tcp" else spec.http
        if isinstance(sub, str):
            sub = HttpSpec(path=sub)
        detail = sub if isinstance(sub, TcpSpec | HttpSpec) else None
        check_port = port
        if detail is not None and detail.port is not None:
            check_port = _check_port(detail.port, (*base, kind, "port"), resolver, port)
        if check_port is None:
            raise resolver.source.error(
                f"the {kind} check needs a port: give the service a 'port' or the check one",
                (*base, kind),
            )
        fields: dict[str, object] = {"port": check_port, "host": host}
        if detail is not None and detail.host is not None:
            fields["host"] = expand(detail.host, (*base, kind, "host"))
        if isinstance(detail, HttpSpec):
            path_key = (
                (*base, "http", "path") if not isinstance(spec.http, str) else (*base, "http")
            )
            fields["path"] = expand(detail.path, path_key)
            fields["status"] = detail.status
        return HealthCheck(kind=kind, **fields, **timings)  # type: ignore[arg-type]
    if kind == "command":
        cmd = spec.command
        if isinstance(cmd, list):
            value: str | list[str] = [expand(a, (*base, "command", i)) for i, a in enumerate(cmd)]
        else:
            value = expand(cmd or "", (*base, "command"))
        if not value:
            raise resolver.source.error("the health command is empty", (*base, "command"))
        return HealthCheck(kind="command", command=value, **timings)
    if kind == "log":
        pattern = expand(spec.log or "", (*base, "log"))
        try:
            re.compile(pattern)
        except re.error as exc:
            raise resolver.source.error(
                f"invalid regex {pattern!r}: {exc}", (*base, "log")
            ) from None
        return HealthCheck(kind="log", pattern=pattern, **timings)
    return HealthCheck(kind="none", **timings)


def _check_port(value: PortValue, path: KeyPath, resolver: Resolver, own: int | None) -> int:
    # No offset here: a literal port in a check is not one stackup gives out; write
    # `${PORT}` or `${OTHER_PORT}` to follow an offset.
    text = resolver.interpolate(value, path, own_port=own) if isinstance(value, str) else value
    return parse_port(text, path, resolver)


def parse_port(value: int | str, path: KeyPath, resolver: Resolver, offset: int = 0) -> int:
    """An interpolated port value as an int in 1-65535 (after `offset`)."""
    if isinstance(value, str):
        text = value.strip()
        if not text.isdigit():
            raise resolver.source.error(f"port must be a number, got {value!r}", path)
        value = int(text)
    final = value + offset
    if not 1 <= final <= 65535:
        shown = f"{value} + port_offset {offset} = {final}" if offset else str(value)
        raise resolver.source.error(f"port {shown} is outside 1-65535", path)
    return final
