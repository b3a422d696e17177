"""The resolved stack as data (`config --json`) and `config --explain`; the stack file
that `config` prints is written by `stackfile`.

Every value that leaves here is masked (unless `mask=False`): secret-looking keys show
****, and secret values are masked inside other values and commands too.
"""

from __future__ import annotations

from typing import Any

from stackup.config.model import HealthCheck, Service, Stack, ValueOrigin
from stackup.config.secrets import mask_text, mask_url_passwords, mask_value, secret_values
from stackup.errors import StackupError

# A service's own environment: port variables, then its env, its env files, the
# stack's env, the stack's env files (SPEC); the process env only beneath all of them.
_SERVICE_ORDER = ("port", "service env", "service env file", "stack env", "env file")
_INTERPOLATION = ("port", "process env", "env file", "stack env")


def stack_to_dict(stack: Stack, *, mask: bool = True) -> dict[str, Any]:
    secrets = secret_values(stack) if mask else set()

    def text(value: str) -> str:
        return mask_url_passwords(mask_text(value, secrets)) if mask else value

    return {
        "name": stack.name,
        "file": str(stack.file),
        "port_offset": stack.port_offset,
        "active_profiles": list(stack.active_profiles),
        "services": {
            name: _service_dict(svc, stack, text, secrets, mask)
            for name, svc in stack.services.items()
        },
    }


def _service_dict(
    svc: Service, stack: Stack, text: Any, secrets: set[str], mask: bool
) -> dict[str, Any]:
    command = [text(a) for a in svc.command] if isinstance(svc.command, list) else text(svc.command)
    env = {
        key: mask_value(key, value, secrets) if mask else value
        for key, value in sorted(svc.env.items())
    }
    return {
        "command": command,
        "cwd": str(svc.cwd),
        "port": svc.port,
        "host": svc.host,
        "env": env,
        "health": _health_dict(svc.health, text),
        "depends_on": {
            dep.name: {"condition": dep.condition, "restart": dep.restart}
            for dep in svc.depends_on
        },
        "external": svc.external,
        "watch": (
            {"paths": list(svc.watch.paths), "ignore": list(svc.watch.ignore),
             "debounce": svc.watch.debounce}
            if svc.watch is not None else None
        ),
        "oneshot": svc.oneshot,
        "restart": svc.restart,
        "max_restarts": svc.max_restarts,
        "stop_signal": svc.stop_signal.name,
        "stop_timeout": svc.stop_timeout,
        "profiles": list(svc.profiles),
        "default": svc.name in stack.default_services(),
        "description": svc.description,
        "user": svc.user,
        "image": svc.image,
        "routes": [{"path": r.path, "to": r.to} for r in svc.routes],
    }


def _health_dict(check: HealthCheck, text: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": check.kind}
    if check.kind in ("tcp", "http"):
        out.update(host=check.host, port=check.port)
    if check.kind == "http":
        out.update(path=check.path, status=check.status)
    if check.kind == "command" and check.command is not None:
        cmd = check.command
        out["command"] = [text(a) for a in cmd] if isinstance(cmd, list) else text(cmd)
    if check.kind == "log":
        out["pattern"] = check.pattern
    if check.kind != "none":
        out.update(interval=check.interval, timeout=check.timeout, retries=check.retries)
    out["start_timeout"] = check.start_timeout
    return out


def explain(stack: Stack, var: str) -> list[str]:
    """Which source decides `var`, and which values it overrides. A variable the
    stack neither sets nor uses is an error (exit 1), one line."""
    origins = stack.origins.get(var, [])
    secrets = secret_values(stack)

    def show(value: str) -> str:
        return f"{var}={mask_value(var, value, secrets)}"

    if not origins:
        raise StackupError(
            f"{var} is not defined in this stack: no port, env file or env entry sets it, "
            "and the stack file does not use it"
        )
    lines: list[str] = []
    shared = [o for o in origins if o.service is None and o.source in _INTERPOLATION]
    defaults = [o for o in origins if o.source == "default"]
    winner = shared[0] if shared else None
    if winner is not None:
        decided_by, told = _decided_by(winner, shared, defaults)
        lines.append(f"{show(winner.value)}  from {decided_by}")
        lines += [
            f"  overrides {show(o.value)}  from {_describe(o)}"
            for o in shared[1:]
            if o not in told
        ]
        defaults = [o for o in defaults if o not in told]
    for origin in defaults:
        lines.append(f"  the default {show(origin.value)} was used at {origin.detail}")
    lines += _service_lines(stack, var, origins, winner, show)
    if not lines or not lines[0].startswith(var + "="):
        lines.insert(0, f"{var} is not set for the whole stack")
    return lines


def _decided_by(
    winner: ValueOrigin, shared: list[ValueOrigin], defaults: list[ValueOrigin]
) -> tuple[str, list[ValueOrigin]]:
    """Say plainly which source decided the value. A port variable whose `port:` field
    reads that same variable (`port: ${DB_PORT:-5432}`) was decided by where the
    field found it: DB_PORT=15500 in the environment moved the port; nothing was
    overridden. Returns the text and the origins it already accounts for."""
    if winner.source != "port" or not winner.via:
        return _describe(winner), []
    follows = f"the port of service {_service_of(winner)} ({winner.detail}) follows it"
    if winner.via == "default":
        used = [o for o in defaults if o.detail == winner.detail]
        return f"the default in {winner.detail}, as nothing else sets it", used
    source = next((o for o in shared[1:] if o.source == winner.via), None)
    if source is None:
        return _describe(winner), []
    return f"{_describe(source)}; {follows}", [source]


def _service_of(port_origin: ValueOrigin) -> str:
    return port_origin.detail.split(".")[1]  # "services.<name>.port"


def _service_lines(
    stack: Stack,
    var: str,
    origins: list[ValueOrigin],
    winner: ValueOrigin | None,
    show: Any,
) -> list[str]:
    """Services whose environment gets another value than the interpolation winner
    (the file beats the shell there), grouped by origin."""
    groups: dict[tuple[str, str], list[str]] = {}
    found: dict[tuple[str, str], ValueOrigin] = {}
    for name in stack.services:
        own = _service_winner(origins, name)
        if own is None or own == winner:
            continue
        key = (_describe(own), own.value)
        groups.setdefault(key, []).append(name)
        found[key] = own
    lines = []
    for key, names in groups.items():
        label = "service" if len(names) == 1 else "services"
        lines.append(
            f"  in the environment of {label} {', '.join(names)}: "
            f"{show(found[key].value)}  from {key[0]}"
        )
    return lines


def _service_winner(origins: list[ValueOrigin], service: str) -> ValueOrigin | None:
    for source in _SERVICE_ORDER:
        for origin in origins:
            if origin.source == source and origin.service in (None, service):
                return origin
    return None


def _describe(origin: ValueOrigin) -> str:
    if origin.source == "port":
        return f"the port of service {origin.service or _service_of(origin)} ({origin.detail})"
    if origin.source == "process env":
        return "the process environment"
    if origin.source == "env file":
        return f"env file {origin.detail}"
    if origin.source == "stack env":
        return f"the stack's env ({origin.detail})"
    if origin.source == "service env":
        return f"the env of service {origin.service} ({origin.detail})"
    if origin.source == "service env file":
        return f"env file {origin.detail} of service {origin.service}"
    return f"{origin.source} {origin.detail}".strip()
