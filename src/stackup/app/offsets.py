"""`--port-offset auto`, and the port claims every start makes.

A start (foreground `up`, `up -d`, `run`) runs `prepare_start` under its supervisor
lock. With `auto` it chooses an offset there, under the per-user claims lock
(`server/portclaims.py`): the first of 0, +100, +200, … (then -100, …), relative to the
offset the stack would otherwise run with, at which every port of the selection can be
bound on 127.0.0.1, ::1 and the wildcard addresses (`system/portsearch.py`), lies below
the ephemeral range and is claimed by no other live stack; it claims those ports before
letting go of the lock, so a second job choosing a moment later gets another block. A
start with a fixed offset claims its ports too, so an `auto` beside it avoids them, and
is refused (exit 3) when another stack starting at that moment claimed them first.

A running stack keeps its offset: `auto` then means the offset it runs with (and, for a
supervisor that died and left services running, the offset they run on, so that the
new supervisor can adopt them).
"""

from __future__ import annotations

import sys
from collections.abc import Collection
from pathlib import Path
from typing import NamedTuple

from stackup.config import graph
from stackup.config.model import Stack
from stackup.errors import PortConflictError
from stackup.naming import AUTO_OFFSET
from stackup.server import portclaims, statefile
from stackup.system import portsearch

AUTO = AUTO_OFFSET
PortOffset = int | str | None  # --port-offset as given: N, "auto", or not given


class Chosen(NamedTuple):
    stack: Stack  # loaded at the offset it will run with
    passed_on: int | None  # the --port-offset for a supervisor that loads it itself


def running_offset(state_dir: Path) -> int | None:
    """The offset of the stack's live supervisor, if one runs."""
    state = statefile.read(state_dir)
    if state is None or not statefile.supervisor_alive(state):
        return None
    return int(state.get("port_offset") or 0)


def recorded_offset(state_dir: Path) -> int:
    """The offset the state file records (0 when there is none)."""
    return int((statefile.read(state_dir) or {}).get("port_offset") or 0)


def as_running(stack: Stack, port_offset: PortOffset) -> Stack:
    """The stack for a request to its running supervisor: with `auto`, at the offset
    the supervisor runs with (a running stack keeps its offset)."""
    if port_offset != AUTO:
        return stack
    return reload(stack, recorded_offset(stack.state_dir)).stack


def ports_of(stack: Stack, names: Collection[str]) -> dict[int, str]:
    return {svc.port: name for name in names if (svc := stack.services[name]).port}


def choose(stack: Stack, selection: list[str], keep: int | None = None) -> Chosen:
    """Under the stack's supervisor lock: pick and claim the offset for `auto` (or
    `keep`, the offset a dead supervisor's services still run on)."""
    with portclaims.locked() as claims:
        if keep is not None:
            offset = keep
        else:
            found = _search(stack, selection, claims.others(stack.state_dir).keys())
            offset = stack.port_offset + found
        chosen = reload(stack, offset)
        claims.claim(stack.state_dir, stack.name, stack.project,
                     ports_of(chosen.stack, selection))
    if keep is None:
        _say_chosen(chosen.stack, selection)
    return chosen


def preview(stack: Stack) -> int:
    """The offset `auto` would choose now for a bare `up` (nothing is claimed): what
    `config`, `ports` and `export --port-offset auto` show when the stack is not running."""
    selection = graph.select(stack, [])
    with portclaims.locked() as claims:
        return stack.port_offset + _search(stack, selection, claims.others(stack.state_dir))


def claim_fixed(stack: Stack, selection: list[str]) -> None:
    """Claim the ports of a start with a fixed offset; refuse (exit 3) those another
    stack, starting or running, has claimed."""
    needed = ports_of(stack, selection)
    with portclaims.locked() as claims:
        taken = {p: c for p, c in claims.others(stack.state_dir).items() if p in needed}
        if taken:
            parts = [f"port {p} ({needed[p]}) is claimed by {c.describe()}, which is starting "
                     "or running" for p, c in sorted(taken.items())]
            raise PortConflictError(
                "; ".join(parts) + "; nothing was started: move the stack "
                "(`--port-offset auto` picks a free block)"
            )
        claims.claim(stack.state_dir, stack.name, stack.project, needed)


def reload(stack: Stack, offset: int) -> Chosen:
    """The stack at `offset`: loaded again when that is not the offset it has."""
    if offset == stack.port_offset:
        return Chosen(stack, None)
    from stackup.config import cache

    moved = cache.load(
        stack.file, stack.state_dir, profiles=stack.active_profiles, port_offset=offset,
        project=stack.project,
    )
    return Chosen(moved, offset)


def _search(stack: Stack, selection: list[str], avoid: Collection[int]) -> int:
    """The offset to add to the stack's, for `auto`; exit 3 when no block is free."""
    needed = ports_of(stack, selection)
    every = [svc.port for svc in stack.services.values() if svc.port]
    found = portsearch.find_offset(needed, every, avoid)
    if found is None:
        names = ", ".join(sorted(needed.values()))
        raise PortConflictError(
            f"--port-offset auto found no offset (in steps of {portsearch.STEP}) at which "
            f"every port of {names} is free; nothing was started: see who holds them "
            "(`stackup ports`), or give --port-offset N"
        )
    return found


def _say_chosen(stack: Stack, selection: list[str]) -> None:
    ports = ", ".join(f"{name} {port}" for port, name in ports_of(stack, selection).items())
    sys.stderr.write(
        f"stackup: --port-offset auto: offset {stack.port_offset:+d}"
        + (f" ({ports})" if ports else "") + "\n"
    )
