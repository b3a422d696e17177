"""What to do after a service ended or turned unhealthy: a pure function of its restart
policy and history, so every rule is a unit test away (no processes, no clock)."""

from __future__ import annotations

from dataclasses import dataclass

from stackup.config.model import RestartPolicy
from stackup.render import plural

BACKOFF_START = 0.5
BACKOFF_CAP = 30.0
BACKOFF_RESET_AFTER = 60.0  # up this long → the next crash starts the backoff afresh


@dataclass(frozen=True)
class Restart:
    """Start it again after `delay` seconds; `backoff_step` is the step after this one."""

    delay: float
    backoff_step: int


@dataclass(frozen=True)
class GiveUp:
    """The policy wanted a restart but `max_restarts` is spent: the service fails."""

    reason: str


@dataclass(frozen=True)
class Leave:
    """The policy does not restart this: the service stays as it ended."""


Step = Restart | GiveUp | Leave


def next_step(
    policy: RestartPolicy,
    exit_code: int | None,
    restarts: int,
    uptime: float,
    max_restarts: int | None = None,
    backoff_step: int = 0,
) -> Step:
    """`exit_code` None means the service still runs but failed its liveness checks.

    `restarts` counts the restarts made so far in this run, `uptime` how long the
    instance that just ended had been up, `backoff_step` how many crashes in a row
    the backoff has seen.
    """
    if policy == "no" or (policy == "on-failure" and exit_code == 0):
        return Leave()
    if max_restarts is not None and restarts >= max_restarts:
        last = f", last exit code {exit_code}" if exit_code is not None else ""
        return GiveUp(f"gave up after {plural(restarts, 'restart')}{last}")
    if uptime > BACKOFF_RESET_AFTER:
        backoff_step = 0  # it ran well for a while: this crash starts afresh
    delay = min(BACKOFF_START * 2 ** min(backoff_step, 10), BACKOFF_CAP)
    return Restart(delay, backoff_step + 1)
