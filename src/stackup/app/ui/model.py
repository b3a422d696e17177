"""What the live view shows, kept apart from textual so it is plain data: the services'
records as the supervisor's `watch` stream last sent them, the rows of the table made
from them, and the scrollback of every service's output with the pane's choice of
service and text filter."""

from __future__ import annotations

import heapq
import re
import time
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from stackup.app.portview import root_url
from stackup.printer import SYSTEM, Printer
from stackup.render import _duration
from stackup.states import ALIVE_STATES

SCROLLBACK = 20_000  # lines kept (for all services together) and shown at most
ALL = "*"  # the table's first row: every service's output, merged and prefixed
NOTE = "[stackup] "  # stackup's own lines about a service, as its log file has them
HEALTH_WIDTH = 44  # characters of the last reason in the table (the detail line has all)

# Colours of the states, for the table (rich style names).
STATE_STYLES = {
    "healthy": "bold green", "running": "green", "completed": "cyan",
    "starting": "yellow", "waiting": "yellow", "restarting": "yellow",
    "stopping": "magenta", "unhealthy": "bold red", "failed": "bold red",
    "exited": "red", "stopped": "dim",
}
# Colour sequences are kept in the log files; the pane shows (and copies) plain text.
_SGR = re.compile(r"\x1b\[[0-9;:?]*[ -/]*[@-~]")


@dataclass(frozen=True)
class Row:
    """One service's line in the table, as text."""

    name: str
    state: str
    pid: str
    port: str
    url: str
    health: str
    uptime: str
    restarts: str
    cpu: str
    memory: str


class StackModel:
    """The stack as the stream tells it: a snapshot, then each service's record anew
    with every state change."""

    def __init__(self) -> None:
        self.stack = ""
        self.supervisor: dict[str, Any] = {}
        self.records: dict[str, dict[str, Any]] = {}
        self.port_offset = 0
        self.profiles: list[str] = []

    def snapshot(self, state: Mapping[str, Any]) -> None:
        self.stack = str(state.get("stack") or "")
        self.supervisor = dict(state.get("supervisor") or {})
        self.records = {n: dict(r) for n, r in (state.get("services") or {}).items()}
        self.port_offset = int(state.get("port_offset") or 0)
        self.profiles = list(state.get("profiles") or [])

    def update(self, message: Mapping[str, Any]) -> str:
        """A `state` event: the service's whole record replaces the one we had."""
        name = str(message["service"])
        self.records[name] = dict(message.get("record") or {"state": message.get("state")})
        return name

    def title(self) -> str:
        sup = self.supervisor
        return f"stack {self.stack}: supervisor pid {sup.get('pid')} ({sup.get('mode')})"

    def roots(self) -> dict[str, tuple[int, float | None]]:
        """Each running service's process (pid and creation time): what the CPU and
        memory columns measure the trees of."""
        return {
            name: (int(rec["pid"]), rec.get("create_time"))
            for name, rec in self.records.items()
            if rec.get("pid") and rec.get("state") in ALIVE_STATES
        }

    def row(
        self, name: str, usage: Mapping[str, tuple[float, int]], now: float | None = None
    ) -> Row:
        rec = self.records.get(name, {})
        state = str(rec.get("state") or "?")
        port = rec.get("port")
        alive = bool(rec.get("pid")) and state in ALIVE_STATES
        started = rec.get("started_at")
        uptime = _duration((now or time.time()) - started) if alive and started else "-"
        cpu, memory = usage.get(name, (None, None)) if alive else (None, None)
        return Row(
            name=name,
            state=state,
            pid=str(rec["pid"]) if alive else "-",
            port=str(port) if port else "-",
            url=root_url(rec.get("host") or "127.0.0.1", port, str(rec.get("health")))
            if port else "",
            health=shorten(self.health(name), HEALTH_WIDTH),
            uptime=uptime,
            restarts=str(rec.get("restarts") or 0),
            cpu=f"{cpu:.1f}%" if cpu is not None else "-",
            memory=mebibytes(memory) if memory is not None else "-",
        )

    def health(self, name: str) -> str:
        """The check's kind and the last reason the supervisor gave for the state."""
        rec = self.records.get(name, {})
        kind = str(rec.get("health") or "none")
        reason = str(rec.get("reason") or "")
        return f"{kind}: {reason}" if reason else kind


def shorten(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def mebibytes(size: int) -> str:
    return f"{size / (1 << 20):.1f} MiB"


@dataclass(frozen=True)
class Entry:
    seq: int  # arrival order, across services: the merged pane's order
    service: str
    time: float
    text: str


class LogBuffer:
    """Every service's recent output, and what the log pane shows of it: one service's
    lines as they are, or all services' with the `HH:MM:SS name | ` prefix of `stackup
    up`; only lines containing the filter text (any case). Each service has its own
    scrollback, so one that floods does not push the others' lines out."""

    def __init__(self, names: Iterable[str] = (), limit: int = SCROLLBACK) -> None:
        self.limit = limit
        self.entries: dict[str, deque[Entry]] = {}
        self.received = 0  # lines added, ever
        self.service = ALL
        self.filter = ""
        self._printer = Printer(list(names), colour=False)

    def names(self, names: Iterable[str]) -> None:
        """The stack's services (their widest name pads the merged prefix)."""
        self._printer = Printer(list(names), colour=False)

    def add(self, service: str, lines: Iterable[str], when: float | None) -> list[str]:
        """Keep the lines; return those the pane shows now, as it shows them."""
        stamp = when or time.time()
        kept = self.entries.get(service)
        if kept is None:
            kept = self.entries[service] = deque(maxlen=self.limit)
        shown: list[str] = []
        for line in lines:
            self.received += 1
            entry = Entry(self.received, service, stamp, _SGR.sub("", line))
            kept.append(entry)
            text = self.render(entry)
            if text is not None:
                shown.append(text)
        return shown

    def note(self, service: str, message: str, when: float | None = None) -> list[str]:
        """stackup's own line about a service (or the stack: `system`)."""
        return self.add(service or SYSTEM, [NOTE + message], when)

    def render(self, entry: Entry) -> str | None:
        """The entry as the pane shows it, or None when the pane leaves it out."""
        if self.service != ALL and entry.service not in (self.service, SYSTEM):
            return None
        text = (
            entry.text if self.service != ALL
            else self._printer.prefix(entry.service, entry.time) + entry.text
        )
        if self.filter and self.filter.lower() not in text.lower():
            return None
        return text

    def visible(self) -> list[str]:
        """What the pane shows (its last `limit` lines), in the order they came."""
        sources = (
            self.entries.values() if self.service == ALL
            else [self.entries.get(self.service, ()), self.entries.get(SYSTEM, ())]
        )
        shown = [
            text for entry in heapq.merge(*sources, key=lambda e: e.seq)
            if (text := self.render(entry)) is not None
        ]
        return shown[-self.limit:]
