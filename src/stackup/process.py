"""One service's OS process: spawn it in its own session, relay its output, stop it.

The stop ladder lives here and only here: stop signal to the process group (and to
descendants that left it), a bounded wait, then SIGKILL to everything that was found
before the first signal, then a bounded wait. Ctrl-C, SIGTERM, fail-fast and tests
all use it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import Callable

import psutil

from stackup import oskit, output
from stackup.config.model import Service

KILL_WAIT = 2.0  # after SIGKILL; the kernel needs milliseconds, a D-state process longer


class SpawnError(Exception):
    """The service's command could not be started at all (missing cwd, binary…)."""


def _user_kwargs(user: str | None) -> dict[str, object]:
    """Run as `user` when we are root (PostgreSQL refuses to run as root); else ignored."""
    if not user or os.geteuid() != 0:
        return {}
    import pwd

    try:
        entry = pwd.getpwnam(user)
    except KeyError as exc:
        raise SpawnError(f"no such user: {user}") from exc
    return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}


class ServiceProcess:
    """A running instance of a service's command."""

    def __init__(
        self,
        service: Service,
        env: dict[str, str],
        on_output: Callable[[list[str], float], None],
    ) -> None:
        self.service = service
        self.env = env
        self.on_output = on_output
        self.proc: asyncio.subprocess.Process | None = None
        self.pid: int | None = None
        self.create_time: float | None = None
        self.started_at: float | None = None
        self._pump: asyncio.Task[None] | None = None
        self._waiter: asyncio.Task[int] | None = None

    async def spawn(self) -> None:
        svc = self.service
        kwargs: dict[str, object] = dict(
            cwd=str(svc.cwd),
            env=self.env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,  # one pipe keeps stdout/stderr in order
            start_new_session=True,  # own session and process group: Ctrl-C reaches only us
            limit=output.CHUNK,
            **_user_kwargs(svc.user),
        )
        if not svc.cwd.is_dir():
            raise SpawnError(f"working directory {svc.cwd} does not exist")
        argv = ["/bin/sh", "-c", svc.command] if isinstance(svc.command, str) else svc.command
        # Creating a subprocess must not be cancelled half-way: asyncio then kills the
        # new child and waits for an exit it may never be told about (seen on 3.11),
        # hanging the caller. So creation runs shielded; a cancelled spawn lets it
        # finish, kills what it started, and only then passes the cancellation on.
        creating = asyncio.ensure_future(asyncio.create_subprocess_exec(*argv, **kwargs))
        try:
            proc = await asyncio.shield(creating)
        except OSError as exc:
            raise SpawnError(f"cannot run {svc.command!r}: {exc.strerror or exc}") from exc
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                started = await creating
                oskit.signal_group(started.pid, signal.SIGKILL)
                await started.wait()
            raise
        self.proc = proc
        self.pid = proc.pid
        self.started_at = time.time()
        oskit.register_spawned(proc.pid)
        with contextlib.suppress(psutil.Error):
            self.create_time = psutil.Process(proc.pid).create_time()
        assert proc.stdout is not None
        self._pump = asyncio.create_task(output.pump(proc.stdout, self.on_output))
        self._waiter = asyncio.create_task(self._wait())

    async def _wait(self) -> int:
        assert self.proc is not None
        code = await self.proc.wait()
        oskit.forget_spawned(self.proc.pid)
        return code

    @property
    def returncode(self) -> int | None:
        return self.proc.returncode if self.proc else None

    async def wait(self) -> int:
        """The exit code, once the process exited and its output is fully relayed."""
        assert self._waiter is not None and self._pump is not None
        code = await asyncio.shield(self._waiter)
        # A grandchild may keep the pipe open after the leader exits; don't hang on it.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(0.5):
                await asyncio.shield(self._pump)
        return code

    def exited(self) -> asyncio.Task[int]:
        assert self._waiter is not None
        return self._waiter

    def tree_pids(self) -> list[int]:
        return [p.pid for p in oskit.tree(self.pid)] if self.pid else []

    async def stop(
        self,
        extra: list[psutil.Process] | None = None,
        kill_now: asyncio.Event | None = None,
    ) -> int | None:
        """Stop the service and every process it started; return the leader's exit code.

        `extra` are processes found by instance marker (escaped or orphaned descendants).
        """
        if self.pid is None:
            return None
        # Snapshot before the first signal: once the leader exits, children that left
        # its process group are orphaned and no walk from the leader finds them.
        procs = [*oskit.tree(self.pid), *(extra or [])]
        await stop_ladder(
            procs, self.service.stop_signal, self.service.stop_timeout, self.pid, kill_now
        )
        return await self.wait()


async def stop_ladder(
    procs: list[psutil.Process],
    stop_signal: int,
    stop_timeout: float,
    pgid: int | None = None,
    kill_now: asyncio.Event | None = None,
) -> list[psutil.Process]:
    """The one stop ladder: signal → bounded wait → SIGKILL → bounded wait.

    The stop signal goes to the process group and to every process that left it; the
    SIGKILL to the group and to every process of the snapshot still alive. Returns
    what survived even SIGKILL (normally nothing).
    """
    procs = oskit.alive({p.pid: p for p in procs}.values())
    if not procs and pgid is None:
        return []
    if kill_now is None or not kill_now.is_set():
        if pgid is not None:
            oskit.signal_group(pgid, stop_signal)
        oskit.signal_processes([p for p in procs if _pgid(p) != pgid], stop_signal)
        procs = await oskit.wait_gone(procs, stop_timeout, kill_now)
    if procs:
        if pgid is not None:
            oskit.signal_group(pgid, signal.SIGKILL)
        oskit.signal_processes(procs, signal.SIGKILL)
        procs = await oskit.wait_gone(procs, KILL_WAIT)
    return procs


def _pgid(proc: psutil.Process) -> int | None:
    try:
        return os.getpgid(proc.pid)
    except (ProcessLookupError, PermissionError):
        return None
