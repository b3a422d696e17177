"""`stackup logs`: the services' output from `.stackup/logs/`, prefixed as in the
foreground; `-f` follows the files, across restarts and rotation."""

from __future__ import annotations

import heapq
import os
import time
from collections import deque
from datetime import datetime
from pathlib import Path

from stackup.printer import Printer
from stackup.server.logfiles import log_path

FOLLOW_POLL = 0.1


def parse_line(raw: str) -> tuple[float, str]:
    """`<ISO time> <line>` → (epoch, line); a line without a stamp keeps time 0."""
    stamp, _, line = raw.rstrip("\n").partition(" ")
    try:
        return datetime.fromisoformat(stamp).timestamp(), line
    except ValueError:
        return 0.0, raw.rstrip("\n")


def sizes(log_dir: Path, names: list[str]) -> dict[str, int]:
    """How far each log file reaches now: `show` prints up to there, `follow` goes on
    from there, so no line written in between is lost or printed twice."""
    out = {}
    for name in names:
        try:
            out[name] = log_path(log_dir, name).stat().st_size
        except FileNotFoundError:
            out[name] = 0
    return out


def last_lines(path: Path, n: int | None, upto: int | None = None) -> list[tuple[float, str]]:
    """The last `n` lines (all when None) of the file up to byte `upto`, reaching into
    the rotated file when needed."""
    lines: deque[str] = deque(maxlen=n)
    for p, limit in ((path.with_name(path.name + ".1"), None), (path, upto)):
        try:
            with p.open("rb") as f:
                data = f.read() if limit is None else f.read(limit)
        except FileNotFoundError:
            continue
        lines.extend(data.decode("utf-8", errors="replace").splitlines())
    return [parse_line(raw) for raw in lines]


def show(
    log_dir: Path, names: list[str], printer: Printer, n: int | None,
    upto: dict[str, int] | None = None,
) -> None:
    """Print each service's last `n` lines, merged in time order."""
    upto = upto or {}
    streams = [
        [(t, i, name, line) for t, line in last_lines(log_path(log_dir, name), n, upto.get(name))]
        for i, name in enumerate(names)
    ]
    for when, _, name, line in heapq.merge(*streams):
        printer.lines(name, [line], when or time.time())


class Follower:
    """Tails one log file; reopens it when it is rotated or replaced."""

    def __init__(self, path: Path, start: int | None = None) -> None:
        self.path = path
        self._file = None
        self._inode: int | None = None
        self._partial = ""
        self._open(at=start)

    def _open(self, at: int | None = 0) -> None:
        """Open the file at byte `at` (None: at its end)."""
        try:
            f = self.path.open(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return
        if at is None:
            f.seek(0, os.SEEK_END)
        elif at:
            f.seek(at)
        self._file = f
        self._inode = os.fstat(f.fileno()).st_ino

    def read(self) -> list[tuple[float, str]]:
        if self._file is None:
            self._open(at=0)
            if self._file is None:
                return []
        out = self._drain()
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return out
        if st.st_ino != self._inode or st.st_size < self._file.tell():
            self._file.close()
            self._open(at=0)  # rotated: the new file is read from its start
            out += self._drain()
        return out

    def _drain(self) -> list[tuple[float, str]]:
        assert self._file is not None
        data = self._partial + self._file.read()
        *complete, self._partial = data.split("\n")
        return [parse_line(raw) for raw in complete]


def follow(
    log_dir: Path, names: list[str], printer: Printer, start: dict[str, int] | None = None
) -> None:
    """Print new lines as they are written (from `start` offsets), until interrupted."""
    start = start or {}
    followers = {name: Follower(log_path(log_dir, name), start.get(name)) for name in names}
    while True:
        for name, follower in followers.items():
            lines = follower.read()
            for when, line in lines:
                printer.lines(name, [line], when or time.time())
        time.sleep(FOLLOW_POLL)
