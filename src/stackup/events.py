"""Events that connect the runtime's parts, and the bus that carries them (stdlib only).

Output and state changes are published once; the terminal printer, the log files and
(later) the control socket are just subscribers. Publishing is synchronous: every
subscriber is a quick in-memory or buffered-file write, so no queue is needed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from stackup.states import State


@dataclass(frozen=True)
class OutputLines:
    """A batch of complete lines one service wrote (one read from its pipe)."""

    service: str
    lines: list[str]
    time: float


@dataclass(frozen=True)
class StateChanged:
    service: str
    old: State
    new: State
    time: float
    detail: str = ""


@dataclass(frozen=True)
class Notice:
    """A line from stackup itself about a service (start, ready, exit, stop)."""

    service: str
    message: str
    time: float


Event = OutputLines | StateChanged | Notice
Subscriber = Callable[[Event], None]


@dataclass
class EventBus:
    _subscribers: list[Subscriber] = field(default_factory=list)

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        self._subscribers.append(subscriber)
        return lambda: self._subscribers.remove(subscriber)

    def publish(self, event: Event) -> None:
        for subscriber in list(self._subscribers):
            subscriber(event)
