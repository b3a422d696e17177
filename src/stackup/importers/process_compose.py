"""`stackup init --from process-compose.yaml`: process-compose's processes as a stack.

Mapped: command, working_dir, environment, depends_on conditions, the readiness probe
(`exec` → a command check, `http_get` → an http check, whose port becomes the
service's port) or `ready_log_line` (→ a log check), availability → restart policy,
and the shutdown signal and timeout. A process another one waits to complete
successfully becomes a oneshot. The rest is listed in comments.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

from stackup.config.yamlsource import KeyPath, Source, read_source
from stackup.importers.proposal import Proposal, ProposedService, duration, service_name

_CONDITIONS = {
    "process_started": "started",
    "process_healthy": "healthy",
    "process_log_ready": "healthy",
    "process_completed_successfully": "completed",
    "process_completed": "completed",
}
_RESTART = {"always": "always", "on_failure": "on-failure"}
_MAPPED = {
    "command", "working_dir", "environment", "depends_on", "readiness_probe",
    "liveness_probe", "ready_log_line", "availability", "shutdown", "disabled",
    "description",
}


def _env_list(value: Any, source: Source, path: KeyPath) -> dict[str, str]:
    if value is None:
        return {}
    if isinstance(value, dict):
        return {str(k): str(v) for k, v in value.items()}
    if not isinstance(value, list):
        raise source.error("environment must be a list of KEY=value", path)
    out = {}
    for entry in value:
        key, sep, val = str(entry).partition("=")
        if not sep:
            raise source.error(f"{entry!r} is not KEY=value", path)
        out[key] = val
    return out


class _Reader:
    def __init__(self, source: Source, out_dir: Path, command: str) -> None:
        self.source = source
        self.base = Path(os.path.abspath(source.file)).parent
        self.out_dir = Path(os.path.abspath(out_dir))
        self.proposal = Proposal(source=source.file.name, command=command)
        self.names: dict[str, str] = {}

    def read(self) -> Proposal:
        data = self.source.data
        processes = data.get("processes")
        if not isinstance(processes, dict) or not processes:
            raise self.source.error(
                "a process-compose file needs a 'processes' mapping", ("processes",)
            )
        self.proposal.env = _env_list(data.get("environment"), self.source, ("environment",))
        for key in data:
            if key not in ("processes", "environment", "version"):
                self.proposal.notes.append(f"top-level {key!r}")
        for raw in processes:
            self.names[raw] = service_name(raw, set(self.names.values()))
        completed = {
            dep
            for spec in processes.values()
            if isinstance(spec, dict) and isinstance(spec.get("depends_on"), dict)
            for dep, cond in spec["depends_on"].items()
            if isinstance(cond, dict)
            and cond.get("condition") in ("process_completed_successfully", "process_completed")
        }
        for raw, spec in processes.items():
            if not isinstance(spec, dict):
                raise self.source.error("a process must be a mapping", ("processes", raw))
            self.proposal.add(self.process(raw, spec, raw in completed))
        return self.proposal

    def process(self, raw: str, spec: dict[str, Any], oneshot: bool) -> ProposedService:
        path: KeyPath = ("processes", raw)
        name = self.names[raw]
        svc = ProposedService(name, f"process-compose process {raw!r}")
        if name != raw:
            svc.notes.append(f"renamed from {raw!r}: service names are lowercase a-z, 0-9, - and _")
        command = spec.get("command")
        if not isinstance(command, str) or not command.strip():
            raise self.source.error("a process needs a command (a string)", (*path, "command"))
        svc.body["command"] = command
        if isinstance(spec.get("description"), str):
            svc.body["description"] = spec["description"]
        working_dir = spec.get("working_dir")
        if isinstance(working_dir, str):
            cwd = os.path.relpath(self.base / os.path.expanduser(working_dir), self.out_dir)
            if cwd != ".":
                svc.body["cwd"] = cwd
        env = _env_list(spec.get("environment"), self.source, (*path, "environment"))
        if env:
            svc.body["env"] = env
        self.depends_on(svc, spec.get("depends_on"), (*path, "depends_on"))
        self.probe(svc, spec)
        if oneshot:
            svc.body["oneshot"] = True
        else:
            self.availability(svc, spec.get("availability"))
        self.shutdown(svc, spec.get("shutdown"))
        if spec.get("disabled") is True:
            svc.body["profiles"] = ["disabled"]
            svc.notes.append("disabled: in the profile 'disabled', started only when named")
        unmapped = [k for k in spec if k not in _MAPPED]
        if unmapped:
            svc.notes.append(f"process-compose keys {', '.join(unmapped)}")
        return svc

    def depends_on(self, svc: ProposedService, deps: Any, path: KeyPath) -> None:
        if deps is None:
            return
        if not isinstance(deps, dict):
            raise self.source.error("depends_on must be a mapping", path)
        out = {}
        for dep, spec in deps.items():
            condition = (spec or {}).get("condition", "process_started")
            if dep not in self.names:
                raise self.source.error(f"depends on unknown process {dep!r}", (*path, dep))
            if condition not in _CONDITIONS:
                raise self.source.error(
                    f"unknown condition {condition!r}", (*path, dep, "condition")
                )
            if condition == "process_completed":
                svc.notes.append(
                    f"{dep}: process_completed (any exit code) is `completed` (exit 0) here"
                )
            out[self.names[dep]] = {"condition": _CONDITIONS[condition]}
        if out:
            svc.body["depends_on"] = out

    def probe(self, svc: ProposedService, spec: dict[str, Any]) -> None:
        readiness, liveness = spec.get("readiness_probe"), spec.get("liveness_probe")
        if readiness and liveness:
            svc.notes.append(
                "liveness_probe: stackup's one check is both readiness and liveness;"
                " the readiness_probe is kept"
            )
        probe = readiness or liveness
        health: dict[str, Any] = {}
        if isinstance(probe, dict):
            if isinstance(probe.get("exec"), dict) and probe["exec"].get("command"):
                health["command"] = str(probe["exec"]["command"])
            elif isinstance(probe.get("http_get"), dict):
                get = probe["http_get"]
                http: dict[str, Any] = {"path": str(get.get("path", "/"))}
                if isinstance(get.get("port"), int):
                    svc.body["port"] = get["port"]
                if get.get("host") not in (None, "127.0.0.1", "localhost"):
                    http["host"] = str(get["host"])
                if get.get("scheme", "http") != "http":
                    svc.notes.append(f"http_get scheme {get['scheme']}: stackup checks http")
                health["http"] = http if set(http) != {"path"} else http["path"]
            timings = {
                "period_seconds": "interval",
                "timeout_seconds": "timeout",
            }
            for key, ours in timings.items():
                if isinstance(probe.get(key), int | float) and probe[key] > 0:
                    health[ours] = duration(probe[key])
            if isinstance(probe.get("failure_threshold"), int) and probe["failure_threshold"] > 0:
                health["retries"] = probe["failure_threshold"]
            extra = sorted(
                set(probe) - {"exec", "http_get", "failure_threshold", *timings}
            )
            if extra:
                svc.notes.append(f"probe {', '.join(extra)}")
        elif isinstance(spec.get("ready_log_line"), str):
            health["log"] = spec["ready_log_line"]
        if health:
            svc.body["health"] = health

    def availability(self, svc: ProposedService, availability: Any) -> None:
        if not isinstance(availability, dict):
            return
        policy = availability.get("restart", "no")
        if policy in _RESTART:
            svc.body["restart"] = _RESTART[policy]
        elif policy != "no":
            svc.notes.append(f"availability.restart {policy!r} has no stackup equivalent")
        if isinstance(availability.get("max_restarts"), int) and "restart" in svc.body:
            svc.body["max_restarts"] = availability["max_restarts"]
        extra = sorted(set(availability) - {"restart", "max_restarts"})
        if extra:
            svc.notes.append(f"availability {', '.join(extra)} (stackup backs off 0.5s to 30s)")

    def shutdown(self, svc: ProposedService, shutdown: Any) -> None:
        if not isinstance(shutdown, dict):
            return
        number = shutdown.get("signal")
        if isinstance(number, int):
            try:
                svc.body["stop_signal"] = signal.Signals(number).name
            except ValueError:
                svc.notes.append(f"shutdown signal {number}")
        if isinstance(shutdown.get("timeout_seconds"), int | float):
            svc.body["stop_timeout"] = duration(shutdown["timeout_seconds"])
        if "command" in shutdown:
            svc.notes.append(f"shutdown command {shutdown['command']!r}: stackup sends a signal")


def from_process_compose(path: Path, out_dir: Path, command: str) -> Proposal:
    return _Reader(read_source(path), out_dir, command).read()
