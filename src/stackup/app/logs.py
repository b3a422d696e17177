"""`stackup logs`: the services' output from `.stackup/logs/`, prefixed as in the
foreground; `-f` follows the files (woken by inotify), across restarts and rotation."""

from __future__ import annotations

import heapq
import os
import time
from pathlib import Path

from stackup.printer import Printer
from stackup.server.logfiles import last_lines, log_path, parse_line
from stackup.server.logfollow import FolderWatch, Follower

__all__ = ["Follower", "follow", "last_lines", "parse_line", "show", "sizes"]


def sizes(log_dir: Path, names: list[str]) -> dict[str, int]:
    """How far each log file's complete lines reach now: `show` prints up to there,
    `follow` goes on from there, so no line written in between is lost or printed
    twice. The end of the last complete line, not the file's size: a size read while
    the keeper's write is under way can fall inside a line, which would then be shown
    in two pieces."""
    out = {}
    for name in names:
        try:
            with open(log_path(log_dir, name), "rb") as f:
                size = os.fstat(f.fileno()).st_size
                start = max(0, size - 256 * 1024)
                f.seek(start)
                tail = f.read(size - start)
        except FileNotFoundError:
            out[name] = 0
            continue
        out[name] = start + tail.rfind(b"\n") + 1
    return out


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


def follow(
    log_dir: Path, names: list[str], printer: Printer, start: dict[str, int] | None = None
) -> None:
    """Print new lines as they are written (from `start` offsets), until interrupted."""
    start = start or {}
    followers = {name: Follower(log_path(log_dir, name), start.get(name)) for name in names}
    watch = FolderWatch(log_dir)
    try:
        while True:
            for name, follower in followers.items():
                for when, line in follower.read():
                    printer.lines(name, [line], when or time.time())
            watch.wait(timeout=1.0)  # a file that appears after a rotation is seen too
    finally:
        watch.close()
