"""Following the log files as the output keeper writes them.

`Follower` tails one file across rotation (the keeper renames `x.log` to `x.log.1`
and starts a new `x.log`); `wait_for_change` blocks until a file in the folder
changes (inotify, or a short poll where there is none). `stackup logs -f` uses them
directly; the supervisor wakes on the same inotify descriptor in its event loop
(`OutputFollower` in `server/output.py`).
"""

from __future__ import annotations

import os
import select
from pathlib import Path

from stackup.server.logfiles import parse_line
from stackup.system.inotify import Watch

POLL_FALLBACK = 0.1  # seconds between looks where inotify is missing


class Follower:
    """Tails one log file; reopens it when it is rotated or replaced."""

    def __init__(self, path: Path, start: int | None = None) -> None:
        self.path = path
        self._fd: int | None = None
        self._inode: int | None = None
        self._offset = 0
        self._partial = b""
        self._open(at=start)

    def _open(self, at: int | None = 0) -> None:
        """Open the file at byte `at` (None: at its end)."""
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            return
        st = os.fstat(fd)
        self._fd, self._inode = fd, st.st_ino
        self._offset = st.st_size if at is None else min(at, st.st_size)

    @property
    def position(self) -> int:
        return self._offset

    def read_raw(self) -> str:
        """New complete lines as written (stamps included), joined by "\\n", without
        the last newline; "" when there are none."""
        if self._fd is None:
            self._open(at=0)
            if self._fd is None:
                return ""
        data = self._drain()
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return self._text(data)
        if st.st_ino != self._inode or st.st_size < self._offset:
            os.close(self._fd)  # rotated (or truncated): what is left of the old file
            self._fd = None  # was read above; the new one is read from its start
            self._open(at=0)
            if self._fd is not None:
                data += self._drain()
        return self._text(data)

    def read(self) -> list[tuple[float, str]]:
        """New complete lines as (epoch, line)."""
        raw = self.read_raw()
        return [parse_line(line) for line in raw.split("\n")] if raw else []

    def _drain(self) -> bytes:
        assert self._fd is not None
        chunks = []
        while True:
            chunk = os.pread(self._fd, 1 << 20, self._offset)
            if not chunk:
                break
            chunks.append(chunk)
            self._offset += len(chunk)
        return b"".join(chunks)

    def _text(self, data: bytes) -> str:
        data = self._partial + data
        end = data.rfind(b"\n")
        if end < 0:
            self._partial = data
            return ""
        self._partial = data[end + 1 :]
        return data[:end].decode("utf-8", errors="replace")

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class FolderWatch:
    """Blocks until something in a folder changes (inotify), or a short while passed."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.watch = Watch.open(folder)

    def wait(self, timeout: float | None = None) -> None:
        if self.watch is None:
            select.select([], [], [], POLL_FALLBACK if timeout is None else timeout)
            return
        select.select([self.watch.fd], [], [], timeout)
        self.watch.read()

    def close(self) -> None:
        if self.watch is not None:
            self.watch.close()
