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
from stackup.errors import AlreadySupervisedError, StartFailedError
from stackup.polling import poll_until
from stackup.server import control, statedir
from stackup.server.logfiles import open_private

SPAWN_DEADLINE = 15.0  # seconds for a new supervisor to answer its socket
EXIT_DEADLINE = 15.0  # seconds for a supervisor whose first start failed to be gone


def up_detached(
    stack: Stack, names: list[str], profiles: tuple[str, ...], port_offset: PortOffset,
    progress: Progress, fresh: bool = False, notes: TextIO | None = None,
    recreate: str = "changed", watch: bool = True,
) -> Started:
    """Returns the selection and the stack as it runs once ready; raises StackupError
    subclasses otherwise.

    With a supervisor running, it converges the stack to the file as this command
    resolved it (`recreate`: "changed", "force" or "never"); a new supervisor starts
    everything (`--force-recreate` then also means: adopt nothing a dead one left)."""
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
                stack, passed_on = prepare_start(
                    stack, selection, fresh or recreate == "force", port_offset
                )
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
    # The selection as this command resolved it (its profiles), not the supervisor's.
    request: dict[str, Any] = {"cmd": "start", "services": selection, "watch": watch}
    if supervisor is not None:
        # It loads the file again as this command did: same environment, profiles, offset.
        request.update(cmd="apply", environ=dict(os.environ), profiles=list(profiles),
                       port_offset=stack.port_offset if port_offset == offsets.AUTO
                       else port_offset, recreate=recreate)
    response = request_with_progress(state_dir, request, selection, progress)
    if not response.get("ok") and daemon is not None:
        # The supervisor this command started has nothing left to run: it ends, and
        # this command returns only once it has.
        poll_until(lambda: daemon.poll() is not None, EXIT_DEADLINE)
    out = notes or sys.stderr
    for line in response.get("changes") or []:  # what converging did, also on failure
        out.write(line + "\n")
    control.raise_for(response)
    _say_takeover(response.get("takeover") or {}, out)
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
