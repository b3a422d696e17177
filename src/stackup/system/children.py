"""The supervisor's own children: spawning that cancellation cannot cut in half, and
the orphans it adopts as child subreaper (and must reap itself, without ever stealing
an exit from asyncio's child watcher)."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
from collections.abc import Awaitable, Callable
from typing import TypeVar

import psutil

from stackup.system.processes import is_gone, process_or_none

_PR_SET_CHILD_SUBREAPER = 36

# Pids this process spawned through asyncio: asyncio's child watcher reaps them, so
# the adopted-orphan reaper below must never wait for them. While a spawn is under
# way its pid is not known yet, so the reaper stays away altogether.
_spawned: set[int] = set()
_spawning = 0

T = TypeVar("T")


def register_spawned(pid: int) -> None:
    _spawned.add(pid)


def forget_spawned(pid: int) -> None:
    _spawned.discard(pid)


async def spawn_shielded(
    creation: Awaitable[T], pid_of: Callable[[T], int], kill: Callable[[T], Awaitable[None]]
) -> T:
    """Run a subprocess creation that cancellation cannot cut in half.

    Cancelling asyncio's subprocess creation half-way makes it kill the new child and
    wait for an exit it may never be told about (seen on 3.11): the caller hangs. So
    the creation is shielded; when the caller is cancelled, the creation finishes,
    `kill` stops what it started, and then the cancellation goes on.
    """
    global _spawning
    _spawning += 1
    task = asyncio.ensure_future(creation)
    try:
        created = await asyncio.shield(task)
    except asyncio.CancelledError:
        with contextlib.suppress(Exception):
            created = await task
            register_spawned(pid_of(created))
            await kill(created)
        raise
    finally:
        _spawning -= 1
    register_spawned(pid_of(created))  # no await since the creation: no reaper ran
    return created


def become_subreaper() -> bool:
    """Adopt orphaned descendants (Linux), so a grandchild whose parent exited stays in reach."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _child_pids() -> list[int]:
    """Our direct children, from /proc (cheap: no scan of every process)."""
    me = os.getpid()
    pids: list[int] = []
    try:
        for tid in os.listdir(f"/proc/{me}/task"):
            with open(f"/proc/{me}/task/{tid}/children") as f:
                pids += [int(p) for p in f.read().split()]
    except OSError:
        return [c.pid for c in psutil.Process().children()]
    return pids


def adopted_children() -> list[psutil.Process]:
    """Live children asyncio did not spawn: orphans of the stack's services that we
    adopted as subreaper (only our own descendants can be reparented to us)."""
    if _spawning:
        return []
    found = []
    for pid in _child_pids():
        proc = process_or_none(pid) if pid not in _spawned else None
        if proc is not None and not is_gone(proc):
            found.append(proc)
    return found


def reap_adopted_children() -> int:
    """Reap zombie children asyncio does not own (adopted orphans that exited).

    Never waitpid(-1), which would steal exits from asyncio's child watcher: only
    specific pids, never one asyncio spawned, and not while a spawn is under way.
    Returns how many were reaped.
    """
    if _spawning:
        return 0
    reaped = 0
    for pid in _child_pids():
        if pid in _spawned:
            continue
        with contextlib.suppress(ChildProcessError, OSError):
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                reaped += 1
    return reaped
