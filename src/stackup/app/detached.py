"""`stackup up -d`: make sure a detached supervisor runs, ask it to start the
selection, show progress from the state file while it works, and report."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from stackup.app.progress import Progress, failure_text, request_with_progress
from stackup.app.reclaim import reclaim_leftovers
from stackup.config import graph
from stackup.config.model import Stack
from stackup.errors import (
    AlreadySupervisedError,
    PortConflictError,
    StartFailedError,
    UsageError,
)
from stackup.server import control, statedir, statefile
from stackup.server.logfiles import open_private
from stackup.system.preflight import check_ports_free

SPAWN_DEADLINE = 15.0  # seconds for a new supervisor to answer its socket


def up_detached(
    stack: Stack, names: list[str], profiles: tuple[str, ...], port_offset: int | None,
    progress: Progress,
) -> list[str]:
    """Returns the selection once ready; raises StackupError subclasses otherwise."""
    selection = graph.select(stack, names)
    state_dir = statedir.ensure_private_dir(stack.state_dir)
    supervisor = control.ping(state_dir) or control.wait_for_starting(state_dir, 5.0)
    if supervisor is None:
        try:
            # Under the supervisor lock (no supervisor starting at the same moment has
            # its fresh state overwritten by the reclaim), which then passes to the
            # supervisor started here: it is never free in between.
            with statedir.supervisor_lock(state_dir) as lock_fd:
                reclaim_leftovers(stack)
                check_ports_free(stack, selection)
                daemon = _spawn(stack, state_dir, profiles, port_offset, lock_fd)
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
        _check_same_ports(stack, statefile.read(state_dir))
    # The selection as this command resolved it (its profiles), not the supervisor's.
    response = request_with_progress(
        state_dir, {"cmd": "start", "services": selection}, selection, progress
    )
    if response.get("ok"):
        return selection
    code = int(response.get("exit_code", 1))
    failure = response.get("failure")
    if failure:
        raise StartFailedError(failure_text(failure))
    error = str(response.get("error", "the supervisor refused the request"))
    raise {2: UsageError, 3: PortConflictError, 4: AlreadySupervisedError}.get(
        code, StartFailedError
    )(error)


def _check_same_ports(stack: Stack, state: dict[str, Any] | None) -> None:
    """A running stack keeps the ports it was started with (an offset, or a variable
    such as DB_PORT, changed since would make this command's table lie)."""
    records = (state or {}).get("services", {})
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
    deadline = time.monotonic() + SPAWN_DEADLINE
    while time.monotonic() < deadline:
        if control.ping(state_dir) is not None:
            return
        code = daemon.poll()
        if code is not None:
            raise StartFailedError(
                f"the supervisor exited with code {code}; see {state_dir / 'supervisor.log'}"
            )
        time.sleep(0.01)
    raise StartFailedError(f"the supervisor did not answer within {SPAWN_DEADLINE:g}s")
