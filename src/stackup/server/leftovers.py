"""Services left running by a supervisor that died (killed, or its machine slept):
found by the instance marker recorded in the state file, stopped in reverse order.
Used by `down` when no supervisor answers, and by `up` before it starts afresh."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from stackup.config import graph
from stackup.engine.stop_order import stop_in_reverse_order
from stackup.server import statefile
from stackup.states import State
from stackup.system import processes
from stackup.system.stopping import stop_ladder


async def stop(state_dir: Path, state: dict[str, Any], names: list[str]) -> int:
    """Stop `names` (or all) of the services recorded in `state`, whose supervisor is
    gone; return how many processes were found. Only processes carrying the state's
    instance marker (or descendants of a marked, identity-checked leader) are
    signalled: a pid in the file alone is never trusted."""
    instance = state.get("instance")
    if not instance:
        return 0
    records: dict[str, dict[str, Any]] = state.get("services", {})
    marked = await asyncio.to_thread(processes.marked_processes, instance)
    recorded = {n: list(r.get("depends_on", [])) for n, r in records.items()}
    # As with a supervisor: what depends on a stopped service stops too, first.
    targets = graph.with_dependents(recorded, names) if names else sorted(
        set(records) | set(marked)
    )
    deps = {n: recorded.get(n, []) for n in targets}

    found = 0

    async def stop_one(name: str) -> None:
        nonlocal found
        rec = records.get(name, {})
        procs = list(marked.get(name, []))
        leader = processes.same_process(rec.get("pid"), rec.get("create_time"))
        pgid = None
        if leader is not None and processes.carries_marker(leader, instance):
            procs += processes.tree(leader.pid)  # includes children that cleared their env
            pgid = leader.pid
        found += len({p.pid for p in procs})
        await stop_ladder(
            procs, int(rec.get("stop_signal", 15)), float(rec.get("stop_timeout", 10)), pgid
        )

    await stop_in_reverse_order(deps, stop_one)
    for name in targets:
        if name in records:
            rec = records[name]
            rec.update(pid=None, create_time=None, ready_at=None)
            if rec.get("state") not in (State.COMPLETED, State.FAILED):
                rec["state"] = "stopped"
    if not names:
        state["selected"] = []
        state.setdefault("supervisor", {})["running"] = False
    statefile.write(state_dir, {k: v for k, v in state.items() if k != "format"})
    return found


async def reclaim(state_dir: Path) -> int:
    """Before a new supervisor starts: stop what the last one left running, if it
    died. Returns the number of processes stopped (0 when there was nothing)."""
    state = statefile.read(state_dir)
    if state is None or statefile.supervisor_alive(state):
        return 0
    return await stop(state_dir, state, [])
