"""Following the log files as the output keeper writes them.

`Follower` tails one file across rotation (the keeper renames `x.log` to `x.log.1`
and starts a new `x.log`, even twice between two reads under a flood);
`FolderWatch` blocks until a file in the folder changes (inotify, or a short poll
where there is none). `stackup logs -f` uses them directly; the supervisor wakes on
its own inotify descriptor in its event loop (`LogOutput` in `server/output.py`).
"""

from __future__ import annotations

import os
import select
from pathlib import Path

from stackup.server.logfiles import parse_line, rotated_path
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
        self.rotations = 0  # rotations followed (files left for the next one)
        self._open(at=start)
        if self._fd is None:  # a rotated file there already is not one to catch up on
            self._inode = self._inode_of(rotated_path(path))

    def _open(self, at: int | None = 0) -> None:
        """Open the file at byte `at` (None: at its end)."""
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            return
        st = os.fstat(fd)
        self._fd, self._inode = fd, st.st_ino
        self._offset = st.st_size if at is None else min(at, st.st_size)

    @staticmethod
    def _inode_of(path: Path) -> int | None:
        try:
            return path.stat().st_ino
        except FileNotFoundError:
            return None

    @property
    def position(self) -> int:
        return self._offset

    def read_raw(self) -> str:
        """New complete lines as written (stamps included), joined by "\\n", without
        the last newline; "" when there are none."""
        data = b""
        if self._fd is None:  # not there yet, or rotated away before the next one came
            data += self._next_file()
            if self._fd is None:
                return self._text(data)
        data += self._drain()
        try:
            st = self.path.stat()
        except FileNotFoundError:
            current: int | None = None
        else:
            current = st.st_ino
            if current == self._inode:
                if st.st_size < self._offset:  # truncated in place: read it afresh
                    self._offset = 0
                    data += self._drain()
                return self._text(data)
        # Rotated (or removed). The keeper may have written its last lines into it after
        # the read above and before the rename; it writes there no more.
        data += self._drain()
        assert self._fd is not None
        os.close(self._fd)
        self._fd = None
        self.rotations += 1
        return self._text(data + self._next_file())

    def _next_file(self) -> bytes:
        """With no file open: the current `x.log` from its start, after `x.log.1` when
        that is a file not read yet. The current one is opened first, so that the
        `x.log.1` looked at after it is older than it, never newer."""
        try:
            fd: int | None = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            fd = None
        current = os.fstat(fd).st_ino if fd is not None else None
        data = self._skipped_generation(current)
        if fd is not None:
            self._fd, self._inode, self._offset = fd, current, 0
            data += self._drain()
        return data

    def _skipped_generation(self, current_inode: int | None) -> bytes:
        """Under a flood the keeper can rotate twice between two reads: the file read
        so far went away, the one after it is now `x.log.1`, and only then comes the
        new `x.log`. That middle file is read whole, or its lines would never be seen.
        (Rotated more often than that, the files in between are gone: `rotations`
        counts what was followed, so a caller counting the renames can tell.)"""
        try:
            fd = os.open(rotated_path(self.path), os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            return b""
        inode = os.fstat(fd).st_ino
        if inode in (self._inode, current_inode):  # one rotation: nothing in between
            os.close(fd)
            return b""
        self.rotations += 1
        self._fd, self._inode, self._offset = fd, inode, 0
        try:
            return self._drain()
        finally:
            os.close(fd)
            self._fd = None

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
