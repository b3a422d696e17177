"""The asyncio supervisor: one runner per service, composed.

`up` starts the runners of a selection (each waits for its own dependencies, so
independent services start in parallel and a dependent starts the moment its
dependency's readiness event is set) and fails fast on the first failure. `stop`
runs in reverse: a service is signalled only after everything that depends on it
has exited; services on one level stop together.
"""

from __future__ import annotations

import asyncio
import secrets
import signal
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass

import psutil

from stackup.config import graph
from stackup.config.model import Stack
from stackup.engine.clock import SYSTEM_CLOCK, Clock
from stackup.engine.probes import Prober
from stackup.engine.runner import (
    OutputFeed,
    ProberFactory,
    RunContext,
    ServiceRunner,
    marked_leftovers,
)
from stackup.engine.runtime import ServiceRuntime
from stackup.engine.service_process import Launcher
from stackup.engine.stop_order import stop_in_reverse_order
from stackup.events import EventBus
from stackup.states import FINAL_STATES, State
from stackup.system import processes
from stackup.system.stopping import stop_ladder


@dataclass(frozen=True)
class StopReport:
    """What stopping one service took: for `down`'s one line per service."""

    service: str
    seconds: float
    killed: bool  # the stop signal was not enough: SIGKILL was sent
    forced: bool = False  # killed without waiting: a second Ctrl-C (or SIGTERM)

    def describe(self) -> str:
        if self.forced:
            return f"{self.service} killed (SIGKILL): asked to kill at once"
        if self.killed:
            return f"{self.service} killed (SIGKILL) after {self.seconds:.1f}s"
        return f"{self.service} stopped in {self.seconds:.2f}s"

    def to_json(self) -> dict[str, object]:
        return {"service": self.service, "seconds": round(self.seconds, 3),
                "killed": self.killed, "forced": self.forced}


class Supervisor:
    """Supervises the services of one stack; `up` and `stop` may be called repeatedly
    (the detached supervisor starts more services or stops some on request)."""

    def __init__(
        self,
        stack: Stack,
        bus: EventBus,
        launcher: Launcher,
        output: OutputFeed,
        instance: str | None = None,
        clock: Clock = SYSTEM_CLOCK,
        make_prober: ProberFactory = Prober,
    ) -> None:
        self.stack = stack
        self.bus = bus
        self.launcher = launcher
        self.kill_now = asyncio.Event()  # second Ctrl-C: skip the polite part
        self.ctx = RunContext(
            launcher, output, instance or secrets.token_hex(8), stack.port_offset,
            self.kill_now, clock, make_prober,
        )
        self.runtimes = {name: ServiceRuntime(svc, bus) for name, svc in stack.services.items()}
        self.runners = {
            name: ServiceRunner(rt, self.runtimes, self.ctx) for name, rt in self.runtimes.items()
        }
        self.selected: list[str] = []  # what `up` asked for (plus dependencies), file order
        self._stopping = asyncio.Lock()

    @property
    def instance(self) -> str:
        """The marker every process of this stack run carries (STACKUP_INSTANCE)."""
        return self.ctx.instance

    @instance.setter
    def instance(self, value: str) -> None:
        # Taking over a dead supervisor's services means taking over its marker.
        self.ctx.instance = value
        self.ctx.leftovers = marked_leftovers(value)

    # ---- start -------------------------------------------------------------------

    async def up(self, names: Sequence[str] = ()) -> list[str]:
        """Bring `names` (default services when empty) and their dependencies up.

        Services already up (or on their way) are left alone. Returns the selection
        once every one is ready; raises ServiceFailure on the first failure, after
        ending the other starts of this call that were not ready yet.
        """
        selection = graph.select(self.stack, names)
        self.select(selection)
        waits = {name: self._ensure_started(name) for name in selection}
        pending = set(waits.values())
        try:
            while pending:
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                for future in done:
                    if future.exception() is not None:
                        raise future.exception()  # type: ignore[misc]
        finally:
            unready = [n for n, f in waits.items() if f in pending]
            await asyncio.gather(*(self.runners[n].cancel() for n in unready))
            # Collects every outcome (a second failure in the same round would
            # otherwise be logged as "exception never retrieved").
            await asyncio.gather(*waits.values(), return_exceptions=True)
        return selection

    def select(self, names: Sequence[str]) -> None:
        wanted = set(self.selected) | set(names)
        self.selected = [n for n in self.stack.services if n in wanted]

    def _ensure_started(self, name: str) -> asyncio.Future[None]:
        runner = self.runners[name]
        if runner.running:
            assert runner.first_ready is not None
            return runner.first_ready  # already starting or up: share the outcome
        if runner.rt.state == State.COMPLETED:
            done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            done.set_result(None)
            return done
        return runner.start()

    def tail(self, name: str) -> list[str]:
        return self.runners[name].tail()

    def start_again(self, names: Sequence[str]) -> dict[str, asyncio.Future[None]]:
        """Begin a new run of each of `names` (stopped by the caller), without waiting:
        each waits for its own dependencies; the futures settle at readiness."""
        return {name: self.runners[name].start() for name in names}

    # ---- an edited stack ---------------------------------------------------------

    def replace_stack(self, stack: Stack, removed: Collection[str] = ()) -> None:
        """Move to an edited stack. `removed`: services gone from it, already stopped:
        their runtimes go. A new service gets a runtime and a runner; every other
        runtime takes its definition from `stack` — the caller passes a new definition
        only for a service it stopped (a recreate) or whose process it does not change
        (the same hash), and the definition the service runs with otherwise."""
        for name in removed:
            runner = self.runners.pop(name)
            assert not runner.running, f"{name} must be stopped before it is removed"
            del self.runtimes[name]
        runtimes: dict[str, ServiceRuntime] = {}
        runners: dict[str, ServiceRunner] = {}
        for name, svc in stack.services.items():
            rt = self.runtimes.get(name)
            if rt is None:
                rt = ServiceRuntime(svc, self.bus)
                runners[name] = ServiceRunner(rt, self.runtimes, self.ctx)
            else:
                rt.spec = svc
                runners[name] = self.runners[name]
            runtimes[name] = rt
        # In place: every runner holds this mapping to find its dependencies.
        self.runtimes.clear()
        self.runtimes.update(runtimes)
        self.runners = runners
        self.stack = stack
        self.ctx.port_offset = stack.port_offset
        kept = set(self.selected)
        self.selected = [n for n in stack.services if n in kept]

    def is_up(self, name: str) -> bool:
        """Running, on its way (waiting, starting, restarting) or done (a completed
        task): what converging leaves alone when its definition did not change."""
        runner = self.runners[name]
        return runner.running or runner.rt.state == State.COMPLETED

    def tree_pids(self, name: str) -> list[int]:
        proc = self.runtimes[name].proc
        return proc.tree_pids() if proc is not None and proc.returncode is None else []

    # ---- state queries -----------------------------------------------------------

    def all_finished(self) -> bool:
        """Nothing runs and nothing will: every selected service ended, no run pending."""
        runtimes = [self.runtimes[n] for n in self.selected]
        return all(rt.finished.is_set() for rt in runtimes) and not any(
            r.running for r in self.runners.values()
        )

    async def wait_all_finished(self) -> None:
        while not self.all_finished():
            waits = [asyncio.create_task(self.runtimes[n].finished.wait()) for n in self.selected]
            runs = [r.task for r in self.runners.values() if r.running and r.task is not None]
            try:
                await asyncio.wait([*waits, *runs], return_when=asyncio.FIRST_COMPLETED)
            finally:
                for w in waits:
                    w.cancel()

    # ---- stop ----------------------------------------------------------------------

    async def stop(
        self, names: Sequence[str] | None = None, deselect: bool = False
    ) -> list[StopReport]:
        """Stop `names` (default: everything), dependents first; `deselect` also drops
        them from the selection (an explicit `down SERVICE`, not a restart).

        A service is signalled only once everything (among those stopping) that
        depends on it has exited; services on one level stop together. Returns what
        stopping each running service took.
        """
        async with self._stopping:  # one stop at a time: a second one finds less to do
            return await self._stop(names, deselect)

    async def _stop(self, names: Sequence[str] | None, deselect: bool) -> list[StopReport]:
        targets = self.selected if names is None else [n for n in self.selected if n in names]
        await asyncio.gather(*(self.runners[n].cancel() for n in targets))
        # Leftovers: descendants that escaped the process tree still carry our marker.
        leftovers = await asyncio.to_thread(processes.marked_processes, self.instance)
        deps = {n: [d.name for d in self.stack.services[n].depends_on] for n in targets}
        reports: list[StopReport] = []

        async def stop_one(name: str) -> None:
            report = await self._stop_service(
                self.runtimes[name], leftovers.get(name, []), names is not None
            )
            if report is not None:
                reports.append(report)

        errors = await stop_in_reverse_order(deps, stop_one, self.kill_now)
        for name, error in errors.items():
            self.runtimes[name].notice(f"error while stopping {name}: {error!r}")
        if names is None:
            await self._stop_leftovers()
            self.selected = []
        elif deselect:
            self.selected = [n for n in self.selected if n not in targets]
        return reports

    async def _stop_leftovers(self) -> None:
        """After a full stop nothing of the stack may remain: orphans the services'
        parent adopted (a child that cleared its environment and left its session),
        and anything still carrying our marker if a service's own stop went wrong."""
        marked = await asyncio.to_thread(processes.marked_processes, self.instance)
        found: list[psutil.Process] = [
            *self.launcher.orphans(), *(p for procs in marked.values() for p in procs)
        ]
        if found:
            timeout = max((s.stop_timeout for s in self.stack.services.values()), default=10.0)
            await stop_ladder(found, signal.SIGTERM, timeout, None, self.kill_now)

    async def _stop_service(
        self, rt: ServiceRuntime, leftovers: list[psutil.Process], explicit: bool = False
    ) -> StopReport | None:
        proc = rt.proc
        running = proc is not None and proc.returncode is None
        if not running and not leftovers:
            # Nothing to signal; a service that was on its way (or whose exit the
            # cancelled run never recorded) ends stopped, final states stay — but a
            # completed task stopped on purpose (`restart migrate`) runs again next time.
            if rt.state not in FINAL_STATES or (rt.state == State.COMPLETED and explicit):
                rt.set_state(State.STOPPED, "stopped")  # WAITING/RESTARTING/... -> STOPPED
            return None
        failed = (rt.state, rt.reason) if rt.state == State.FAILED else None
        if running:
            rt.set_state(State.STOPPING, "stopping")  # HEALTHY/RUNNING/... -> STOPPING
            rt.notice(f"stopping {rt.name}")
        began = time.monotonic()
        killed = False
        if proc is not None:
            rt.exit_code, killed = await proc.stop(leftovers, self.kill_now)
        else:
            spec = rt.spec
            ladder = await stop_ladder(
                leftovers, spec.stop_signal, spec.stop_timeout, None, self.kill_now
            )
            killed = ladder.killed
        code = rt.exit_code
        if failed is not None:
            rt.set_state(*failed)  # stopping what a failed service left does not undo why
        elif rt.state not in (State.STOPPED, State.COMPLETED):
            rt.set_state(State.STOPPED, f"stopped (exit code {code})")  # STOPPING -> STOPPED
        report = StopReport(
            rt.name, time.monotonic() - began, killed, forced=killed and self.kill_now.is_set()
        )
        if running:
            rt.notice(report.describe())
        return report
