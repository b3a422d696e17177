"""`stackup export FORMAT`: the resolved stack for other tools (honcho, docker compose,
systemd, dotenv, Kubernetes), as pure functions returning {filename: content}.

No output contains a secret value: every format refers to the variable instead
(see `common.Secrets`).
"""

from __future__ import annotations

from collections.abc import Callable

from stackup.config.model import Stack
from stackup.errors import UsageError
from stackup.export.common import Secrets
from stackup.export.compose import export_compose
from stackup.export.envfile import export_env
from stackup.export.kubernetes import export_kubernetes
from stackup.export.procfile import export_procfile
from stackup.export.systemd import export_systemd

Exporter = Callable[[Stack, list[str], Secrets], dict[str, str]]

_EXPORTERS: dict[str, Exporter] = {
    "procfile": export_procfile,
    "compose": export_compose,
    "systemd": export_systemd,
    "env": export_env,
    "kubernetes": export_kubernetes,
}
FORMATS = tuple(_EXPORTERS)

__all__ = ["FORMATS", "export"]


def export(stack: Stack, fmt: str, services: list[str]) -> dict[str, str]:
    """The files of `fmt` for the selected `services` (the caller's selection, usually
    `stackup.config.graph.select`: default services plus their dependencies)."""
    exporter = _EXPORTERS.get(fmt)
    if exporter is None:
        raise UsageError(f"unknown export format {fmt!r} (choose from {', '.join(FORMATS)})")
    for name in services:
        if name not in stack.services:
            raise UsageError(f"no such service: {name}")
    return exporter(stack, list(services), Secrets(stack))
