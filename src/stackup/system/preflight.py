"""Checks made before anything starts."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from stackup.config.model import Stack
from stackup.errors import PortConflictError
from stackup.naming import port_variable
from stackup.system import ports, processes

OFFSETS = range(100, 1001, 100)  # offsets a held port suggests, the first free one wins


def check_ports_free(
    stack: Stack, selected: list[str], ours: Callable[[int], bool] = lambda pid: False
) -> None:
    """Refuse to start (exit 3) when a port the selection needs is already held by a
    process for which `ours(pid)` is false (what a supervisor that died left running
    is ours: the new one adopts it or stops it first), and say what to do next: stop
    the holder, or move the stack."""
    # An external service's port is held by whatever runs it: that is the point.
    needed = {
        s.port: s.name for n in selected if (s := stack.services[n]).port and not s.external
    }
    held = {p: h for p, h in ports.holders(needed).items() if h.pid is None or not ours(h.pid)}
    if not held:
        return
    parts = [f"port {p} ({needed[p]}) is held by {h.describe()}" for p, h in sorted(held.items())]
    raise PortConflictError(
        "; ".join(parts) + "; nothing was started: " + ways_out(stack, needed, held)
    )


def ways_out(stack: Stack, needed: Mapping[int, str], held: Mapping[int, ports.PortHolder]) -> str:
    """`stop it (kill 9736), or move the stack (--port-offset 100, or DB_PORT=15433)`."""
    stop = _how_to_stop(held)
    moves = []
    offset = _free_offset(needed, stack.port_offset)
    if offset is not None:
        moves.append(f"`--port-offset {offset}`")
    taken = {s.port for s in stack.services.values() if s.port}
    for port, name in sorted(needed.items()):
        variable = port_variable(name)
        if port in held and _port_reads(stack, variable):
            free = _free_port_near(port, taken)
            if free is not None:
                moves.append(f"`{variable}={free}`")
    move = f"move the stack ({', or '.join(moves)})" if moves else "move the stack's ports"
    return f"{stop}, or {move}"


def _service_of(pid: int) -> str | None:
    """The stackup service a process belongs to (its marker), if any."""
    proc = processes.process_or_none(pid)
    found = processes.marker(proc) if proc is not None else None
    return found[1] if found else None


def _how_to_stop(held: Mapping[int, ports.PortHolder]) -> str:
    pids = sorted({h.pid for h in held.values() if h.pid is not None})
    if not pids:
        return "stop what holds it"
    services = {pid: _service_of(pid) for pid in pids}
    if any(services.values()):
        # A service of some stackup stack (another project, or one whose state is
        # gone): its own `down` stops it with its whole tree.
        names = ", ".join(f"`{s}`" for s in sorted({s for s in services.values() if s}))
        return (
            f"that is service {names} of another stackup stack or project: "
            f"`stackup down` it there (or `kill {' '.join(map(str, pids))}`)"
        )
    return f"stop it (`kill {' '.join(map(str, pids))}`)"


def _port_reads(stack: Stack, variable: str) -> bool:
    """Does the service's `port:` read its own port variable (`${DB_PORT:-5432}`)?"""
    return any(o.source == "port" and o.via for o in stack.origins.get(variable, []))


def _free_offset(needed: Mapping[int, str], current: int) -> int | None:
    """The smallest suggested offset (added to the current one) that frees every port."""
    base = {p - current for p in needed}
    candidates = {
        offset: {p + current + offset for p in base} for offset in OFFSETS
    }
    valid = {o: ps for o, ps in candidates.items() if all(p <= 65535 for p in ps)}
    held = ports.holders(set().union(*valid.values())) if valid else {}
    for offset, wanted in sorted(valid.items()):
        if not wanted & held.keys():
            return current + offset
    return None


def _free_port_near(port: int, taken: set[int]) -> int | None:
    candidates = [p for p in range(port + 1, min(port + 20, 65535) + 1) if p not in taken]
    held = ports.holders(candidates)
    return next((p for p in candidates if p not in held), None)
