"""Per-service log files in `.stackup/logs/<name>.log`: written by the output keeper,
read by `stackup logs`, the supervisor's follower and failure reports.

Each line is stored as `<ISO time> <line>` so `stackup logs` can re-prefix it as the
foreground does; stackup's own notes about a service are stored as
`<ISO time> [stackup] <note>`. Files are private (0600) and capped: past MAX_BYTES
the file is rotated to `<name>.log.1` (one rotated file kept). One process writes a
stack's log files (the keeper), each write a whole number of lines, so readers
never see two writers' lines spliced.
"""

from __future__ import annotations

import math
import os
import time
from collections import deque
from pathlib import Path
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:  # the keeper imports this module and must start fast: no dataclasses
    from stackup.events import Event

MAX_BYTES = 10 * 1024 * 1024
NOTE_TAG = "[stackup] "
STAMP_WIDTH = len("2026-01-01T00:00:00.000")


def log_path(log_dir: Path, service: str) -> Path:
    # Service names are validated (^[a-z][a-z0-9_-]*$), so this cannot leave log_dir.
    return log_dir / f"{service}.log"


def rotated_path(path: Path) -> Path:
    return path.with_name(path.name + ".1")


def open_private(path: Path) -> IO[str]:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    return os.fdopen(fd, "a", encoding="utf-8", errors="replace")


def stamp(when: float) -> str:
    """Local time, ISO 8601 to the millisecond (what `datetime.isoformat` writes, made
    without importing datetime: the keeper stamps every line and must start fast)."""
    # As datetime.fromtimestamp does: the fraction rounded to the microsecond (with its
    # carry), then cut to milliseconds.
    fraction, whole = math.modf(when)
    micros = round(fraction * 1e6)
    seconds = int(whole) + micros // 1_000_000
    micros %= 1_000_000
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(seconds)) + f".{micros // 1000:03d}"


def parse_line(raw: str) -> tuple[float, str]:
    """`<ISO time> <line>` → (epoch, line); a line without a stamp keeps time 0."""
    from datetime import datetime

    text = raw.rstrip("\n")
    ts, _, line = text.partition(" ")
    try:
        return datetime.fromisoformat(ts).timestamp(), line
    except ValueError:
        return 0.0, text


def is_note(line: str) -> bool:
    """A line stackup wrote about the service (after its stamp), not the service's."""
    return line.startswith(NOTE_TAG)


class LogFiles:
    """The writer: appends stamped lines, rotates at MAX_BYTES."""

    def __init__(self, log_dir: Path, max_bytes: int = MAX_BYTES) -> None:
        self.dir = log_dir
        self.dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.max_bytes = max_bytes
        self._files: dict[str, tuple[int, int]] = {}  # service -> (fd, size)

    def __call__(self, event: Event) -> None:
        """As an event-bus subscriber: output lines and notices."""
        from stackup.events import Notice, OutputLines

        if isinstance(event, OutputLines):
            self.write(event.service, event.lines, event.time)
        elif isinstance(event, Notice):
            self.note(event.service, event.message, event.time)

    def write(self, service: str, lines: list[str], when: float) -> None:
        self.write_block(service, "\n".join(lines), when)

    def note(self, service: str, message: str, when: float) -> None:
        self.write_block(service, NOTE_TAG + message, when)

    def write_block(self, service: str, text: str, when: float) -> None:
        """Lines joined by "\\n" (no trailing one), each stamped with `when`: one write."""
        ts = stamp(when) + " "
        data = (ts + text.replace("\n", "\n" + ts) + "\n").encode("utf-8", "replace")
        fd, size = self._file(service)
        os.write(fd, data)
        size += len(data)
        self._files[service] = (fd, size)
        if size > self.max_bytes:
            self._rotate(service)

    def _file(self, service: str) -> tuple[int, int]:
        entry = self._files.get(service)
        if entry is None:
            path = log_path(self.dir, service)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            entry = self._files[service] = (fd, os.fstat(fd).st_size)
        return entry

    def _rotate(self, service: str) -> None:
        fd, _ = self._files.pop(service)
        os.close(fd)
        path = log_path(self.dir, service)
        os.replace(path, rotated_path(path))

    def close(self) -> None:
        for fd, _ in self._files.values():
            os.close(fd)
        self._files.clear()


def last_lines(path: Path, n: int | None, upto: int | None = None) -> list[tuple[float, str]]:
    """The last `n` lines (all when None) of the file up to byte `upto`, reaching into
    the rotated file when needed."""
    lines: deque[str] = deque(maxlen=n)
    for p, limit in ((rotated_path(path), None), (path, upto)):
        try:
            with p.open("rb") as f:
                data = f.read() if limit is None else f.read(limit)
        except FileNotFoundError:
            continue
        lines.extend(data.decode("utf-8", errors="replace").splitlines())
    return [parse_line(raw) for raw in lines]


def output_tail(path: Path, n: int, since: int = 0) -> list[str]:
    """The service's own last `n` lines (stackup's notes left out) written after byte
    `since` of the current file: what a failure report shows."""
    return [line for _, line in stamped_tail(path, n, since)]


def stamped_tail(
    path: Path, n: int, since: int = 0, upto: int | None = None
) -> list[tuple[float, str]]:
    """`output_tail` with each line's time, ending at byte `upto` when given (where a
    follower stands: a live view's backlog)."""
    try:
        with path.open("rb") as f:
            size = os.fstat(f.fileno()).st_size
            if upto is not None:
                size = min(size, upto)
            if since > size:
                since = 0  # rotated since the mark: the new file is all new
            # Read from the end, enough for n lines of any sane length.
            start = max(since, size - 256 * 1024)
            f.seek(start)
            data = f.read(size - start)
    except FileNotFoundError:
        return []
    raw = data.decode("utf-8", errors="replace").splitlines()
    if start > since and raw:
        raw = raw[1:]  # the first line may be cut by the seek
    out = [(when, line) for when, line in map(parse_line, raw) if not is_note(line)]
    return out[-n:]
