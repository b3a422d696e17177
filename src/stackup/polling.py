"""The one way to wait for a condition that has no event to wait on (stdlib only).

`poll_until` (blocking) and `apoll_until` (asyncio) check a predicate, sleep, and
check again, starting with a short delay that grows by `growth` up to `cap`, until the
predicate returns something truthy or the deadline passes. Tight at first because
most waits end within milliseconds (a port that opens, a process that exits on
SIGTERM); growing so a long wait costs little CPU. Where an event exists, wait on
the event instead.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:  # asyncio is imported only by the async wait: `stackup status` has none
    import asyncio

T = TypeVar("T")


def _delays(first: float, growth: float, cap: float):
    delay = first
    while True:
        yield delay
        delay = min(delay * growth, cap)


def poll_until(
    predicate: Callable[[], T],
    timeout: float,
    *,
    first: float = 0.002,
    growth: float = 1.5,
    cap: float = 0.05,
) -> T | None:
    """The predicate's first truthy value, or None once `timeout` seconds have passed
    (the predicate is always tried at least once, and once more at the deadline)."""
    deadline = time.monotonic() + timeout
    for delay in _delays(first, growth, cap):
        value = predicate()
        if value:
            return value
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        time.sleep(min(delay, left))
    raise AssertionError("unreachable")


async def apoll_until(
    predicate: Callable[[], T | Awaitable[T]],
    timeout: float,
    *,
    first: float = 0.002,
    growth: float = 1.5,
    cap: float = 0.05,
    interrupt: asyncio.Event | None = None,
) -> T | None:
    """As `poll_until`, for asyncio: the predicate may be a coroutine function, and
    `interrupt` (when set) ends the wait early with None."""
    import asyncio

    deadline = time.monotonic() + timeout
    for delay in _delays(first, growth, cap):
        value = predicate()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value  # type: ignore[return-value]
        left = deadline - time.monotonic()
        if left <= 0 or (interrupt is not None and interrupt.is_set()):
            return None
        if interrupt is None:
            await asyncio.sleep(min(delay, left))
        else:
            try:
                async with asyncio.timeout(min(delay, left)):
                    await interrupt.wait()
            except TimeoutError:
                pass
    raise AssertionError("unreachable")
