"""engine.policy.next_step: the restart decision as a pure function."""

from __future__ import annotations

import pytest

from stackup.engine.policy import (
    BACKOFF_CAP,
    BACKOFF_RESET_AFTER,
    GiveUp,
    Leave,
    Restart,
    next_step,
)


@pytest.mark.parametrize("code", [0, 1, -15])
def test_no_policy_never_restarts(code: int) -> None:
    assert next_step("no", code, restarts=0, uptime=1.0) == Leave()


def test_on_failure_leaves_a_clean_exit_and_restarts_a_failure() -> None:
    assert next_step("on-failure", 0, 0, 1.0) == Leave()
    assert next_step("on-failure", 3, 0, 1.0) == Restart(0.5, 1)
    assert next_step("on-failure", -9, 0, 1.0) == Restart(0.5, 1)  # killed by a signal


def test_always_restarts_a_clean_exit_too() -> None:
    assert next_step("always", 0, 0, 1.0) == Restart(0.5, 1)


def test_unhealthy_counts_as_a_failure() -> None:
    assert next_step("on-failure", None, 0, 1.0) == Restart(0.5, 1)


def test_backoff_doubles_and_is_capped() -> None:
    delays = [next_step("always", 1, 0, 1.0, backoff_step=s).delay for s in range(12)]
    assert delays[:7] == [0.5, 1, 2, 4, 8, 16, BACKOFF_CAP]
    assert max(delays) == BACKOFF_CAP


def test_a_long_run_resets_the_backoff() -> None:
    assert next_step("always", 1, 5, BACKOFF_RESET_AFTER + 1, backoff_step=6) == Restart(0.5, 1)
    assert next_step("always", 1, 5, BACKOFF_RESET_AFTER - 1, backoff_step=6).delay == 30.0


def test_max_restarts_gives_up_naming_the_last_exit_code() -> None:
    assert next_step("always", 5, restarts=3, uptime=1.0, max_restarts=3) == GiveUp(
        "gave up after 3 restarts, last exit code 5"
    )
    assert next_step("always", None, 3, 1.0, max_restarts=3) == GiveUp("gave up after 3 restarts")
    assert isinstance(next_step("always", 5, 2, 1.0, max_restarts=3), Restart)
    assert next_step("always", 5, 1, 1.0, max_restarts=1).reason.startswith(
        "gave up after 1 restart,"
    )


def test_max_restarts_zero_never_restarts_but_says_why() -> None:
    assert next_step("on-failure", 1, 0, 1.0, max_restarts=0) == GiveUp(
        "gave up after 0 restarts, last exit code 1"
    )
