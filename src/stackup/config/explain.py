"""The resolved stack as data (`config --json`), YAML (`config`) and `config --explain`.

Every value that leaves here is masked (unless `mask=False`): secret-looking keys show
****, and secret values are masked inside other values and commands too.
"""

from __future__ import annotations

from typing import Any

import yaml

from stackup.config.model import HealthCheck, Service, Stack, ValueOrigin
from stackup.config.secrets import mask_text, mask_url_passwords, mask_value, secret_values

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
        "depends_on": {dep.name: {"condition": dep.condition} for dep in svc.depends_on},
        "oneshot": svc.oneshot,
        "restart": svc.restart,
        "max_restarts": svc.max_restarts,
        "stop_signal": svc.stop_signal.name,
        "stop_timeout": svc.stop_timeout,
        "profiles": list(svc.profiles),
        "default": svc.name in stack.default_services(),
        "description": svc.description,
        "user": svc.user,
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


def stack_to_yaml(stack: Stack, *, mask: bool = True) -> str:
    return yaml.safe_dump(
        stack_to_dict(stack, mask=mask), sort_keys=False, default_flow_style=False, width=100
    )


def explain(stack: Stack, var: str) -> list[str]:
    """Which value of `var` wins, where it came from, and what it shadows."""
    origins = stack.origins.get(var, [])
    secrets = secret_values(stack)

    def show(value: str) -> str:
        return f"{var}={mask_value(var, value, secrets)}"

    if not origins:
        return [
            f"{var} is not defined anywhere in the stack (no port variable, env file or "
            "env entry sets it) and the stack file does not use it"
        ]
    lines: list[str] = []
    shared = [o for o in origins if o.service is None and o.source in _INTERPOLATION]
    if shared:
        lines.append(f"{show(shared[0].value)}  from {_describe(shared[0])}")
        lines += [f"  shadows {show(o.value)}  from {_describe(o)}" for o in shared[1:]]
    for origin in (o for o in origins if o.source == "default"):
        lines.append(f"  the default {show(origin.value)} was used at {origin.detail}")
    winner = shared[0] if shared else None
    lines += _service_lines(stack, var, origins, winner, show)
    if not lines or not lines[0].startswith(var + "="):
        lines.insert(0, f"{var} is not set for the whole stack")
    return lines


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
        if origin.service is not None:
            return f"the port of service {origin.service} ({origin.detail})"
        return f"a port variable ({origin.detail})"
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
