"""`stackup up -d`: make sure a detached supervisor runs, ask it to start the
selection, show progress from its stream while it works, and report."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any, NamedTuple, TextIO

from stackup.app import offsets
from stackup.app.offsets import PortOffset
from stackup.app.progress import Progress, request_with_progress
from stackup.app.reclaim import prepare_start
from stackup.config import graph
from stackup.config.model import Stack
from stackup.errors import AlreadySupervisedError, StartFailedError, UsageError
from stackup.polling import poll_until
from stackup.server import control, statedir, statefile
from stackup.server.logfiles import open_private

SPAWN_DEADLINE = 15.0  # seconds for a new supervisor to answer its socket
EXIT_DEADLINE = 15.0  # seconds for a supervisor whose first start failed to be gone


def up_detached(
    stack: Stack, names: list[str], profiles: tuple[str, ...], port_offset: PortOffset,
    progress: Progress, fresh: bool = False, notes: TextIO | None = None,
) -> Started:
    """Returns the selection and the stack as it runs once ready; raises StackupError
    subclasses otherwise."""
    selection = graph.select(stack, names)
    state_dir = statedir.ensure_private_dir(stack.state_dir)
    supervisor = control.ping(state_dir) or control.wait_for_starting(state_dir, 5.0)
    daemon: subprocess.Popen[bytes] | None = None
    if supervisor is None:
        try:
            # Under the supervisor lock (no supervisor starting at the same moment has
            # its fresh state overwritten), which then passes to the supervisor started
            # here: it is never free in between.
            with statedir.supervisor_lock(state_dir) as lock_fd:
                stack, passed_on = prepare_start(stack, selection, fresh, port_offset)
                daemon = _spawn(stack, state_dir, profiles, passed_on, lock_fd)
            _wait_for_daemon(state_dir, daemon)
        except AlreadySupervisedError:
            # Another `up -d` holds it: its supervisor is about to answer.
            supervisor = control.wait_for_starting(state_dir, SPAWN_DEADLINE)
            if supervisor is None:
                raise
    if supervisor is not None and supervisor.get("mode") == "foreground":
        raise AlreadySupervisedError(
            f"this stack is already supervised by a foreground `up` (pid {supervisor['pid']})"
        )
    elif supervisor is not None:
        stack = offsets.as_running(stack, port_offset)  # `auto`: the offset it runs with
        _check_same_ports(stack, statefile.read(state_dir))
    # The selection as this command resolved it (its profiles), not the supervisor's.
    response = request_with_progress(
        state_dir, {"cmd": "start", "services": selection}, selection, progress
    )
    if not response.get("ok") and daemon is not None:
        # The supervisor this command started has nothing left to run: it ends, and
        # this command returns only once it has.
        poll_until(lambda: daemon.poll() is not None, EXIT_DEADLINE)
    control.raise_for(response)
    _say_takeover(response.get("takeover") or {}, notes or sys.stderr)
    return Started(selection, stack)


class Started(NamedTuple):
    selection: list[str]
    stack: Stack  # at the offset it runs with (`--port-offset auto` chose it)


def _say_takeover(takeover: dict[str, Any], out: TextIO) -> None:
    """What a new supervisor did with the services a dead one left running."""
    adopted = takeover.get("adopted") or []
    if adopted:
        out.write(f"stackup: adopted {', '.join(adopted)}: still running from a "
                  "supervisor that died (same pids)\n")
    for name, why in (takeover.get("restarted") or {}).items():
        out.write(f"stackup: {name} could not be adopted ({why}); started afresh\n")


def _check_same_ports(stack: Stack, state: statefile.StackState | None) -> None:
    """A running stack keeps the ports it was started with (an offset, or a variable
    such as DB_PORT, changed since would make this command's table lie)."""
    records = (state or {}).get("services") or {}
    for name, svc in stack.services.items():
        running = records.get(name, {}).get("port", svc.port)
        if running != svc.port:
            raise UsageError(
                f"the stack runs with {name} on port {running}, not {svc.port}; "
                "`stackup down` first to move it"
            )


def _spawn(
    stack: Stack, state_dir: Path, profiles: tuple[str, ...], port_offset: int | None,
    lock_fd: int,
) -> subprocess.Popen[bytes]:
    args = [sys.executable, "-m", "stackup.server.daemon", "--file", str(stack.file)]
    for p in profiles:
        args += ["--profile", p]
    if port_offset is not None:
        args += ["--port-offset", str(port_offset)]
    if stack.project is not None:
        args += ["--project", stack.project]
    args += ["--lock-fd", str(lock_fd)]
    with open_private(state_dir / "supervisor.log") as log:
        return subprocess.Popen(
            args, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True, close_fds=True, pass_fds=(lock_fd,), cwd=stack.root,
            env=os.environ.copy(),
        )


def _wait_for_daemon(state_dir: Path, daemon: subprocess.Popen[bytes]) -> None:
    exited: list[int] = []

    def answered() -> bool:
        if control.ping(state_dir) is not None:
            return True
        code = daemon.poll()
        if code is not None:
            exited.append(code)
            return True
        return False

    if not poll_until(answered, SPAWN_DEADLINE, first=0.005, cap=0.01):
        raise StartFailedError(f"the supervisor did not answer within {SPAWN_DEADLINE:g}s")
    if exited:
        raise StartFailedError(
            f"the supervisor exited with code {exited[0]}; see {state_dir / 'supervisor.log'}"
        )
