"""The one stop ladder: stop signal → bounded wait → SIGKILL → bounded wait.

Used by Ctrl-C, SIGTERM, `down` (with or without a supervisor), fail-fast, restarts
and tests; the callers differ only in which processes they hand it.
"""

from __future__ import annotations

import asyncio
import os
import signal

import psutil

from stackup.system import processes

KILL_WAIT = 2.0  # after SIGKILL; the kernel needs milliseconds, a D-state process longer


class Survivors(list[psutil.Process]):
    """What a ladder left alive even after SIGKILL (normally nothing), and whether the
    stop signal was not enough: `killed` is True when SIGKILL had to be sent."""

    killed: bool = False


async def stop_ladder(
    procs: list[psutil.Process],
    stop_signal: int,
    stop_timeout: float,
    pgid: int | None = None,
    kill_now: asyncio.Event | None = None,
) -> Survivors:
    """The one stop ladder: signal → bounded wait → SIGKILL → bounded wait.

    The stop signal goes to the process group and to every process that left it; the
    SIGKILL to the group and to every process of the snapshot still alive. Returns
    what survived even SIGKILL (normally nothing), saying whether SIGKILL was needed.
    """
    result = Survivors()
    procs = processes.alive({p.pid: p for p in procs}.values())
    # Signal the group only while one of our (identity-checked) processes is in it:
    # the kernel keeps a group id from being reused while it has members, but an
    # empty group's id may already be some other process's new session.
    if pgid is not None and not any(_pgid(p) == pgid for p in procs):
        pgid = None
    if not procs:
        return result
    if kill_now is None or not kill_now.is_set():
        if pgid is not None:
            processes.signal_group(pgid, stop_signal)
        processes.signal_processes([p for p in procs if _pgid(p) != pgid], stop_signal)
        procs = await processes.wait_gone(procs, stop_timeout, kill_now)
    if procs:
        result.killed = True
        if pgid is not None:
            processes.signal_group(pgid, signal.SIGKILL)
        processes.signal_processes(procs, signal.SIGKILL)
        result += await processes.wait_gone(procs, KILL_WAIT)
    return result


def _pgid(proc: psutil.Process) -> int | None:
    try:
        return os.getpgid(proc.pid)
    except (ProcessLookupError, PermissionError):
        return None
