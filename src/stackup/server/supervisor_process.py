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
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

import psutil

from stackup.config import graph
from stackup.config.hashing import stack_hashes
from stackup.config.model import Stack
from stackup.engine import converge
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
from stackup.server.watching import ServiceWatches, pending
from stackup.states import READY_STATES, State
from stackup.system import ports
from stackup.system.filewatch import shown_paths
from stackup.system.preflight import check_ports_free

STATE_WRITE_DELAY = 0.01  # seconds: state changes within this are written together
RUN_SEPARATOR = "─" * 12  # around the note that opens each run in a service's log
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
    def __init__(
        self, stack: Stack, bus: EventBus, mode: str, keeper: KeeperClient | None = None,
        watch: bool = True,
    ) -> None:
        self.stack = stack
        self.bus = bus
        self.mode = mode  # "foreground" or "detached"
        self.state_dir = stack.state_dir
        self.keeper = keeper or KeeperClient(self.state_dir)
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
        # Per service, the hash of the definition it runs with (`config/hashing.py`).
        self._hashes = stack_hashes(stack)
        self.watch_enabled = watch  # `watch:` keys apply (`up --no-watch` turns them off)
        self.watches = ServiceWatches(str(stack.root), self._on_file_change, self._say)
        self._tasks: set[asyncio.Task[None]] = set()
        self._after_change: dict[str, asyncio.Task[None]] = {}
        self._run_marked: set[str] = set()  # services whose log has this run's separator
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
        await self.watches.close()  # no restart for a change from now on
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
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
        not_adopted = [n for n in records if n not in adopted]
        if not_adopted:
            stopped = await leftovers.stop(
                self.state_dir, previous, not_adopted, with_dependents=False, write=False
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
            return ports.tree_listens_on(handle.leader_first_pids(), port)

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
        self._run_marked.add(name)  # its run goes on: no new-run separator in its log
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
        failed = self.failure is not None and self.supervisor.all_finished()
        if failed or (not self.supervisor.selected and self.started_once):
            why = f" ({self.failure['service']} {self.failure['reason']})" if self.failure else ""
            return f"the start failed{why} and nothing runs"
        if (self.supervisor.selected and self.supervisor.all_finished()
                and not self.watches.watched):
            # A watched service that ended (crashed on a half-saved file) starts again
            # at the next save: the supervisor waits for it.
            return "every service has ended"
        return None

    def _say(self, message: str) -> None:
        self.bus.publish(Notice("system", message, time.time()))

    # ---- control requests -------------------------------------------------------------

    async def handle(self, request: dict[str, Any]) -> control.Response:
        with self.working():
            if request.get("cmd") == "watch":
                return self._watch(request)
            return await self._handle(request)

    @contextlib.contextmanager
    def working(self) -> Iterator[None]:
        """Work under way (a request, applying an edit, a restart for a change): the
        supervisor does not conclude meanwhile that every service has ended."""
        self.in_flight += 1
        self._idle.clear()
        try:
            yield
        finally:
            self.in_flight -= 1
            if not self.in_flight:
                self._idle.set()
            self.changed.set()

    async def _handle(self, request: dict[str, Any]) -> dict[str, Any]:
        cmd = request.get("cmd")
        names = [str(n) for n in request.get("services") or []]
        if cmd in ("start", "restart", "apply") and isinstance(request.get("watch"), bool):
            self.watch_enabled = request["watch"]
        if cmd == "apply":  # names are the edited file's: checked against it
            return await self._apply_request(request, names)
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
        await self.sync_watches()
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
            await self.sync_watches()
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

    # ---- an edited stack file: converge -------------------------------------------------

    async def _apply_request(self, request: dict[str, Any], names: list[str]) -> dict[str, Any]:
        """`up -d` with a supervisor running: load the stack file as that command
        resolved it (its environment, profiles and offset), then converge to it."""
        if self.shutdown.is_set():
            return {"ok": False, "exit_code": 1, "error": "the stack is being taken down"}
        environ = request.get("environ")
        offset = request.get("port_offset")
        profiles = [str(p) for p in request.get("profiles") or []]
        try:
            stack = await asyncio.to_thread(
                self.reload,
                dict(environ) if isinstance(environ, dict) else None,
                profiles,
                offset if isinstance(offset, int) else None,
            )
            recreate = request.get("recreate") or "changed"
            if recreate not in ("changed", "force", "never"):
                return {"ok": False, "exit_code": 2, "error": f"bad recreate {recreate!r}"}
            return await self.apply(stack, names, recreate)
        except StackupError as err:
            return {"ok": False, "exit_code": int(err.exit_code), "error": str(err)}
        except Exception as exc:  # a bug: answer (one line) and keep supervising
            traceback.print_exc()
            return {"ok": False, "exit_code": 1, "error": f"internal error: {exc!r}"}
        finally:
            self.flush_state()

    def reload(
        self, environ: dict[str, str] | None, profiles: Sequence[str], port_offset: int | None
    ) -> Stack:
        """The stack file loaded again (raises ConfigError); profiles add to the active
        ones (they only decide what a bare `up` selects)."""
        from stackup.config import load_stack

        active = list(dict.fromkeys([*self.stack.active_profiles, *profiles]))
        return load_stack(
            self.stack.file, profiles=active, port_offset=port_offset, environ=environ,
            project=self.stack.project,
        )

    async def apply(
        self, stack: Stack, names: Sequence[str], recreate: converge.Recreate = "changed"
    ) -> dict[str, Any]:
        """Converge the running stack to `stack` (the edited file) for the selection
        `names` (default services when empty); answers as `start` does, plus the
        `changes` made (one line each) and what was `unchanged`."""
        async with self._starting:
            with self.working():
                try:
                    return await self._apply(stack, list(names), recreate)
                finally:
                    self.flush_state()

    async def _apply(
        self, new: Stack, names: list[str], recreate: converge.Recreate
    ) -> dict[str, Any]:
        sup = self.supervisor
        selection = graph.select(new, names)  # UsageError for a name the file lacks
        up = {n for n in sup.runtimes if sup.is_up(n)}
        plan = converge.plan(self.stack, self._hashes, up, new, selection, recreate)
        assert plan.stack is not None
        starting = [n for n in [*plan.start, *plan.recreate]
                    if not plan.stack.services[n].external]
        # A recreated service's new port may be the one its old process holds: ours.
        ours = {pid for n in plan.stopping for pid in sup.tree_pids(n)}
        check_ports_free(plan.stack, starting, ours=ours.__contains__)  # exit 3, nothing yet
        self.partial_down = False
        self.failure = None
        self.started_once = True
        lines: list[str] = []
        if plan.stopping:
            await sup.stop(plan.stopping)
        for name in plan.stop:
            lines.append(self._tell(name, f"stopped {name}: no longer in {new.file.name}"))
        for name, why in plan.kept.items():
            lines.append(self._tell(name, f"kept {name} as it runs: {why} (--no-recreate)"))
        moved = set(plan.remove) | (set(new.services) - set(self.stack.services))
        sup.replace_stack(plan.stack, removed=plan.remove)
        self.stack = plan.stack
        self._hashes = plan.hashes
        if moved:
            self.output.follow_new(list(plan.stack.services))
            self._send_snapshot()  # the set of services changed: watch clients start over
        needed = [n for n in selection
                  if sup.runtimes[n].state in (State.STOPPED, State.EXITED, State.FAILED)]
        try:
            await self.up(selection)
            restarted = [
                n for n in graph.restart_dependents(plan.stack, plan.recreate)
                if n not in plan.recreate and n not in plan.start and sup.is_up(n)
            ]
            if restarted:
                await sup.stop(restarted)
                await self.up(restarted)
        except ServiceFailure as failure:
            await sup.stop(needed)  # nothing this apply started is left half-way
            await self.sync_watches()
            return {"ok": False, "exit_code": 1, "failure": self.failure, "changes": lines,
                    "error": f"{failure.service} {failure.reason}"}
        for name, why in plan.recreate.items():
            verb = "rechecked" if plan.stack.services[name].external else "recreated"
            lines.append(self._tell(name, f"{verb} {name}: {why}"))
        for name in plan.start:
            lines.append(self._tell(name, f"started {name}"))
        for name in restarted:
            because = [d.name for d in plan.stack.services[name].depends_on
                       if d.restart and (d.name in plan.recreate or d.name in restarted)]
            verb = "was" if len(because) == 1 else "were"
            lines.append(self._tell(
                name, f"restarted {name}: {' and '.join(because)} {verb} recreated or restarted"
                " (depends_on restart: true)"))
        unchanged = [n for n in plan.unchanged if n not in restarted]
        if unchanged:
            lines.append(f"unchanged: {', '.join(unchanged)}")
            self._say(lines[-1])
        await self.sync_watches()
        return {"ok": True, "services": selection, "changes": lines,
                "unchanged": unchanged, "takeover": {"adopted": [], "restarted": {}}}

    def _tell(self, name: str, line: str) -> str:
        """One line about what converging did to a service: on the terminal (or the
        supervisor's log) and in the service's own log."""
        self.bus.publish(Notice(name, line, time.time()))
        return line

    def _send_snapshot(self) -> None:
        if self._watchers:
            message = {"event": "snapshot", "state": self.state()}
            for watcher in self._watchers:
                watcher.push(message)

    # ---- watch: restarting a service whose files changed -------------------------------

    def watched_services(self) -> dict[str, Any]:
        sup = self.supervisor
        if not self.watch_enabled or self.shutdown.is_set():
            return {}
        return {n: sup.runtimes[n].spec for n in sup.selected
                if sup.runtimes[n].spec.watch is not None}

    async def sync_watches(self) -> None:
        """Watch the files of every selected service with a `watch:` (none with
        `--no-watch`); called whenever the selection or the stack changes."""
        await self.watches.update(self.watched_services())
        self._schedule_state_write()

    def _on_file_change(self, name: str, paths: set[str]) -> None:
        pending(self._tasks, self.restart_for_change(name, paths))

    async def restart_for_change(self, name: str, paths: set[str]) -> None:
        """Restart `name` because its watched files changed: through the stop ladder,
        then a new run (readiness, like `stackup restart`; the restart count starts
        afresh, so this never counts toward `max_restarts`). Once it is ready, its
        `restart: true` dependents restart too."""
        async with self._starting:  # never in the middle of a start, an apply, a restart
            sup = self.supervisor
            if name not in self.watched_services():
                return  # stopped, deselected, or no longer watched meanwhile
            previous = self._after_change.pop(name, None)
            if previous is not None:
                previous.cancel()
            rt = sup.runtimes[name]
            changed = shown_paths(paths, str(self.stack.root))
            more = len(paths) - len(changed)
            text = ", ".join(changed) + (f" and {more} more" if more > 0 else "")
            rt.changed_at = time.time()
            rt.changed_paths = changed
            rt.notice(f"restarting {name}: {text} changed")
            with self.working():
                await sup.stop([name])
                if name not in self.watched_services():
                    return  # a `down` of it got there first (stops do not take our lock)
                ready = sup.start_again([name])[name]
            ready.add_done_callback(_retrieve)
            self._after_change[name] = pending(self._tasks, self._when_ready(name, ready))

    async def _when_ready(self, name: str, ready: asyncio.Future[None]) -> None:
        """After a restart for a change: report a failed start, or restart the
        `restart: true` dependents once it is ready."""
        sup = self.supervisor
        try:
            await ready
        except ServiceFailure as failure:
            if sup.runtimes.get(name) is not None and sup.runtimes[name].state == State.FAILED:
                self._say(f"{name} failed after the change: {failure.reason} (it restarts at"
                          " the next change)")
            return
        dependents = [n for n in graph.restart_dependents(self.stack, [name])
                      if n in sup.selected and sup.is_up(n)]
        if not dependents:
            return
        async with self._starting:
            with self.working():
                for dependent in dependents:
                    sup.runtimes[dependent].notice(
                        f"restarting {dependent}: {name} restarted (depends_on restart: true)")
                await sup.stop(dependents)
                still = [n for n in dependents if n in sup.selected]  # not `down` meanwhile
                for future in sup.start_again(still).values():
                    future.add_done_callback(_retrieve)

    async def wait_all_finished(self) -> None:
        """Until every selected service has ended and no work is under way (a service
        being recreated or restarted for a change is stopped for a moment), and none is
        watched (the next save starts it again)."""
        while True:
            self.changed.clear()
            if self.supervisor.all_finished():
                if not self.in_flight and not self.watches.watched:
                    return
                await self.changed.wait()  # set when that work ends
                continue
            waits = {asyncio.create_task(self.changed.wait()),
                     asyncio.create_task(self.supervisor.wait_all_finished())}
            try:
                await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for task in waits:
                    task.cancel()

    # ---- events and the state file ----------------------------------------------------

    def _on_event(self, event: Event) -> None:
        if isinstance(event, StateChanged):
            self.changed.set()
            if event.new in (State.WAITING, State.STARTING):
                self._mark_run(event.service, event.time)
            self._schedule_state_write()
            if self._watchers:
                message = {
                    "event": "state", "service": event.service, "state": event.new.value,
                    "old": event.old.value, "reason": event.detail, "time": event.time,
                    "record": service_record(
                        self.supervisor.runtimes[event.service], self._hashes,
                        self.watches.watched,
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

    def _mark_run(self, service: str, when: float) -> None:
        """The first start of a service under this supervisor opens its log with a dated
        separator: yesterday's lines are not mistaken for today's (`stackup logs`)."""
        if service in self._run_marked:
            return
        self._run_marked.add(service)
        day = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(when))
        self.keeper.note(service, f"{RUN_SEPARATOR} {self.stack.name} started {day} "
                                  f"{RUN_SEPARATOR}", when)

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
            "services": {name: service_record(rt, self._hashes, self.watches.watched)
                         for name, rt in sup.runtimes.items()},
            "watching": self.watch_enabled,
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


def _retrieve(future: asyncio.Future[None]) -> None:
    """A start nobody awaits: its failure is a state and a notice, not a log error."""
    if not future.cancelled():
        future.exception()


def service_record(
    rt: ServiceRuntime, hashes: dict[str, str], watched: set[str] | frozenset[str] = frozenset()
) -> ServiceRecord:
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
        "external": spec.external,
        "watched": rt.name in watched,
        "changed_at": rt.changed_at,
        "changed": list(rt.changed_paths),
    }
