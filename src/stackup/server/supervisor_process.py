"""The running supervisor process: a Supervisor plus what makes it reachable from other
terminals and what keeps its services independent of it — the output keeper (their
parent and the writer of their logs), the state file, the log follower and the
control socket.

Used both by a foreground `up` (with a terminal printer) and by the detached
supervisor started by `up -d`; only their lifetimes differ. Opening one where a
supervisor died takes its stack over: the services still running, verified, are
adopted instead of restarted.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import traceback
from collections.abc import AsyncIterator
from typing import Any

import psutil

from stackup.config import graph
from stackup.config.hashing import definition_hash
from stackup.config.model import Stack
from stackup.engine.probes import Prober
from stackup.engine.runner import service_environment
from stackup.engine.runtime import ServiceFailure, ServiceRuntime
from stackup.engine.supervisor import Supervisor
from stackup.errors import StackupError
from stackup.events import Event, EventBus, Notice, OutputLines, StateChanged
from stackup.server import control, leftovers, statefile
from stackup.server.keeper_client import KeeperClient
from stackup.server.output import LogOutput
from stackup.server.statefile import CheckRecord, ServiceRecord, StackState
from stackup.states import READY_STATES, State
from stackup.system import ports
from stackup.system.preflight import check_ports_free

STATE_WRITE_DELAY = 0.01  # seconds: state changes within this are written together
WATCH_OUTPUT_LIMIT = 50_000  # lines a slow watcher may lag behind before some are dropped


class Watcher:
    """One `watch` stream: state changes and notices always, output lines on request
    (dropped, and counted, when the client falls too far behind)."""

    def __init__(self, output_for: set[str] | None) -> None:
        self.output_for = output_for  # services whose output it wants; None: none
        self.queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        self.pending_lines = 0
        self.dropped = 0

    def push(self, message: dict[str, Any] | None) -> None:
        self.queue.put_nowait(message)

    def push_lines(self, event: OutputLines) -> None:
        if self.output_for is None or event.service not in self.output_for:
            return
        if self.pending_lines > WATCH_OUTPUT_LIMIT:
            self.dropped += len(event.lines)
            return
        self.pending_lines += len(event.lines)
        self.push({"event": "output", "service": event.service, "lines": event.lines,
                   "time": event.time})


class SupervisorProcess:
    def __init__(self, stack: Stack, bus: EventBus, mode: str) -> None:
        self.stack = stack
        self.bus = bus
        self.mode = mode  # "foreground" or "detached"
        self.state_dir = stack.state_dir
        self.keeper = KeeperClient(self.state_dir)
        self.output = LogOutput(self.state_dir / "logs", bus)
        self.supervisor = Supervisor(stack, bus, self.keeper, self.output)
        self.shutdown = asyncio.Event()  # a full `down` was asked for
        self.failure: dict[str, Any] | None = None
        self.partial_down = False  # `down SERVICE`: keep the supervisor alive when idle
        self.in_flight = 0  # control requests being handled
        self._idle = asyncio.Event()  # set while no request is being handled
        self._idle.set()
        self.changed = asyncio.Event()  # a state changed or a request ended
        self.started_once = False
        self.started_at = time.time()
        self.takeover: dict[str, Any] = {"adopted": [], "restarted": {}}
        self._server: asyncio.AbstractServer | None = None
        self._starting = asyncio.Lock()
        self._watchers: set[Watcher] = set()
        self._write_pending: asyncio.TimerHandle | None = None
        self._hashes = {n: definition_hash(s) for n, s in stack.services.items()}
        me = psutil.Process()
        self._identity = {"pid": me.pid, "create_time": me.create_time()}
        bus.subscribe(self._on_event)

    # ---- lifecycle ------------------------------------------------------------------

    async def open(self) -> None:
        previous = statefile.read(self.state_dir)
        await self.keeper.connect()
        self.output.open()
        if previous is not None and not statefile.supervisor_alive(previous):
            await self._take_over(previous)
        self.write_state()
        self._server = await control.serve(self.state_dir, self.handle)

    async def close(self) -> None:
        """Stop every service, then stop answering, and record that nothing runs."""
        await self.supervisor.stop()
        # Let a request being answered (the `down` that asked for this) get its answer,
        # then stop again: a start that slipped in meanwhile must not outlive us.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(5.0):
                await self._idle.wait()
        await self.supervisor.stop()
        for watcher in self._watchers:
            watcher.push(None)  # streams end: the supervisor is going away
        if self._server is not None:
            self._server.close()
            path = control.socket_path(self.state_dir)
            if path.exists():
                path.unlink()
        await self.keeper.close(quit=True)
        self.output.close()
        self.write_state(running=False)

    async def up(self, names: list[str]) -> list[str]:
        """Start `names`; on failure record why (for clients and `status`) and re-raise."""
        self.partial_down = False
        self.failure = None  # an earlier failure is not this start's
        try:
            return await self.supervisor.up(names)
        except ServiceFailure as failure:
            self.failure = {
                "service": failure.service,
                "reason": failure.reason,
                "tail": self.supervisor.tail(failure.service),
                "time": time.time(),
            }
            self.write_state()
            raise

    # ---- taking over from a supervisor that died ---------------------------------------

    async def _take_over(self, previous: StackState) -> None:
        """Adopt what a dead supervisor left running when it is verifiably the same
        service, still kept by our keeper, and passes its check now; stop the rest."""
        instance = previous.get("instance")
        records = previous.get("services") or {}
        alive = {
            name: proc for name, rec in records.items()
            if (proc := statefile.live_process(rec, instance)) is not None
        }
        adopted: list[str] = []
        refused: dict[str, str] = {}
        if instance and alive:
            self.supervisor.instance = instance  # the processes carry its marker
            for name in self.stack.services:
                if name not in alive:
                    continue
                why = await self._adopt(name, records[name])
                if why is None:
                    adopted.append(name)
                else:
                    refused[name] = why
        for name, rec in records.items():
            # A task that completed under the dead supervisor stays completed for the
            # services adopted with it (a migration is not run again on takeover).
            if adopted and rec.get("state") == State.COMPLETED and name in self.stack.services:
                rt = self.supervisor.runtimes[name]
                rt.set_state(State.STARTING, "completed under the previous supervisor")
                rt.set_state(State.COMPLETED, "completed under the previous supervisor")
                rt.exit_code = 0
        stray = [n for n in records if n not in adopted]
        if stray:
            stopped = await leftovers.stop(
                self.state_dir, previous, stray, with_dependents=False, write=False
            )
            if stopped.count and not adopted:
                self._say(f"stopped {stopped.count} process(es) left running by an earlier "
                          "stackup whose supervisor died")
        for name, why in refused.items():
            self._say(f"{name} could not be adopted ({why}); it starts afresh")
        if adopted:
            self._say(f"adopted {', '.join(adopted)}: still running from a supervisor "
                      "that died")
        self.supervisor.select(adopted)
        self.takeover = {"adopted": adopted, "restarted": refused}

    async def _adopt(self, name: str, rec: ServiceRecord) -> str | None:
        """Adopt one service; None when adopted, else why not."""
        spec = self.stack.services[name]
        if rec.get("hash") != self._hashes[name]:
            return "its definition in the stack file changed"
        pid, started = rec.get("pid"), rec.get("started_at") or time.time()
        handle = self.keeper.adopt(spec, int(pid or 0), started)
        if handle is None:
            return "its output keeper is gone"
        env = service_environment(spec, self.supervisor.instance, self.stack.port_offset)
        rt = self.supervisor.runtimes[name]
        runner = self.supervisor.runners[name]

        def owns(port: int) -> bool:
            return ports.tree_listens_on(handle.tree_pids(), port)

        prober = Prober(spec, env, owns)
        if spec.health.kind == "none":
            ok, detail = True, "running"
        elif spec.health.kind == "log":  # readiness-only: it was ready, and still runs
            ok, detail = rec.get("state") in READY_STATES, "was ready"
        else:
            result = await prober.probe()
            ok, detail = result.ok, result.detail
        if not ok:
            return f"its check fails now: {detail}"
        runner.adopt(handle, prober)
        rt.set_state(State.STARTING, "adopted")
        new = State.RUNNING if spec.health.kind == "none" else State.HEALTHY
        rt.set_state(new, f"adopted ({detail})")
        timeline = rec.get("timeline") or {}
        rt.timeline.waiting_at = timeline.get("waiting_at")
        rt.timeline.started_at = timeline.get("started_at", rt.started_at)
        rt.timeline.ready_at = timeline.get("ready_at", rt.timeline.ready_at)
        rt.ready_at = rec.get("ready_at") or rt.ready_at
        rt.restarts = rec.get("restarts", 0)
        runner.start(adopted=handle)
        return None

    def why_done(self) -> str | None:
        """Why nothing is left to supervise (the detached supervisor then exits), or None
        while something runs or will: a request under way, a partial `down` (the
        stack keeps its supervisor), a service up or on its way."""
        if self.shutdown.is_set():
            return "a full `down` was asked for"
        if self.in_flight or self.partial_down:
            return None
        if not self.supervisor.selected:
            return "the start failed and nothing runs" if self.started_once else None
        if self.supervisor.all_finished():
            return "every service has ended"
        return None

    def _say(self, message: str) -> None:
        self.bus.publish(Notice("system", message, time.time()))

    # ---- control requests -------------------------------------------------------------

    async def handle(self, request: dict[str, Any]) -> control.Response:
        self.in_flight += 1
        self._idle.clear()
        try:
            if request.get("cmd") == "watch":
                return self._watch(request)
            return await self._handle(request)
        finally:
            self.in_flight -= 1
            if not self.in_flight:
                self._idle.set()
            self.changed.set()

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
        finally:
            self.flush_state()  # whoever reads the state file next sees this request done
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
        takeover, self.takeover = self.takeover, {"adopted": [], "restarted": {}}
        return {"ok": True, "services": selection, "takeover": takeover}

    async def _stop(self, names: list[str] | None) -> dict[str, Any]:
        if names is None:
            stopped = list(self.supervisor.selected)
            self.shutdown.set()  # first: a start this stop cuts short is not a failure
            reports = await self.supervisor.stop()
        else:
            # What depends on a stopped service would be left with a dead dependency:
            # it stops too, first. Stopped services leave the selection (`status`).
            deps = {n: [d.name for d in s.depends_on] for n, s in self.stack.services.items()}
            stopped = [
                n for n in graph.with_dependents(deps, names) if n in self.supervisor.selected
            ]
            reports = await self.supervisor.stop(stopped, deselect=True)
            self.partial_down = True
        return {"ok": True, "stopped": stopped, "reports": [r.to_json() for r in reports]}

    async def _watch(self, request: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        """A stream of what happens: a snapshot of the state, then every state change and
        notice, and (with `output`) the named services' (or all) output lines — with
        `tail: N`, each service's last N lines first (a live view's scrollback)."""
        wanted = request.get("output")
        services = [str(n) for n in request.get("services") or self.stack.services]
        watcher = Watcher(set(services) if wanted else None)
        follows = [self.output.follow(n) for n in services] if wanted else []
        tail = request.get("tail") if wanted else 0
        tail = min(tail, WATCH_OUTPUT_LIMIT) if isinstance(tail, int) and tail > 0 else 0
        backlog = [b for n in services for b in self.output.backlog(n, tail)] if tail else []
        self._watchers.add(watcher)
        try:
            yield {"event": "snapshot", "state": self.state()}
            for batch in backlog:
                yield {"event": "output", "service": batch.service, "lines": batch.lines,
                       "time": batch.time, "backlog": True}
            while True:
                message = await watcher.queue.get()
                if message is None:
                    yield {"event": "closing"}
                    return
                if message.get("event") == "output":
                    watcher.pending_lines -= len(message["lines"])
                if watcher.dropped:
                    yield {"event": "dropped", "lines": watcher.dropped}
                    watcher.dropped = 0
                yield message
        finally:
            self._watchers.discard(watcher)
            for unfollow in follows:
                unfollow()

    # ---- events and the state file ----------------------------------------------------

    def _on_event(self, event: Event) -> None:
        if isinstance(event, StateChanged):
            self.changed.set()
            self._schedule_state_write()
            if self._watchers:
                message = {
                    "event": "state", "service": event.service, "state": event.new.value,
                    "old": event.old.value, "reason": event.detail, "time": event.time,
                    "record": service_record(
                        self.supervisor.runtimes[event.service], self._hashes
                    ),
                }
                for watcher in self._watchers:
                    watcher.push(message)
        elif isinstance(event, Notice):
            if event.service in self.stack.services:
                self.keeper.note(event.service, event.message, event.time)
            message = {"event": "notice", "service": event.service,
                       "message": event.message, "time": event.time}
            for watcher in self._watchers:
                watcher.push(message)
        elif isinstance(event, OutputLines):
            for watcher in self._watchers:
                watcher.push_lines(event)

    def _schedule_state_write(self) -> None:
        """Bursts of changes (every service of a large stack starting) are written
        together a moment later, not once each."""
        if self._write_pending is None:
            loop = asyncio.get_running_loop()
            self._write_pending = loop.call_later(STATE_WRITE_DELAY, self.flush_state)

    def flush_state(self) -> None:
        if self._write_pending is not None:
            self._write_pending.cancel()
            self._write_pending = None
        self.write_state()

    def state(self, running: bool = True) -> StackState:
        sup = self.supervisor
        return {
            "stack": self.stack.name,
            "file": str(self.stack.file),
            "instance": sup.instance,
            "supervisor": {**self._identity, "running": running,  # type: ignore[typeddict-item]
                           "mode": self.mode, "started_at": self.started_at},
            "keeper": {"pid": self.keeper.pid, "create_time": self.keeper.create_time},
            "profiles": list(self.stack.active_profiles),
            "port_offset": self.stack.port_offset,
            "selected": list(sup.selected),
            "default": self.stack.default_services(),  # what `status` lists when idle
            "failure": self.failure,  # type: ignore[typeddict-item]
            "services": {name: service_record(rt, self._hashes)
                         for name, rt in sup.runtimes.items()},
            "updated_at": time.time(),
        }

    def write_state(self, running: bool = True) -> None:
        if self._write_pending is not None and running:
            self._write_pending.cancel()
            self._write_pending = None
        statefile.write(self.state_dir, self.state(running))


def check_record(rt: ServiceRuntime) -> CheckRecord:
    spec, check = rt.spec, rt.spec.health
    return {
        "kind": check.kind, "host": check.host, "port": check.port or spec.port,
        "path": check.path, "status": check.status, "command": check.command,
        "timeout": check.timeout, "cwd": str(spec.cwd), "user": spec.user,
    }


def service_record(rt: ServiceRuntime, hashes: dict[str, str]) -> ServiceRecord:
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
        "check": check_record(rt),
        "hash": hashes.get(rt.name, ""),
    }
