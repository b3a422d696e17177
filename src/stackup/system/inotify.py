"""Linux inotify through ctypes: wake the moment a file in a folder is written.

The supervisor follows the services' log files as the output keeper writes them; a
`log:` readiness check must react within a millisecond of the line being written,
and `stackup logs -f` should not spin. watchfiles (Rust notify) batches changes with
a step of tens of milliseconds, which is right for a code watcher and too slow here,
so the few system calls are made directly. Where inotify is missing (not Linux),
`Watch.open` returns None and callers poll instead.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import struct
from pathlib import Path

IN_MODIFY = 0x002
IN_MOVED_FROM = 0x040
IN_MOVED_TO = 0x080
IN_CREATE = 0x100
IN_DELETE = 0x200
IN_NONBLOCK = 0o4000
IN_CLOEXEC = 0o2000000
_EVENT = struct.Struct("iIII")  # wd, mask, cookie, len (then the name, NUL padded)

_libc: ctypes.CDLL | None = None


def _lib() -> ctypes.CDLL | None:
    global _libc
    if _libc is None:
        try:
            _libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
            _libc.inotify_init1  # noqa: B018  (raises AttributeError off Linux)
        except (OSError, AttributeError):
            return None
    return _libc


class Watch:
    """An inotify instance watching one folder for writes, creations and renames."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    @classmethod
    def open(cls, folder: Path) -> Watch | None:
        lib = _lib()
        if lib is None:
            return None
        fd = lib.inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
        if fd < 0:
            return None
        mask = IN_MODIFY | IN_CREATE | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE
        if lib.inotify_add_watch(fd, os.fsencode(folder), mask) < 0:
            os.close(fd)
            return None
        return cls(fd)

    def read(self) -> set[str]:
        """Names of the files changed since the last read (empty when none)."""
        return {name for _mask, name in self.events()}

    def events(self) -> list[tuple[int, str]]:
        """(mask, file name) of every event since the last read, in order."""
        events: list[tuple[int, str]] = []
        while True:
            try:
                data = os.read(self.fd, 64 * 1024)
            except BlockingIOError:
                return events
            offset = 0
            while offset + _EVENT.size <= len(data):
                _wd, mask, _cookie, length = _EVENT.unpack_from(data, offset)
                start = offset + _EVENT.size
                name = data[start : start + length].rstrip(b"\0")
                if name:
                    events.append((mask, os.fsdecode(name)))
                offset = start + length

    def close(self) -> None:
        os.close(self.fd)
