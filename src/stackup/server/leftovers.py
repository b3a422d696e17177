"""Leftovers: services a supervisor that died (killed, or its machine slept) left
running. Found by the instance marker recorded in the state file and under the
stack's output keeper, stopped in reverse order. Used by `down` when no supervisor
answers, and by a new supervisor for what it cannot adopt (or with `up --fresh`)."""

from __future__ import annotations

import asyncio
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from stackup.config import graph
from stackup.engine.stop_order import stop_in_reverse_order
from stackup.engine.supervisor import StopReport
from stackup.server import statefile
from stackup.server.statefile import StackState
from stackup.system import processes
from stackup.system.stopping import stop_ladder

KEEPER_EXIT_WAIT = 3.0  # seconds for the keeper to notice its services are gone


@dataclass
class Stopped:
    """How many processes were found, and what stopping each service took."""

    count: int = 0
    reports: list[StopReport] = field(default_factory=list)


def keeper_process(state: StackState) -> psutil.Process | None:
    """The stack's output keeper, when it still runs (pid + creation time)."""
    keeper = state.get("keeper") or {}
    return processes.same_process(keeper.get("pid"), keeper.get("create_time"))


async def stop(
    state_dir: Path,
    state: StackState,
    names: list[str],
    with_dependents: bool = True,
    write: bool = True,
) -> Stopped:
    """Stop `names` (or all) of the services recorded in `state`, whose supervisor is
    gone; return how many processes were found and what each stop took. Only
    processes carrying the state's instance marker, descendants of a marked,
    identity-checked leader, or processes under the stack's keeper are signalled: a
    pid in the file alone is never trusted."""
    instance = state.get("instance")
    result = Stopped()
    if not instance:
        return result
    records = state.get("services") or {}
    marked = await asyncio.to_thread(processes.marked_processes, instance)
    recorded = {n: list(r.get("depends_on", [])) for n, r in records.items()}
    if not names:
        targets = sorted(set(records) | set(marked))
    elif with_dependents:  # as with a supervisor: what depends on it stops too, first
        targets = graph.with_dependents(recorded, names)
    else:
        targets = [n for n in recorded if n in names]
    deps = {n: [d for d in recorded.get(n, []) if d in targets] for n in targets}

    async def stop_one(name: str) -> None:
        rec = records.get(name, {})
        procs = list(marked.get(name, []))
        leader = processes.same_process(rec.get("pid"), rec.get("create_time"))
        pgid = None
        if leader is not None and processes.carries_marker(leader, instance):
            procs += processes.tree(leader.pid)  # includes children that cleared their env
            pgid = leader.pid
        found = len({p.pid for p in procs})
        if not found:
            return
        result.count += found
        began = time.monotonic()
        ladder = await stop_ladder(
            procs, int(rec.get("stop_signal", 15)), float(rec.get("stop_timeout", 10)), pgid
        )
        result.reports.append(StopReport(name, time.monotonic() - began, ladder.killed))

    await stop_in_reverse_order(deps, stop_one)
    if not names:
        result.count += await _stop_keeper(state)
    for name in targets:
        if name in records:
            rec = records[name]
            rec.update(state=statefile.unsupervised_state(rec, alive=False))
            rec.update(pid=None, create_time=None, ready_at=None)
    if not names:
        state["selected"] = []
        state.setdefault("supervisor", {})["running"] = False
    if write:
        statefile.write(state_dir, state)
    return result


async def _stop_keeper(state: StackState) -> int:
    """After a full stop: what still runs under the keeper (orphans that cleared their
    environment) is stopped, then the keeper, which exits by itself once no service
    runs and no supervisor is connected (SIGTERM asks it, should it linger)."""
    keeper = keeper_process(state)
    if keeper is None:
        return 0
    under = [p for p in processes.tree(keeper.pid) if p.pid != keeper.pid]
    if under:
        await stop_ladder(under, signal.SIGTERM, 5.0)
    if await processes.wait_gone([keeper], KEEPER_EXIT_WAIT):
        processes.signal_processes([keeper], signal.SIGTERM)
        await processes.wait_gone([keeper], KEEPER_EXIT_WAIT)
    return len(under)


async def reclaim(state_dir: Path) -> int:
    """`up --fresh`: stop what the last supervisor left running, if it died. Returns
    the number of processes stopped (0 when there was nothing)."""
    state = statefile.read(state_dir)
    if state is None or statefile.supervisor_alive(state):
        return 0
    return (await stop(state_dir, state, [])).count
