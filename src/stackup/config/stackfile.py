"""The resolved stack written back as a stack file (`stackup config`).

What comes out loads as it is and resolves to the same stack: `stackup config >
resolved.yaml && stackup -f resolved.yaml config` prints the same text again. So it
holds only keys a stack file has (no `kind:`, `default:`, `file:`), every value final
(variables interpolated, env files merged into `env`, ports after the offset, paths
absolute), secrets masked, and every `$` that interpolation would read escaped as `$$`.
The port variables (`PORT`, `<NAME>_PORT`) are left out of `env`: a stack file gets
them from its ports. `config --json` (explain.stack_to_dict) keeps the machine form.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import yaml

from stackup.config.model import Service, Stack
from stackup.config.secrets import mask_text, mask_url_passwords, mask_value, secret_values
from stackup.naming import port_variable

HEADER = (
    "# The resolved stack (`stackup config`): variables interpolated, env files merged\n"
    "# into env, ports final, secrets masked. It loads as it is: stackup -f FILE ...\n"
)


def stack_to_yaml(stack: Stack) -> str:
    body = yaml.safe_dump(
        stack_as_file(stack), sort_keys=False, default_flow_style=False, width=100,
        allow_unicode=True,
    )
    return HEADER + body


def stack_as_file(stack: Stack) -> dict[str, Any]:
    secrets = secret_values(stack)

    def text(value: str) -> str:
        return escape(mask_url_passwords(mask_text(value, secrets)))

    def env_value(key: str, value: str) -> str:
        return escape(mask_value(key, value, secrets))

    port_vars = {"PORT"} | {port_variable(n) for n, s in stack.services.items() if s.port}
    shared = {k: v for k, v in stack.env.items() if k not in port_vars}
    out: dict[str, Any] = {"version": 1, "name": stack.name}
    # No env files: they are merged into `env` below. Without this a `.env` beside
    # the written file would be read again on top.
    out["env_file"] = []
    if shared:
        out["env"] = {k: env_value(k, v) for k, v in sorted(shared.items())}
    out["services"] = {
        name: _service(svc, port_vars, shared, text, env_value)
        for name, svc in stack.services.items()
    }
    return out


def _service(
    svc: Service,
    port_vars: set[str],
    shared: dict[str, str],
    text: Callable[[str], str],
    env_value: Callable[[str, str], str],
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if svc.description:
        out["description"] = svc.description
    if svc.external:
        out["external"] = True  # no command, nor any key about running it (refused)
    else:
        out["command"] = (
            [text(a) for a in svc.command] if isinstance(svc.command, list) else text(svc.command)
        )
    out["cwd"] = escape(str(svc.cwd))
    if svc.port is not None:
        out["port"] = svc.port
    out["host"] = escape(svc.host)
    if svc.user:
        out["user"] = escape(svc.user)
    # What the service gets beyond the stack's env (the file beats the shell there),
    # compared as printed: two different secrets both print as ****.
    common = {k: env_value(k, v) for k, v in shared.items()}
    own = {
        k: shown for k, v in sorted(svc.env.items())
        if k not in port_vars and common.get(k) != (shown := env_value(k, v))
    }
    if own:
        out["env"] = own
    if svc.depends_on:
        out["depends_on"] = {
            d.name: {"condition": d.condition, **({"restart": True} if d.restart else {})}
            for d in svc.depends_on
        }
    health = _health(svc, text)
    if health is not None:
        out["health"] = health
    if svc.oneshot:
        out["oneshot"] = True
    if not svc.external:
        out["restart"] = svc.restart
        if svc.max_restarts is not None:
            out["max_restarts"] = svc.max_restarts
        out["stop_signal"] = svc.stop_signal.name
        out["stop_timeout"] = duration(svc.stop_timeout)
    if svc.watch is not None:
        out["watch"] = {
            "paths": [escape(p) for p in svc.watch.paths],
            "ignore": [escape(p) for p in svc.watch.ignore],
            "debounce": duration(svc.watch.debounce),
        }
    if svc.profiles:
        out["profiles"] = list(svc.profiles)
    return out


def _health(svc: Service, text: Callable[[str], str]) -> dict[str, Any] | bool | None:
    check = svc.health
    if check.kind == "none":
        # A service with a port would get a tcp check by default: say there is none.
        return False if svc.port is not None else None
    out: dict[str, Any] = {}
    if check.kind == "tcp":
        out["tcp"] = {"port": check.port, "host": escape(check.host)}
    elif check.kind == "http":
        http: dict[str, Any] = {"path": text(check.path)}
        if check.status is not None:
            http["status"] = check.status
        out["http"] = {**http, "port": check.port, "host": escape(check.host)}
    elif check.kind == "command" and check.command is not None:
        cmd = check.command
        out["command"] = [text(a) for a in cmd] if isinstance(cmd, list) else text(cmd)
    elif check.kind == "log":
        out["log"] = escape(check.pattern or "")
    if check.kind != "log":  # a log check is readiness only: no liveness timings
        out["interval"] = duration(check.interval)
        out["timeout"] = duration(check.timeout)
        out["retries"] = check.retries
    out["start_timeout"] = duration(check.start_timeout)
    return out


def duration(seconds: float) -> str | float:
    """`2s`, `0.25s`: as a person writes a duration, exactly the same value."""
    shown = f"{seconds:g}"
    return f"{shown}s" if float(shown) == seconds else seconds


def escape(value: str) -> str:
    """Write `$` as `$$` where interpolation would read it (`${`, `$$`)."""
    out = []
    for i, char in enumerate(value):
        out.append("$$" if char == "$" and value[i + 1 : i + 2] in ("$", "{") else char)
    return "".join(out)
