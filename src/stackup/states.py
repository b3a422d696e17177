"""The service lifecycle states and the transitions allowed between them (stdlib only)."""

from __future__ import annotations

from enum import StrEnum


class State(StrEnum):
    STOPPED = "stopped"
    WAITING = "waiting"  # for its dependencies
    STARTING = "starting"  # spawned, readiness not yet passed
    HEALTHY = "healthy"
    RUNNING = "running"  # up, no health check
    UNHEALTHY = "unhealthy"
    COMPLETED = "completed"  # a oneshot that exited 0
    EXITED = "exited"
    FAILED = "failed"
    RESTARTING = "restarting"
    STOPPING = "stopping"


READY_STATES = frozenset({State.HEALTHY, State.RUNNING, State.COMPLETED})
ALIVE_STATES = frozenset(
    {State.STARTING, State.HEALTHY, State.RUNNING, State.UNHEALTHY, State.STOPPING}
)
FINAL_STATES = frozenset({State.STOPPED, State.COMPLETED, State.EXITED, State.FAILED})

_ALLOWED: dict[State, frozenset[State]] = {
    State.STOPPED: frozenset({State.WAITING, State.STARTING}),
    State.WAITING: frozenset({State.STARTING, State.STOPPED, State.FAILED}),
    # Any live state may end in STOPPED directly: a start cancelled before its process
    # existed, or a stop that finds the process already gone, has nothing to signal.
    State.STARTING: frozenset(
        {State.HEALTHY, State.RUNNING, State.COMPLETED, State.EXITED, State.FAILED,
         State.STOPPING, State.RESTARTING, State.STOPPED}
    ),
    State.HEALTHY: frozenset(
        {State.UNHEALTHY, State.EXITED, State.FAILED, State.STOPPING, State.RESTARTING,
         State.COMPLETED, State.STOPPED}
    ),
    State.RUNNING: frozenset(
        {State.EXITED, State.FAILED, State.STOPPING, State.RESTARTING, State.COMPLETED,
         State.STOPPED}
    ),
    State.UNHEALTHY: frozenset(
        {State.HEALTHY, State.EXITED, State.FAILED, State.STOPPING, State.RESTARTING,
         State.STOPPED}
    ),
    State.RESTARTING: frozenset({State.STARTING, State.STOPPING, State.STOPPED, State.FAILED}),
    State.STOPPING: frozenset({State.STOPPED, State.EXITED, State.FAILED, State.COMPLETED}),
    # A final state may still need STOPPING: a failed readiness leaves the process
    # running, an exited leader may leave grandchildren behind.
    State.COMPLETED: frozenset({State.WAITING, State.STARTING, State.STOPPING, State.STOPPED}),
    State.EXITED: frozenset(
        {State.WAITING, State.STARTING, State.STOPPING, State.STOPPED, State.RESTARTING}
    ),
    State.FAILED: frozenset(
        {State.WAITING, State.STARTING, State.STOPPING, State.STOPPED, State.RESTARTING}
    ),
}


class TransitionError(RuntimeError):
    pass


def check_transition(old: State, new: State) -> None:
    """Raise when `old -> new` is not a move the lifecycle allows."""
    if new not in _ALLOWED[old]:
        raise TransitionError(f"illegal state change {old} -> {new}")
