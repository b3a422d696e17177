"""engine.runner.ServiceRunner with fake processes, a scripted check and a fake clock:
restart policy, backoff, max_restarts and liveness in milliseconds.

The same behaviour with real processes is covered by tests/integration/test_faults.py;
these tests reach what those cannot afford to wait for (a 30 s backoff cap, a reset
after 60 s up) and pin the exact sequence of delays and states.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import psutil
import pytest

from stackup.config.model import Dependency, HealthCheck, Service
from stackup.engine.probes import ProbeResult
from stackup.engine.runner import LIVENESS_BEAT, RunContext, ServiceRunner, liveness_delay
from stackup.engine.runtime import ServiceFailure, ServiceRuntime
from stackup.engine.service_process import ServiceProcess, SpawnError
from stackup.events import EventBus, Notice, StateChanged
from stackup.states import State

_pids = itertools.count(4_000_000)  # above pid_max: never a real process


class FakeClock:
    """Sleeps and timeouts return at once, moving the clock on by what they would take."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def time(self) -> float:
        return 1.8e9 + self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)

    async def wait(self, future: asyncio.Future[Any], timeout: float) -> bool:
        for _ in range(5):  # let whatever is about to finish finish
            if future.done():
                return True
            await asyncio.sleep(0)
        self.now += timeout
        return future.done()


class FakeProcess(ServiceProcess):
    def __init__(self, service: Service) -> None:
        super().__init__(service, next(_pids), asyncio.get_running_loop().create_future())
        self.stopped = False

    def exit(self, code: int) -> None:
        if not self._exited.done():
            self._exited.set_result(code)

    async def stop(
        self, extra: list[psutil.Process] | None = None, kill_now: asyncio.Event | None = None
    ) -> tuple[int | None, bool]:
        self.stopped = True
        self.exit(-15)
        return -15, False


class FakeLauncher:
    """Spawns FakeProcesses; `exit_at_once` makes the next spawns exit with these codes."""

    def __init__(self) -> None:
        self.procs: list[FakeProcess] = []
        self.exit_at_once: list[int] = []
        self.fail_spawn = False

    async def spawn(self, service: Service, env: dict[str, str]) -> ServiceProcess:
        if self.fail_spawn:
            raise SpawnError("cannot run 'x': No such file or directory")
        proc = FakeProcess(service)
        self.procs.append(proc)
        if self.exit_at_once:
            code = self.exit_at_once.pop(0)
            asyncio.get_running_loop().call_soon(proc.exit, code)
        return proc

    def orphans(self) -> list[psutil.Process]:
        return []


class NoOutput:
    def position(self, service: str) -> int:
        return 0

    def follow(self, service: str) -> Callable[[], None]:
        return lambda: None

    def tail(self, service: str, lines: int, since: int) -> list[str]:
        return ["last line"]


class ScriptedProber:
    """Readiness passes at once unless told otherwise; liveness answers from a script
    (then keeps answering the last result)."""

    def __init__(self, ready: bool, liveness: list[bool]) -> None:
        self.ready = ready
        self.liveness = liveness
        self.probes = 0

    async def wait_ready(self, deadline: float, stop: asyncio.Event) -> ProbeResult:
        return ProbeResult(self.ready, "ready" if self.ready else "port 1 refused")

    async def probe(self, verify_owner: bool = True) -> ProbeResult:
        self.probes += 1
        ok = self.liveness.pop(0) if len(self.liveness) > 1 else self.liveness[0]
        return ProbeResult(ok, "answered 200" if ok else "answered 500")


def service(**changes: Any) -> Service:
    base = Service(
        name="api", command="serve", cwd=Path("."), port=None, host="127.0.0.1", env={},
        health=HealthCheck(kind="none"),
    )
    return replace(base, **changes)


class Harness:
    def __init__(self, spec: Service, ready: bool = True, liveness: list[bool] | None = None):
        self.bus = EventBus()
        self.events: list[Any] = []
        self.bus.subscribe(self.events.append)
        self.rt = ServiceRuntime(spec, self.bus)
        self.clock = FakeClock()
        self.launcher = FakeLauncher()
        self.prober = ScriptedProber(ready, liveness or [True])

        async def no_leftovers(name: str) -> list[psutil.Process]:
            return []

        ctx = RunContext(
            self.launcher, NoOutput(), "test-instance", clock=self.clock,
            make_prober=lambda *args: self.prober, leftovers=no_leftovers,
        )
        self.runner = ServiceRunner(self.rt, {spec.name: self.rt}, ctx)

    @property
    def proc(self) -> FakeProcess:
        return self.launcher.procs[-1]

    def states(self) -> list[str]:
        return [e.new.value for e in self.events if isinstance(e, StateChanged)]

    def notices(self) -> list[str]:
        return [e.message for e in self.events if isinstance(e, Notice)]

    async def until(self, condition: Callable[[], bool]) -> None:
        """Let the runner's task run until `condition` holds (bounded: a runner that
        stops making progress fails the test instead of hanging it)."""
        for _ in range(2000):
            if condition():
                return
            await asyncio.sleep(0)
        raise AssertionError(f"not reached; states so far: {self.states()}")

    async def until_ended(self) -> None:
        await self.until(lambda: not self.runner.running)


def run(test: Callable[[], Any]) -> None:
    asyncio.run(test())


def test_on_failure_backs_off_doubling_and_gives_up_after_max_restarts() -> None:
    async def main() -> None:
        h = Harness(service(restart="on-failure", max_restarts=2))
        await h.runner.start()
        assert h.rt.state == State.RUNNING
        h.launcher.exit_at_once = [1]  # the second instance dies at once, too
        h.proc.exit(1)  # the first instance crashes
        await h.until(lambda: len(h.launcher.procs) == 3)
        h.proc.exit(1)  # the third crashes: 2 restarts spent
        await h.until_ended()
        assert h.clock.sleeps == [0.5, 1.0]  # the backoff doubles between crashes
        assert h.rt.state == State.FAILED
        assert h.rt.reason == "gave up after 2 restarts, last exit code 1"
        assert h.rt.restarts == 2
        assert "api reached max_restarts (2); giving up" in h.notices()

    run(main)


def test_on_failure_leaves_a_clean_exit_and_always_restarts_it() -> None:
    async def main() -> None:
        h = Harness(service(restart="on-failure"))
        await h.runner.start()
        h.proc.exit(0)
        await h.until_ended()
        assert h.rt.state == State.EXITED and len(h.launcher.procs) == 1

        h = Harness(service(restart="always"))
        await h.runner.start()
        h.proc.exit(0)
        await h.until(lambda: len(h.launcher.procs) == 2 and h.rt.state == State.RUNNING)
        assert h.clock.sleeps == [0.5]
        assert h.runner.running  # still watching the new instance

    run(main)


def test_no_policy_ends_the_run_with_the_exit_recorded() -> None:
    async def main() -> None:
        h = Harness(service())
        await h.runner.start()
        h.proc.exit(3)
        await h.until_ended()
        assert h.rt.state == State.FAILED and h.rt.reason == "exited with code 3"
        assert h.rt.exit_code == 3 and h.clock.sleeps == []

    run(main)


def test_a_long_run_resets_the_backoff() -> None:
    async def main() -> None:
        h = Harness(service(restart="always"))
        await h.runner.start()
        for expected in (0.5, 1.0, 2.0):  # three quick crashes: the backoff grows
            h.proc.exit(1)
            await h.until(
                lambda e=expected: h.clock.sleeps[-1:] == [e] and h.rt.state == State.RUNNING
            )
        h.clock.now += 61.0  # the fourth instance runs for a minute, then crashes
        h.proc.exit(1)
        await h.until(lambda: len(h.clock.sleeps) == 4)
        assert h.clock.sleeps == [0.5, 1.0, 2.0, 0.5]

    run(main)


def test_the_backoff_is_capped_at_30s() -> None:
    async def main() -> None:
        h = Harness(service(restart="always"))
        await h.runner.start()
        for _ in range(9):
            before = len(h.clock.sleeps)
            h.proc.exit(1)
            await h.until(lambda b=before: len(h.clock.sleeps) == b + 1
                          and h.rt.state == State.RUNNING)
        assert h.clock.sleeps == [0.5, 1, 2, 4, 8, 16, 30, 30, 30]

    run(main)


def test_liveness_marks_unhealthy_after_retries_and_restarts_by_policy() -> None:
    async def main() -> None:
        check = HealthCheck(kind="tcp", port=1, interval=2.0, retries=3)
        h = Harness(
            service(health=check, restart="always"), liveness=[True, False, False, False, True]
        )
        await h.runner.start()
        assert h.rt.state == State.HEALTHY
        first = h.proc
        await h.until(lambda: len(h.launcher.procs) == 2 and h.rt.state == State.HEALTHY)
        assert first.stopped  # stopped through its handle before the next one started
        assert h.states()[-4:] == ["unhealthy", "restarting", "starting", "healthy"]
        assert h.prober.probes == 4  # 1 pass, then `retries` failures in a row
        # One pass, three failures, each after `interval` on the clock, then the backoff.
        assert h.clock.now == pytest.approx(1000.0 + 4 * 2.0 + 0.5)

    run(main)


def test_without_a_policy_unhealthy_stays_until_a_check_passes_again() -> None:
    async def main() -> None:
        check = HealthCheck(kind="tcp", port=1, interval=1.0, retries=2)
        h = Harness(service(health=check), liveness=[False, False, False, True])
        await h.runner.start()
        await h.until(lambda: h.rt.state == State.UNHEALTHY)
        await h.until(lambda: h.rt.state == State.HEALTHY and h.prober.probes >= 4)
        assert len(h.launcher.procs) == 1 and not h.proc.stopped  # never restarted
        assert "api is unhealthy: answered 500" in h.notices()

    run(main)


def test_a_failed_restart_counts_and_goes_straight_to_the_next_decision() -> None:
    async def main() -> None:
        h = Harness(service(restart="on-failure", max_restarts=3))
        await h.runner.start()
        h.launcher.exit_at_once = [7, 7]  # two restarts that die before they are ready
        h.proc.exit(1)
        await h.until(lambda: len(h.launcher.procs) == 4 and h.rt.state == State.RUNNING)
        assert h.clock.sleeps == [0.5, 1.0, 2.0]
        assert h.rt.restarts == 3
        assert any("failed to restart: exited with code 7" in n for n in h.notices())

    run(main)


def test_a_first_start_that_fails_is_the_callers_failure_and_is_not_restarted() -> None:
    async def main() -> None:
        h = Harness(service(restart="always"))
        h.launcher.exit_at_once = [2]
        with pytest.raises(ServiceFailure, match="exited with code 2 before it was ready"):
            await h.runner.start()
        await h.until_ended()
        assert len(h.launcher.procs) == 1 and h.clock.sleeps == []

        h = Harness(service(port=1, health=HealthCheck(kind="tcp", port=1)), ready=False)
        with pytest.raises(ServiceFailure, match="not ready after 60s: port 1 refused"):
            await h.runner.start()
        assert h.rt.state == State.FAILED

        h = Harness(service())
        h.launcher.fail_spawn = True
        with pytest.raises(ServiceFailure, match="No such file or directory"):
            await h.runner.start()
        assert h.rt.state == State.FAILED

    run(main)


def test_an_explicit_start_resets_the_restart_count() -> None:
    async def main() -> None:
        h = Harness(service(restart="on-failure", max_restarts=1))
        await h.runner.start()
        h.proc.exit(1)
        await h.until(lambda: h.rt.restarts == 1 and h.rt.state == State.RUNNING)
        h.proc.exit(1)
        await h.until_ended()
        assert h.rt.state == State.FAILED and "gave up after 1 restart" in h.rt.reason
        await h.runner.start()  # `stackup restart api` / `up -d api` after a failure
        assert h.rt.restarts == 0 and h.rt.state == State.RUNNING

    run(main)


def test_a_oneshot_completes_and_is_never_restarted() -> None:
    async def main() -> None:
        h = Harness(service(oneshot=True, restart="always"))
        h.launcher.exit_at_once = [0]
        await h.runner.start()
        await h.until_ended()
        assert h.rt.state == State.COMPLETED and len(h.launcher.procs) == 1

    run(main)


def test_cancelling_a_run_before_it_is_ready_says_so_to_its_waiter() -> None:
    async def main() -> None:
        h = Harness(service(depends_on=()))
        dep_spec = service(name="db")
        dep = ServiceRuntime(dep_spec, h.bus)
        waiting = service(depends_on=(Dependency("db", "healthy"),))
        h.rt = ServiceRuntime(waiting, h.bus)
        h.runner = ServiceRunner(h.rt, {"api": h.rt, "db": dep}, h.runner.ctx)
        ready = h.runner.start()
        await h.until(lambda: h.rt.state == State.WAITING)
        await h.runner.cancel()
        with pytest.raises(ServiceFailure, match="was stopped before it became ready"):
            await ready
        assert h.launcher.procs == []  # it never spawned

    run(main)


@pytest.mark.parametrize("now", [0.0, 0.01, 0.124, 0.25, 7.3333, 1_000_000.6])
@pytest.mark.parametrize("interval", [0.1, 2.0, 30.0])
def test_liveness_checks_fall_on_a_shared_beat(now: float, interval: float) -> None:
    delay = liveness_delay(now, interval)
    beat = min(LIVENESS_BEAT, interval / 4)
    assert interval <= delay < interval + beat + 1e-9
    due = (now + delay) / beat
    assert abs(due - round(due)) < 1e-6  # on the beat: services started apart meet there
