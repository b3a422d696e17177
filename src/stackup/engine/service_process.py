"""One service's OS process: spawn it in its own session, relay its output, stop it
(through the one stop ladder, `system.stopping.stop_ladder`)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import Callable

import psutil

from stackup.config.model import Service
from stackup.engine.lines import LineSplitter
from stackup.system import children, processes
from stackup.system.stopping import stop_ladder


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


class _ServiceProtocol(asyncio.SubprocessProtocol):
    """Receives the service's output and notices its exit.

    The exit is seen the moment the process exits: asyncio's `Process.wait()` on 3.11
    also waits until every pipe is closed, so a child that keeps stdout open (`npm`
    running `node`, `sh -c "x & y"`) would hide a crash. Output is split as it arrives,
    synchronously: the loop reads the pipe again only once a batch has been relayed,
    which is all the back-pressure a fast writer needs.
    """

    def __init__(self, on_output: Callable[[list[str], float], None]) -> None:
        loop = asyncio.get_running_loop()
        self.on_output = on_output
        self.splitter = LineSplitter()
        self.exited: asyncio.Future[int] = loop.create_future()
        self.output_closed: asyncio.Future[None] = loop.create_future()
        self.transport: asyncio.SubprocessTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def pipe_data_received(self, fd: int, data: bytes) -> None:
        lines = self.splitter.feed(data)
        if lines:
            self.on_output(lines, time.time())

    def pipe_connection_lost(self, fd: int, exc: Exception | None) -> None:
        tail = self.splitter.flush()
        if tail:
            self.on_output(tail, time.time())
        if not self.output_closed.done():
            self.output_closed.set_result(None)

    def process_exited(self) -> None:
        assert self.transport is not None
        code = self.transport.get_returncode()
        if not self.exited.done():
            self.exited.set_result(code if code is not None else -1)


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
        self.pid: int | None = None
        self.started_at: float | None = None
        self._leader: psutil.Process | None = None  # pid + creation time: its identity
        self._protocol: _ServiceProtocol | None = None

    async def spawn(self) -> None:
        svc = self.service
        if not svc.cwd.is_dir():
            raise SpawnError(f"working directory {svc.cwd} does not exist")
        argv = ["/bin/sh", "-c", svc.command] if isinstance(svc.command, str) else svc.command
        loop = asyncio.get_running_loop()
        protocol = _ServiceProtocol(self.on_output)

        async def kill(created: tuple[asyncio.SubprocessTransport, object]) -> None:
            processes.signal_group(created[0].get_pid(), signal.SIGKILL)
            await protocol.exited

        try:
            transport, _ = await children.spawn_shielded(
                loop.subprocess_exec(
                    lambda: protocol,
                    *argv,
                    cwd=str(svc.cwd),
                    env=self.env,
                    stdin=asyncio.subprocess.DEVNULL,
                    stdout=asyncio.subprocess.PIPE,
                    stderr=asyncio.subprocess.STDOUT,  # one pipe keeps the two in order
                    start_new_session=True,  # own session and group: Ctrl-C reaches only us
                    **_user_kwargs(svc.user),
                ),
                lambda created: created[0].get_pid(),
                kill,
            )
        except OSError as exc:
            raise SpawnError(f"cannot run {svc.command!r}: {exc.strerror or exc}") from exc
        self._protocol = protocol
        self.pid = transport.get_pid()
        self.started_at = time.time()
        self._leader = processes.process_or_none(self.pid)
        protocol.exited.add_done_callback(lambda _: children.forget_spawned(self.pid or 0))

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
        if self._protocol is None or not self._protocol.exited.done():
            return None
        return self._protocol.exited.result()

    def exited(self) -> asyncio.Future[int]:
        """Done the moment the process exits (whatever holds its output pipe)."""
        assert self._protocol is not None
        return self._protocol.exited

    async def wait(self) -> int:
        """The exit code, once the process exited and its output is relayed."""
        assert self._protocol is not None
        code = await asyncio.shield(self._protocol.exited)
        # A grandchild may keep the pipe open after the leader exits; don't hang on it.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(0.5):
                await asyncio.shield(self._protocol.output_closed)
        return code

    def tree_pids(self) -> list[int]:
        return [p.pid for p in self._tree()]

    def _tree(self) -> list[psutil.Process]:
        """The leader and its descendants, if the leader is still *our* process: once
        it has exited its pid may belong to anyone, so the pid alone is never used."""
        if self._leader is None or self.returncode is not None or processes.is_gone(self._leader):
            return []
        return processes.tree(self._leader.pid)

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
        procs = [*self._tree(), *(extra or [])]
        await stop_ladder(
            procs, self.service.stop_signal, self.service.stop_timeout, self.pid, kill_now
        )
        return await self.wait()
