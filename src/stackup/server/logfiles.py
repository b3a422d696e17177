"""Per-service log files in `.stackup/logs/<name>.log`: the output bus's second consumer.

Each line is stored as `<ISO time> <line>` so `stackup logs` can re-prefix it as the
foreground does. Files are private (0600) and capped: past MAX_BYTES the file is
rotated to `<name>.log.1` (one rotated file kept).
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import IO

from stackup.events import Event, Notice, OutputLines

MAX_BYTES = 10 * 1024 * 1024


def log_path(log_dir: Path, service: str) -> Path:
    # Service names are validated (^[a-z][a-z0-9_-]*$), so this cannot leave log_dir.
    return log_dir / f"{service}.log"


def open_private(path: Path) -> IO[str]:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    return os.fdopen(fd, "a", encoding="utf-8", errors="replace")


def stamp(when: float) -> str:
    return datetime.fromtimestamp(when).isoformat(timespec="milliseconds")


class LogFiles:
    def __init__(self, log_dir: Path, max_bytes: int = MAX_BYTES) -> None:
        self.dir = log_dir
        self.dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.max_bytes = max_bytes
        self._files: dict[str, IO[str]] = {}

    def __call__(self, event: Event) -> None:
        if isinstance(event, OutputLines):
            self.write(event.service, event.lines, event.time)
        elif isinstance(event, Notice):
            self.write(event.service, [f"[stackup] {event.message}"], event.time)

    def write(self, service: str, lines: list[str], when: float) -> None:
        f = self._file(service)
        ts = stamp(when)
        f.write("".join(f"{ts} {line}\n" for line in lines))
        f.flush()
        if f.tell() > self.max_bytes:
            self._rotate(service)

    def _file(self, service: str) -> IO[str]:
        f = self._files.get(service)
        if f is None:
            f = self._files[service] = open_private(log_path(self.dir, service))
        return f

    def _rotate(self, service: str) -> None:
        self._files.pop(service).close()
        path = log_path(self.dir, service)
        os.replace(path, path.with_name(path.name + ".1"))

    def close(self) -> None:
        for f in self._files.values():
            f.close()
        self._files.clear()
