"""Checks made before anything starts."""

from __future__ import annotations

from stackup import oskit, ports, statefile
from stackup.config.model import Stack
from stackup.errors import PortConflictError


def check_ports_free(stack: Stack, selected: list[str]) -> None:
    """Refuse to start (exit 3) when a port the selection needs is already held."""
    needed = {s.port: s.name for n in selected if (s := stack.services[n]).port}
    held = ports.holders(needed)
    if not held:
        return
    parts = [f"port {p} ({needed[p]}) is held by {h.describe()}" for p, h in sorted(held.items())]
    message = "; ".join(parts) + "; nothing was started"
    if _left_by_earlier_run(stack, [h.pid for h in held.values() if h.pid]):
        message += " (left running by an earlier stackup whose supervisor died: `stackup down`)"
    raise PortConflictError(message)


def _left_by_earlier_run(stack: Stack, pids: list[int]) -> bool:
    """Are some of these processes services of this stack's last (dead) supervisor?"""
    state = statefile.read(stack.state_dir)
    instance = (state or {}).get("instance")
    if not instance:
        return False
    procs = [p for pid in pids if (p := oskit.process_or_none(pid))]
    return any(oskit.carries_marker(p, instance) for p in procs)
