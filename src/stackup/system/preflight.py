"""Checks made before anything starts."""

from __future__ import annotations

from collections.abc import Collection

from stackup.config.model import Stack
from stackup.errors import PortConflictError
from stackup.system import ports


def check_ports_free(stack: Stack, selected: list[str], ours: Collection[int] = ()) -> None:
    """Refuse to start (exit 3) when a port the selection needs is already held by a
    process that is not in `ours` (the processes a supervisor that died left
    running: the new one adopts them or stops them first)."""
    needed = {s.port: s.name for n in selected if (s := stack.services[n]).port}
    held = {p: h for p, h in ports.holders(needed).items() if h.pid not in ours or h.pid is None}
    if not held:
        return
    parts = [f"port {p} ({needed[p]}) is held by {h.describe()}" for p, h in sorted(held.items())]
    raise PortConflictError("; ".join(parts) + "; nothing was started")
