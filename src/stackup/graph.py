"""Dependency order over a resolved Stack: selection, start levels, stop order.

Pure functions, no I/O. The loader has already refused unknown names and cycles, so
these can assume a DAG over known names.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from stackup.config.checks import find_cycle
from stackup.config.model import Stack
from stackup.errors import UsageError

__all__ = ["dependents", "find_cycle", "levels", "select", "stop_order"]


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


def levels(stack: Stack, selected: Sequence[str]) -> list[list[str]]:
    """Topological levels: level 0 has no dependencies within `selected`; each later
    level depends only on earlier ones. Services keep file order within a level."""
    chosen = [name for name in stack.services if name in set(selected)]
    level_of: dict[str, int] = {}
    remaining = list(chosen)
    while remaining:
        progressed = False
        for name in list(remaining):
            deps = [d.name for d in stack.services[name].depends_on if d.name in chosen]
            if all(d in level_of for d in deps):
                level_of[name] = 1 + max((level_of[d] for d in deps), default=-1)
                remaining.remove(name)
                progressed = True
        if not progressed:  # only reachable with a cycle the loader would have refused
            cycle = find_cycle(_edges(stack, remaining)) or remaining
            raise ValueError(f"dependency cycle: {' -> '.join(cycle)}")
    out: list[list[str]] = [[] for _ in range(1 + max(level_of.values(), default=-1))]
    for name in chosen:
        out[level_of[name]].append(name)
    return out


def dependents(stack: Stack, name: str, selected: Sequence[str] | None = None) -> list[str]:
    """Services (within `selected`, or all) that depend directly on `name`."""
    pool = stack.services if selected is None else [n for n in stack.services if n in selected]
    return [
        other for other in pool if any(dep.name == name for dep in stack.services[other].depends_on)
    ]


def stop_order(stack: Stack, selected: Sequence[str]) -> list[list[str]]:
    """Reversed levels: what depends on a service stops before it."""
    return list(reversed(levels(stack, selected)))


def _edges(stack: Stack, names: Iterable[str]) -> dict[str, list[str]]:
    return {n: [d.name for d in stack.services[n].depends_on] for n in names}
