"""Dependency selection over a resolved Stack (start and stop order are driven by
the supervisor's readiness events and by `stopping.stop_in_reverse_order`).

Pure functions, no I/O. The loader has already refused unknown names and cycles, so
these can assume a DAG over known names.
"""

from __future__ import annotations

from collections.abc import Sequence

from stackup.config.checks import find_cycle
from stackup.config.model import Stack
from stackup.errors import UsageError

__all__ = ["find_cycle", "select"]


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
