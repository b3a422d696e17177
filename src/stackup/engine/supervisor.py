"""The asyncio supervisor: start in dependency order, fail fast, watch, restart, stop.

One task per selected service waits for its dependencies' conditions and brings it
up; independent services therefore start in parallel, and a dependent starts the
moment its dependency's readiness event is set. Stopping runs in reverse: a service
is signalled only after everything that depends on it has exited.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import time

import psutil

from stackup.config import graph
from stackup.config.load import PORT_OFFSET_VARIABLE
from stackup.config.model import Service, Stack
from stackup.engine.probes import LogWatch, Prober, ProbeResult
from stackup.engine.runtime import ServiceFailure, ServiceRuntime
from stackup.engine.service_process import ServiceProcess, SpawnError
from stackup.engine.stop_order import stop_in_reverse_order
from stackup.events import EventBus, OutputLines
from stackup.states import FINAL_STATES, State
from stackup.system import children, ports, processes
from stackup.system.stopping import stop_ladder

BACKOFF_START = 0.5
BACKOFF_CAP = 30.0
BACKOFF_RESET_AFTER = 60.0  # up this long → the next crash starts the backoff afresh


def service_environment(service: Service, instance: str, port_offset: int = 0) -> dict[str, str]:
    """Inherited environment beneath the stack's, plus the markers that make it ours."""
    env = {**os.environ, **service.env}
    env.setdefault("PYTHONUNBUFFERED", "1")  # otherwise Python holds output in the pipe
    env[PORT_OFFSET_VARIABLE] = str(port_offset)  # a `stackup` inside resolves the same ports
    env[processes.MARKER_INSTANCE] = instance
    env[processes.MARKER_SERVICE] = service.name
    return env


class Supervisor:
    """Supervises the services of one stack; `up` and `stop` may be called repeatedly
    (the detached supervisor starts more services or stops some on request)."""

    def __init__(self, stack: Stack, bus: EventBus, instance: str | None = None) -> None:
        self.stack = stack
        self.bus = bus
        self.instance = instance or secrets.token_hex(8)
        self.runtimes = {name: ServiceRuntime(svc, bus) for name, svc in stack.services.items()}
        self.selected: list[str] = []  # what `up` asked for (plus dependencies), file order
        self.kill_now = asyncio.Event()  # second Ctrl-C: skip the polite part
        self._start_tasks: dict[str, asyncio.Task[None]] = {}
        self._watchers: dict[str, asyncio.Task[None]] = {}
        self._stopping = asyncio.Lock()

    # ---- start -------------------------------------------------------------------

    async def up(self, names: list[str] | tuple[str, ...] = ()) -> list[str]:
        """Bring `names` (default services when empty) and their dependencies up.

        Services already up (or on their way) are left alone. Returns the selection
        once every one is ready; raises ServiceFailure on the first failure, after
        cancelling the other starts of this call.
        """
        selection = graph.select(self.stack, names)
        wanted = set(self.selected) | set(selection)
        self.selected = [n for n in self.stack.services if n in wanted]
        tasks = {self._ensure_start_task(name) for name in selection}
        pending = set(tasks)
        try:
            while pending:
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    if task.cancelled():
                        # A `down` arrived while this start was under way.
                        name = task.get_name().removeprefix("start ")
                        raise ServiceFailure(name, "was stopped before it became ready")
                    if task.exception() is not None:
                        raise task.exception()  # type: ignore[misc]
        finally:
            for task in pending:
                task.cancel()
            # Also collects the outcome of every other task (a second failure in the
            # same round would otherwise be logged as "exception never retrieved").
            await asyncio.gather(*tasks, return_exceptions=True)
        return selection

    def _ensure_start_task(self, name: str) -> asyncio.Task[None]:
        rt = self.runtimes[name]
        task = self._start_tasks.get(name)
        if task is not None and not task.done():
            return task  # already starting: share the outcome
        if task is not None and rt.state not in FINAL_STATES - {State.COMPLETED}:
            return task  # up (or restarting under its policy): leave it alone
        if rt.state == State.COMPLETED:
            return task if task is not None else self._done_task()
        task = asyncio.create_task(self._bring_up(rt), name=f"start {name}")
        self._start_tasks[name] = task
        return task

    @staticmethod
    def _done_task() -> asyncio.Task[None]:
        async def nothing() -> None:
            return None

        return asyncio.create_task(nothing(), name="start (completed)")

    async def _bring_up(self, rt: ServiceRuntime) -> None:
        # Asked for explicitly (up, restart): the restart policy starts afresh.
        rt.restarts = 0
        rt.backoff_step = 0
        await self._wait_dependencies(rt)
        await self._launch(rt)
        if not rt.spec.oneshot:
            self._watchers[rt.name] = asyncio.create_task(self._watch(rt))

    async def _wait_dependencies(self, rt: ServiceRuntime) -> None:
        deps = list(rt.spec.depends_on)
        if deps:
            rt.set_state(State.WAITING, "waiting for " + ", ".join(d.name for d in deps))
        for dep in deps:
            await self.runtimes[dep.name].condition_met(dep.condition).wait()

    async def _launch(self, rt: ServiceRuntime) -> None:
        """Spawn the service and wait until it is ready (or, for a oneshot, completed)."""
        spec = rt.spec
        log_watch = LogWatch(spec.health.pattern) if spec.health.kind == "log" else None

        def on_output(lines: list[str], when: float) -> None:
            rt.tail.extend(lines)
            if log_watch is not None:
                log_watch.feed(lines)
            self.bus.publish(OutputLines(rt.name, lines, when))

        env = service_environment(spec, self.instance, self.stack.port_offset)
        proc = ServiceProcess(spec, env, on_output)
        rt.set_state(State.STARTING, "starting")
        rt.ready_at = None
        try:
            await proc.spawn()
        except SpawnError as exc:
            rt.set_state(State.FAILED, str(exc))
            raise ServiceFailure(rt.name, str(exc)) from None
        rt.proc = proc
        rt.started_at = proc.started_at
        rt.exit_code = None
        rt.notice(f"{rt.name} started (pid {proc.pid})")
        if spec.user and os.geteuid() != 0:
            rt.notice(f"{rt.name}: `user: {spec.user}` ignored: stackup is not running as root")
        began = time.monotonic()
        deadline = began + spec.health.start_timeout
        if spec.oneshot:
            await self._await_completion(rt, proc, deadline)
            return
        prober = Prober(spec, env, lambda port: self._owns_port(rt, port), log_watch)
        rt.prober = prober
        ready = asyncio.create_task(prober.wait_ready(deadline, asyncio.Event()))
        exited = proc.exited()
        try:
            await asyncio.wait({ready, exited}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            if not ready.done():
                ready.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await ready
        waited = time.monotonic() - began
        if exited.done():
            code = await proc.wait()
            self._record_exit(rt, code)
            raise ServiceFailure(
                rt.name, f"exited with code {code} before it was ready (after {waited:.1f}s)"
            )
        result = ready.result()
        if not result.ok:
            detail = self._explain_not_ready(rt, result)
            reason = f"not ready after {spec.health.start_timeout:g}s: {detail}"
            rt.set_state(State.FAILED, reason)
            raise ServiceFailure(rt.name, reason)
        new = State.RUNNING if spec.health.kind == "none" else State.HEALTHY
        rt.set_state(new, result.detail)
        rt.notice(f"{rt.name} is {new.value} after {waited:.2f}s ({result.detail})")

    async def _await_completion(
        self, rt: ServiceRuntime, proc: ServiceProcess, deadline: float
    ) -> None:
        try:
            async with asyncio.timeout(max(0.0, deadline - time.monotonic())):
                code = await proc.wait()
        except TimeoutError:
            reason = f"did not complete within {rt.spec.health.start_timeout:g}s"
            rt.set_state(State.FAILED, reason)
            raise ServiceFailure(rt.name, reason) from None
        self._record_exit(rt, code)
        if code != 0:
            raise ServiceFailure(rt.name, f"exited with code {code}")
        rt.notice(f"{rt.name} completed")

    def _record_exit(self, rt: ServiceRuntime, code: int) -> None:
        rt.exit_code = code
        if rt.spec.oneshot and code == 0:
            rt.set_state(State.COMPLETED, "exited 0")
        elif code == 0:
            rt.set_state(State.EXITED, "exited with code 0")
        else:
            rt.set_state(State.FAILED, f"exited with code {code}")

    def _owns_port(self, rt: ServiceRuntime, port: int) -> bool:
        pids = rt.proc.tree_pids() if rt.proc else []
        return ports.tree_listens_on(pids, port)

    def _explain_not_ready(self, rt: ServiceRuntime, result: ProbeResult) -> str:
        port = result.foreign_port
        if port is not None:
            holder = ports.holders([port]).get(port)
            if holder is not None:
                return f"port {port} is held by {holder.describe()}, not by {rt.name}"
        return result.detail

    # ---- after start: watch, liveness, restart ------------------------------------

    async def _watch(self, rt: ServiceRuntime) -> None:
        """Follow a ready service: exits, liveness failures, restarts by policy."""
        while True:
            assert rt.proc is not None
            code = await self._until_exit_or_unhealthy(rt)
            if code is not None:
                self._record_exit(rt, code)
                rt.notice(f"{rt.name} exited with code {code}")
            ran = time.time() - (rt.started_at or time.time())
            if ran > BACKOFF_RESET_AFTER:
                rt.backoff_step = 0  # it ran well for a while: this crash starts afresh
            if code is None:  # unhealthy but still running: stop it before the next one
                await rt.proc.stop(kill_now=self.kill_now)
            else:  # what the exited instance left behind (a child holding the port)
                await self._stop_remains(rt)
            why = f"exit code {code}" if code is not None else "unhealthy"
            if not await self._restart(rt, code, why):
                return

    async def _stop_remains(self, rt: ServiceRuntime) -> None:
        """Stop the processes an exited instance of `rt` left running: found by our
        marker, so the next instance does not find its port taken by its predecessor."""
        marked = await asyncio.to_thread(processes.marked_processes, self.instance)
        remains = marked.get(rt.name, [])
        if remains:
            spec = rt.spec
            await stop_ladder(remains, spec.stop_signal, spec.stop_timeout, None, self.kill_now)

    async def _restart(self, rt: ServiceRuntime, code: int | None, why: str) -> bool:
        """Restart by policy, with backoff, until a start succeeds (True) or the policy
        gives up (False). A failed attempt goes straight to the next decision: its
        process has been dealt with, it is never waited for again."""
        while self._should_restart(rt, code):
            delay = min(BACKOFF_START * 2 ** min(rt.backoff_step, 10), BACKOFF_CAP)
            rt.backoff_step += 1
            limit = rt.spec.max_restarts
            count = f"{rt.restarts + 1}/{limit}" if limit is not None else f"{rt.restarts + 1}"
            rt.set_state(State.RESTARTING, f"{why}; restart {count} in {delay:g}s")
            rt.notice(f"restarting {rt.name} in {delay:g}s ({why}; restart {count})")
            await asyncio.sleep(delay)
            rt.restarts += 1
            try:
                await self._launch(rt)
                return True
            except ServiceFailure as failure:
                rt.notice(f"{rt.name} failed to restart: {failure.reason}")
                if rt.proc is not None and rt.proc.returncode is None:
                    await rt.proc.stop(kill_now=self.kill_now)
                    if rt.state != State.FAILED:
                        rt.set_state(State.FAILED, failure.reason)
                code = rt.exit_code if rt.exit_code else 1  # a failed start is a failure
                why = "failed to start"
        return False

    async def _until_exit_or_unhealthy(self, rt: ServiceRuntime) -> int | None:
        """The exit code when the process exits, or None once it is `unhealthy`."""
        assert rt.proc is not None
        exited = rt.proc.exited()
        check = rt.spec.health
        prober = rt.prober
        if check.kind in ("none", "log") or prober is None:
            return await rt.proc.wait()
        failures = 0
        while True:
            done, _ = await asyncio.wait({exited}, timeout=check.interval)
            if done:
                return await rt.proc.wait()
            result = await prober.probe(verify_owner=False)
            if result.ok:
                failures = 0
                if rt.state == State.UNHEALTHY:
                    rt.set_state(State.HEALTHY, result.detail)
                continue
            failures += 1
            if failures >= check.retries and rt.state != State.UNHEALTHY:
                rt.set_state(State.UNHEALTHY, result.detail)
                rt.notice(f"{rt.name} is unhealthy: {result.detail}")
                if rt.spec.restart != "no":
                    return None

    def _should_restart(self, rt: ServiceRuntime, code: int | None) -> bool:
        policy = rt.spec.restart
        if policy == "no" or (policy == "on-failure" and code == 0):
            return False
        limit = rt.spec.max_restarts
        if limit is not None and rt.restarts >= limit:
            rt.notice(f"{rt.name} reached max_restarts ({limit}); giving up")
            last = f", last exit code {code}" if code is not None else ""
            rt.set_state(State.FAILED, f"gave up after {rt.restarts} restarts{last}")
            return False
        return True

    # ---- state queries -----------------------------------------------------------

    def all_finished(self) -> bool:
        """Nothing runs and nothing will: every selected service ended, no task pending."""
        runtimes = [self.runtimes[n] for n in self.selected]
        tasks = [*self._start_tasks.values(), *self._watchers.values()]
        return all(rt.finished.is_set() for rt in runtimes) and all(t.done() for t in tasks)

    async def wait_all_finished(self) -> None:
        while not self.all_finished():
            waits = [asyncio.create_task(self.runtimes[n].finished.wait()) for n in self.selected]
            tasks = [t for t in [*self._start_tasks.values(), *self._watchers.values()]]
            await asyncio.wait([*waits, *(t for t in tasks if not t.done())])
            for w in waits:
                w.cancel()

    # ---- stop ----------------------------------------------------------------------

    async def stop(self, names: list[str] | None = None, deselect: bool = False) -> None:
        """Stop `names` (default: everything), dependents first; `deselect` also drops
        them from the selection (an explicit `down SERVICE`, not a restart).

        A service is signalled only once everything (among those stopping) that
        depends on it has exited; services on one level stop together.
        """
        async with self._stopping:  # one stop at a time: a second one finds less to do
            await self._stop(names, deselect)

    async def _stop(self, names: list[str] | None, deselect: bool) -> None:
        targets = self.selected if names is None else [n for n in self.selected if n in names]
        tasks_to_cancel = [
            t for n in targets for t in (self._start_tasks.get(n), self._watchers.get(n)) if t
        ]
        for task in tasks_to_cancel:
            task.cancel()
        await asyncio.gather(*tasks_to_cancel, return_exceptions=True)
        for name in targets:
            self._start_tasks.pop(name, None)
            self._watchers.pop(name, None)
        # Descendants that escaped the process tree still carry our instance marker.
        strays = await asyncio.to_thread(processes.marked_processes, self.instance)
        deps = {n: [d.name for d in self.stack.services[n].depends_on] for n in targets}

        async def stop_one(name: str) -> None:
            await self._stop_service(self.runtimes[name], strays.get(name, []), names is not None)

        errors = await stop_in_reverse_order(deps, stop_one, self.kill_now)
        for name, error in errors.items():
            self.runtimes[name].notice(f"error while stopping {name}: {error!r}")
        if names is None:
            await self._stop_stragglers()
            self.selected = []
        elif deselect:
            self.selected = [n for n in self.selected if n not in targets]
        children.reap_adopted_children()

    async def _stop_stragglers(self) -> None:
        """After a full stop nothing of the stack may remain: orphans we adopted (a
        child that cleared its environment and left its session), and anything still
        carrying our marker if a service's own stop went wrong."""
        marked = await asyncio.to_thread(processes.marked_processes, self.instance)
        found = [*children.adopted_children(), *(p for procs in marked.values() for p in procs)]
        if found:
            timeout = max((s.stop_timeout for s in self.stack.services.values()), default=10.0)
            await stop_ladder(found, signal.SIGTERM, timeout, None, self.kill_now)

    async def _stop_service(
        self, rt: ServiceRuntime, strays: list[psutil.Process], explicit: bool = False
    ) -> None:
        proc = rt.proc
        running = proc is not None and proc.returncode is None
        if not running and not strays:
            # Nothing to signal; a service that was on its way (or whose exit the
            # cancelled watcher never recorded) ends stopped, final states stay — but
            # a completed task stopped on purpose (`restart migrate`) runs again next time.
            if rt.state not in FINAL_STATES or (rt.state == State.COMPLETED and explicit):
                rt.set_state(State.STOPPED, "stopped")
            return
        failed = (rt.state, rt.reason) if rt.state == State.FAILED else None
        if running:
            rt.set_state(State.STOPPING, "stopping")
            rt.notice(f"stopping {rt.name}")
        began = time.monotonic()
        if proc is not None:
            rt.exit_code = await proc.stop(strays, self.kill_now)
        else:
            spec = rt.spec
            await stop_ladder(strays, spec.stop_signal, spec.stop_timeout, None, self.kill_now)
        code = rt.exit_code
        if failed is not None:
            rt.set_state(*failed)  # stopping what a failed service left does not undo why
        elif rt.state not in (State.STOPPED, State.COMPLETED):
            rt.set_state(State.STOPPED, f"stopped (exit code {code})")
        if running:
            rt.notice(f"{rt.name} stopped in {time.monotonic() - began:.2f}s")
