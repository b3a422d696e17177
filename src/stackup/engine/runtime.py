"""One service's supervised state: the only place a service's State changes.

`set_state` checks the move against `states.check_transition`, keeps the readiness
events in step (so waiting dependents wake at once), records the timeline of the last
start and publishes the change.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import asdict, dataclass

from stackup.config.model import Condition, Service
from stackup.engine.probes import Prober
from stackup.engine.service_process import ServiceProcess
from stackup.events import EventBus, Notice, StateChanged
from stackup.states import READY_STATES, State, check_transition

TAIL_LINES = 20


class ServiceFailure(Exception):
    """A service failed to start: `reason` is the one line shown to the user."""

    def __init__(self, service: str, reason: str) -> None:
        super().__init__(f"{service}: {reason}")
        self.service = service
        self.reason = reason


@dataclass
class Timeline:
    """When the last start began waiting, was spawned and became ready (epoch seconds):
    kept after the service stops, until its next start begins (`stackup timeline`)."""

    waiting_at: float | None = None
    started_at: float | None = None
    ready_at: float | None = None

    def to_json(self) -> dict[str, float | None]:
        return asdict(self)


class ServiceRuntime:
    def __init__(self, spec: Service, bus: EventBus) -> None:
        self.spec = spec
        self.name = spec.name
        self.bus = bus
        self.state = State.STOPPED
        self.reason = ""  # why it is in its current state, for messages and status
        self.proc: ServiceProcess | None = None
        self.prober: Prober | None = None
        self.restarts = 0
        self.backoff_step = 0  # grows with each crash, reset after a long healthy spell
        self.exit_code: int | None = None
        self.started_at: float | None = None
        self.ready_at: float | None = None
        self.timeline = Timeline()
        self.output_mark = 0  # where the current instance's output begins in its log
        self.changed_at: float | None = None  # last restarted for a changed watched file
        self.changed_paths: list[str] = []  # which files (relative), the first few
        self.started = asyncio.Event()  # spawned at least once in this run
        self.ready = asyncio.Event()  # in a READY state now
        self.completed = asyncio.Event()  # a oneshot that exited 0
        self.finished = asyncio.Event()  # in a state where nothing more will happen

    def set_state(self, new: State, reason: str = "") -> None:
        old = self.state
        if old == new:
            if reason and reason != self.reason:  # same state, new why: still news
                self.reason = reason
                self.bus.publish(StateChanged(self.name, old, new, time.time(), reason))
            return
        check_transition(old, new)
        self.state = new
        self.reason = reason
        now = time.time()
        self._record_time(old, new, now)
        if new == State.STARTING:
            self.started.set()
            self.finished.clear()
        if new in READY_STATES:
            self.ready_at = self.ready_at or now
            self.ready.set()
        else:
            self.ready.clear()
        if new == State.COMPLETED:
            self.completed.set()
        if new in (State.STOPPED, State.COMPLETED, State.EXITED, State.FAILED):
            self.finished.set()
        else:
            self.finished.clear()
        self.bus.publish(StateChanged(self.name, old, new, now, reason))

    def _record_time(self, old: State, new: State, now: float) -> None:
        """The last start's timeline: a wait begins a new one, so does a start with
        nothing to wait for (or a restart)."""
        if new == State.WAITING:
            self.timeline = Timeline(waiting_at=now)
        elif new == State.STARTING:
            if old == State.WAITING:
                self.timeline.started_at = now
            else:  # a start with nothing to wait for, or a restart
                self.timeline = Timeline(started_at=now)
        elif new in READY_STATES and self.timeline.ready_at is None:
            self.timeline.ready_at = now  # the first time only: not after unhealthy

    def condition_met(self, condition: Condition) -> asyncio.Event:
        return {
            "started": self.started,
            "healthy": self.ready,
            "completed": self.completed,
        }[condition]

    def notice(self, message: str) -> None:
        self.bus.publish(Notice(self.name, message, time.time()))
