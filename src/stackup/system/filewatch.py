"""Watching files for changes, with watchfiles (inotify under the hood): the `watch:`
key of services and a foreground `up` following its stack file.

- `Rules`: which folders one `watch:` needs watched (recursively, or only their direct
  entries) and which changed paths count;
- `FileWatch`: watchfiles' notify backend (`RustNotify`, what `watchfiles.awatch`
  wraps) over a set of folders — one thread for the folders watched recursively, one
  for the others, however many services share them — calling back on the event loop
  with each batch of changed paths. Used directly rather than through `awatch` so that
  the folders are watched the moment `start()` returns (awatch sets up its watches
  in its first iteration, some time later) and so that its threads are not taken from
  a shared pool;
- `Debouncer`: a burst of changes becomes one call, `delay` after the last change.

Folders are watched, never single files: editors save by writing a new file and
renaming it over the old one, which a watch on the old file's inode would miss.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from stackup import globs
from stackup.polling import apoll_until

BATCH_STEP_MS = 20  # watchfiles yields once nothing changed for this long…
BATCH_MAX_MS = 100  # …or this long after the first change: our Debouncer does the rest
IDLE_WAKE_MS = 5000  # the notify loop returns this often when nothing happens
DEBOUNCE_CAP = 10.0  # × the delay (at least 2 s): a tree that never stops changing


@dataclass(frozen=True)
class Rules:
    """What one `watch:` covers. `entries`: absolute folders, files or glob patterns;
    `ignore`: patterns beside the default ones; `root`: the stack's folder, which
    patterns with a `/` inside are relative to."""

    entries: tuple[str, ...]
    ignore: tuple[str, ...] = ()
    root: str = "/"
    folders: frozenset[str] = field(default_factory=frozenset)  # entries that are folders

    @classmethod
    def of(cls, entries: Iterable[str], ignore: Iterable[str], root: str) -> Rules:
        listed = tuple(entries)
        folders = frozenset(e for e in listed if not globs.has_magic(e) and os.path.isdir(e))
        return cls(listed, (*globs.DEFAULT_IGNORES, *ignore), root, folders)

    def roots(self) -> list[tuple[str, bool]]:
        """(folder, recursive) to watch."""
        found: list[tuple[str, bool]] = []
        for entry in self.entries:
            if globs.has_magic(entry):
                found.append((globs.glob_base(entry), globs.spans_folders(entry)))
            elif entry in self.folders:
                found.append((entry, True))
            else:
                found.append((os.path.dirname(entry) or os.sep, False))
        return found

    def accepts(self, path: str) -> bool:
        if globs.ignored(path, self.ignore, self.root):
            return False
        for entry in self.entries:
            if globs.has_magic(entry):
                if globs.path_matches(entry, path):
                    return True
            elif path == entry or (entry in self.folders and path.startswith(entry + os.sep)):
                return True
        return False


def merge_roots(roots: Iterable[tuple[str, bool]]) -> tuple[list[str], list[str]]:
    """(recursive, flat) folders, without one already covered by a recursive one."""
    roots = list(roots)
    recursive = sorted({p for p, deep in roots if deep})
    covered = [p for p in recursive if not any(_under(p, q) for q in recursive if q != p)]
    flat = sorted({p for p, deep in roots if not deep and not any(
        p == q or _under(p, q) for q in covered)})
    return covered, flat


def _under(path: str, folder: str) -> bool:
    return path.startswith(folder.rstrip(os.sep) + os.sep)


class FileWatch:
    """watchfiles' notify backend over `recursive` and `flat` folders, one thread per
    kind; `on_paths(paths)` (on the event loop) for each batch of changes `prefilter`
    lets through, `on_error(exc)` if watching fails later. The folders are watched once
    `start()` returns: a change a moment after it is seen."""

    def __init__(
        self,
        recursive: list[str],
        flat: list[str],
        on_paths: Callable[[set[str]], None],
        on_error: Callable[[BaseException], None],
        prefilter: Callable[[str], bool] | None = None,
    ) -> None:
        self.recursive = recursive
        self.flat = flat
        self.on_paths = on_paths
        self.on_error = on_error
        self.prefilter = prefilter
        self._stop = threading.Event()  # the notify loop polls it every step
        self._threads: list[threading.Thread] = []

    def try_start(self) -> bool:
        """`start()`, with a folder that cannot be watched reported through `on_error`
        like a failure later on: False then."""
        try:
            self.start()
        except OSError as exc:
            self.on_error(exc)
            return False
        return True

    def start(self) -> None:
        """Raises OSError when a folder cannot be watched (gone, inotify limits)."""
        # Loaded on first use: a stack without watches never pays for it.
        from watchfiles._rust_notify import RustNotify

        loop = asyncio.get_running_loop()
        polling = "WATCHFILES_FORCE_POLLING" in os.environ  # as watchfiles reads it
        notifiers = []
        try:
            for folders, deep in ((self.recursive, True), (self.flat, False)):
                if folders:
                    notifiers.append(RustNotify(folders, False, polling, 300, deep, True))
        except BaseException:
            for notify in notifiers:
                notify.close()
            raise
        for notify in notifiers:
            thread = threading.Thread(
                target=self._run, args=(notify, loop), name="stackup-filewatch", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def _run(self, notify: Any, loop: asyncio.AbstractEventLoop) -> None:
        try:
            while not self._stop.is_set():
                changes = notify.watch(BATCH_MAX_MS, BATCH_STEP_MS, IDLE_WAKE_MS, self._stop)
                if changes == "stop":
                    return
                if isinstance(changes, set):
                    keep = self.prefilter
                    paths = {p for _, p in changes if keep is None or keep(p)}
                    if paths:
                        self._post(loop, self.on_paths, paths)
        except Exception as exc:  # a folder vanished, inotify limits: say so
            self._post(loop, self.on_error, exc)
        finally:
            notify.close()

    @staticmethod
    def _post(loop: asyncio.AbstractEventLoop, fn: Callable[[Any], None], arg: Any) -> None:
        with contextlib.suppress(RuntimeError):  # the loop has closed: nobody to tell
            loop.call_soon_threadsafe(fn, arg)

    async def close(self) -> None:
        """Stop watching; returns once the threads have (within a step)."""
        self._stop.set()
        threads, self._threads = self._threads, []
        await apoll_until(lambda: not any(t.is_alive() for t in threads), 2.0)


class Debouncer:
    """Collects paths and calls `fire(paths)` once `delay` seconds passed without
    another, or once the burst has gone on for DEBOUNCE_CAP × `delay` (at least 2 s)."""

    def __init__(self, delay: float, fire: Callable[[set[str]], None]) -> None:
        self.delay = delay
        self.cap = max(delay * DEBOUNCE_CAP, 2.0)
        self.fire = fire
        self._pending: set[str] = set()
        self._first = 0.0
        self._timer: asyncio.TimerHandle | None = None

    def add(self, paths: set[str]) -> None:
        if not paths:
            return
        loop = asyncio.get_running_loop()
        now = loop.time()
        if not self._pending:
            self._first = now
        self._pending |= paths
        if self._timer is not None:
            self._timer.cancel()
        wait = min(self.delay, max(0.0, self._first + self.cap - now))
        self._timer = loop.call_later(wait, self._flush)

    def _flush(self) -> None:
        self._timer = None
        paths, self._pending = self._pending, set()
        if paths:
            self.fire(paths)

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._pending = set()


def shown_paths(paths: Iterable[str], root: str, limit: int = 3) -> list[str]:
    """Changed paths for a person: relative to the stack's folder, the first few."""
    out = sorted(os.path.relpath(p, root) if _under(p, root) else p for p in paths)
    return out[:limit]
