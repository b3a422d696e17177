"""Checks made before anything starts."""

from __future__ import annotations

from stackup.config.model import Stack
from stackup.errors import PortConflictError
from stackup.system import ports


def check_ports_free(stack: Stack, selected: list[str]) -> None:
    """Refuse to start (exit 3) when a port the selection needs is already held."""
    needed = {s.port: s.name for n in selected if (s := stack.services[n]).port}
    held = ports.holders(needed)
    if not held:
        return
    parts = [f"port {p} ({needed[p]}) is held by {h.describe()}" for p, h in sorted(held.items())]
    raise PortConflictError("; ".join(parts) + "; nothing was started")
