"""The supervisor's state file, `.stackup/state.json`: written atomically on every
change, read by `status`, `down`, `up -d`, `doctor`, `timeline` from any terminal —
also after the supervisor itself was killed, which is why it records each service's
pid, creation time, dependencies and check, the instance marker its processes carry
and the output keeper that is their parent.

Its shape is defined once, here (`StackState`, `ServiceRecord`); every reader and
writer goes through these types.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, TypedDict, cast

from stackup.states import FINAL_STATES, State
from stackup.system import processes

STATE_FILE = "state.json"
FORMAT_VERSION = 1

# States that outlast their supervisor: what a dead supervisor recorded still holds.
ENDED_STATES = frozenset(s.value for s in FINAL_STATES - {State.STOPPED})


class Identity(TypedDict, total=False):
    pid: int | None
    create_time: float | None


class SupervisorRecord(Identity, total=False):
    running: bool
    mode: str  # "foreground" | "detached"
    started_at: float


class TimelineRecord(TypedDict, total=False):
    waiting_at: float | None
    started_at: float | None
    ready_at: float | None


class CheckRecord(TypedDict, total=False):
    """A service's check, enough to run it once without the stack file (`status` of a
    stack whose supervisor died)."""

    kind: str  # tcp | http | command | log | none
    host: str
    port: int | None
    path: str
    status: int | None
    command: str | list[str] | None
    timeout: float
    cwd: str
    user: str | None


class ServiceRecord(TypedDict, total=False):
    state: str
    reason: str
    pid: int | None
    create_time: float | None
    port: int | None
    health: str
    restarts: int
    exit_code: int | None
    started_at: float | None
    ready_at: float | None
    timeline: TimelineRecord
    depends_on: list[str]
    oneshot: bool
    stop_signal: int
    stop_timeout: float
    profiles: list[str]
    description: str | None
    host: str
    check: CheckRecord
    hash: str  # of the resolved definition: what `up -d` compares to the file
    external: bool  # run by someone else: never signalled, only checked
    watched: bool  # its `watch:` files are being watched now
    changed_at: float | None  # when it last restarted for a changed watched file
    changed: list[str]  # which files (relative to the stack file), the first few


class Failure(TypedDict, total=False):
    service: str
    reason: str
    tail: list[str]
    time: float


class StackState(TypedDict, total=False):
    format: int
    stack: str
    file: str
    instance: str
    supervisor: SupervisorRecord
    keeper: Identity
    profiles: list[str]
    port_offset: int
    selected: list[str]
    default: list[str]
    failure: Failure | None
    services: dict[str, ServiceRecord]
    watching: bool  # `watch:` keys apply (not `up --no-watch`)
    updated_at: float


def state_path(state_dir: Path) -> Path:
    return state_dir / STATE_FILE


def write(state_dir: Path, data: StackState | dict[str, Any]) -> None:
    """Replace the state file atomically: readers see the old or the new, never half."""
    data = {**data, "format": FORMAT_VERSION}
    fd, tmp = tempfile.mkstemp(prefix=".state-", dir=state_dir)  # mode 0600
    try:
        with os.fdopen(fd, "w") as f:
            # dumps, not dump: only the one-shot encoder is json's C one (dump runs the
            # pure-Python encoder: ~5 ms for 200 services, on every burst of changes).
            f.write(json.dumps(data, separators=(",", ":")))
        os.replace(tmp, state_path(state_dir))
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def read(state_dir: Path) -> StackState | None:
    """The last state written, or None when there is none (or it is unreadable)."""
    try:
        data = json.loads(state_path(state_dir).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("format") != FORMAT_VERSION:
        return None
    return cast(StackState, data)


def supervisor_alive(state: StackState) -> bool:
    """Is the supervisor that wrote this state still running (same pid, same process)?"""
    sup = state.get("supervisor") or {}
    return bool(sup.get("running")) and processes.same_process(
        sup.get("pid"), sup.get("create_time")
    ) is not None


def live_process(rec: ServiceRecord, instance: str | None):  # -> psutil.Process | None
    """The service's recorded process if it still runs and is ours: same pid, same
    creation time, and (when the instance is known) carrying its marker — a reused
    pid with a matching time is not ours."""
    proc = processes.same_process(rec.get("pid"), rec.get("create_time"))
    if proc is not None and instance and not processes.carries_marker(proc, instance):
        return None
    return proc


def unsupervised_state(rec: ServiceRecord, alive: bool) -> str:
    """The state to show for a service whose supervisor is gone (one rule for `status`
    and for what `down` leaves in the file): an ended state holds, anything else is
    `stopped` once its process is gone."""
    state = rec.get("state", "stopped")
    if alive or state in ENDED_STATES:
        return state
    return "stopped"


def retire(state_dir: Path) -> None:
    """Forget what a finished (or dead, cleaned-up) supervisor recorded about its
    services' states, keeping what identifies them: a new start begins from
    `stopped`, and a refused one leaves no stale states behind."""
    state = read(state_dir)
    if state is None or supervisor_alive(state):
        return
    instance = state.get("instance")
    for rec in (state.get("services") or {}).values():
        if live_process(rec, instance) is not None:
            continue  # still running: `down` (or the next supervisor) needs its record
        rec.update(state="stopped", reason="", pid=None, create_time=None, exit_code=None,
                   started_at=None, ready_at=None, restarts=0)
    state["failure"] = None
    state["selected"] = []
    write(state_dir, state)
