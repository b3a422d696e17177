"""`stackup export compose`: a docker compose file with healthchecks and conditions.

stackup runs processes, compose runs containers: a service's `image:` is used when the
stack file gives one; otherwise `build:` points at its folder as a placeholder, and
paths are the host's. What compose can say is mapped
one to one (health checks, depends_on conditions, restart, stop signal and grace);
what it cannot is written under `x-stackup` so it is not silently lost.
Compose interpolates `$` in every value: literal dollars are written `$$`, and
secrets as `${NAME}`, which compose reads from the shell or the `.env` beside it.
"""

from __future__ import annotations

import os
import re
from typing import Any

import yaml

from stackup.config.model import HealthCheck, Service, Stack
from stackup.export.common import Secrets, duration, header, render, service_env

_CONDITIONS = {
    "healthy": "service_healthy",
    "started": "service_started",
    "completed": "service_completed_successfully",
}


class _Text:
    """Every string goes through here: secrets to refs, literal `$` to `$$`."""

    def __init__(self, secrets: Secrets) -> None:
        self.secrets = secrets

    def __call__(self, text: str) -> str:
        return render(self.secrets.split(text), lambda s: s.replace("$", "$$"))

    def entry(self, key: str, value: str) -> str:
        return render(self.secrets.entry(key, value), lambda s: s.replace("$", "$$"))

    def command(self, command: str | list[str], shell: str = "/bin/sh") -> list[str]:
        if isinstance(command, list):
            return [self(arg) for arg in command]
        return [shell, "-c", self(command)]


def healthcheck(check: HealthCheck, port: int | None, text: _Text) -> tuple[dict | None, list]:
    """The compose healthcheck for a stackup check, and notes on what it cannot say."""
    notes: list[str] = []
    port = check.port or port
    host = f"[{check.host}]" if ":" in check.host else check.host
    if check.kind == "tcp":
        test: list[str] = ["CMD-SHELL", f"nc -z {text(check.host)} {port} || exit 1"]
    elif check.kind == "http":
        url = text(f"http://{host}:{port}{check.path}")
        test = ["CMD-SHELL", f"curl -fsS {url} >/dev/null || exit 1"]
        if check.status is not None:
            notes.append(f"stackup expects HTTP status {check.status}; curl -f accepts any < 400")
    elif check.kind == "command" and check.command is not None:
        cmd = check.command
        test = ["CMD", *text.command(cmd)] if isinstance(cmd, list) else ["CMD-SHELL", text(cmd)]
    else:
        if check.kind == "log":
            notes.append(
                f"log check {check.pattern!r} has no compose equivalent: no healthcheck written"
            )
        return None, notes
    return {
        "test": test,
        "interval": duration(check.interval),
        "timeout": duration(check.timeout),
        "retries": check.retries,
        "start_period": duration(check.start_timeout),
    }, notes


def service_entry(stack: Stack, svc: Service, selected: list[str], text: _Text) -> dict:
    out: dict[str, Any] = {}
    if svc.image:
        # The image's own WORKDIR holds the code; the host's folder means nothing there.
        out["image"] = text(svc.image)
    else:
        out["build"] = text(os.path.relpath(svc.cwd, stack.root))
        out["working_dir"] = text(str(svc.cwd))
    out["command"] = text.command(svc.command)
    out["environment"] = {k: text.entry(k, v) for k, v in sorted(service_env(svc).items())}
    if svc.port is not None:
        out["ports"] = [f"{svc.port}:{svc.port}"]
    check, notes = healthcheck(svc.health, svc.port, text)
    if check:
        out["healthcheck"] = check
    deps: dict[str, dict[str, str]] = {}
    for dep in svc.depends_on:
        if dep.name not in selected:
            continue
        condition = _CONDITIONS[dep.condition]
        dep_check, _ = healthcheck(stack.services[dep.name].health, None, text)
        if condition == "service_healthy" and dep_check is None:
            # compose refuses service_healthy on a service without a healthcheck; stackup
            # calls such a service healthy once started (log checks: see its notes).
            condition = "service_started"
            notes.append(f"{dep.name} has no compose healthcheck: waits for it to start only")
        deps[dep.name] = {"condition": condition}
    if deps:
        out["depends_on"] = deps
    out["restart"] = _restart(svc, notes)
    out["stop_signal"] = svc.stop_signal.name
    out["stop_grace_period"] = duration(svc.stop_timeout)
    if svc.user:
        out["user"] = svc.user
    if svc.profiles:
        out["profiles"] = list(svc.profiles)
    extra: dict[str, Any] = {}
    if svc.description:
        extra["description"] = svc.description
    if svc.oneshot:
        extra["oneshot"] = True
    if notes:
        extra["notes"] = notes
    if extra:
        out["x-stackup"] = extra
    return out


def _restart(svc: Service, notes: list[str]) -> str:
    if svc.oneshot or svc.restart == "no":
        return "no"
    if svc.restart == "on-failure":
        return f"on-failure:{svc.max_restarts}" if svc.max_restarts else "on-failure"
    if svc.max_restarts:
        notes.append(f"max_restarts {svc.max_restarts} is not expressible with restart: always")
    return "always"


def project_name(name: str) -> str:
    """compose accepts lowercase letters, digits, `-` and `_`, starting alphanumeric."""
    cleaned = re.sub(r"[^a-z0-9_-]", "-", name.lower()).lstrip("-_")
    return cleaned or "stack"


def export_compose(stack: Stack, services: list[str], secrets: Secrets) -> dict[str, str]:
    text = _Text(secrets)
    doc = {
        "name": project_name(stack.name),
        "services": {
            name: service_entry(stack, svc, services, text)
            for name, svc in stack.services.items()
            if name in services
        },
    }
    comments = [
        *header(stack, "compose"),
        "stackup runs processes, not containers: a service without `image:` in the stack",
        "file gets a `build:` placeholder (its folder) to replace with an image or a",
        "Dockerfile, and a working_dir and commands with the host's paths (mount the",
        "project at the same path, or adapt).",
        "Secrets are written as ${NAME}: compose reads them from the shell or from the",
        ".env beside this file. Whatever compose cannot express is under x-stackup.",
    ]
    body = yaml.safe_dump(doc, sort_keys=False, default_flow_style=False, width=100)
    return {"compose.yaml": "".join(f"# {c}\n" for c in comments) + body}
