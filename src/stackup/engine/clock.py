"""The engine's one clock: monotonic for deadlines, uptimes and backoff, epoch only for
timestamps people read. A seam: unit tests give the runner a fake clock whose sleeps
return at once, so restart policy, backoff and liveness are tested in milliseconds."""

from __future__ import annotations

import asyncio
import time
from typing import Any, Protocol


class Clock(Protocol):
    def monotonic(self) -> float: ...

    def time(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...

    async def wait(self, future: asyncio.Future[Any], timeout: float) -> bool:
        """Wait for `future` at most `timeout` seconds; True when it is done."""
        ...


class SystemClock:
    def monotonic(self) -> float:
        return time.monotonic()

    def time(self) -> float:
        return time.time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

    async def wait(self, future: asyncio.Future[Any], timeout: float) -> bool:
        done, _ = await asyncio.wait({future}, timeout=timeout)
        return bool(done)


SYSTEM_CLOCK = SystemClock()
