"""Dependency selection over a resolved Stack (start and stop order are driven by
the supervisor's readiness events and by `stopping.stop_in_reverse_order`).

Pure functions, no I/O. The loader has already refused unknown names and cycles, so
these can assume a DAG over known names.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from stackup.config.model import Stack
from stackup.errors import UsageError

__all__ = ["restart_dependents", "select", "with_dependents"]


def select(stack: Stack, names: Sequence[str] = ()) -> list[str]:
    """`names` (or the default services when empty) plus everything they depend on,
    transitively, in file order. A dependency is pulled in even when its profile is
    not active: the service that needs it cannot start without it."""
    for name in names:
        if name not in stack.services:
            raise UsageError(f"no such service: {name}")
    wanted: set[str] = set()
    todo = list(names) if names else stack.default_services()
    while todo:
        name = todo.pop()
        if name in wanted:
            continue
        wanted.add(name)
        todo.extend(dep.name for dep in stack.services[name].depends_on)
    return [name for name in stack.services if name in wanted]


def with_dependents(depends_on: Mapping[str, Iterable[str]], names: Iterable[str]) -> list[str]:
    """`names` plus everything that depends on them, transitively, in the mapping's
    order: what must stop when they stop. Takes a plain mapping so that `down` can use
    it from the state file when the stack file is gone or changed."""
    wanted = set(names)
    grew = True
    while grew:
        grew = False
        for name, deps in depends_on.items():
            if name not in wanted and wanted.intersection(deps):
                wanted.add(name)
                grew = True
    return [n for n in depends_on if n in wanted]


def restart_dependents(stack: Stack, names: Iterable[str]) -> list[str]:
    """What restarts when `names` were recreated or restarted: services whose
    `depends_on` entry on one of them says `restart: true`, and theirs in turn, in file
    order (`names` themselves not included)."""
    restarted = set(names)
    found: set[str] = set()
    grew = True
    while grew:
        grew = False
        for name, svc in stack.services.items():
            if name in found or name in restarted:
                continue
            if any(d.restart and (d.name in restarted or d.name in found)
                   for d in svc.depends_on):
                found.add(name)
                grew = True
    return [n for n in stack.services if n in found]
