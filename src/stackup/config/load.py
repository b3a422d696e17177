"""`load_stack`: the stack file to a resolved `Stack`, as a pipeline of small steps.

Each step either returns what the next one needs or raises one ConfigError naming
the file, the line and the key path. Nothing here prints or exits.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from stackup import locations
from stackup.config import inputs
from stackup.config.checks import check_dependencies
from stackup.config.envfiles import EnvFile, EnvFileError, merged, read_env_files
from stackup.config.model import Service, Stack
from stackup.config.procfile import ProcfileError, read_procfile
from stackup.config.routes import check_unique_routes
from stackup.config.schema import StackSchema, validate
from stackup.config.services import StackContext, build_service, parse_port
from stackup.config.variables import (
    Resolver,
    ServiceEnvRecord,
    collect_origins,
)
from stackup.config.yamlsource import Source, read_source
from stackup.errors import ConfigError
from stackup.naming import MARKER_INSTANCE, PORT_OFFSET_VARIABLE, port_variable

# stackup gives every child (services, `run`'s command) the offset it runs the stack
# with, so that a `stackup` run inside the stack (`export nginx` in a oneshot) resolves
# the same ports without being told `--port-offset` again.


def load_stack(
    file: Path,
    *,
    profiles: Sequence[str] = (),
    port_offset: int | None = None,
    environ: Mapping[str, str] | None = None,
    project: str | None = None,
) -> Stack:
    """Read, validate and resolve the stack file. Raises only ConfigError."""
    environ = os.environ if environ is None else environ
    file = Path(file)
    source = read_source(file)
    schema = validate(source)
    root = locations.stack_folder(file)
    check_dependencies(schema.services, source)
    stack_files = read_stack_env_files(schema, source, root, environ)
    file_env = merged(stack_files)

    # Ports first: `port:` fields cannot see port variables (they define them).
    inherited = inherited_offset(environ, file) if port_offset is None else None
    port_stage = Resolver(source, environ, file_env, schema.env, port_vars={})
    if inherited is not None:
        offset = inherited
        if under_stackup(environ):
            # Run by a service of a stack: its port variables are final (offset added).
            port_stage = Resolver(
                source, without_offset(environ, schema, offset), file_env, schema.env,
                port_vars={},
            )
    elif port_offset is not None:
        offset = port_offset
    else:
        offset = file_port_offset(schema, port_stage)
    ports_via: dict[str, str] = {}
    ports = resolve_ports(schema, port_stage, offset, ports_via)
    port_vars = port_variables(ports, source)

    resolver = Resolver(source, environ, file_env, schema.env, port_vars)
    stack_env = {name: resolver.stack_env(name) for name in schema.env}
    procfile_path, procfile = read_stack_procfile(schema, source, root)
    ctx = StackContext(
        root=root,
        resolver=resolver,
        ports=ports,
        port_vars=port_vars,
        oneshots=frozenset(n for n, s in schema.services.items() if s.oneshot),
        procfile=procfile,
        procfile_path=procfile_path,
        stack_file_env=file_env,
        stack_env=stack_env,
        environ=environ,
    )
    services: dict[str, Service] = {}
    records: list[ServiceEnvRecord] = []
    for name, raw in schema.services.items():
        services[name], record = build_service(name, raw, ctx)
        records.append(record)
    check_unique_routes(services, source)

    origins = collect_origins(
        ports=ports,
        environ=environ,
        referenced=port_stage.referenced | resolver.referenced,
        stack_files=stack_files,
        stack_env=stack_env,
        services=records,
        defaults=port_stage.defaults + resolver.defaults,
        ports_via=ports_via,
    )
    return Stack(
        name=schema.name or root.name,
        file=Path(os.path.abspath(file)),
        services=services,
        active_profiles=tuple(profiles),
        port_offset=offset,
        origins=origins,
        env={**file_env, **stack_env, **port_vars},
        project=project,
        inputs=stack_inputs(file, root, schema, stack_files, records, procfile_path),
    )


def stack_inputs(
    file: Path, root: Path, schema: StackSchema, stack_files: list[EnvFile],
    records: list[ServiceEnvRecord], procfile: Path | None,
) -> tuple[Path, ...]:
    """Every file the stack was read from; without `env_file`, the `.env` that would be
    read once it exists, so that creating it counts as an edit."""
    found = [Path(os.path.abspath(file))]
    found += [f.path for f in stack_files]
    if schema.env_file is None:
        found.append(root / ".env")
    found += [f.path for record in records for f in record.env_files]
    if procfile is not None:
        found.append(procfile)
    unique = dict.fromkeys(Path(os.path.abspath(p)) for p in found)
    return tuple(unique)


def read_stack_env_files(
    schema: StackSchema, source: Source, root: Path, environ: Mapping[str, str]
) -> list[EnvFile]:
    """`env_file` lists exactly the files read; without it, `.env` when present."""
    if schema.env_file is None:
        default = root / ".env"
        inputs.note(default)  # its appearing later changes the stack
        listed: list[tuple[Path, tuple[str | int, ...]]] = (
            [(default, ())] if default.is_file() else []
        )
    else:
        many = len(schema.env_file) > 1
        listed = [
            (root / os.path.expanduser(rel), ("env_file", i) if many else ("env_file",))
            for i, rel in enumerate(schema.env_file)
        ]
    files: list[EnvFile] = []
    for path, key in listed:
        try:
            files += read_env_files([path], environ, merged(files))
        except EnvFileError as exc:
            raise source.error(str(exc), key) from None
    return files


def inherited_offset(environ: Mapping[str, str], file: Path) -> int | None:
    """The offset of the stackup this process runs under (`STACKUP_PORT_OFFSET`)."""
    text = environ.get(PORT_OFFSET_VARIABLE)
    if text is None:
        return None
    try:
        return int(text.strip())
    except ValueError:
        raise ConfigError(
            f"{PORT_OFFSET_VARIABLE} must be a whole number, got {text!r}", file
        ) from None


def under_stackup(environ: Mapping[str, str]) -> bool:
    """Is this process a service of a running stack (or run by one)? Then the port
    variables in its environment were set by that stack, offset included."""
    return MARKER_INSTANCE in environ


def without_offset(
    environ: Mapping[str, str], schema: StackSchema, offset: int
) -> dict[str, str]:
    """The environment with this stack's port variables taken back to before the offset.

    Under a stackup, `DB_PORT` is the final port (offset added): a `port: ${DB_PORT:-5432}`
    reading it would add the offset a second time.
    """
    adjusted = dict(environ)
    for name in schema.services:
        var = port_variable(name)
        value = environ.get(var, "").strip()
        if value.isdigit():
            adjusted[var] = str(int(value) - offset)
    return adjusted


def file_port_offset(schema: StackSchema, resolver: Resolver) -> int:
    value = schema.port_offset
    if value is None:
        return 0
    if isinstance(value, str):
        text = resolver.interpolate(value, ("port_offset",)).strip()
        try:
            return int(text)
        except ValueError:
            raise resolver.source.error(
                f"port_offset must be a whole number, got {text!r}", ("port_offset",)
            ) from None
    return value


def resolve_ports(
    schema: StackSchema, resolver: Resolver, offset: int, via: dict[str, str] | None = None
) -> dict[str, int]:
    """Each service's final port (interpolated, offset added, range-checked, unique).
    `via` is filled with the source of each port that reads its own port variable
    (`port: ${DB_PORT:-5432}`): the process environment, an env file, ..., a default."""
    ports: dict[str, int] = {}
    owner: dict[int, str] = {}
    for name, raw in schema.services.items():
        if raw.port is None:
            continue
        path = ("services", name, "port")
        value = raw.port
        if isinstance(value, str):
            found, defaults = len(resolver.found), len(resolver.defaults)
            value = resolver.interpolate(value, path)
            own = port_variable(name)
            sources = [src for var, src in resolver.found[found:] if var == own]
            used_default = any(var == own for var, _ in resolver.defaults[defaults:])
            if via is not None and (sources or used_default):
                via[name] = sources[0] if sources else "default"
        port = parse_port(value, path, resolver, offset)
        if port in owner:
            raise resolver.source.error(
                f"port {port} is used by both {owner[port]} and {name}", path
            )
        owner[port] = name
        ports[name] = port
    return ports


def port_variables(ports: Mapping[str, int], source: Source) -> dict[str, str]:
    """`<NAME>_PORT` for every service with a port (selected or not)."""
    variables: dict[str, str] = {}
    owner: dict[str, str] = {}
    for name, port in ports.items():
        var = port_variable(name)
        if var in owner:
            raise source.error(
                f"services {owner[var]} and {name} would both set {var}; rename one",
                ("services", name),
            )
        owner[var] = name
        variables[var] = str(port)
    return variables


def read_stack_procfile(
    schema: StackSchema, source: Source, root: Path
) -> tuple[Path | None, dict[str, str] | None]:
    if schema.procfile is None:
        return None, None
    path = root / os.path.expanduser(schema.procfile)
    inputs.note(path)
    try:
        return path, read_procfile(path)
    except ProcfileError as exc:
        raise source.error(str(exc), ("procfile",)) from None
