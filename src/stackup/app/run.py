"""`stackup run [--] CMD…`: CI bootstrapping. Bring the stack up detached, run CMD with
the stack's environment (every `<NAME>_PORT`), take the stack down, exit with CMD's
code — or 125 when the stack never became ready, 126/127 when CMD cannot run / is not
found (as `docker run` does)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from typing import TextIO

from stackup.app import detached
from stackup.app import down as down_app
from stackup.app.offsets import PortOffset
from stackup.app.progress import Progress
from stackup.config.model import Stack
from stackup.errors import StackupError, UsageError
from stackup.naming import PORT_OFFSET_VARIABLE
from stackup.server import control

STACK_NOT_READY = 125
CANNOT_RUN = 126
NOT_FOUND = 127


def run(
    stack: Stack, command: list[str], profiles: tuple[str, ...], port_offset: PortOffset,
    err: TextIO | None = None,
) -> int:
    err = err or sys.stderr
    if not command:
        raise UsageError("no command given: stackup run [--] CMD...")
    env = command_environment(stack)
    missing = _cannot_start(command[0], env)
    if missing is not None:  # before the stack starts: a typo costs no start-up
        code, message = missing
        err.write(f"stackup: {message} (nothing was started)\n")
        return code
    # A stack someone already runs (`up -d` in another terminal) is used and left up;
    # one this command started is taken down again.
    already_up = control.ping(stack.state_dir) is not None
    try:
        try:
            with _interruptible_by_sigterm():
                started = detached.up_detached(stack, [], profiles, port_offset, Progress(err))
        except UsageError:
            raise
        except StackupError as failure:
            err.write(f"stackup: the stack did not become ready: {failure}\n")
            return STACK_NOT_READY
        # At the ports the stack runs on (`--port-offset auto` chose them just now).
        return _run_command(command, command_environment(started.stack), err)
    except _Interrupted as interrupted:
        err.write("stackup: interrupted while the stack was starting; taking it down\n")
        return 128 + interrupted.signum
    finally:
        # Also when interrupted while starting: a cancelled CI job leaves nothing behind.
        if not already_up:
            for note in down_app.down(stack.state_dir, []).notes:
                err.write(f"stackup: {note}\n")


def command_environment(stack: Stack) -> dict[str, str]:
    """CMD's environment: ours, the stack's (every <NAME>_PORT) and its offset."""
    return {**os.environ, **stack.env, PORT_OFFSET_VARIABLE: str(stack.port_offset)}


class _Interrupted(Exception):
    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


@contextlib.contextmanager
def _interruptible_by_sigterm() -> Iterator[None]:
    """While the stack starts, SIGTERM (a CI job being cancelled) and Ctrl-C end the
    wait as an exception, so the caller's `finally` still takes the stack down."""

    def interrupt(signum: int, _frame: object) -> None:
        raise _Interrupted(signum)

    previous = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _cannot_start(name: str, env: dict[str, str]) -> tuple[int, str] | None:
    """(exit code, message) when `name` is not found or cannot be run: a path is
    checked as a file, a bare name against the PATH CMD will be run with."""
    if "/" in name:
        if not os.path.exists(name):
            return NOT_FOUND, f"command not found: {name}"
        if os.path.isdir(name) or not os.access(name, os.X_OK):
            return CANNOT_RUN, f"cannot run {name}: Permission denied"
        return None
    if shutil.which(name, path=env.get("PATH", os.defpath)) is None:
        return NOT_FOUND, f"command not found: {name}"
    return None


def _run_command(command: list[str], env: dict[str, str], err: TextIO) -> int:
    try:
        child = subprocess.Popen(command, env=env)
    except FileNotFoundError:
        err.write(f"stackup: command not found: {command[0]}\n")
        return NOT_FOUND
    except OSError as exc:
        err.write(f"stackup: cannot run {command[0]}: {exc.strerror or exc}\n")
        return CANNOT_RUN
    # The command shares our terminal, so Ctrl-C reaches it directly; a SIGTERM (a CI
    # job being cancelled) is passed on. Either way we wait for it, then clean up.
    previous = {
        sig: signal.signal(sig, lambda s, _f: _forward(child, s))
        for sig in (signal.SIGTERM, signal.SIGINT)
    }
    try:
        code = child.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return code if code >= 0 else 128 - code


def _forward(child: subprocess.Popen[bytes], sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        child.send_signal(sig)
