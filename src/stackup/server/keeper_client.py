"""The supervisor's connection to its stack's output keeper (`server/keeper.py`), and
the engine's `Launcher`: services are spawned by the keeper, their exits reported by
it, their processes handed to the engine as `ServiceProcess` handles.

The first supervisor of a stack starts the keeper; a supervisor that takes over from
one that died connects to the keeper still running and learns from it which services
live (and which exited while nobody supervised them, with their exit codes). Should
the keeper itself go away, the exits of the processes it started are noticed by
watching them (their codes are then unknown) and the next spawn starts a new keeper.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import subprocess
import time
from pathlib import Path
from typing import Any

import psutil

from stackup.config.model import Service
from stackup.engine.service_process import ServiceProcess, SpawnError, service_argv, user_ids
from stackup.polling import apoll_until
from stackup.server import keeper
from stackup.server.keeper import PROTOCOL, SOCKET_NAME
from stackup.server.sockets import socket_path
from stackup.system import processes

START_DEADLINE = 10.0  # seconds for a new keeper to answer
EXIT_UNKNOWN = -255  # the code of a process whose exit only the lost keeper knew
MAX_MESSAGE = 1 << 24


class KeeperError(OSError):
    pass


class KeeperClient:
    def __init__(
        self, state_dir: Path, started: keeper.Forked | subprocess.Popen[bytes] | None = None
    ) -> None:
        """`started`: a keeper the caller already started (`keeper.spawn`), whose
        start-up overlapped the caller's own."""
        self.state_dir = state_dir
        self.pid: int | None = None
        self.create_time: float | None = None
        self.known: dict[str, dict[str, Any]] = {}  # what hello said: service -> record
        self._popen = started  # the keeper we started, if we did
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._listen: asyncio.Task[None] | None = None
        self._ids = itertools.count(1)
        self._replies: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._hello: asyncio.Future[dict[str, Any]] | None = None
        self._exits: dict[int, asyncio.Future[int]] = {}  # pid -> done when it exits
        self._exits_seen: dict[int, asyncio.Future[int]] = {}  # until spawn() takes it
        self._leaders: set[int] = set()
        self._watchers: set[asyncio.Task[None]] = set()  # exits watched without a keeper

    # ---- connection ---------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._writer is not None and not self._writer.is_closing()

    async def connect(self, start: bool = True) -> bool:
        """Connect to the stack's keeper, starting one when none answers and `start`;
        False when none answers and none was to be started."""
        if not await self._try_connect():
            if not start and self._popen is None:
                return False
            if self._popen is None:
                # By now this process has threads (asyncio's): no fork.
                self._popen = keeper.spawn(self.state_dir, fork=False)

            async def answers() -> bool:
                if self._popen is not None and self._popen.poll() is not None:
                    raise KeeperError(
                        f"the output keeper exited with code {self._popen.returncode}; "
                        f"see {self.state_dir / 'keeper.log'}"
                    )
                return await self._try_connect()

            if not await apoll_until(answers, START_DEADLINE):
                raise KeeperError(f"the output keeper did not answer within {START_DEADLINE:g}s")
        hello = await self._request_hello()
        if hello.get("protocol") != PROTOCOL:
            raise KeeperError(f"the output keeper speaks protocol {hello.get('protocol')}")
        self.pid = int(hello["pid"])
        proc = processes.process_or_none(self.pid)
        self.create_time = proc.create_time() if proc is not None else None
        self.known = dict(hello.get("services") or {})
        return True

    async def _try_connect(self) -> bool:
        try:
            self._reader, self._writer = await asyncio.open_unix_connection(
                str(socket_path(self.state_dir, SOCKET_NAME)), limit=MAX_MESSAGE
            )
        except OSError:
            return False
        self._listen = asyncio.create_task(self._read_events(self._reader))
        return True

    async def _request_hello(self) -> dict[str, Any]:
        self._hello = asyncio.get_running_loop().create_future()
        self._send({"op": "hello"})
        async with asyncio.timeout(START_DEADLINE):
            return await self._hello

    def _send(self, message: dict[str, Any]) -> None:
        if not self.connected:
            raise KeeperError("the output keeper is gone")
        assert self._writer is not None
        self._writer.write((json.dumps(message) + "\n").encode())

    async def _read_events(self, reader: asyncio.StreamReader) -> None:
        try:
            while True:
                line = await reader.readline()
                if not line:
                    break
                self._dispatch(json.loads(line))
        except (OSError, ValueError):
            pass
        finally:
            self._lost()

    def _dispatch(self, msg: dict[str, Any]) -> None:
        ev = msg.get("ev")
        if ev == "hello" and self._hello is not None and not self._hello.done():
            self._hello.set_result(msg)
        elif ev in ("spawned", "spawn_failed"):
            if ev == "spawned":
                # Registered now, not when spawn() resumes: an exit at once arrives
                # in the same read as "spawned" and is dispatched right after it.
                self._exit_future(int(msg["pid"]))
            reply = self._replies.pop(int(msg["id"]), None)
            if reply is not None and not reply.done():
                reply.set_result(msg)
        elif ev == "exited":
            pid = int(msg["pid"])
            self._leaders.discard(pid)
            exited = self._exits.pop(pid, None)
            if exited is not None and not exited.done():
                exited.set_result(int(msg["code"]))

    def _lost(self) -> None:
        """The keeper went away: what it started is watched instead (codes unknown)."""
        if self._writer is not None:
            self._writer.close()
        self._writer = None
        for reply in self._replies.values():
            if not reply.done():
                reply.set_result({"ev": "spawn_failed", "error": "the output keeper is gone"})
        self._replies.clear()
        for pid, exited in list(self._exits.items()):
            task = asyncio.get_running_loop().create_task(self._watch_without_keeper(pid, exited))
            self._watchers.add(task)
            task.add_done_callback(self._watchers.discard)

    async def _watch_without_keeper(self, pid: int, exited: asyncio.Future[int]) -> None:
        proc = processes.process_or_none(pid)
        if proc is not None:
            await processes.wait_gone([proc], float("inf"))
        if not exited.done():
            exited.set_result(EXIT_UNKNOWN)

    # ---- the Launcher the engine uses -------------------------------------------------

    async def spawn(self, service: Service, env: dict[str, str]) -> ServiceProcess:
        if not service.cwd.is_dir():
            raise SpawnError(f"working directory {service.cwd} does not exist")
        ids = user_ids(service.user)
        if not self.connected:
            await self.connect()  # the keeper went away: a new one for new services
        reply_id = next(self._ids)
        reply = asyncio.get_running_loop().create_future()
        self._replies[reply_id] = reply
        self._send({
            "op": "spawn", "id": reply_id, "service": service.name,
            "argv": service_argv(service), "cwd": str(service.cwd), "env": env,
            "uid": ids[0] if ids else None, "gid": ids[1] if ids else None,
        })
        # Shielded: a spawn the keeper has started must be seen through, or its
        # process would run with nobody knowing its pid.
        msg = await asyncio.shield(reply)
        if msg["ev"] == "spawn_failed":
            raise SpawnError(f"cannot run {service.command!r}: {msg['error']}")
        pid = int(msg["pid"])
        return ServiceProcess(service, pid, self._exits_seen.pop(pid))

    def _exit_future(self, pid: int) -> asyncio.Future[int]:
        exited = asyncio.get_running_loop().create_future()
        self._exits[pid] = exited
        self._exits_seen[pid] = exited
        self._leaders.add(pid)
        return exited

    def adopt(self, service: Service, pid: int, started_at: float) -> ServiceProcess | None:
        """A handle on a service the keeper runs for a supervisor that died; None when
        the keeper does not run that pid for that service (any more)."""
        rec = self.known.get(service.name)
        if rec is None or int(rec.get("pid") or 0) != pid or not rec.get("running"):
            return None
        uptime = max(0.0, time.time() - started_at)
        exited = self._exit_future(pid)
        self._exits_seen.pop(pid, None)
        return ServiceProcess(service, pid, exited, started_at, uptime)

    def orphans(self) -> list[psutil.Process]:
        """The keeper's children that are not service leaders: orphans of the services
        it adopted as subreaper."""
        if self.pid is None:
            return []
        keeper = processes.same_process(self.pid, self.create_time)
        if keeper is None:
            return []
        try:
            kids = keeper.children()
        except psutil.Error:
            return []
        return [p for p in kids if p.pid not in self._leaders and not processes.is_gone(p)]

    def note(self, service: str, text: str, when: float) -> None:
        """A `[stackup]` line into the service's log (dropped when the keeper is gone)."""
        with contextlib.suppress(KeeperError):
            self._send({"op": "note", "service": service, "text": text, "time": when})

    async def close(self, quit: bool = True, timeout: float = 5.0) -> None:
        """Tell the keeper to exit once no service runs (`quit`), wait until it did,
        and close the connection."""
        if quit and self.connected:
            with contextlib.suppress(KeeperError, OSError):
                self._send({"op": "quit"})
                assert self._writer is not None
                await self._writer.drain()
        if quit:
            await self._wait_keeper_gone(timeout)
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(OSError):
                await self._writer.wait_closed()
        if self._listen is not None:
            self._listen.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listen
        for task in list(self._watchers):
            task.cancel()
        await asyncio.gather(*self._watchers, return_exceptions=True)

    async def _wait_keeper_gone(self, timeout: float) -> None:
        if self._popen is not None:  # our child: reap it
            popen = self._popen
            await apoll_until(lambda: popen.poll() is not None, timeout)
            return
        if self.pid is not None:
            proc = processes.same_process(self.pid, self.create_time)
            if proc is not None:
                await processes.wait_gone([proc], timeout)
