"""Use cases behind the CLI verbs. Each returns data or an exit code; the CLI renders."""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from dataclasses import dataclass
from typing import TextIO

from stackup import graph, oskit, ports, statedir
from stackup.config.model import Stack
from stackup.errors import ExitCode, PortConflictError
from stackup.events import EventBus
from stackup.logfiles import LogFiles
from stackup.printer import Printer
from stackup.runtime import ServiceFailure
from stackup.supervisor import Supervisor


@dataclass(frozen=True)
class PortRow:
    service: str
    port: int
    url: str
    description: str
    profiles: tuple[str, ...]
    holder: ports.PortHolder | None

    def to_json(self) -> dict[str, object]:
        return {
            "service": self.service,
            "port": self.port,
            "url": self.url,
            "description": self.description,
            "profiles": list(self.profiles),
            "holder": self.holder.to_json() if self.holder else None,
        }


def port_rows(stack: Stack) -> list[PortRow]:
    """The stack's port table, with who holds each port right now."""
    with_ports = [s for s in stack.services.values() if s.port]
    held = ports.holders(s.port for s in with_ports if s.port)
    rows = []
    for svc in with_ports:
        assert svc.port is not None
        host = "localhost" if svc.host in ("127.0.0.1", "0.0.0.0", "::1") else svc.host
        if svc.health.kind == "http":
            url = f"http://{host}:{svc.port}{svc.health.path}"
        else:
            url = f"{host}:{svc.port}"
        desc = svc.description or ""
        rows.append(PortRow(svc.name, svc.port, url, desc, svc.profiles, held.get(svc.port)))
    return rows


def check_ports_free(stack: Stack, selected: list[str]) -> None:
    """Refuse to start (exit 3) when a port the selection needs is already held."""
    needed = {s.port: s.name for n in selected if (s := stack.services[n]).port}
    held = ports.holders(needed)
    if held:
        parts = [
            f"port {p} ({needed[p]}) is held by {h.describe()}" for p, h in sorted(held.items())
        ]
        raise PortConflictError("; ".join(parts) + "; nothing was started")


class SignalLatch:
    """Signal handlers only record: the first SIGINT/SIGTERM asks for a stop, the second
    for an immediate kill. The supervisor's loop acts on the events."""

    def __init__(self, kill_now: asyncio.Event) -> None:
        self.stop = asyncio.Event()
        self.kill_now = kill_now
        self.count = 0

    def install(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self._record)

    def _record(self) -> None:
        self.count += 1
        (self.kill_now if self.count > 1 else self.stop).set()


def up_foreground(
    stack: Stack, names: list[str], *, colour: bool, stream: TextIO | None = None
) -> int:
    """`stackup up`: run the selection in the foreground until Ctrl-C or all have ended."""
    selected = graph.select(stack, names)
    state_dir = statedir.ensure_private_dir(stack.state_dir)
    with statedir.supervisor_lock(state_dir):
        check_ports_free(stack, selected)
        printer = Printer(selected, stream or sys.stdout, colour)
        return asyncio.run(_supervise(stack, selected, printer))


async def _supervise(stack: Stack, selected: list[str], printer: Printer) -> int:
    bus = EventBus()
    bus.subscribe(printer)
    logs = LogFiles(stack.state_dir / "logs")
    bus.subscribe(logs)
    oskit.become_subreaper()
    supervisor = Supervisor(stack, selected, bus)
    latch = SignalLatch(supervisor.kill_now)
    latch.install()
    began = time.monotonic()
    code = ExitCode.OK
    try:
        start = asyncio.create_task(supervisor.start())
        stop_requested = asyncio.create_task(latch.stop.wait())
        await asyncio.wait({start, stop_requested}, return_when=asyncio.FIRST_COMPLETED)
        if start.done() and not start.cancelled():
            failure = start.exception()
            if isinstance(failure, ServiceFailure):
                report_failure(supervisor, failure, printer)
                code = ExitCode.SERVICE_FAILED
            elif failure is not None:
                raise failure
            else:
                printer.notice(
                    f"all {len(selected)} services ready in {time.monotonic() - began:.2f}s"
                    " (Ctrl-C to stop)"
                )
                ended = asyncio.create_task(supervisor.wait_all_finished())
                await asyncio.wait({ended, stop_requested}, return_when=asyncio.FIRST_COMPLETED)
                ended.cancel()
                if any(rt.state.value == "failed" for rt in supervisor.runtimes.values()):
                    code = ExitCode.SERVICE_FAILED
        else:
            start.cancel()
            await asyncio.gather(start, return_exceptions=True)
            printer.notice("stopping (Ctrl-C again to kill at once)")
        stop_requested.cancel()
    finally:
        await supervisor.stop()
        logs.close()
    return code


def report_failure(supervisor: Supervisor, failure: ServiceFailure, printer: Printer) -> None:
    """One line saying why, then the service's last lines of output, on stderr."""
    err = sys.stderr
    err.write(f"stackup: {failure.service} {failure.reason}\n")
    tail = list(supervisor.runtimes[failure.service].tail)
    if tail:
        err.write(f"stackup: last {len(tail)} lines of {failure.service}:\n")
        err.write("".join(f"  {failure.service} | {line}\n" for line in tail))
    err.flush()
    printer.notice(f"{failure.service} failed: {failure.reason}; stopping everything")
