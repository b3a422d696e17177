"""`stackup down`: stop through the supervisor when it answers; when it is gone
(killed), stop what it started from the state file, signalling only processes that
carry this stack instance's marker — never a process stackup did not start."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from stackup import control, oskit, ports, statefile
from stackup.errors import StackupError, UsageError
from stackup.process import stop_ladder
from stackup.stopping import stop_in_reverse_order

SUPERVISOR_EXIT_WAIT = 15.0


def down(state_dir: Path, names: list[str]) -> list[str]:
    """Stop `names` (or everything); return notes for the user (foreign port holders)."""
    state = statefile.read(state_dir)
    known = set((state or {}).get("services", {}))
    for name in names:
        if state is not None and name not in known:
            raise UsageError(f"no such service: {name}")
    notes: list[str] = []
    info = control.ping(state_dir)
    if info is not None:
        response = control.request(state_dir, {"cmd": "stop", "services": names}, None)
        if not response.get("ok"):
            raise StackupError(str(response.get("error", "the supervisor refused to stop")))
        if not names:
            _wait_gone(info.get("pid"), info.get("create_time"))
        also = [n for n in response.get("stopped", []) if n not in names]
        if names and also:
            notes.append(f"also stopped {', '.join(also)}: they depend on {', '.join(names)}")
    elif state is not None:
        asyncio.run(stop_without_supervisor(state_dir, state, names))
    else:
        return []
    return notes + foreign_port_notes(statefile.read(state_dir) or state or {}, names)


def _wait_gone(pid: int | None, create_time: float | None) -> None:
    """A full `down` returns once the supervisor itself has exited (bounded)."""
    deadline = time.monotonic() + SUPERVISOR_EXIT_WAIT
    while time.monotonic() < deadline and oskit.same_process(pid, create_time):
        time.sleep(0.005)


async def stop_without_supervisor(
    state_dir: Path, state: dict[str, Any], names: list[str]
) -> None:
    instance = state.get("instance")
    if not instance:
        return
    records: dict[str, dict[str, Any]] = state.get("services", {})
    marked = await asyncio.to_thread(oskit.marked_processes, instance)
    targets = names or sorted(set(records) | set(marked))
    deps = {n: [d for d in records.get(n, {}).get("depends_on", [])] for n in targets}

    async def stop_one(name: str) -> None:
        rec = records.get(name, {})
        procs = list(marked.get(name, []))
        leader = oskit.same_process(rec.get("pid"), rec.get("create_time"))
        pgid = None
        if leader is not None and oskit.carries_marker(leader, instance):
            procs += oskit.tree(leader.pid)  # includes children that cleared their env
            pgid = leader.pid
        await stop_ladder(
            procs, int(rec.get("stop_signal", 15)), float(rec.get("stop_timeout", 10)), pgid
        )

    await stop_in_reverse_order(deps, stop_one)
    for name in targets:
        if name in records:
            rec = records[name]
            rec.update(pid=None, create_time=None, ready_at=None)
            if rec.get("state") not in ("completed", "failed"):
                rec["state"] = "stopped"
    if not names:
        state["selected"] = []
        state.setdefault("supervisor", {})["running"] = False
    statefile.write(state_dir, {k: v for k, v in state.items() if k != "format"})


def foreign_port_notes(state: dict[str, Any], names: list[str]) -> list[str]:
    records: dict[str, dict[str, Any]] = state.get("services", {})
    wanted = {rec["port"]: n for n, rec in records.items()
              if rec.get("port") and (not names or n in names)}
    notes = []
    for port, holder in sorted(ports.holders(wanted).items()):
        proc = oskit.process_or_none(holder.pid) if holder.pid else None
        if proc is not None and state.get("instance") and oskit.carries_marker(
            proc, state["instance"]
        ):
            continue
        notes.append(
            f"port {port} ({wanted[port]}) is held by {holder.describe()}, "
            "which stackup did not start; left alone"
        )
    return notes
