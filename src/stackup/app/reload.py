"""A foreground `up` follows its stack file: when the file, one of its env files or
its Procfile is saved, load it again and converge the running stack to it — the same
`SupervisorProcess.apply` that `up -d` asks for — printing what changed. An edit that
does not load prints its one-line error and changes nothing; the next save is tried
again."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable, Sequence

from stackup.config.model import Stack
from stackup.errors import StackupError
from stackup.printer import Printer
from stackup.render import failure_text
from stackup.server.supervisor_process import SupervisorProcess
from stackup.system.filewatch import Debouncer, FileWatch

DEBOUNCE = 0.2  # seconds: an editor's save (write, rename, chmod) is one burst


class StackFileFollower:
    def __init__(
        self, host: SupervisorProcess, load: Callable[[], Stack], names: Sequence[str],
        printer: Printer,
    ) -> None:
        self.host = host
        self.load = load
        self.names = list(names)
        self.printer = printer
        self._inputs: frozenset[str] = frozenset()
        self._watch: FileWatch | None = None
        self._debouncer = Debouncer(DEBOUNCE, self._changed)
        self._applying: asyncio.Task[None] | None = None
        self._again = False

    async def start(self) -> None:
        await self._watch_inputs(self.host.stack)

    async def _watch_inputs(self, stack: Stack) -> None:
        inputs = frozenset(str(p) for p in stack.inputs)
        if inputs == self._inputs and self._watch is not None:
            return
        await self._stop_watch()
        self._inputs = inputs
        folders = sorted({os.path.dirname(p) for p in inputs if os.path.isdir(os.path.dirname(p))})
        watch = FileWatch([], folders, self._debouncer.add, self._failed,
                          prefilter=lambda path: path in self._inputs)
        if watch.try_start():
            self._watch = watch

    def _changed(self, _paths: set[str]) -> None:
        if self._applying is not None and not self._applying.done():
            self._again = True  # saved again while applying: apply once more after
            return
        self._applying = asyncio.get_running_loop().create_task(self._apply())

    async def _apply(self) -> None:
        while True:
            self._again = False
            await self._apply_once()
            if not self._again:
                return

    async def _apply_once(self) -> None:
        name = self.host.stack.file.name
        try:
            stack = await asyncio.to_thread(self.load)
        except StackupError as err:
            self.printer.notice(f"stackup: {err} (not applied: the stack runs as it was)")
            return
        self.printer.notice(f"{name} changed: applying it")
        try:
            response = await self.host.apply(stack, self.names)
        except StackupError as err:  # a port now held by a stranger, a removed name
            self.printer.notice(f"stackup: {err} (not applied: the stack runs as it was)")
            return
        if not response.get("ok"):
            failure = response.get("failure")
            text = failure_text(failure) if failure else response.get("error", "failed")
            sys.stderr.write(f"stackup: {text}\n")
            sys.stderr.flush()
            self.printer.notice(f"{name}: the edit did not start cleanly (see above)")
        elif not response.get("changes"):
            self.printer.notice(f"{name}: nothing to change")
        await self._watch_inputs(self.host.stack)  # an env file added or removed

    def _failed(self, exc: BaseException) -> None:
        self.printer.notice(f"stackup: stopped following the stack file: {exc}")

    async def _stop_watch(self) -> None:
        if self._watch is not None:
            watch, self._watch = self._watch, None
            await watch.close()

    async def close(self) -> None:
        self._debouncer.cancel()
        await self._stop_watch()
        if self._applying is not None:
            self._applying.cancel()
            await asyncio.gather(self._applying, return_exceptions=True)
