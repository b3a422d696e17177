"""The detached supervisor (`python -m stackup.server.daemon`), started by `stackup up -d`.

It runs in its own session, writes its own log to `.stackup/supervisor.log`, answers
the control socket and lives exactly as long as something runs: after a full `down`,
after a failed start that left nothing running, or when every service has ended on
its own, it exits, and says why in its log. A supervisor nobody asks to start anything
exits after IDLE_EXIT.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from stackup import locations
from stackup.config import cache
from stackup.config.model import Stack
from stackup.errors import StackupError
from stackup.events import EventBus, Notice
from stackup.printer import Printer
from stackup.server import keeper, statedir
from stackup.server.keeper_client import KeeperClient
from stackup.server.signals import SignalLatch
from stackup.server.supervisor_process import SupervisorProcess

IDLE_EXIT = 30.0  # seconds without a first start request


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="stackup.server.daemon")
    p.add_argument("--file", type=Path, required=True)
    p.add_argument("--profile", action="append", default=[])
    p.add_argument("--port-offset", type=int, default=None)
    p.add_argument("--project", default=None, help="-p NAME of the `up -d` that started it")
    p.add_argument("--lock-fd", type=int, default=None, help="the lock `up -d` passed on")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    try:
        stack = cache.load(
            args.file, locations.state_dir(args.file, args.project), profiles=tuple(args.profile),
            port_offset=args.port_offset, project=args.project,
        )
        state_dir = statedir.ensure_private_dir(stack.state_dir)
        with statedir.supervisor_lock(state_dir, args.lock_fd):
            # Before the event loop (no thread yet: the keeper may be forked).
            early = None if keeper.answers(state_dir) else keeper.spawn(state_dir)
            return asyncio.run(run(stack, early))
    except StackupError as err:
        print(f"stackup supervisor: {err}", flush=True)
        return int(err.exit_code)


async def run(stack: Stack, early: keeper.Forked | None = None) -> int:
    bus = EventBus()
    printer = Printer(list(stack.services), sys.stdout, colour=False)
    # supervisor.log gets stackup's own lines; service output goes to logs/<name>.log.
    bus.subscribe(lambda event: printer(event) if isinstance(event, Notice) else None)
    host = SupervisorProcess(stack, bus, "detached", KeeperClient(stack.state_dir, early))
    SignalLatch(host.shutdown, host.supervisor.kill_now).install(hangup_stops=False)
    await host.open()
    print(f"stackup supervisor {host.supervisor.instance} ready", flush=True)
    try:
        why = await _live_while_something_runs(host)
        print(f"stackup supervisor: exiting: {why}", flush=True)
    finally:
        await host.close()
    print("stackup supervisor: stopped", flush=True)
    return 0


async def _live_while_something_runs(host: SupervisorProcess) -> str:
    """Wait, on events, until there is nothing left to supervise; return why."""
    loop = asyncio.get_running_loop()
    idle_deadline = loop.time() + IDLE_EXIT
    while True:
        host.changed.clear()  # before looking: a change from now on wakes the wait
        why = host.why_done()
        if why is not None:
            return why
        if not host.started_once and not host.supervisor.selected and (
            loop.time() >= idle_deadline
        ):
            return f"nobody asked it to start anything within {IDLE_EXIT:g}s"
        waits = {asyncio.create_task(host.changed.wait()),
                 asyncio.create_task(host.shutdown.wait())}
        timeout = None if host.started_once else max(0.0, idle_deadline - loop.time())
        try:
            await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in waits:
                task.cancel()


if __name__ == "__main__":
    sys.exit(main())
