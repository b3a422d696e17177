"""`stackup down`: stop through the supervisor when it answers; when it is gone
(killed), stop what it started from the state file, signalling only processes that
carry this stack instance's marker or run under its keeper — never a process
stackup did not start."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

from stackup.engine.supervisor import StopReport
from stackup.errors import NotRunningError, StackupError
from stackup.polling import poll_until
from stackup.server import control, leftovers, statefile
from stackup.server.statefile import StackState
from stackup.system import ports, processes

SUPERVISOR_EXIT_WAIT = 15.0


@dataclass
class DownResult:
    stopped: list[StopReport] = field(default_factory=list)  # one per service stopped
    notes: list[str] = field(default_factory=list)  # dependents also stopped, strangers


def down(state_dir: Path, names: list[str]) -> DownResult:
    """Stop `names` (or everything; the CLI has checked them)."""
    state = statefile.read(state_dir)
    result = DownResult()
    info = control.ping(state_dir) or control.wait_for_starting(
        state_dir, SUPERVISOR_EXIT_WAIT
    )
    if info is not None:
        try:
            response = control.request(state_dir, {"cmd": "stop", "services": names}, None)
        except (NotRunningError, OSError):
            # The supervisor died while stopping: finish the job from the state file
            # (its socket closes a moment before the process is gone: wait for that).
            state = statefile.read(state_dir)
            sup = (state or {}).get("supervisor") or {}
            _wait_gone(sup.get("pid"), sup.get("create_time"), timeout=2.0)
            if state is None or statefile.supervisor_alive(state):
                raise
            result.stopped += asyncio.run(leftovers.stop(state_dir, state, names)).reports
            result.notes += foreign_port_notes(statefile.read(state_dir) or state, names)
            return result
        if not response.get("ok"):
            raise StackupError(str(response.get("error", "the supervisor refused to stop")))
        if not names:
            _wait_gone(info.get("pid"), info.get("create_time"))
        result.stopped += [
            StopReport(r["service"], r["seconds"], r["killed"], r.get("forced", False))
            for r in response.get("reports") or []
        ]
        also = [n for n in response.get("stopped", []) if n not in names]
        if names and also:
            result.notes.append(
                f"also stopped {', '.join(also)}: they depend on {', '.join(names)}"
            )
    elif state is not None:
        result.stopped += asyncio.run(leftovers.stop(state_dir, state, names)).reports
    else:
        return result
    result.notes += foreign_port_notes(statefile.read(state_dir) or state or {}, names)
    return result


def _wait_gone(
    pid: int | None, create_time: float | None, timeout: float = SUPERVISOR_EXIT_WAIT
) -> None:
    """Wait (bounded) until the supervisor process has exited."""
    poll_until(lambda: processes.same_process(pid, create_time) is None, timeout,
               first=0.002, cap=0.01)


def foreign_port_notes(state: StackState, names: list[str]) -> list[str]:
    records = state.get("services") or {}
    wanted = {rec["port"]: n for n, rec in records.items()
              if rec.get("port") and (not names or n in names)}
    notes = []
    for port, holder in sorted(ports.holders(wanted).items()):
        proc = processes.process_or_none(holder.pid) if holder.pid else None
        if proc is not None and state.get("instance") and processes.carries_marker(
            proc, state["instance"]
        ):
            continue
        stop = f" (`kill {holder.pid}` stops it)" if holder.pid is not None else ""
        notes.append(
            f"port {port} ({wanted[port]}) is held by {holder.describe()}, "
            f"which stackup did not start; left alone{stop}"
        )
    return notes
