"""The engine's `OutputFeed`: services' output, read back from the log files the keeper
writes, published on the event bus as `OutputLines`.

A foreground `up` follows every service (it prints them all); a detached supervisor
follows a service only while something needs its lines (a `log` readiness check, a
live view streaming it), so a flood costs the supervisor nothing otherwise. The
follower wakes on inotify the moment the keeper writes; stackup's own `[stackup]`
notes are left out (they are published as Notices where they happen).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from stackup.events import EventBus, Notice, OutputLines
from stackup.server.logfiles import (
    MAX_BYTES,
    NOTE_TAG,
    STAMP_WIDTH,
    log_path,
    output_tail,
    stamped_tail,
)
from stackup.server.logfollow import Follower
from stackup.system.inotify import IN_MOVED_FROM, Watch

POLL_FALLBACK = 0.02  # seconds between reads where inotify is missing


class LogOutput:
    def __init__(self, log_dir: Path, bus: EventBus) -> None:
        self.dir = log_dir
        self.bus = bus
        self._followers: dict[str, Follower] = {}
        self._wanted: dict[str, int] = {}
        self._all = False
        self._watch: Watch | None = None
        self._poller: asyncio.Task[None] | None = None
        self._stamps: dict[str, float] = {}
        self._renames: dict[str, int] = {}  # rotations of followed files (inotify)
        self._reported: dict[str, int] = {}  # of them, rotations said to be unseen

    def open(self) -> None:
        self.dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._watch = Watch.open(self.dir)
        if self._watch is not None:
            asyncio.get_running_loop().add_reader(self._watch.fd, self._on_change)
        else:
            self._poller = asyncio.get_running_loop().create_task(self._poll())

    def close(self) -> None:
        self.pump()  # what is written by now is still published
        if self._watch is not None:
            asyncio.get_running_loop().remove_reader(self._watch.fd)
            self._watch.close()
            self._watch = None
        if self._poller is not None:
            self._poller.cancel()
        for follower in self._followers.values():
            follower.close()
        self._followers.clear()

    # ---- OutputFeed -------------------------------------------------------------------

    def position(self, service: str) -> int:
        try:
            return log_path(self.dir, service).stat().st_size
        except FileNotFoundError:
            return 0

    def follow(self, service: str) -> Callable[[], None]:
        self._wanted[service] = self._wanted.get(service, 0) + 1
        self._ensure_follower(service)
        done = False

        def unfollow() -> None:
            nonlocal done
            if done:
                return
            done = True
            self._wanted[service] -= 1
            if not self._wanted[service] and not self._all:
                self._wanted.pop(service)
                follower = self._followers.pop(service, None)
                if follower is not None:
                    follower.close()

        return unfollow

    def follow_all(self, services: list[str]) -> None:
        """Follow every service from now on (a foreground `up` prints them all)."""
        self._all = True
        for name in services:
            self._ensure_follower(name)

    def follow_new(self, services: list[str]) -> None:
        """Services added to the stack (an edited file): followed too when following
        every service."""
        if self._all:
            for name in services:
                self._ensure_follower(name)

    def tail(self, service: str, lines: int, since: int) -> list[str]:
        self.pump()
        return output_tail(log_path(self.dir, service), lines, since)

    def backlog(self, service: str, lines: int) -> list[OutputLines]:
        """The last `lines` lines of a followed service before the point its follower
        publishes from next, in batches of one time each: a new watcher given them
        misses no line and sees none twice."""
        self._publish(service)
        follower = self._followers.get(service)
        if follower is None:
            return []
        batches: list[OutputLines] = []
        for when, text in stamped_tail(log_path(self.dir, service), lines,
                                       upto=follower.position):
            if batches and batches[-1].time == when:
                batches[-1].lines.append(text)
            else:
                batches.append(OutputLines(service, [text], when))
        return batches

    # ---- reading ----------------------------------------------------------------------

    def _ensure_follower(self, service: str) -> None:
        if service not in self._followers:
            self._followers[service] = Follower(log_path(self.dir, service), start=None)
            self._renames[service] = self._reported[service] = 0

    def _on_change(self) -> None:
        assert self._watch is not None
        changed: set[str] = set()
        for mask, name in self._watch.events():
            service, _, suffix = name.partition(".log")
            if service not in self._followers:
                continue
            changed.add(service)
            if mask & IN_MOVED_FROM and not suffix:  # x.log → x.log.1: the keeper rotated
                self._renames[service] = self._renames.get(service, 0) + 1
        for service in changed:
            self._publish(service)

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(POLL_FALLBACK)
            self.pump()

    def pump(self) -> None:
        """Publish whatever every follower has not published yet."""
        for service in list(self._followers):
            self._publish(service)

    def _publish(self, service: str) -> None:
        follower = self._followers.get(service)
        if follower is None:
            return
        raw = follower.read_raw()
        self._report_unseen(service, follower)
        if not raw:
            return
        # Lines written by one keeper write share one stamp: publish them as one batch
        # each, with that time, leaving stackup's own notes out.
        batch: list[str] = []
        stamp = ""
        cut = STAMP_WIDTH + 1
        for line in raw.split("\n"):
            ts, text = line[:STAMP_WIDTH], line[cut:]
            if text.startswith(NOTE_TAG):
                continue
            if ts != stamp and batch:
                self.bus.publish(OutputLines(service, batch, self._epoch(stamp)))
                batch = []
            stamp = ts
            batch.append(text)
        if batch:
            self.bus.publish(OutputLines(service, batch, self._epoch(stamp)))

    def _report_unseen(self, service: str, follower: Follower) -> None:
        """Output faster than it is shown (a flood into a slow terminal) can rotate a
        log file more than twice between two reads; what was in the files between is
        gone. Said once per loss, rather than printing a stream with a silent hole."""
        unseen = self._renames.get(service, 0) - follower.rotations - self._reported.get(service, 0)
        if unseen <= 0:
            return
        self._reported[service] = self._reported.get(service, 0) + unseen
        size = unseen * MAX_BYTES // (1024 * 1024)
        self.bus.publish(Notice(service, f"output came faster than it could be read back: "
                                f"about {size} MB of it was rotated out of the log files "
                                f"unseen", time.time()))

    def _epoch(self, ts: str) -> float:
        when = self._stamps.get(ts)
        if when is None:
            with contextlib.suppress(ValueError):
                when = datetime.fromisoformat(ts).timestamp()
            if len(self._stamps) > 1024:
                self._stamps.clear()
            when = self._stamps[ts] = when if when is not None else 0.0
        return when
