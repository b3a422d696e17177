"""Checks of `depends_on` across services: unknown names, self-loops, cycles.

`find_cycle` lives here (and is re-exported by `stackup.graph`) because config sits
below graph: the loader must refuse a cycle before anything can start.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping

from stackup.config.schema import ServiceSchema
from stackup.config.yamlsource import KeyPath, Source


def find_cycle(edges: Mapping[str, Iterable[str]]) -> list[str] | None:
    """A dependency cycle as a closed path (`["a", "b", "a"]`), or None.

    Nodes are visited in the mapping's order, so the same file always reports the same
    cycle. Names without an entry in `edges` have no outgoing edges.
    """
    done: set[str] = set()
    for start in edges:
        if start in done:
            continue
        path: list[str] = []
        on_path: set[str] = set()
        # Iterative DFS: a stack of (node, iterator over its dependencies).
        stack = [(start, iter(list(edges.get(start, ()))))]
        path.append(start)
        on_path.add(start)
        while stack:
            node, deps = stack[-1]
            nxt = next(deps, None)
            if nxt is None:
                stack.pop()
                path.pop()
                on_path.discard(node)
                done.add(node)
                continue
            if nxt in on_path:
                return path[path.index(nxt) :] + [nxt]
            if nxt in done:
                continue
            stack.append((nxt, iter(list(edges.get(nxt, ())))))
            path.append(nxt)
            on_path.add(nxt)
    return None


def dependency_items(name: str, service: ServiceSchema) -> list[tuple[str, KeyPath]]:
    """(dependency name, key path of that entry) in file order, for either form."""
    base = ("services", name, "depends_on")
    if isinstance(service.depends_on, dict):
        return [(dep, (*base, dep)) for dep in service.depends_on]
    return [(dep, (*base, index)) for index, dep in enumerate(service.depends_on)]


def check_dependencies(services: Mapping[str, ServiceSchema], source: Source) -> None:
    """Every dependency names a known, other service, once, and there is no cycle."""
    edges: dict[str, list[str]] = {}
    where: dict[tuple[str, str], KeyPath] = {}
    for name, service in services.items():
        edges[name] = []
        for dep, path in dependency_items(name, service):
            key = ("services", name, "depends_on")
            line = source.line(path)
            if dep == name:
                raise source.error(f"{name} depends on itself ({name} -> {name})", key, line=line)
            if dep not in services:
                raise source.error(_unknown(dep, list(services)), key, line=line)
            if dep in edges[name]:
                raise source.error(f"{dep} is listed twice", key, line=line)
            edges[name].append(dep)
            where[(name, dep)] = path
    cycle = find_cycle(edges)
    if cycle:
        first, second = cycle[0], cycle[1]
        raise source.error(
            f"dependency cycle: {' -> '.join(cycle)}",
            ("services", first, "depends_on"),
            line=source.line(where[(first, second)]),
        )


def _unknown(dep: str, names: list[str]) -> str:
    message = f"depends on unknown service '{dep}'"
    close = difflib.get_close_matches(dep, names, n=1)
    return message + (f" (did you mean '{close[0]}'?)" if close else "")
