"""states.check_transition and runtime.ServiceRuntime.set_state."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from pathlib import Path

import pytest

from stackup.config.model import HealthCheck, Service
from stackup.engine.runtime import ServiceRuntime
from stackup.events import Event, EventBus, StateChanged
from stackup.states import State, TransitionError, check_transition

S = State

ALLOWED = [
    (S.STOPPED, S.WAITING),
    (S.STOPPED, S.STARTING),
    (S.WAITING, S.STARTING),
    (S.STARTING, S.HEALTHY),
    (S.STARTING, S.RUNNING),
    (S.STARTING, S.COMPLETED),
    (S.STARTING, S.FAILED),
    (S.HEALTHY, S.UNHEALTHY),
    (S.UNHEALTHY, S.HEALTHY),
    (S.RUNNING, S.STOPPING),
    (S.STOPPING, S.STOPPED),
    (S.FAILED, S.RESTARTING),
    (S.RESTARTING, S.STARTING),
    (S.EXITED, S.STOPPING),
    (S.COMPLETED, S.STARTING),
]

REFUSED = [
    (S.STOPPED, S.HEALTHY),
    (S.STOPPED, S.RUNNING),
    (S.STOPPED, S.COMPLETED),
    (S.STOPPED, S.STOPPING),
    (S.WAITING, S.HEALTHY),
    (S.RUNNING, S.HEALTHY),
    (S.RUNNING, S.STARTING),
    (S.STOPPING, S.HEALTHY),
    (S.STOPPING, S.STARTING),
    (S.RESTARTING, S.HEALTHY),
    (S.COMPLETED, S.HEALTHY),
    (S.UNHEALTHY, S.RUNNING),
]


@pytest.mark.parametrize(("old", "new"), ALLOWED)
def test_allowed_transitions(old: State, new: State) -> None:
    check_transition(old, new)


@pytest.mark.parametrize(("old", "new"), REFUSED)
def test_refused_transitions(old: State, new: State) -> None:
    with pytest.raises(TransitionError, match=f"{old} -> {new}"):
        check_transition(old, new)


def test_every_state_has_a_rule() -> None:
    # A state missing from the table would raise KeyError instead of TransitionError.
    for old in State:
        for new in State:
            with contextlib.suppress(TransitionError):
                check_transition(old, new)


def make_runtime() -> tuple[ServiceRuntime, list[Event]]:
    spec = Service(
        name="a", command="true", cwd=Path("."), port=None, host="127.0.0.1", env={},
        health=HealthCheck(kind="none"),
    )
    bus = EventBus()
    seen: list[Event] = []
    bus.subscribe(seen.append)
    return ServiceRuntime(spec, bus), seen


def flags(rt: ServiceRuntime) -> dict[str, bool]:
    return {
        "started": rt.started.is_set(),
        "ready": rt.ready.is_set(),
        "completed": rt.completed.is_set(),
        "finished": rt.finished.is_set(),
    }


def in_loop(fn: Callable[[], None]) -> None:
    """asyncio.Event needs no loop on 3.11, but the runtime lives in one: run it there."""

    async def main() -> None:
        fn()

    asyncio.run(main())


def test_set_state_publishes_state_changed() -> None:
    def body() -> None:
        rt, seen = make_runtime()
        rt.set_state(S.STARTING, "spawned")
        assert rt.state == S.STARTING and rt.reason == "spawned"
        assert len(seen) == 1
        ev = seen[0]
        assert isinstance(ev, StateChanged)
        assert (ev.service, ev.old, ev.new, ev.detail) == ("a", S.STOPPED, S.STARTING, "spawned")
        assert ev.time > 0

    in_loop(body)


def test_set_state_to_the_same_state_and_reason_publishes_nothing() -> None:
    def body() -> None:
        rt, seen = make_runtime()
        rt.set_state(S.STARTING, "one")
        rt.set_state(S.STARTING)
        rt.set_state(S.STARTING, "one")
        assert len(seen) == 1 and rt.reason == "one" and rt.state == S.STARTING

    in_loop(body)


def test_illegal_move_is_refused_and_changes_nothing() -> None:
    def body() -> None:
        rt, seen = make_runtime()
        with pytest.raises(TransitionError):
            rt.set_state(S.HEALTHY)
        assert rt.state == S.STOPPED and seen == []
        assert not rt.ready.is_set()

    in_loop(body)


def test_events_follow_a_service_lifecycle() -> None:
    def body() -> None:
        rt, _ = make_runtime()
        rt.set_state(S.STARTING)
        assert flags(rt) == {"started": True, "ready": False, "completed": False,
                             "finished": False}
        rt.set_state(S.HEALTHY)
        assert flags(rt)["ready"] and rt.ready_at is not None
        rt.set_state(S.UNHEALTHY)
        assert not rt.ready.is_set()
        rt.set_state(S.HEALTHY)
        assert rt.ready.is_set()
        rt.set_state(S.STOPPING)
        assert not rt.ready.is_set() and not rt.finished.is_set()
        rt.set_state(S.STOPPED)
        assert flags(rt) == {"started": True, "ready": False, "completed": False,
                             "finished": True}

    in_loop(body)


def test_a_oneshot_sets_completed_ready_and_finished() -> None:
    def body() -> None:
        rt, _ = make_runtime()
        rt.set_state(S.STARTING)
        rt.set_state(S.COMPLETED, "exited 0")
        assert flags(rt) == {"started": True, "ready": True, "completed": True,
                             "finished": True}

    in_loop(body)


def test_a_failure_finishes_without_ready_and_a_restart_clears_finished() -> None:
    def body() -> None:
        rt, seen = make_runtime()
        rt.set_state(S.STARTING)
        rt.set_state(S.FAILED, "exited with code 1")
        assert rt.finished.is_set() and not rt.ready.is_set() and not rt.completed.is_set()
        rt.set_state(S.RESTARTING)
        assert not rt.finished.is_set()
        rt.set_state(S.STARTING)
        rt.set_state(S.RUNNING)
        assert rt.ready.is_set()
        assert [(e.old, e.new) for e in seen if isinstance(e, StateChanged)][-2:] == [
            (S.RESTARTING, S.STARTING), (S.STARTING, S.RUNNING),
        ]

    in_loop(body)


def test_condition_met_maps_conditions_to_events() -> None:
    def body() -> None:
        rt, _ = make_runtime()
        assert rt.condition_met("started") is rt.started
        assert rt.condition_met("healthy") is rt.ready
        assert rt.condition_met("completed") is rt.completed

    in_loop(body)


def test_a_dependent_waiting_on_ready_wakes_when_healthy() -> None:
    async def main() -> None:
        rt, _ = make_runtime()
        waiter = asyncio.create_task(rt.ready.wait())
        rt.set_state(S.STARTING)
        await asyncio.sleep(0)
        assert not waiter.done()
        rt.set_state(S.HEALTHY)
        await asyncio.wait_for(waiter, 2)

    asyncio.run(main())


def test_the_timeline_records_the_last_start_and_keeps_it_after_a_stop() -> None:
    def body() -> None:
        rt, _ = make_runtime()
        assert rt.timeline.to_json() == {"waiting_at": None, "started_at": None,
                                         "ready_at": None}
        rt.set_state(S.WAITING)
        waiting = rt.timeline.waiting_at
        assert waiting is not None and rt.timeline.started_at is None
        rt.set_state(S.STARTING)
        rt.set_state(S.HEALTHY)
        first = rt.timeline.to_json()
        assert waiting == first["waiting_at"] <= first["started_at"] <= first["ready_at"]
        rt.set_state(S.UNHEALTHY)
        rt.set_state(S.HEALTHY)  # ready again: the start's ready time stays the first
        rt.set_state(S.STOPPING)
        rt.set_state(S.STOPPED)
        assert rt.timeline.to_json() == first  # kept after the stop
        rt.set_state(S.STARTING)  # the next start (nothing to wait for) begins afresh
        assert rt.timeline.waiting_at is None and rt.timeline.ready_at is None
        assert rt.timeline.started_at is not None
        assert rt.timeline.started_at >= first["ready_at"]

    in_loop(body)


def test_a_restart_starts_a_new_timeline() -> None:
    def body() -> None:
        rt, _ = make_runtime()
        rt.set_state(S.WAITING)
        rt.set_state(S.STARTING)
        rt.set_state(S.FAILED)
        rt.set_state(S.RESTARTING)
        rt.set_state(S.STARTING)
        assert rt.timeline.waiting_at is None and rt.timeline.started_at is not None
        rt.set_state(S.COMPLETED)
        assert rt.timeline.ready_at is not None

    in_loop(body)
