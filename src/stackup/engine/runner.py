"""One service's lifecycle, as one loop: wait for its dependencies, spawn it, wait until
it is ready, watch it, and when it ends ask the restart policy (`policy.next_step`, a
pure function) what comes next.

A run begins with an explicit start (`up`, `restart`, a recreate) and lasts until the
service ends for good or is stopped. `start()` returns a future that settles when the
run's *first* start is ready (or failed): what `up` waits for. Restarts later in the
run are the runner's own business; their failures are notices and states, never
exceptions to a caller.

The seams (`Launcher`, `Clock`, `OutputFeed`, the prober factory) are what let unit
tests drive restart policy, backoff, `max_restarts` and liveness with fake processes
and a fake clock, in milliseconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

import psutil

from stackup.config.model import Service
from stackup.engine import policy
from stackup.engine.clock import SYSTEM_CLOCK, Clock
from stackup.engine.probes import LogWatch, Prober, ProbeResult
from stackup.engine.runtime import TAIL_LINES, ServiceFailure, ServiceRuntime
from stackup.engine.service_process import Launcher, ServiceProcess, SpawnError
from stackup.events import Event, OutputLines
from stackup.naming import PORT_OFFSET_VARIABLE
from stackup.states import State
from stackup.system import ports, processes
from stackup.system.stopping import stop_ladder


class OutputFeed(Protocol):
    """Where the engine reads what services write (their log files, in stackup)."""

    def position(self, service: str) -> int:
        """A mark: how far the service's output reaches now."""
        ...

    def follow(self, service: str) -> Callable[[], None]:
        """Publish the service's new lines as OutputLines on the bus until the returned
        function is called."""
        ...

    def tail(self, service: str, lines: int, since: int) -> list[str]:
        """The service's last `lines` lines written after the mark `since`."""
        ...


ProberFactory = Callable[[Service, dict[str, str], Callable[[int], bool], LogWatch | None], Prober]


LIVENESS_BEAT = 0.25  # seconds: liveness checks fall on a shared beat


def liveness_delay(now: float, interval: float) -> float:
    """How long until the next liveness check: `interval`, stretched to the next beat
    (at most a quarter of the interval). Checks of services started at different times
    then fall due together, and the event loop wakes once for many of them rather than
    once for each (200 services: 1.8 % of a core idle instead of 2.4 %)."""
    beat = min(LIVENESS_BEAT, interval / 4)
    return interval + (-(now + interval)) % beat


def service_environment(service: Service, instance: str, port_offset: int = 0) -> dict[str, str]:
    """Inherited environment beneath the stack's, plus the markers that make it ours."""
    env = {**os.environ, **service.env}
    env.setdefault("PYTHONUNBUFFERED", "1")  # otherwise Python holds output in the pipe
    env[PORT_OFFSET_VARIABLE] = str(port_offset)  # a `stackup` inside resolves the same ports
    env[processes.MARKER_INSTANCE] = instance
    env[processes.MARKER_SERVICE] = service.name
    return env


def marked_leftovers(instance: str) -> Callable[[str], Awaitable[list[psutil.Process]]]:
    """Processes of a service found by this instance's marker (escaped its tree)."""

    async def leftovers(name: str) -> list[psutil.Process]:
        marked = await asyncio.to_thread(processes.marked_processes, instance)
        return marked.get(name, [])

    return leftovers


@dataclass
class RunContext:
    """What every runner of one supervisor shares."""

    launcher: Launcher
    output: OutputFeed
    instance: str
    port_offset: int = 0
    kill_now: asyncio.Event = field(default_factory=asyncio.Event)
    clock: Clock = SYSTEM_CLOCK
    make_prober: ProberFactory = Prober
    leftovers: Callable[[str], Awaitable[list[psutil.Process]]] | None = None

    def __post_init__(self) -> None:
        if self.leftovers is None:
            self.leftovers = marked_leftovers(self.instance)


@dataclass(frozen=True)
class Exited:
    code: int


@dataclass(frozen=True)
class Unhealthy:
    reason: str


class ServiceRunner:
    def __init__(
        self, rt: ServiceRuntime, runtimes: Mapping[str, ServiceRuntime], ctx: RunContext
    ) -> None:
        self.rt = rt
        self.runtimes = runtimes
        self.ctx = ctx
        self.task: asyncio.Task[None] | None = None
        self.first_ready: asyncio.Future[None] | None = None
        self.env: dict[str, str] = {}
        self.spawned_mono = 0.0  # when the current instance started, on the run's clock

    @property
    def name(self) -> str:
        return self.rt.name

    @property
    def running(self) -> bool:
        return self.task is not None and not self.task.done()

    # ---- starting and stopping a run --------------------------------------------------

    def start(self, adopted: ServiceProcess | None = None) -> asyncio.Future[None]:
        """Begin a run unless one is under way; the future settles once its first start
        is ready. `adopted`: a process a dead supervisor started, already ready, that
        this run watches instead of spawning its own."""
        if self.running:
            assert self.first_ready is not None
            return self.first_ready
        loop = asyncio.get_running_loop()
        ready = self.first_ready = loop.create_future()
        self.task = loop.create_task(self._run(adopted), name=f"run {self.name}")
        # Bound to this run's future: the callback runs a moment after the task ends,
        # when a new start may already have put its own future in `first_ready`.
        self.task.add_done_callback(lambda task: self._settle(task, ready))
        return ready

    @staticmethod
    def _settle(task: asyncio.Task[None], ready: asyncio.Future[None]) -> None:
        """A run that ended before its first start was ready says why to its waiter."""
        if ready.done():
            return
        if task.cancelled():
            name = task.get_name().removeprefix("run ")
            ready.set_exception(ServiceFailure(name, "was stopped before it became ready"))
        elif task.exception() is not None:
            ready.set_exception(task.exception())  # type: ignore[arg-type]
        else:
            ready.set_result(None)

    async def cancel(self) -> None:
        """End the run (its process, if any, is left for the caller to stop)."""
        if self.task is not None and not self.task.done():
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.task

    # ---- the run --------------------------------------------------------------------

    async def _run(self, adopted: ServiceProcess | None) -> None:
        rt = self.rt
        # Asked for explicitly (up, restart): the restart policy starts afresh.
        rt.restarts = 0
        rt.backoff_step = 0
        if rt.spec.external:
            await self._reach_external()  # a failure here is the caller's: raise it
            assert self.first_ready is not None
            if not self.first_ready.done():
                self.first_ready.set_result(None)
            await self._watch_external()
            return
        if adopted is None:
            await self._wait_dependencies()
            await self._start_once()  # a failure here is the caller's: raise it
        assert self.first_ready is not None
        if not self.first_ready.done():
            self.first_ready.set_result(None)
        if rt.spec.oneshot:
            return
        while True:
            outcome = await self._watch()
            if isinstance(outcome, Exited):
                self._record_exit(outcome.code)
                rt.notice(f"{rt.name} exited with code {outcome.code}")
                code: int | None = outcome.code
                why = f"exit code {outcome.code}"
            else:
                code, why = None, "unhealthy"
            uptime = self.ctx.clock.monotonic() - self.spawned_mono
            step = policy.next_step(
                rt.spec.restart, code, rt.restarts, uptime, rt.spec.max_restarts,
                rt.backoff_step,
            )
            if isinstance(step, policy.Leave):
                return  # EXITED / FAILED as recorded
            if code is None:  # unhealthy but still running: stop it before the next one
                await rt.proc.stop(kill_now=self.ctx.kill_now)
            else:  # what the exited instance left behind (a child holding the port)
                await self._stop_leftovers()
            if not await self._restart(step, code, why):
                return

    async def _wait_dependencies(self) -> None:
        rt = self.rt
        deps = list(rt.spec.depends_on)
        if deps:
            # STOPPED/EXITED/FAILED/COMPLETED -> WAITING
            rt.set_state(State.WAITING, "waiting for " + ", ".join(d.name for d in deps))
        for dep in deps:
            await self.runtimes[dep.name].condition_met(dep.condition).wait()

    async def _restart(self, step: policy.Step, code: int | None, why: str) -> bool:
        """Restart with backoff until a start succeeds (True) or the policy gives up
        (False). A failed attempt goes straight to the next decision: its process has
        been dealt with, it is never waited for again."""
        rt = self.rt
        while True:
            if isinstance(step, policy.GiveUp):
                limit = rt.spec.max_restarts
                rt.notice(f"{rt.name} reached max_restarts ({limit}); giving up")
                rt.set_state(State.FAILED, step.reason)  # EXITED/FAILED/... -> FAILED
                return False
            if isinstance(step, policy.Leave):
                return False
            rt.backoff_step = step.backoff_step
            limit = rt.spec.max_restarts
            count = f"{rt.restarts + 1}/{limit}" if limit is not None else f"{rt.restarts + 1}"
            # EXITED/FAILED/UNHEALTHY -> RESTARTING: waiting out the backoff
            rt.set_state(State.RESTARTING, f"{why}; restart {count} in {step.delay:g}s")
            rt.notice(f"restarting {rt.name} in {step.delay:g}s ({why}; restart {count})")
            await self.ctx.clock.sleep(step.delay)
            rt.restarts += 1
            try:
                await self._start_once()
                return True
            except ServiceFailure as failure:
                rt.notice(f"{rt.name} failed to restart: {failure.reason}")
                if rt.proc is not None and rt.proc.returncode is None:
                    await rt.proc.stop(kill_now=self.ctx.kill_now)
                    if rt.state != State.FAILED:
                        rt.set_state(State.FAILED, failure.reason)  # STARTING -> FAILED
                code = rt.exit_code if rt.exit_code else 1  # a failed start is a failure
                why = "failed to start"
            step = policy.next_step(
                rt.spec.restart, code, rt.restarts, 0.0, rt.spec.max_restarts, rt.backoff_step
            )

    # ---- one start: spawn, then ready (or completed) ---------------------------------

    async def _start_once(self) -> None:
        """Spawn the service and wait until it is ready (or, for a oneshot, completed);
        raise ServiceFailure when it is not."""
        rt, spec, ctx = self.rt, self.rt.spec, self.ctx
        log_watch = LogWatch(spec.health.pattern) if spec.health.kind == "log" else None
        # STOPPED/WAITING/RESTARTING/... -> STARTING
        rt.set_state(State.STARTING, "starting")
        rt.ready_at = None
        rt.output_mark = ctx.output.position(rt.name)
        unfollow = self._follow_for(log_watch) if log_watch is not None else None
        try:
            await self._spawn()
            if spec.oneshot:
                await self._await_completion()
                return
            await self._await_ready(log_watch)
        finally:
            if unfollow is not None:
                unfollow()

    def _follow_for(self, log_watch: LogWatch) -> Callable[[], None]:
        """Feed the service's new output lines to its `log` check."""
        name = self.name

        def on_event(event: Event) -> None:
            if isinstance(event, OutputLines) and event.service == name:
                log_watch.feed(event.lines)

        unsubscribe = self.rt.bus.subscribe(on_event)
        unfollow = self.ctx.output.follow(name)

        def undo() -> None:
            unfollow()
            unsubscribe()

        return undo

    async def _spawn(self) -> None:
        rt, spec = self.rt, self.rt.spec
        env = service_environment(spec, self.ctx.instance, self.ctx.port_offset)
        self.env = env
        try:
            proc = await self.ctx.launcher.spawn(spec, env)
        except SpawnError as exc:
            rt.set_state(State.FAILED, str(exc))  # STARTING -> FAILED
            raise ServiceFailure(rt.name, str(exc)) from None
        rt.proc = proc
        rt.started_at = proc.started_at
        rt.exit_code = None
        self.spawned_mono = self.ctx.clock.monotonic()
        rt.notice(f"{rt.name} started (pid {proc.pid})")
        if spec.user and os.geteuid() != 0:
            rt.notice(f"{rt.name}: `user: {spec.user}` ignored: stackup is not running as root")

    async def _await_completion(self) -> None:
        rt, clock = self.rt, self.ctx.clock
        assert rt.proc is not None
        if not await clock.wait(rt.proc.exited(), rt.spec.health.start_timeout):
            reason = f"did not complete within {rt.spec.health.start_timeout:g}s"
            rt.set_state(State.FAILED, reason)  # STARTING -> FAILED
            raise ServiceFailure(rt.name, reason)
        code = await rt.proc.wait()
        self._record_exit(code)
        if code != 0:
            raise ServiceFailure(rt.name, f"exited with code {code}")
        rt.notice(f"{rt.name} completed")

    async def _await_ready(self, log_watch: LogWatch | None) -> None:
        rt, spec, clock = self.rt, self.rt.spec, self.ctx.clock
        proc = rt.proc
        assert proc is not None
        began = clock.monotonic()
        deadline = began + spec.health.start_timeout
        prober = self.ctx.make_prober(spec, self.env, self._owns_port, log_watch)
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
        waited = clock.monotonic() - began
        if exited.done():
            code = await proc.wait()
            self._record_exit(code)
            raise ServiceFailure(
                rt.name, f"exited with code {code} before it was ready (after {waited:.1f}s)"
            )
        result = ready.result()
        if not result.ok:
            detail = self._explain_not_ready(result)
            reason = f"not ready after {spec.health.start_timeout:g}s: {detail}"
            rt.set_state(State.FAILED, reason)  # STARTING -> FAILED (still running)
            raise ServiceFailure(rt.name, reason)
        new = State.RUNNING if spec.health.kind == "none" else State.HEALTHY
        rt.set_state(new, result.detail)  # STARTING -> HEALTHY/RUNNING
        rt.notice(f"{rt.name} is {new.value} after {waited:.2f}s ({result.detail})")

    def _record_exit(self, code: int) -> None:
        rt = self.rt
        rt.exit_code = code
        if rt.spec.oneshot and code == 0:
            rt.set_state(State.COMPLETED, "exited 0")  # STARTING/... -> COMPLETED
        elif code == 0:
            rt.set_state(State.EXITED, "exited with code 0")  # ... -> EXITED
        else:
            rt.set_state(State.FAILED, f"exited with code {code}")  # ... -> FAILED

    def _owns_port(self, port: int) -> bool:
        pids = self.rt.proc.leader_first_pids() if self.rt.proc else iter(())
        return ports.tree_listens_on(pids, port)

    def _explain_not_ready(self, result: ProbeResult) -> str:
        port = result.foreign_port
        if port is not None:
            holder = ports.holders([port]).get(port)
            if holder is not None:
                return f"port {port} is held by {holder.describe()}, not by {self.name}"
        return result.detail

    def tail(self) -> list[str]:
        """The current instance's last lines, for a failure report."""
        return self.ctx.output.tail(self.name, TAIL_LINES, self.rt.output_mark)

    # ---- a service someone else runs: only its check ---------------------------------

    async def _reach_external(self) -> None:
        """Wait (up to `start_timeout`) until an external service's check passes. Its
        listener is not ours, so nothing verifies who owns the port."""
        rt, spec, clock = self.rt, self.rt.spec, self.ctx.clock
        # STOPPED/FAILED/... -> STARTING: "starting" here means "being waited for"
        rt.set_state(State.STARTING, "external: waiting for its check")
        rt.ready_at = None
        rt.started_at = None
        env = service_environment(spec, self.ctx.instance, self.ctx.port_offset)
        prober = self.ctx.make_prober(spec, env, lambda _port: True, None)
        rt.prober = prober
        began = clock.monotonic()
        result = await prober.wait_ready(began + spec.health.start_timeout, asyncio.Event())
        if not result.ok:
            reason = (f"(external) is not reachable within {spec.health.start_timeout:g}s:"
                      f" {result.detail}")
            rt.set_state(State.FAILED, reason)  # STARTING -> FAILED
            raise ServiceFailure(rt.name, reason)
        rt.set_state(State.HEALTHY, f"external: {result.detail}")  # STARTING -> HEALTHY
        waited = clock.monotonic() - began
        rt.notice(f"{rt.name} (external) is reachable after {waited:.2f}s ({result.detail})")

    async def _watch_external(self) -> None:
        """Liveness for what we do not run: healthy or unhealthy, never restarted."""
        rt, check, clock = self.rt, self.rt.spec.health, self.ctx.clock
        prober = rt.prober
        assert prober is not None
        failures = 0
        while True:
            await clock.sleep(liveness_delay(clock.monotonic(), check.interval))
            result = await prober.probe(verify_owner=False)
            if result.ok:
                failures = 0
                if rt.state == State.UNHEALTHY:
                    # UNHEALTHY -> HEALTHY
                    rt.set_state(State.HEALTHY, f"external: {result.detail}")
                continue
            failures += 1
            if failures >= check.retries and rt.state != State.UNHEALTHY:
                # HEALTHY -> UNHEALTHY
                rt.set_state(State.UNHEALTHY, f"external: {result.detail}")
                rt.notice(f"{rt.name} (external) is unhealthy: {result.detail}")

    # ---- after start: watch, liveness ------------------------------------------------

    async def _watch(self) -> Exited | Unhealthy:
        """Follow a ready service until it exits, or (with a restart policy) until it
        has failed `retries` liveness checks in a row."""
        rt, clock = self.rt, self.ctx.clock
        assert rt.proc is not None
        exited = rt.proc.exited()
        check = rt.spec.health
        prober = rt.prober
        if check.kind in ("none", "log") or prober is None:
            return Exited(await rt.proc.wait())
        failures = 0
        while True:
            if await clock.wait(exited, liveness_delay(clock.monotonic(), check.interval)):
                return Exited(await rt.proc.wait())
            result = await prober.probe(verify_owner=False)
            if result.ok:
                failures = 0
                if rt.state == State.UNHEALTHY:
                    rt.set_state(State.HEALTHY, result.detail)  # UNHEALTHY -> HEALTHY
                continue
            failures += 1
            if failures >= check.retries and rt.state != State.UNHEALTHY:
                rt.set_state(State.UNHEALTHY, result.detail)  # HEALTHY -> UNHEALTHY
                rt.notice(f"{rt.name} is unhealthy: {result.detail}")
                if rt.spec.restart != "no":
                    return Unhealthy(result.detail)

    async def _stop_leftovers(self) -> None:
        """Stop the processes an exited instance left running (found by our marker), so
        the next instance does not find its port taken by its predecessor."""
        assert self.ctx.leftovers is not None
        leftovers = await self.ctx.leftovers(self.name)
        if leftovers:
            spec = self.rt.spec
            await stop_ladder(leftovers, spec.stop_signal, spec.stop_timeout, None,
                              self.ctx.kill_now)

    def adopt(self, proc: ServiceProcess, prober: Prober) -> None:
        """Take over a running, verified process (`start(adopted=proc)` then watches)."""
        rt = self.rt
        rt.proc = proc
        rt.prober = prober
        rt.started_at = proc.started_at
        rt.exit_code = None
        uptime = time.monotonic() - proc.started_mono  # it has been up since before us
        self.spawned_mono = self.ctx.clock.monotonic() - uptime
