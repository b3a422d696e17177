"""What `doctor` reports: findings, each a problem with what to do about it, and the
subject they are about (the resolved stack, its recorded state, the live processes)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stackup.config.model import Service, Stack
from stackup.config.yamlsource import KeyPath, Source, format_path
from stackup.system import processes


@dataclass(frozen=True)
class Finding:
    service: str | None  # None for the stack as a whole
    check: str  # config, command, cwd, user, version, waiting, not-ready, leftover, port,
    # ipv6, cors
    problem: str
    fix: str
    where: str | None = None  # `stack.yaml:12: services.api.cwd`
    details: tuple[str, ...] = ()  # the service's last lines, for a start that is stuck

    def line(self) -> str:
        who = f"{self.service}: " if self.service else ""
        where = f" ({self.where})" if self.where else ""
        return f"{who}{self.problem} → {self.fix}{where}"

    def to_json(self) -> dict[str, Any]:
        return {"service": self.service, "check": self.check, "problem": self.problem,
                "fix": self.fix, "where": self.where, "details": list(self.details)}


@dataclass
class Subject:
    """Everything the checks look at. `stack` is None when the file does not load;
    `state` is None when nothing was ever started here."""

    file: Path  # the stack file as the user named it, for messages
    state_dir: Path
    stack: Stack | None
    source: Source | None
    state: dict[str, Any] | None
    supervisor_alive: bool
    names: list[str]  # the services checked
    _own_pids: dict[str, set[int]] = field(default_factory=dict)

    @property
    def running(self) -> bool:
        return self.supervisor_alive

    @property
    def records(self) -> dict[str, dict[str, Any]]:
        return (self.state or {}).get("services") or {}

    @property
    def instance(self) -> str | None:
        return (self.state or {}).get("instance")

    def services(self) -> list[Service]:
        if self.stack is None:
            return []
        return [self.stack.services[n] for n in self.names if n in self.stack.services]

    def where(self, path: KeyPath) -> str | None:
        """`file:line: key.path` for a key of the stack file, when the file has it."""
        if self.source is None:
            return None
        line = self.source.line(path)  # the key's, else the nearest enclosing key's
        at = f":{line}" if line is not None else ""
        return f"{self.file}{at}: {format_path(path)}"

    def has_key(self, path: KeyPath) -> bool:
        return self.source is not None and tuple(path) in self.source.lines

    def own_pids(self, name: str) -> set[int]:
        """The live process tree of a running service (empty when it does not run or
        the recorded pid is no longer this stack's process)."""
        if name not in self._own_pids:
            pids: set[int] = set()
            rec = self.records.get(name) or {}
            proc = processes.same_process(rec.get("pid"), rec.get("create_time"))
            if proc is not None and (
                not self.instance or processes.carries_marker(proc, self.instance)
            ):
                pids = {p.pid for p in processes.tree(proc.pid)}
            self._own_pids[name] = pids
        return self._own_pids[name]


@dataclass
class Report:
    stack: str
    running: bool
    supervisor_pid: int | None
    mode: str | None
    checked: list[str]
    findings: list[Finding]

    @property
    def ok(self) -> bool:
        return not self.findings

    def to_json(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "supervisor": {"running": self.running, "pid": self.supervisor_pid,
                           "mode": self.mode},
            "checked": self.checked,
            "ok": self.ok,
            "findings": [f.to_json() for f in self.findings],
        }
