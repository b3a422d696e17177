"""The detached supervisor (`python -m stackup.server.daemon`), started by `stackup up -d`.

It runs in its own session, writes its own log to `.stackup/supervisor.log`, answers
the control socket and lives exactly as long as something runs: after a full `down`,
after a failed start that left nothing running, or when every service has ended on
its own, it exits. A supervisor nobody asks to start anything exits after IDLE_EXIT.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from pathlib import Path

from stackup.config import Stack, load_stack
from stackup.errors import StackupError
from stackup.events import EventBus, Notice
from stackup.printer import Printer
from stackup.server import statedir
from stackup.server.supervisor_process import SupervisorProcess

IDLE_EXIT = 30.0  # seconds without a first start request
CHECK_EVERY = 0.25  # seconds between "does anything still run?" checks


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
        stack = load_stack(
            args.file, profiles=args.profile, port_offset=args.port_offset, project=args.project
        )
        state_dir = statedir.ensure_private_dir(stack.state_dir)
        with statedir.supervisor_lock(state_dir, args.lock_fd):
            return asyncio.run(run(stack))
    except StackupError as err:
        print(f"stackup supervisor: {err}", flush=True)
        return int(err.exit_code)


async def run(stack: Stack) -> int:
    bus = EventBus()
    printer = Printer(list(stack.services), sys.stdout, colour=False)
    # supervisor.log gets stackup's own lines; service output goes to logs/<name>.log.
    bus.subscribe(lambda event: printer(event) if isinstance(event, Notice) else None)
    host = SupervisorProcess(stack, bus, "detached")
    loop = asyncio.get_running_loop()
    signals = 0

    def on_signal() -> None:  # record only; the loop below acts
        nonlocal signals
        signals += 1
        (host.supervisor.kill_now if signals > 1 else host.shutdown).set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, on_signal)
    loop.add_signal_handler(signal.SIGHUP, lambda: None)  # the terminal went away: fine
    await host.open()
    print(f"stackup supervisor {host.supervisor.instance} ready", flush=True)
    try:
        await _live_while_something_runs(host)
    finally:
        await host.close()
    return 0


async def _live_while_something_runs(host: SupervisorProcess) -> None:
    waited = 0.0
    while not host.shutdown.is_set():
        try:
            async with asyncio.timeout(CHECK_EVERY):
                await host.shutdown.wait()
        except TimeoutError:
            pass
        waited += CHECK_EVERY
        if host.in_flight or host.partial_down:
            continue
        if not host.supervisor.selected:
            if host.started_once or waited >= IDLE_EXIT:
                return  # a failed start stopped everything, or nobody asked for anything
            continue
        if host.supervisor.all_finished():
            return


if __name__ == "__main__":
    sys.exit(main())
