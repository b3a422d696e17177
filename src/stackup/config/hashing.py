"""A fingerprint of everything in a resolved service that affects its process: what
`up -d` compares to decide whether a running service must be recreated, what a new
supervisor compares before adopting a service a dead one left running, and what
`stackup config --hash` prints.

It covers the command, working directory, final environment, port, host, user, check,
stop signal and timeout, and restart policy — and nothing a person can change without
changing the process (a description, the order of keys, a path written differently
but resolving the same). Stable across runs and machines for the same definition: a
SHA-256 of canonical JSON.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json

from stackup.config.model import Service


def definition(service: Service) -> dict[str, object]:
    """The parts of `service` the hash covers, as plain data."""
    return {
        "command": service.command,
        "cwd": str(service.cwd),
        "env": dict(sorted(service.env.items())),
        "port": service.port,
        "host": service.host,
        "user": service.user,
        "health": dataclasses.asdict(service.health),
        "oneshot": service.oneshot,
        "restart": service.restart,
        "max_restarts": service.max_restarts,
        "stop_signal": int(service.stop_signal),
        "stop_timeout": service.stop_timeout,
    }


def definition_hash(service: Service) -> str:
    canonical = json.dumps(definition(service), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]
