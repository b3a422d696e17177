"""One running instance of a service's command, as the engine sees it, and the seam
that starts one.

The engine never forks services itself: a `Launcher` does (in stackup, the output
keeper, which is their parent and holds their output; in unit tests, a fake). What
comes back is a `ServiceProcess`: the pid, its identity (pid + creation time), a
future done the moment the process exits, and `stop`, which takes a snapshot of the
process tree and runs the one stop ladder (`system.stopping.stop_ladder`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Iterator
from typing import Protocol

import psutil

from stackup.config.model import Service
from stackup.system import processes
from stackup.system.stopping import stop_ladder

EXIT_REPORT_WAIT = 2.0  # after the ladder: how long the exit may take to be reported


class SpawnError(Exception):
    """The service's command could not be started at all (missing cwd, binary, user…)."""


class Launcher(Protocol):
    async def spawn(self, service: Service, env: dict[str, str]) -> ServiceProcess:
        """Start the service's command in its own session; raise SpawnError."""
        ...

    def orphans(self) -> list[psutil.Process]:
        """Processes of the stack whose parent exited (adopted by the services' parent)."""
        ...


def service_argv(service: Service) -> list[str]:
    command = service.command
    return ["/bin/sh", "-c", command] if isinstance(command, str) else list(command)


def user_ids(user: str | None) -> tuple[int, int] | None:
    """(uid, gid) to run as `user` when we are root (PostgreSQL refuses to run as
    root); None when there is no user or we are not root (then it is ignored)."""
    if not user or os.geteuid() != 0:
        return None
    import pwd

    try:
        entry = pwd.getpwnam(user)
    except KeyError as exc:
        raise SpawnError(f"no such user: {user}") from exc
    return entry.pw_uid, entry.pw_gid


class ServiceProcess:
    """A running (or just ended) instance of a service's command."""

    def __init__(
        self,
        service: Service,
        pid: int,
        exited: asyncio.Future[int],
        started_at: float | None = None,
        uptime: float = 0.0,
    ) -> None:
        self.service = service
        self.pid = pid
        self._exited = exited
        self.started_at = time.time() - uptime if started_at is None else started_at
        # monotonic: uptime and backoff never jump with the wall clock
        self.started_mono = time.monotonic() - uptime
        self._leader = processes.process_or_none(pid)  # pid + creation time: its identity

    @property
    def create_time(self) -> float | None:
        """The leader's creation time: with the pid, what identifies it in state.json."""
        if self._leader is None:
            return None
        try:
            return self._leader.create_time()
        except psutil.Error:
            return None

    @property
    def returncode(self) -> int | None:
        return self._exited.result() if self._exited.done() else None

    def exited(self) -> asyncio.Future[int]:
        """Done the moment the process exits (whatever holds its output pipe)."""
        return self._exited

    async def wait(self) -> int:
        return await asyncio.shield(self._exited)

    def tree_pids(self) -> list[int]:
        return [p.pid for p in self._tree()]

    def leader_first_pids(self) -> Iterator[int]:
        """The leader's pid, then its descendants', each step only if the caller reads
        on: most servers hold their listener in the leader or in a child started after
        it (`sh -c "…"`), and psutil's full walk reads every process on the machine (~4
        ms with 600 of them, on each readiness check): it comes last."""
        if self._leader is None or self.returncode is not None:
            return
        if processes.is_gone(self._leader):
            return
        leader = self._leader.pid
        yield leader
        seen = {leader}
        for pid in processes.newer_descendants(leader):
            seen.add(pid)
            yield pid
        for proc in processes.tree(leader):
            if proc.pid not in seen:
                yield proc.pid

    def _tree(self) -> list[psutil.Process]:
        """The leader and its descendants, if the leader is still *our* process: once
        it has exited its pid may belong to anyone, so the pid alone is never used."""
        if self._leader is None or self.returncode is not None:
            return []
        if processes.is_gone(self._leader):
            return []
        return processes.tree(self._leader.pid)

    async def stop(
        self,
        extra: list[psutil.Process] | None = None,
        kill_now: asyncio.Event | None = None,
    ) -> tuple[int | None, bool]:
        """Stop the service and every process it started: (the leader's exit code,
        whether SIGKILL was needed). `extra` are processes found by instance marker
        (escaped or orphaned descendants)."""
        # Snapshot before the first signal: once the leader exits, children that left
        # its process group are orphaned and no walk from the leader finds them.
        procs = [*self._tree(), *(extra or [])]
        ladder = await stop_ladder(
            procs, self.service.stop_signal, self.service.stop_timeout, self.pid, kill_now
        )
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(EXIT_REPORT_WAIT):
                await self.wait()
        return self.returncode, ladder.killed
