"""Following log files while a tool writes them, and checking every payload line after.

`Tail` follows one file the way `tail -F` does, across stackup's rotation (the keeper
renames `x.log` to `x.log.1` at 10 MB, replacing the previous `.1`, and starts a new
`x.log`): every generation it sees is read to its end, and a generation renamed away
between two looks is picked up from `x.log.1`. Every file it opened stays open until
the run ends, so no inode it has read can be reused by a later generation and mistaken
for one already read. While following it only counts lines ending in the payload's
`x\\n` (C-speed `bytes.count`); the lines are parsed once the run is over.

Payload lines are `<name> <seq> xxx…`, exactly WIDTH bytes with the newline
(`bench_service.payload_lines`). A tool may put a prefix in front: none (shell,
supervisord), a time stamp (stackup's log files), `HH:MM:SS name | ` (stackup's and
honcho's stdout: the name must be the line's own service). A line that carries
payload (a run of x's) but does not parse back exactly is counted as cut or spliced.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from pathlib import Path

WIDTH = 100
_XS = b"x" * 20
_PREFIXED = re.compile(r"^\d\d:\d\d:\d\d (\S+?)(?:\.\d+)? +\| (.*)$")
_STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3} (.*)$")


class Tail:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.rotated = path.with_name(path.name + ".1")
        self.fd: int | None = None
        self.inode: int | None = None
        self.seen: dict[int, int] = {}  # inode -> fd, kept open until close()
        self.chunks: list[bytes] = []
        self.count = 0
        self._last = b""

    def _take(self, data: bytes) -> None:
        if not data:
            return
        self.chunks.append(data)
        self.count += data.count(b"x\n") + (self._last == b"x" and data[:1] == b"\n")
        self._last = data[-1:]

    def _read_all(self, fd: int) -> None:
        while chunk := os.read(fd, 1 << 22):
            self._take(chunk)

    def _open(self, path: Path) -> int | None:
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            return None
        inode = os.fstat(fd).st_ino
        if inode in self.seen:
            os.close(fd)
            return None
        self.seen[inode] = fd
        return fd

    def poll(self) -> None:
        if self.fd is not None:
            self._read_all(self.fd)
        # A generation that was created and rotated away between two looks.
        with_rot = _inode(self.rotated)
        if with_rot is not None and with_rot not in self.seen:
            fd = self._open(self.rotated)
            if fd is not None:
                self._read_all(fd)
        current = _inode(self.path)
        if current is not None and current != self.inode and current not in self.seen:
            if self.fd is not None:
                self._read_all(self.fd)  # what the old generation got last
            fd = self._open(self.path)
            if fd is not None:
                self.fd, self.inode = fd, os.fstat(fd).st_ino
                self._read_all(fd)

    def data(self) -> bytes:
        return b"".join(self.chunks)

    def close(self) -> None:
        for fd in self.seen.values():
            os.close(fd)
        self.seen.clear()
        self.fd = None


def _inode(path: Path) -> int | None:
    try:
        return os.stat(path).st_ino
    except FileNotFoundError:
        return None


def follow(groups: dict[str, list[Tail]], expected: int, alive: Callable[[], bool],
           idle_timeout: float = 5.0, every: float = 0.002,
           first: dict[str, float] | None = None) -> dict[str, float]:
    """Poll until each group of tails holds `expected` payload lines in all; for each
    group the time.time() at which it did, NaN when nothing more arrived for
    `idle_timeout` or `alive()` turned false first. `first` receives, per group, when
    its first payload line was seen."""
    done = {label: float("nan") for label in groups}
    seen_first = first if first is not None else {}
    tails = [t for ts in groups.values() for t in ts]
    last_total, last_change = -1, time.monotonic()
    while True:
        for t in tails:
            t.poll()
        now_wall = time.time()
        for label, ts in groups.items():
            count = sum(t.count for t in ts)
            if count and label not in seen_first:
                seen_first[label] = now_wall
            if done[label] != done[label] and count >= expected:
                done[label] = now_wall
        if all(v == v for v in done.values()):
            return done
        total = sum(t.count for t in tails)
        now = time.monotonic()
        if total != last_total:
            last_total, last_change = total, now
        elif now - last_change > idle_timeout or not alive():
            return done
        time.sleep(every)


def payload_ok(payload: str, name: str) -> bool:
    parts = payload.split(" ", 2)
    return (len(payload) == WIDTH - 1 and len(parts) == 3 and parts[0] == name
            and parts[1].isdigit() and parts[2] == "x" * len(parts[2]))


def check(data: bytes, style: str, names: list[str], count: int,
          file_name: str | None = None) -> tuple[set[tuple[str, int]], int, int]:
    """(payload lines seen, lines cut or spliced, duplicates) in one file's bytes.

    style: "raw" (line = payload; `file_name` is its service), "stamped" (stackup's log
    files: `<ISO stamp> payload`; `[stackup]` notes skipped), "prefixed"
    (`HH:MM:SS name | payload`)."""
    seen: set[tuple[str, int]] = set()
    bad = dupes = 0
    for raw in data.split(b"\n"):
        if _XS not in raw:
            continue  # the tool's own lines (notices, stamps of notes), or empty
        line = raw.decode("utf-8", "replace")
        name = file_name or ""
        payload = line
        if style == "stamped":
            m = _STAMP.match(line)
            payload = m.group(1) if m else ""
        elif style == "prefixed":
            m = _PREFIXED.match(line)
            name, payload = (m.group(1), m.group(2)) if m else ("", "")
        if name in names and payload_ok(payload, name) and int(payload.split(" ")[1]) < count:
            key = (name, int(payload.split(" ")[1]))
            if key in seen:
                dupes += 1
            seen.add(key)
        else:
            bad += 1
    return seen, bad, dupes
