"""The `watch:` keys of a running stack: one `FileWatch` over the folders of every
watched service (rebuilt only when those folders change), each batch of changed paths
dispatched to the services whose rules accept them, and one `Debouncer` per service,
which calls `on_change(service, paths)` once a burst is over.

Used by both supervisors (foreground and detached) through `SupervisorProcess`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping

from stackup import globs
from stackup.config.model import Service
from stackup.system.filewatch import Debouncer, FileWatch, Rules, merge_roots


class ServiceWatches:
    def __init__(
        self,
        root: str,
        on_change: Callable[[str, set[str]], None],
        on_error: Callable[[str], None],
    ) -> None:
        self.root = root
        self.on_change = on_change
        self.on_error = on_error
        self._rules: dict[str, Rules] = {}
        self._specs: dict[str, object] = {}
        self._debouncers: dict[str, Debouncer] = {}
        self._watch: FileWatch | None = None
        self._roots: tuple[list[str], list[str]] = ([], [])
        self._broken = False  # the watcher failed: the next update starts a new one

    @property
    def watched(self) -> set[str]:
        return set(self._rules)

    async def update(self, services: Mapping[str, Service]) -> None:
        """Watch exactly these services (each has a `watch:`), with their rules now."""
        for name in list(self._rules):
            if name not in services or self._specs[name] != services[name].watch:
                self._drop(name)
        for name, svc in services.items():
            if name in self._rules or svc.watch is None:
                continue
            watch = svc.watch
            self._rules[name] = Rules.of(watch.paths, watch.ignore, self.root)
            self._specs[name] = watch
            self._debouncers[name] = Debouncer(
                watch.debounce, lambda paths, name=name: self.on_change(name, paths)
            )
        roots = merge_roots(r for rules in self._rules.values() for r in rules.roots())
        if roots == self._roots and not self._broken and (
            self._watch is not None or not self._rules
        ):
            return
        await self._stop_watch()
        self._roots = roots
        self._broken = False
        if self._rules:
            watch = FileWatch(*roots, self._dispatch, self._failed, self._worth_looking)
            if watch.try_start():
                self._watch = watch

    def _drop(self, name: str) -> None:
        self._rules.pop(name, None)
        self._specs.pop(name, None)
        debouncer = self._debouncers.pop(name, None)
        if debouncer is not None:
            debouncer.cancel()

    def _worth_looking(self, path: str) -> bool:
        # The default ignores hold for every service: drop those paths in the watcher
        # (a busy log folder or node_modules costs nothing further).
        return not globs.ignored(path, globs.DEFAULT_IGNORES, self.root)

    def _dispatch(self, paths: set[str]) -> None:
        for name, rules in self._rules.items():
            mine = {p for p in paths if rules.accepts(p)}
            if mine:
                self._debouncers[name].add(mine)

    def _failed(self, exc: BaseException) -> None:
        self._broken = True
        self.on_error(f"watching files stopped: {exc} (the next `up -d` tries again)")

    async def _stop_watch(self) -> None:
        if self._watch is not None:
            watch, self._watch = self._watch, None
            await watch.close()

    async def close(self) -> None:
        for name in list(self._rules):
            self._drop(name)
        await self._stop_watch()
        self._roots = ([], [])


def pending(tasks: set[asyncio.Task[None]], coro: object) -> asyncio.Task[None]:
    """Keep a reference to a fire-and-forget task until it ends (asyncio holds only
    weak ones)."""
    task = asyncio.get_running_loop().create_task(coro)  # type: ignore[arg-type]
    tasks.add(task)
    task.add_done_callback(tasks.discard)
    return task
