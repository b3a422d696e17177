"""Signal handlers only record (uvicorn's rule): the first SIGINT/SIGTERM asks for a
stop, the second for an immediate kill. The supervisor's loop acts on the events.
One latch for the foreground `up` and the detached supervisor; they differ only in
what a SIGHUP means."""

from __future__ import annotations

import asyncio
import signal


class SignalLatch:
    def __init__(self, stop: asyncio.Event, kill_now: asyncio.Event) -> None:
        self.stop = stop
        self.kill_now = kill_now
        self.count = 0

    def install(self, hangup_stops: bool) -> None:
        """`hangup_stops`: a closed terminal ends a foreground `up` (rather than
        orphaning its stack); a detached supervisor has no terminal to lose."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self._record)
        if hangup_stops:
            loop.add_signal_handler(signal.SIGHUP, self._record)
        else:
            loop.add_signal_handler(signal.SIGHUP, lambda: None)

    def _record(self) -> None:
        self.count += 1
        (self.kill_now if self.count > 1 else self.stop).set()
