"""What an importer proposes: a stack file's content plus the notes on what did not map.

Importers fill a `Proposal`; `render` writes it as a commented `stack.yaml`. Service
bodies are plain dicts in the stack file's own key names and order, so what is
written is exactly what the loader will read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from stackup.naming import SERVICE_NAME

# The order keys are written in (the README's order), whatever order importers set them.
KEY_ORDER = (
    "description", "command", "cwd", "image", "port", "env", "env_file", "depends_on",
    "health", "oneshot", "restart", "max_restarts", "stop_signal", "stop_timeout",
    "profiles",
)


@dataclass
class ProposedService:
    name: str
    origin: str  # e.g. "compose service 'web'", said in the comment above it
    body: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def ordered(self) -> dict[str, Any]:
        return {key: self.body[key] for key in KEY_ORDER if key in self.body}


@dataclass
class Proposal:
    source: str  # "compose.yaml", "Procfile", "the folder" — for the header
    command: str  # how it was made: `stackup init --from compose.yaml`
    name: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    services: dict[str, ProposedService] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # about the file as a whole

    def add(self, service: ProposedService) -> ProposedService:
        self.services[service.name] = service
        return service


def service_name(raw: str, taken: set[str] | dict[str, Any]) -> str:
    """A valid stackup service name for `raw` (lowercase, `-` for anything else),
    different from those already taken."""
    name = str(raw)
    if not SERVICE_NAME.match(name):
        name = re.sub(r"[^a-z0-9_-]+", "-", name.lower()).strip("-_") or "service"
        if not name[0].isalpha():
            name = "s-" + name
    base, n = name, 2
    while name in taken:
        name, n = f"{base}-{n}", n + 1
    return name


_SHELL_DOLLAR = re.compile(r"\$\{PORT\}|\$PORT(?![A-Za-z0-9_])|\$")


def shell_command(command: str) -> str:
    """A shell command for a stack file, unchanged in meaning: stackup interpolates
    `${…}` and `$$`, so every `$` is doubled, except `$PORT`, which becomes `${PORT}`:
    the same value, the service's own port."""
    return _SHELL_DOLLAR.sub(lambda m: "$$" if m.group() == "$" else "${PORT}", command)


def uses_port(command: str) -> bool:
    return bool(re.search(r"\$\{PORT\}|\$PORT(?![A-Za-z0-9_])", command))


_COMPOSE_DURATION = re.compile(r"(\d+(?:\.\d+)?)(us|ms|s|m|h)")
_SECONDS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def seconds_of(value: Any) -> float | None:
    """Seconds from a compose/Go duration (`1m30s`, `500ms`) or a number; None if not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if not isinstance(value, str):
        return None
    text = value.strip()
    parts = _COMPOSE_DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text.replace(" ", ""):
        return None
    return sum(float(n) * _SECONDS[u] for n, u in parts)


def duration(seconds: float) -> str | int:
    """As a stack file says it: `10s`, `500ms` (at least 1 ms)."""
    ms = max(1, round(seconds * 1000))
    return f"{ms // 1000}s" if ms % 1000 == 0 else f"{ms}ms"
