"""The running supervisor process: a Supervisor plus what makes it reachable from
other terminals — the state file, the per-service log files and the control socket.

Used both by a foreground `up` (with a terminal printer) and by the detached
supervisor started by `up -d`; only their lifetimes differ.
"""

from __future__ import annotations

import asyncio
import time
import traceback
from typing import Any

import psutil

from stackup.config import graph
from stackup.config.model import Stack
from stackup.engine.runtime import ServiceFailure, ServiceRuntime
from stackup.engine.supervisor import Supervisor
from stackup.errors import StackupError
from stackup.events import Event, EventBus, StateChanged
from stackup.server import control, statefile
from stackup.server.logfiles import LogFiles
from stackup.states import READY_STATES, State
from stackup.system import children
from stackup.system.preflight import check_ports_free

REAP_EVERY = 1.0  # seconds between collecting adopted orphans that exited


class SupervisorProcess:
    def __init__(self, stack: Stack, bus: EventBus, mode: str) -> None:
        self.stack = stack
        self.bus = bus
        self.mode = mode  # "foreground" or "detached"
        self.state_dir = stack.state_dir
        self.supervisor = Supervisor(stack, bus)
        self.logs = LogFiles(self.state_dir / "logs")
        self.shutdown = asyncio.Event()  # a full `down` was asked for
        self.failure: dict[str, Any] | None = None
        self.partial_down = False  # `down SERVICE`: keep the supervisor alive when idle
        self.in_flight = 0  # control requests being handled
        self.started_once = False
        self.started_at = time.time()
        self._server: asyncio.AbstractServer | None = None
        self._reaper: asyncio.Task[None] | None = None
        self._starting = asyncio.Lock()
        me = psutil.Process()
        self._identity = {"pid": me.pid, "create_time": me.create_time()}
        bus.subscribe(self.logs)
        bus.subscribe(self._on_event)

    # ---- lifecycle ------------------------------------------------------------------

    async def open(self) -> None:
        children.become_subreaper()
        self._reaper = asyncio.create_task(self._reap_adopted())
        self.write_state()
        self._server = await control.serve(self.state_dir, self.handle)

    async def _reap_adopted(self) -> None:
        """As subreaper we adopt the stack's orphans; reap those that exit, or a
        service that keeps forking short-lived daemons fills the process table."""
        while True:
            await asyncio.sleep(REAP_EVERY)
            children.reap_adopted_children()

    async def close(self) -> None:
        """Stop every service, then stop answering, and record that nothing runs."""
        if self._reaper is not None:
            self._reaper.cancel()
        await self.supervisor.stop()
        # Let a request being answered (the `down` that asked for this) get its answer,
        # then stop again: a start that slipped in meanwhile must not outlive us.
        deadline = time.monotonic() + 5.0
        while self.in_flight and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        await self.supervisor.stop()
        if self._server is not None:
            self._server.close()
            path = control.socket_path(self.state_dir)
            if path.exists():
                path.unlink()
        self.write_state(running=False)
        self.logs.close()

    async def up(self, names: list[str]) -> list[str]:
        """Start `names`; on failure record why (for clients and `status`) and re-raise."""
        self.partial_down = False
        self.failure = None  # an earlier failure is not this start's
        try:
            return await self.supervisor.up(names)
        except ServiceFailure as failure:
            rt = self.supervisor.runtimes[failure.service]
            self.failure = {
                "service": failure.service,
                "reason": failure.reason,
                "tail": list(rt.tail),
                "time": time.time(),
            }
            self.write_state()
            raise

    # ---- control requests -------------------------------------------------------------

    async def handle(self, request: dict[str, Any]) -> dict[str, Any]:
        self.in_flight += 1
        try:
            return await self._handle(request)
        finally:
            self.in_flight -= 1

    async def _handle(self, request: dict[str, Any]) -> dict[str, Any]:
        cmd = request.get("cmd")
        names = [str(n) for n in request.get("services") or []]
        unknown = [n for n in names if n not in self.stack.services]
        if unknown:
            return {"ok": False, "exit_code": 2, "error": f"no such service: {unknown[0]}"}
        try:
            if cmd == "ping":
                return {"ok": True, "mode": self.mode, **self._identity}
            if cmd == "stop":  # never waits for a start: it is how a hanging start ends
                return await self._stop(names or None)
            if cmd in ("start", "restart") and self.shutdown.is_set():
                return {"ok": False, "exit_code": 1, "error": "the stack is being taken down"}
            if cmd in ("start", "restart"):
                # One start or restart at a time: two at once would cancel each
                # other's services half-way.
                async with self._starting:
                    if cmd == "restart":
                        await self.supervisor.stop(names)
                    return await self._start(names)
        except StackupError as err:
            return {"ok": False, "exit_code": int(err.exit_code), "error": str(err)}
        except Exception as exc:  # a bug: answer (one line) and keep supervising
            traceback.print_exc()  # into supervisor.log
            return {"ok": False, "exit_code": 1, "error": f"internal error: {exc!r}"}
        return {"ok": False, "exit_code": 2, "error": f"unknown command {cmd!r}"}

    async def _start(self, names: list[str]) -> dict[str, Any]:
        # What this request will actually start: not what runs, is on its way (waiting,
        # restarting) or completed. Only those get their ports checked, and only
        # those are stopped again if the request fails.
        needed = [
            n for n in graph.select(self.stack, names)
            if self.supervisor.runtimes[n].state in (State.STOPPED, State.EXITED, State.FAILED)
        ]
        check_ports_free(self.stack, needed)
        self.started_once = True
        try:
            selection = await self.up(names)
        except ServiceFailure as failure:
            # Nothing this request started is left running when it fails.
            await self.supervisor.stop(needed)
            return {"ok": False, "exit_code": 1, "failure": self.failure,
                    "error": f"{failure.service} {failure.reason}"}
        return {"ok": True, "services": selection}

    async def _stop(self, names: list[str] | None) -> dict[str, Any]:
        if names is None:
            stopped = list(self.supervisor.selected)
            self.shutdown.set()  # first: a start this stop cuts short is not a failure
            await self.supervisor.stop()
        else:
            # What depends on a stopped service would be left with a dead dependency:
            # it stops too, first. Stopped services leave the selection (`status`).
            deps = {n: [d.name for d in s.depends_on] for n, s in self.stack.services.items()}
            stopped = [
                n for n in graph.with_dependents(deps, names) if n in self.supervisor.selected
            ]
            await self.supervisor.stop(stopped, deselect=True)
            self.partial_down = True
        self.write_state()
        return {"ok": True, "stopped": stopped}

    # ---- state file ---------------------------------------------------------------

    def _on_event(self, event: Event) -> None:
        if isinstance(event, StateChanged):
            self.write_state()

    def write_state(self, running: bool = True) -> None:
        sup = self.supervisor
        statefile.write(self.state_dir, {
            "stack": self.stack.name,
            "file": str(self.stack.file),
            "instance": sup.instance,
            "supervisor": {**self._identity, "running": running, "mode": self.mode,
                           "started_at": self.started_at},
            "profiles": list(self.stack.active_profiles),
            "port_offset": self.stack.port_offset,
            "selected": list(sup.selected),
            "default": self.stack.default_services(),  # what `status` lists when idle
            "failure": self.failure,
            "services": {name: service_record(rt) for name, rt in sup.runtimes.items()},
            "updated_at": time.time(),
        })


def service_record(rt: ServiceRuntime) -> dict[str, Any]:
    spec, proc = rt.spec, rt.proc
    alive = proc is not None and proc.returncode is None
    return {
        "state": rt.state.value,
        "reason": rt.reason,
        "pid": proc.pid if alive and proc else None,
        "create_time": proc.create_time if alive and proc else None,
        "port": spec.port,
        "health": spec.health.kind,
        "restarts": rt.restarts,
        "exit_code": rt.exit_code,
        "started_at": rt.started_at if rt.state != State.STOPPED else None,
        "ready_at": rt.ready_at if rt.state in READY_STATES else None,
        "timeline": rt.timeline.to_json(),  # the last start, kept after a stop
        "depends_on": [d.name for d in spec.depends_on],
        "oneshot": spec.oneshot,
        "stop_signal": int(spec.stop_signal),
        "stop_timeout": spec.stop_timeout,
        "profiles": list(spec.profiles),
        "description": spec.description,
        "host": spec.host,
    }
