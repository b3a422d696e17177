"""Spawning that cancellation cannot cut in half (the supervisor's own children: the
check commands it runs; services are spawned by the output keeper)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def spawn_shielded(
    creation: Awaitable[T], kill: Callable[[T], Awaitable[None]]
) -> T:
    """Run a subprocess creation that cancellation cannot cut in half.

    Cancelling asyncio's subprocess creation half-way makes it kill the new child and
    wait for an exit it may never be told about (seen on 3.11): the caller hangs. So
    the creation is shielded; when the caller is cancelled, the creation finishes,
    `kill` stops what it started, and then the cancellation goes on.
    """
    task = asyncio.ensure_future(creation)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        with contextlib.suppress(Exception):
            await kill(await task)
        raise
