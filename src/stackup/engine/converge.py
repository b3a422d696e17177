"""Converging a running stack to its edited file: what to recreate, start, stop and
leave alone — a pure function of the two stacks, so every rule is a unit test away.

The rules (README "Applying an edited stack file"):

- a selected service that is up and whose definition hash changed is *recreated*
  (stopped through the ladder, started again through readiness); with
  `recreate="force"` every selected service that is up is, with `"never"` none is (it
  is *kept* as it runs, and says so);
- a selected service that is not up (new in the file, stopped, failed, exited) is
  *started*;
- a service gone from the file is *removed*: stopped when it runs, and its runtime
  dropped;
- everything else is left alone: an unchanged service keeps its process (its runtime
  takes the new definition, whose process-relevant parts are equal by definition of
  the hash); an unselected service that is up keeps the definition it runs with.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from stackup.config.hashing import changes, definitions, stack_hashes
from stackup.config.model import Stack

Recreate = Literal["changed", "force", "never"]


@dataclass
class Plan:
    recreate: dict[str, str] = field(default_factory=dict)  # name -> why
    start: list[str] = field(default_factory=list)
    remove: list[str] = field(default_factory=list)  # gone from the file
    stop: list[str] = field(default_factory=list)  # of `remove`: those that run
    unchanged: list[str] = field(default_factory=list)
    kept: dict[str, str] = field(default_factory=dict)  # changed, left as they run: why
    # The stack the supervisor moves to: the new file, except services that keep the
    # definition they run with (kept, or up and outside the selection).
    stack: Stack | None = None
    hashes: dict[str, str] = field(default_factory=dict)  # of what each service runs

    @property
    def stopping(self) -> list[str]:
        """What is stopped before anything starts: recreated and removed services."""
        return [*self.recreate, *self.stop]


def plan(
    old: Stack,
    old_hashes: Mapping[str, str],
    up: Collection[str],
    new: Stack,
    selection: Sequence[str],
    recreate: Recreate = "changed",
) -> Plan:
    """`old`: the stack the supervisor runs (with `old_hashes`, what each service runs
    with); `up`: its services that are up (running, on their way, or completed);
    `selection`: what this command asked for, resolved in `new`."""
    result = Plan()
    new_hashes = stack_hashes(new)
    old_defs = definitions(old)
    new_defs = definitions(new)
    keep_old: set[str] = set()
    chosen = set(selection)
    for name in old.services:
        if name not in new.services:
            result.remove.append(name)
            if name in up:
                result.stop.append(name)
    for name in new.services:
        changed = name in old.services and old_hashes.get(name) != new_hashes[name]
        if name not in chosen:
            if changed and name in up:
                keep_old.add(name)  # not asked for: it goes on as it runs
            continue
        if name not in up:
            result.start.append(name)
        elif recreate == "force":
            result.recreate[name] = (
                f"{changes(old_defs[name], new_defs[name])}, --force-recreate" if changed
                else "--force-recreate"
            )
        elif not changed:
            result.unchanged.append(name)
        elif recreate == "never":
            result.kept[name] = changes(old_defs[name], new_defs[name])
            keep_old.add(name)
        else:
            result.recreate[name] = changes(old_defs[name], new_defs[name])
    services = {
        name: old.services[name] if name in keep_old else svc
        for name, svc in new.services.items()
    }
    result.stack = dataclasses.replace(new, services=services)
    result.hashes = {
        name: old_hashes.get(name, "") if name in keep_old else new_hashes[name]
        for name in new.services
    }
    return result
