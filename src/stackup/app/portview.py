"""The stack's port table for `stackup ports`, with who holds each port now."""

from __future__ import annotations

from dataclasses import dataclass

from stackup.config.model import Route, Stack
from stackup.system import ports


@dataclass(frozen=True)
class PortRow:
    service: str
    port: int
    url: str
    description: str
    profiles: tuple[str, ...]
    holder: ports.PortHolder | None
    routes: tuple[Route, ...] = ()

    def to_json(self) -> dict[str, object]:
        return {
            "service": self.service,
            "port": self.port,
            "url": self.url,
            "description": self.description,
            "profiles": list(self.profiles),
            "holder": self.holder.to_json() if self.holder else None,
            "routes": [{"path": r.path, "to": r.to} for r in self.routes],
        }


def port_rows(stack: Stack) -> list[PortRow]:
    """The stack's port table, with who holds each port right now."""
    with_ports = [s for s in stack.services.values() if s.port]
    held = ports.holders(s.port for s in with_ports if s.port)
    rows = []
    for svc in with_ports:
        assert svc.port is not None
        host = "localhost" if svc.host in ("127.0.0.1", "0.0.0.0", "::1") else svc.host
        if svc.health.kind == "http":
            url = f"http://{host}:{svc.port}{svc.health.path}"
        else:
            url = f"{host}:{svc.port}"
        desc = svc.description or ""
        rows.append(
            PortRow(
                svc.name, svc.port, url, desc, svc.profiles, held.get(svc.port), svc.routes
            )
        )
    return rows
