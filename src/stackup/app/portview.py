"""The stack's port table for `stackup ports` (and `up -d`'s ready table): each
service's port and URL, and who holds the port now — the service itself, named as
such, or another process."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stackup.config.model import Route, Stack
from stackup.errors import UsageError
from stackup.server import statefile
from stackup.system import ports, processes


@dataclass(frozen=True)
class PortRow:
    service: str
    port: int
    url: str
    description: str
    profiles: tuple[str, ...]
    holder: ports.PortHolder | None
    routes: tuple[Route, ...] = ()
    # Set when the holder is the service's own process tree (a running stack).
    held_by_service: str | None = None
    port_offset: int = 0  # what the stack's ports are moved by (the port is after it)

    def held_by(self) -> str:
        """`backend (pid 123)`, another process's `pid 9736 (python3 …)`, or `free`."""
        if self.holder is None:
            return "free"
        if self.held_by_service is not None:
            return f"{self.held_by_service} (pid {self.holder.pid})"
        return self.holder.describe()

    def to_json(self) -> dict[str, object]:
        return {
            "service": self.service,
            "port": self.port,
            "url": self.url,
            "description": self.description,
            "profiles": list(self.profiles),
            "holder": self.holder.to_json() if self.holder else None,
            "held_by_service": self.held_by_service,
            "routes": [{"path": r.path, "to": r.to} for r in self.routes],
            "port_offset": self.port_offset,
        }


def port_rows_now(stack: Stack, state_dir: Path) -> tuple[list[PortRow], bool]:
    """The table as it is now, and whether the stack runs. A running stack shows the
    ports it was started with (an offset or a moved port variable), not the file's."""
    state = statefile.read(state_dir)
    running = state is not None and statefile.supervisor_alive(state)
    records: dict[str, dict[str, Any]] = (state or {}).get("services", {})
    offset = int((state or {}).get("port_offset") or 0) if running else stack.port_offset
    return port_rows(stack, records, use_recorded_ports=running, port_offset=offset), running


def port_rows(
    stack: Stack,
    records: Mapping[str, Mapping[str, Any]] | None = None,
    *,
    use_recorded_ports: bool = False,
    port_offset: int | None = None,
) -> list[PortRow]:
    """One row per service with a port. `records` (the state file's services) name a
    listener that is the service's own process tree as that service."""
    records = records or {}
    wanted: list[tuple[str, int]] = []
    for name, svc in stack.services.items():
        port = records.get(name, {}).get("port") if use_recorded_ports else None
        port = port or svc.port
        if port:
            wanted.append((name, port))
    held = ports.holders(port for _, port in wanted)
    rows = []
    for name, port in wanted:
        svc = stack.services[name]
        holder = held.get(port)
        own = holder is not None and _is_own(holder, records.get(name, {}))
        rows.append(PortRow(
            name, port, root_url(svc.host, port, svc.health.kind), svc.description or "",
            svc.profiles, holder, routes=svc.routes, held_by_service=name if own else None,
            port_offset=stack.port_offset if port_offset is None else port_offset,
        ))
    return rows


def root_url(host: str, port: int, check: str) -> str:
    """Where a person opens the service: its root, not its health path."""
    shown = "localhost" if host in ("127.0.0.1", "0.0.0.0", "::1", "::") else host
    return f"http://{shown}:{port}/" if check == "http" else f"{shown}:{port}"


def _is_own(holder: ports.PortHolder, record: Mapping[str, Any]) -> bool:
    if holder.pid is None:
        return False
    proc = processes.same_process(record.get("pid"), record.get("create_time"))
    return proc is not None and holder.pid in {p.pid for p in processes.tree(proc.pid)}


def service_port(state_dir: Path, name: str, load: Callable[[], Stack]) -> tuple[int, str]:
    """`stackup port NAME`: the service's port and root URL — those it runs on while
    the stack runs (read from the state file: no stack file parsing), else the stack
    file's (`load()`). Unknown service, or one without a port: exit 2."""
    state = statefile.read(state_dir)
    if state is not None and statefile.supervisor_alive(state):
        records = state.get("services") or {}
        if name not in records:
            raise UsageError(f"no such service: {name}")
        record = records[name]
        port, host, check = record.get("port"), record.get("host"), record.get("health")
    else:
        stack = load()
        if name not in stack.services:
            raise UsageError(f"no such service: {name}")
        svc = stack.services[name]
        port, host, check = svc.port, svc.host, svc.health.kind
    if not port:
        raise UsageError(f"service {name} has no port")
    return port, root_url(host or "127.0.0.1", port, check or "tcp")
