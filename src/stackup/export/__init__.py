"""`stackup export FORMAT`: the resolved stack for other tools (honcho, docker compose,
systemd, dotenv, Kubernetes, nginx), as pure functions returning {filename: content}.

No output contains a secret value: every format refers to the variable instead
(see `common.Secrets`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from stackup.config.model import Stack
from stackup.errors import UsageError
from stackup.export.common import Secrets
from stackup.export.compose import export_compose
from stackup.export.envfile import export_env
from stackup.export.kubernetes import export_kubernetes
from stackup.export.nginx import DEFAULT_LISTEN, check_listen, export_nginx
from stackup.export.procfile import export_procfile
from stackup.export.systemd import export_systemd

Exporter = Callable[[Stack, list[str], Secrets], dict[str, str]]

_EXPORTERS: dict[str, Exporter] = {
    "procfile": export_procfile,
    "compose": export_compose,
    "systemd": export_systemd,
    "env": export_env,
    "kubernetes": export_kubernetes,
    "nginx": export_nginx,
}
FORMATS = tuple(_EXPORTERS)
RUNS_PROCESSES = ("procfile", "compose", "systemd", "kubernetes")

__all__ = ["FORMATS", "export"]


def export(
    stack: Stack, fmt: str, services: list[str], *, listen: Sequence[str] = ()
) -> dict[str, str]:
    """The files of `fmt` for the selected `services` (the caller's selection, usually
    `stackup.config.graph.select`: default services plus their dependencies).

    `listen` (nginx only): the addresses the proxy listens on, as nginx's `listen`.
    """
    exporter = _EXPORTERS.get(fmt)
    if exporter is None:
        raise UsageError(f"unknown export format {fmt!r} (choose from {', '.join(FORMATS)})")
    if listen and fmt != "nginx":
        raise UsageError("--listen is for `export nginx` only")
    for name in services:
        if name not in stack.services:
            raise UsageError(f"no such service: {name}")
    if fmt in RUNS_PROCESSES:
        # An external service is run by someone else: nothing to run, and what
        # depends on it simply refers to it (the target has to provide it).
        services = [n for n in services if not stack.services[n].external]
    if fmt == "nginx":
        return export_nginx(
            stack, list(services), Secrets(stack), check_listen(listen) or DEFAULT_LISTEN
        )
    return exporter(stack, list(services), Secrets(stack))
