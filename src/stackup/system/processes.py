"""Processes stackup started: their identity, trees, instance markers and signals.

The only module that signals processes or walks process trees (via psutil), so the
rule "never signal a process stackup did not start" is enforced in one place: a
process is signalled only when it is a descendant of a service stackup spawned, or
carries that service's instance marker in its environment, and its creation time
still matches what was seen.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable
from typing import TYPE_CHECKING

import psutil

# The markers every service carries (defined with the other names stackup gives).
from stackup.naming import MARKER_INSTANCE as MARKER_INSTANCE
from stackup.naming import MARKER_SERVICE as MARKER_SERVICE
from stackup.polling import apoll_until

if TYPE_CHECKING:
    import asyncio


def is_gone(proc: psutil.Process) -> bool:
    """A process that exited counts as gone even while it is an unreaped zombie."""
    try:
        return not proc.is_running() or proc.status() == psutil.STATUS_ZOMBIE
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return True


def process_or_none(pid: int) -> psutil.Process | None:
    try:
        return psutil.Process(pid)
    except (psutil.NoSuchProcess, psutil.AccessDenied, ValueError):
        return None


def same_process(pid: int | None, create_time: float | None) -> psutil.Process | None:
    """The live process `pid` if it is still the one created at `create_time`.

    A pid alone is not an identity: after a process exits its pid can be reused.
    """
    if not pid or create_time is None:
        return None
    proc = process_or_none(int(pid))
    if proc is None or is_gone(proc):
        return None
    try:
        return proc if abs(proc.create_time() - float(create_time)) < 0.01 else None
    except psutil.Error:
        return None


def carries_marker(proc: psutil.Process, instance: str) -> bool:
    """Does the process carry this stackup instance's marker in its environment?"""
    try:
        return proc.environ().get(MARKER_INSTANCE) == instance
    except (psutil.Error, OSError):
        return False


def marker(proc: psutil.Process) -> tuple[str, str] | None:
    """(instance, service) of the stackup run that started the process, if any."""
    try:
        env = proc.environ()
    except (psutil.Error, OSError):
        return None
    instance = env.get(MARKER_INSTANCE)
    return (instance, env.get(MARKER_SERVICE, "")) if instance else None


def tree(pid: int) -> list[psutil.Process]:
    """The process and all its descendants still alive (not zombies)."""
    root = process_or_none(pid)
    if root is None:
        return []
    try:
        procs = [root, *root.children(recursive=True)]
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        procs = [root]
    return [p for p in procs if not is_gone(p)]


def newer_descendants(pid: int) -> list[int]:
    """Descendants of `pid` among the processes started after it (larger pids), from
    `/proc/<pid>/stat` of those alone. Finding a service's children is on every
    readiness check's path (which process holds the port?), and psutil's walk reads
    every process on the machine, most of them older than the service. Misses a
    descendant whose pid wrapped around below `pid` (and finds none off Linux):
    callers fall back to `tree`."""
    children: dict[int, list[int]] = {}
    try:
        names = os.listdir("/proc")
    except OSError:
        return []
    for name in names:
        if not name.isdigit() or int(name) <= pid:
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                stat = f.read()
            # "pid (comm) state ppid …": comm may hold spaces and parentheses
            ppid = int(stat.rpartition(b")")[2].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(name))
    found: list[int] = []
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), ()):
            found.append(child)
            todo.append(child)
    return found


def marked_processes(instance: str) -> dict[str, list[psutil.Process]]:
    """Live processes carrying this stackup instance's marker, grouped by service name."""
    found: dict[str, list[psutil.Process]] = {}
    me = os.getpid()
    for proc in psutil.process_iter():
        if proc.pid == me:
            continue
        try:
            env = proc.environ()
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess, OSError):
            continue
        if env.get(MARKER_INSTANCE) == instance and not is_gone(proc):
            found.setdefault(env.get(MARKER_SERVICE, ""), []).append(proc)
    return found


def command_line(proc: psutil.Process) -> str:
    try:
        # One line whatever the arguments hold (a `python -c` program has newlines).
        cmd = " ".join(" ".join(proc.cmdline()).split()) or proc.name()
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return "?"
    return cmd if len(cmd) <= 120 else cmd[:117] + "..."


def signal_group(pgid: int, sig: int) -> None:
    """Signal a process group we created; an empty group is not an error."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def signal_processes(procs: Iterable[psutil.Process], sig: int) -> None:
    """Signal each process if it is still the same process (psutil checks pid reuse)."""
    for proc in procs:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            proc.send_signal(sig)


def alive(procs: Iterable[psutil.Process]) -> list[psutil.Process]:
    return [p for p in procs if not is_gone(p)]


async def wait_gone(
    procs: list[psutil.Process], timeout: float, interrupt: asyncio.Event | None = None
) -> list[psutil.Process]:
    """Wait until every process is gone, the timeout passes, or `interrupt` is set.

    Returns the processes still alive. Polling starts tight (most services exit within
    milliseconds of SIGTERM) and backs off, so a slow stop costs little CPU.
    """
    remaining = alive(procs)

    def all_gone() -> bool:
        remaining[:] = alive(remaining)
        return not remaining

    if remaining:
        await apoll_until(all_gone, timeout, interrupt=interrupt)
    return remaining
