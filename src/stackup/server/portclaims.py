"""Port claims: which ports each starting or running stack of this user has taken, so
that two stacks starting at the same moment never choose the same ports.

Every stack's supervisor lock is its own (one per state folder), so it cannot keep two
*projects* apart. The claims are shared by all of a user's stacks on the machine: one
file, `claims.json`, in the private `$TMPDIR/stackup-<uid>/`, read and written only
under `claims.lock` (an flock, dropped by the kernel if its holder dies). A start takes
the lock, drops the claims nobody holds any more, checks or chooses its ports against
the others', writes its own claim and lets go: the lock is held for milliseconds, never
while a stack starts.

A claim is keyed by the state folder. It holds while the process that made it (the
`up`, `up -d` or `run` choosing the ports) is alive, until a supervisor of that state
folder started after the claim has written its state; from then on it holds exactly
as long as that supervisor (as `state.json` records it: pid and creation time). The
chooser lives until the supervisor it starts has written its state (`up -d` waits for
it to answer; a foreground `up` is the supervisor), so the claim has no gap, and it
covers the time before the services bind their ports, restarts, and services stopped
with `down SERVICE` while the stack runs — but not a long-lived chooser (a program
calling the start in-process) after its stack ended. A later start of the same state
folder replaces it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
import time
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stackup import locations
from stackup.errors import StackupError
from stackup.polling import poll_until
from stackup.server import statefile
from stackup.system import processes

CLAIMS_FILE = "claims.json"
LOCK_FILE = "claims.lock"
LOCK_DEADLINE = 10.0  # seconds; a holder only reads, binds test sockets and writes


@dataclass(frozen=True)
class Claim:
    """Ports one stack has taken, and who holds them."""

    state_dir: str
    stack: str
    project: str | None
    ports: tuple[int, ...]
    pid: int
    create_time: float
    at: float  # when it was made: a supervisor started since then has taken it over

    def describe(self) -> str:
        """`stack demo (project job1, /repo/.stackup/projects/job1)`."""
        project = f"project {self.project}, " if self.project else ""
        return f"stack {self.stack} ({project}{self.state_dir})"

    def alive(self) -> bool:
        state = statefile.read(Path(self.state_dir))
        supervisor = (state or {}).get("supervisor") or {}
        if state is not None and (supervisor.get("started_at") or 0) >= self.at:
            return statefile.supervisor_alive(state)  # handed over to it
        return processes.same_process(self.pid, self.create_time) is not None


class Claims:
    """The claims as read under the lock; `claim` and `release` are written when the
    lock is let go."""

    def __init__(self, entries: dict[str, Claim]) -> None:
        self._entries = entries
        self.changed = False

    def others(self, state_dir: Path) -> dict[int, Claim]:
        """Each port claimed by another stack that still holds its claim."""
        mine = str(state_dir)
        return {
            port: claim
            for key, claim in self._entries.items() if key != mine
            for port in claim.ports
        }

    def claim(
        self, state_dir: Path, stack: str, project: str | None, ports: Collection[int]
    ) -> None:
        me = processes.process_or_none(os.getpid())
        assert me is not None
        key = str(state_dir)
        self._entries[key] = Claim(
            key, stack, project, tuple(sorted(set(ports))), me.pid, me.create_time(),
            time.time(),
        )
        self.changed = True

    def release(self, state_dir: Path) -> None:
        if self._entries.pop(str(state_dir), None) is not None:
            self.changed = True

    def to_json(self) -> dict[str, Any]:
        return {
            key: {"stack": c.stack, "project": c.project, "ports": list(c.ports),
                  "pid": c.pid, "create_time": c.create_time, "at": c.at}
            for key, c in self._entries.items()
        }


@contextlib.contextmanager
def locked(folder: Path | None = None) -> Iterator[Claims]:
    """Hold the claims lock; yields the live claims (stale ones already dropped) and
    writes them back if they changed."""
    folder = folder or locations.user_temp_dir()
    fd = os.open(folder / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        if not poll_until(lambda: _try_lock(fd), LOCK_DEADLINE, first=0.001, cap=0.02):
            raise StackupError(
                f"another stackup has been choosing ports for {LOCK_DEADLINE:g}s "
                f"(it holds {folder / LOCK_FILE})"
            )
        read = _read(folder / CLAIMS_FILE)
        claims = Claims({k: c for k, c in read.items() if c.alive()})
        claims.changed = len(claims._entries) != len(read)
        yield claims
        if claims.changed:
            _write(folder / CLAIMS_FILE, claims.to_json())
    finally:
        os.close(fd)  # also lets go of the lock


def release(state_dir: Path) -> None:
    """Drop this state folder's claim (a start that was refused after claiming)."""
    with locked() as claims:
        claims.release(state_dir)


def _try_lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _read(path: Path) -> dict[str, Claim]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    entries: dict[str, Claim] = {}
    if not isinstance(data, dict):
        return entries
    for key, raw in data.items():
        with contextlib.suppress(KeyError, TypeError, ValueError):
            entries[key] = Claim(
                key, str(raw["stack"]), raw.get("project"),
                tuple(int(p) for p in raw["ports"]), int(raw["pid"]),
                float(raw["create_time"]), float(raw["at"]),
            )
    return entries


def _write(path: Path, data: dict[str, Any]) -> None:
    """Atomically, so a reader that ignores the lock never sees half a file."""
    fd, tmp = tempfile.mkstemp(prefix=".claims-", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(data, f, separators=(",", ":"))
            f.write("\n")
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
