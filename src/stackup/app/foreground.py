"""`stackup up` in the foreground: supervise in this process until Ctrl-C.

Start-up is on the clock here (launch → first service spawned): the lock is taken and
the output keeper started before the supervisor's own modules are imported, so the
keeper is ready while this process imports asyncio and the engine.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TextIO

from stackup.app.offsets import PortOffset
from stackup.app.reclaim import prepare_start
from stackup.config import graph
from stackup.config.model import Stack
from stackup.printer import Printer
from stackup.server import keeper, statedir

if TYPE_CHECKING:
    import asyncio

    from stackup.engine.runtime import ServiceFailure
    from stackup.server.supervisor_process import SupervisorProcess


def up_foreground(
    stack: Stack, names: list[str], *, colour: bool, stream: TextIO | None = None,
    fresh: bool = False, port_offset: PortOffset = None, watch: bool = True,
    reload: Callable[[], Stack] | None = None,
) -> int:
    """`stackup up`: run the selection in the foreground until Ctrl-C or all have ended.
    `watch`: restart services whose `watch:` files change; `reload`: loads the stack
    file again, to apply a saved edit (None: edits are not followed)."""
    selected = graph.select(stack, names)
    state_dir = statedir.ensure_private_dir(stack.state_dir)
    with statedir.supervisor_lock(state_dir):
        # No keeper answers: this stack's services (if any) are gone with it. Start one
        # now (forked: no thread exists yet), so it is ready when the supervisor is.
        early = None if keeper.answers(state_dir) else keeper.spawn(state_dir)
        try:
            stack = prepare_start(stack, selected, fresh, port_offset).stack
        except BaseException:
            _stop_early(early)
            raise
        printer = Printer(selected, stream or sys.stdout, colour)
        import asyncio

        return asyncio.run(_supervise(stack, names, selected, printer, early, watch, reload))


def _stop_early(early: keeper.Forked | None) -> None:
    """A keeper started for a start that was refused: it has nothing to keep."""
    if early is not None:
        early.terminate()  # it quits (it has no service)
        early.wait(5)


async def _supervise(
    stack: Stack, names: list[str], selected: list[str], printer: Printer,
    early: keeper.Forked | None, watch: bool = True,
    reload: Callable[[], Stack] | None = None,
) -> int:
    import asyncio
    import time

    from stackup.engine.runtime import ServiceFailure
    from stackup.errors import ExitCode
    from stackup.events import EventBus
    from stackup.render import plural
    from stackup.server.keeper_client import KeeperClient
    from stackup.server.signals import SignalLatch
    from stackup.server.supervisor_process import SupervisorProcess
    from stackup.states import State

    bus = EventBus()
    bus.subscribe(printer)
    host = SupervisorProcess(
        stack, bus, "foreground", KeeperClient(stack.state_dir, started=early), watch=watch
    )
    follower: Any = None  # the StackFileFollower, once the stack is ready
    supervisor = host.supervisor
    stop = asyncio.Event()
    latch = SignalLatch(stop, supervisor.kill_now)
    latch.install(hangup_stops=True)
    began = time.monotonic()
    code = ExitCode.OK
    await host.open()
    host.output.follow_all(list(stack.services))  # the terminal shows every service
    try:
        start = asyncio.create_task(host.up(names))
        # A stop comes from a signal here, or from `stackup down` in another terminal.
        stop_requested = asyncio.create_task(_first_of(stop, host.shutdown))
        await asyncio.wait({start, stop_requested}, return_when=asyncio.FIRST_COMPLETED)
        if start.done() and not start.cancelled():
            failure = start.exception()
            if isinstance(failure, ServiceFailure) and host.shutdown.is_set():
                pass  # `stackup down` from another terminal cut the start short: a stop
            elif isinstance(failure, ServiceFailure):
                report_failure(host, failure, printer)
                code = ExitCode.SERVICE_FAILED
            elif failure is not None:
                raise failure
            else:
                ready = plural(len(selected), "service")
                printer.notice(
                    f"{'all ' if len(selected) > 1 else ''}{ready} ready in "
                    f"{time.monotonic() - began:.2f}s (Ctrl-C to stop)"
                )
                # From now on: edits of the stack file and of watched files apply.
                await host.sync_watches()
                if reload is not None:
                    from stackup.app.reload import StackFileFollower  # not before the start

                    follower = StackFileFollower(host, reload, names, printer)
                    await follower.start()
                ended = asyncio.create_task(host.wait_all_finished())
                await asyncio.wait({ended, stop_requested}, return_when=asyncio.FIRST_COMPLETED)
                ended.cancel()
                # Everything ended on its own (no stop asked for): say whether it went well.
                if not stop_requested.done() and any(
                    rt.state == State.FAILED for rt in supervisor.runtimes.values()
                ):
                    code = ExitCode.SERVICE_FAILED
        else:
            start.cancel()
            await asyncio.gather(start, return_exceptions=True)
        stop_requested.cancel()
        if stop.is_set():
            # Said whenever a Ctrl-C starts the stop: a slow one can be cut short.
            printer.notice("stopping (Ctrl-C again to kill at once)")
    finally:
        if follower is not None:
            await follower.close()
        await host.close()
    return code


async def _first_of(*events: asyncio.Event) -> None:
    import asyncio

    waits = [asyncio.create_task(e.wait()) for e in events]
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waits:
            w.cancel()


def report_failure(host: SupervisorProcess, failure: ServiceFailure, printer: Printer) -> None:
    """One line saying why, then the service's last lines of output, on stderr."""
    from stackup.render import failure_text

    err = sys.stderr
    err.write(f"stackup: {failure_text(host.failure or {'service': failure.service})}\n")
    err.flush()
    printer.notice(f"{failure.service} failed: {failure.reason}; stopping everything")
