"""Checks of a running stack's start-up, from the supervisor's state file: what a
service not ready waits for, why its check fails and its last lines; and what a
supervisor that died left running."""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

from stackup.app.doctor.findings import Finding, Subject
from stackup.config.model import Service
from stackup.engine import probes
from stackup.server.logfiles import log_path, output_tail
from stackup.states import ALIVE_STATES, READY_STATES, State
from stackup.system import processes

TAIL = 5  # last lines shown under a service that is stuck or failed


def check(subject: Subject) -> list[Finding]:
    if subject.state is None:
        return []
    if not subject.supervisor_alive:
        return _leftovers(subject)
    findings: list[Finding] = []
    for name in subject.names:
        rec = subject.records.get(name)
        if rec is None:
            continue
        state = rec.get("state", "stopped")
        if state in READY_STATES:
            continue
        if state == State.WAITING:
            findings.append(_waiting(subject, name, rec))
        elif state == State.STOPPED and name not in (subject.state.get("selected") or []):
            continue  # not asked for: nothing is wrong with it
        else:
            findings.append(_not_ready(subject, name, rec, state))
    return findings


def condition(subject: Subject, name: str, dep: str) -> str:
    if subject.stack is not None and name in subject.stack.services:
        for d in subject.stack.services[name].depends_on:
            if d.name == dep:
                return d.condition
    return "completed" if (subject.records.get(dep) or {}).get("oneshot") else "healthy"


def condition_met(state: str, cond: str) -> bool:
    if cond == "completed":
        return state == State.COMPLETED
    if cond == "started":
        return state in ALIVE_STATES or state in READY_STATES
    return state in READY_STATES


def _waiting(subject: Subject, name: str, rec: dict[str, Any]) -> Finding:
    pending = []
    for dep in rec.get("depends_on") or []:
        dep_state = (subject.records.get(dep) or {}).get("state", "stopped")
        cond = condition(subject, name, dep)
        if not condition_met(dep_state, cond):
            pending.append((dep, cond, dep_state))
    parts = [f"{dep} to be {cond} (it is {state})" for dep, cond, state in pending]
    blockers = _blockers(subject, name)
    fix = (f"fix {' and '.join(blockers)} first (see {'their' if len(blockers) > 1 else 'its'}"
           " line)") if blockers else "it starts once they are"
    return Finding(name, "waiting", "waiting for " + " and ".join(parts or ["its dependencies"]),
                   fix)


def _blockers(subject: Subject, name: str) -> list[str]:
    """The services at the bottom of what `name` waits for: not ready and not waiting
    themselves, so the ones to look at."""
    found: list[str] = []
    seen: set[str] = set()
    todo = [name]
    while todo:
        current = todo.pop(0)
        for dep in (subject.records.get(current) or {}).get("depends_on") or []:
            if dep in seen:
                continue
            seen.add(dep)
            state = (subject.records.get(dep) or {}).get("state", "stopped")
            if condition_met(state, condition(subject, current, dep)):
                continue
            if state == State.WAITING:
                todo.append(dep)
            elif dep not in found:
                found.append(dep)
    return found


def _not_ready(subject: Subject, name: str, rec: dict[str, Any], state: str) -> Finding:
    reason = rec.get("reason") or ""
    if state == State.STARTING:
        since = ((rec.get("timeline") or {}).get("started_at") or rec.get("started_at"))
        took = f" after {time.time() - since:.1f}s" if since else ""
        if (not reason or reason == "starting") and subject.stack is not None:
            reason = check_now(subject.stack.services[name])
        problem = f"not ready yet{took}: {reason}" if reason and reason != "starting" else (
            f"not ready yet{took}")
        fix = f"see its last lines (`stackup logs {name}`) and its health check"
    else:
        problem = f"{state}: {reason}" if reason else state
        fix = f"fix what its last lines say, then `stackup restart {name}`"
    # The service's own last lines: stackup's notes about it (started, a new run) are
    # not what it said.
    tail = output_tail(log_path(subject.state_dir / "logs", name), TAIL)
    return Finding(name, "not-ready", problem, fix,
                   subject.where(("services", name, "health")) if state == State.STARTING
                   else None,
                   tuple(tail))


def check_now(svc: Service) -> str:
    """Why the service's check does not pass, from one run of it now: the supervisor
    records a service's state changes, not every attempt of its readiness check."""
    check = svc.health
    port = check.port or svc.port

    async def once() -> probes.ProbeResult:
        if check.kind == "tcp" and port:
            return await probes.probe_tcp(check.host, port, check.timeout)
        if check.kind == "http" and port:
            return await probes.probe_http(check.host, port, check.path, check.status,
                                           check.timeout)
        if check.kind == "command" and check.command is not None:
            return await probes.probe_command(check.command, str(svc.cwd),
                                              {**os.environ, **svc.env}, check.timeout)
        if check.kind == "log":
            return probes.ProbeResult(False, f"its output has not matched /{check.pattern}/")
        return probes.ProbeResult(False, "")

    result = asyncio.run(once())
    return f"its check passes now ({result.detail})" if result.ok else result.detail


def _leftovers(subject: Subject) -> list[Finding]:
    instance = subject.instance
    if not instance:
        return []
    sup = (subject.state or {}).get("supervisor") or {}
    marked = processes.marked_processes(instance)
    findings = []
    for name, procs in marked.items():
        if subject.names and name not in subject.names and name in subject.records:
            continue
        pids = ", ".join(str(p.pid) for p in procs[:3]) + ("…" if len(procs) > 3 else "")
        findings.append(Finding(
            name or None, "leftover",
            f"still running (pid {pids}) although its supervisor (pid {sup.get('pid')}) "
            "is gone",
            "`stackup down` stops it (a new `stackup up` does too, before it starts)",
        ))
    return findings
