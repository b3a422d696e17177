"""Before a new supervisor starts (foreground `up` or the one `up -d` spawns): what a
supervisor that died left running, and the port check.

By default its services are left running: the new supervisor adopts the ones it can
and stops the rest (`server/supervisor_process.py`). `--fresh` stops them all first,
as a restart from scratch.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable

from stackup.app import offsets
from stackup.app.offsets import Chosen, PortOffset
from stackup.config.model import Stack
from stackup.errors import PortConflictError
from stackup.render import plural
from stackup.server import portclaims, statefile
from stackup.system import processes
from stackup.system.preflight import check_ports_free


def prepare_start(
    stack: Stack, selection: list[str], fresh: bool, port_offset: PortOffset = None
) -> Chosen:
    """Under the supervisor lock, before a new supervisor starts: `fresh` stops what a
    dead one left running; `--port-offset auto` chooses the offset (`app/offsets.py`);
    then refuse (exit 3) a port held by a stranger or claimed by another stack
    starting. Returns the stack as it will run. A refused start leaves no stale states
    (nor claims) behind."""
    state_dir = stack.state_dir
    if fresh:
        reclaim_leftovers(stack)
    ours = left_by_a_dead_supervisor(stack)
    chosen = offsets.Chosen(stack, None if port_offset == offsets.AUTO else port_offset)
    try:
        if port_offset == offsets.AUTO:
            # A dead supervisor's services still run on their ports: keep them, to adopt.
            keep = offsets.recorded_offset(state_dir) if dead_run_still_runs(stack) else None
            chosen = offsets.choose(stack, selection, keep)
            check_ports_free(chosen.stack, selection, ours=ours)
        else:
            check_ports_free(stack, selection, ours=ours)
            offsets.claim_fixed(stack, selection)
    except PortConflictError:
        statefile.retire(state_dir)
        if port_offset == offsets.AUTO:
            portclaims.release(state_dir)
        raise
    return chosen


def dead_run_still_runs(stack: Stack) -> bool:
    """Does a service a supervisor that died started still run (its recorded pid and
    start time, with the run's marker)? Then the stack keeps its ports, to adopt it."""
    state = statefile.read(stack.state_dir)
    if state is None or statefile.supervisor_alive(state):
        return False
    instance = state.get("instance")
    return any(statefile.live_process(rec, instance) is not None
               for rec in (state.get("services") or {}).values())


def left_by_a_dead_supervisor(stack: Stack) -> Callable[[int], bool]:
    """Is a port's holder something a supervisor that died left running (it carries
    that run's marker)? Asked of a held port's holder only: no scan of every process."""
    state = statefile.read(stack.state_dir)
    if state is None or statefile.supervisor_alive(state) or not state.get("instance"):
        return lambda pid: False
    instance = state["instance"]

    def ours(pid: int) -> bool:
        proc = processes.process_or_none(pid)
        return proc is not None and processes.carries_marker(proc, instance)

    return ours


def reclaim_leftovers(stack: Stack) -> None:
    """Stop what a supervisor that died left running, before starting afresh: those
    processes are this stack's (they carry its marker) and hold its ports."""
    from stackup.server import leftovers  # the engine's stop machinery: only for --fresh

    count = asyncio.run(leftovers.reclaim(stack.state_dir))
    if count:
        sys.stderr.write(
            f"stackup: stopped {plural(count, 'process', 'processes')} left running by an "
            "earlier stackup whose supervisor died\n"
        )
