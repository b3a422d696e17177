"""A fingerprint of everything in a resolved service that affects its process: what
`up -d` (and a foreground `up` following its file) compares to decide whether a running
service must be recreated, what a new supervisor compares before adopting a service a
dead one left running, and what `stackup config --hash` prints.

It covers the command, the working directory, the final environment, port, host, user,
check, stop signal and timeout, restart policy, oneshot and external — and nothing a
person can change without changing the process: a description, profiles, routes, an
image, `depends_on`, `watch`, the order of keys, a path written differently but
resolving the same (the cwd is compared resolved, relative to the stack's folder).

The environment counts as the service gets it, with one exception: the automatic
`<NAME>_PORT` variable of a service it does not depend on. Every service gets every
port variable, so counting them all would recreate the whole stack whenever any port
moved; a service reads the port of what it talks to, and what it talks to is what it
depends on. A value that *interpolates* a port (`DATABASE_URL: …:${DB_PORT}/app`)
changes with it and counts wherever it lands.

Stable across runs and machines for the same definition: a SHA-256 of canonical JSON,
with signals by name and no absolute paths of the stack's own folder.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path

from stackup.config.model import Service, Stack
from stackup.naming import port_variable

Definition = dict[str, object]

# What each part of the definition is called in "recreated backend: env changed".
_PARTS = {
    "command": "command", "cwd": "cwd", "port": "port", "host": "host", "user": "user",
    "health": "check", "oneshot": "oneshot", "restart": "restart policy",
    "max_restarts": "max_restarts", "stop_signal": "stop signal",
    "stop_timeout": "stop timeout", "external": "external",
}


def port_owners(stack: Stack) -> dict[str, str]:
    """Each automatic port variable (`DB_PORT`) and the service it belongs to."""
    return {port_variable(n): n for n, s in stack.services.items() if s.port is not None}


def definition(service: Service, owners: Mapping[str, str], root: Path) -> Definition:
    """The parts of `service` the hash covers, as plain data. `owners`: the stack's
    automatic port variables (see the module docstring); `root`: the stack's folder."""
    talks_to = {service.name, *(d.name for d in service.depends_on)}
    env = {
        key: value for key, value in sorted(service.env.items())
        if owners.get(key, service.name) in talks_to
    }
    return {
        "command": service.command,
        "cwd": _relative(service.cwd, root),
        "env": env,
        "port": service.port,
        "host": service.host,
        "user": service.user,
        "health": dataclasses.asdict(service.health),
        "oneshot": service.oneshot,
        "restart": service.restart,
        "max_restarts": service.max_restarts,
        "stop_signal": service.stop_signal.name,
        "stop_timeout": service.stop_timeout,
        "external": service.external,
    }


def _relative(path: Path, root: Path) -> str:
    """The path resolved (symlinks, `..`), relative to the resolved stack folder: the
    same folder written two ways, or the same project cloned elsewhere, is equal."""
    return os.path.relpath(os.path.realpath(path), os.path.realpath(root))


def digest(defn: Definition) -> str:
    canonical = json.dumps(defn, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def definitions(stack: Stack) -> dict[str, Definition]:
    owners = port_owners(stack)
    return {n: definition(s, owners, stack.root) for n, s in stack.services.items()}


def stack_hashes(stack: Stack) -> dict[str, str]:
    """Every service's hash, in file order."""
    return {name: digest(defn) for name, defn in definitions(stack).items()}


def changes(old: Definition, new: Definition) -> str:
    """What differs, for a person: `env changed (NEW_FLAG)`, `port changed (8000 → 8001)`.
    Variable names only, never values (they may be secrets)."""
    said: list[str] = []
    old_port, new_port = old.get("port"), new.get("port")
    moved = old_port != new_port
    for key in old.keys() | new.keys():
        if key == "env" or old.get(key) == new.get(key):
            continue
        if key == "health" and moved and _follows_port(old, new):
            continue  # its check moved with the port: said once, as the port
        part = _PARTS.get(key, key)
        if key == "port":
            said.append(f"port changed ({old.get(key) or '-'} → {new.get(key) or '-'})")
        else:
            said.append(f"{part} changed")
    old_env: dict[str, str] = old.get("env") or {}  # type: ignore[assignment]
    new_env: dict[str, str] = new.get("env") or {}  # type: ignore[assignment]
    names = sorted(
        k for k in old_env.keys() | new_env.keys()
        if old_env.get(k) != new_env.get(k)
        # PORT and its own <NAME>_PORT follow a moved port: said once, as the port
        and not (moved and old_env.get(k) == str(old_port) and new_env.get(k) == str(new_port))
    )
    if names:
        shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        said.insert(0, f"env changed ({shown})")
    order = list(_PARTS.values())
    said.sort(key=lambda text: -1 if text.startswith("env") else _position(text, order))
    return ", ".join(said) or "definition changed"


def _follows_port(old: Definition, new: Definition) -> bool:
    """Does the check differ only in its port, which is the service's own port?"""
    before = dict(old.get("health") or {})  # type: ignore[call-overload]
    after = dict(new.get("health") or {})  # type: ignore[call-overload]
    if before.get("port") != old.get("port") or after.get("port") != new.get("port"):
        return False
    before.pop("port", None)
    after.pop("port", None)
    return before == after


def _position(text: str, order: list[str]) -> int:
    for index, part in enumerate(order):
        if text.startswith(part + " "):
            return index
    return len(order)
