"""`stackup graph`: the stack's dependency graph, with conditions and profiles."""

from __future__ import annotations

from collections.abc import Sequence

from stackup.config import graph as selection
from stackup.config.model import Stack
from stackup.diagrams import depgraph
from stackup.errors import UsageError

FORMATS = ("text", "mermaid", "dot")


def start_levels(stack: Stack, names: Sequence[str]) -> list[list[str]]:
    """`names` in waves that can start together: each service one wave after the
    last of its dependencies (file order within a wave)."""
    level: dict[str, int] = {}

    def depth(name: str) -> int:
        if name not in level:  # the loader refused cycles: this terminates
            deps = [d.name for d in stack.services[name].depends_on if d.name in names]
            level[name] = 1 + max((depth(d) for d in deps), default=-1)
        return level[name]

    waves: list[list[str]] = []
    for name in names:
        n = depth(name)
        while len(waves) <= n:
            waves.append([])
        waves[n].append(name)
    return waves


def build(stack: Stack, names: Sequence[str] = ()) -> depgraph.Graph:
    """The graph of `names` and what they depend on, or of every service."""
    chosen = selection.select(stack, names) if names else list(stack.services)
    ordered = [n for wave in start_levels(stack, chosen) for n in wave]
    nodes = [
        depgraph.Node(n, stack.services[n].port, stack.services[n].oneshot,
                      stack.services[n].profiles)
        for n in ordered
    ]
    edges = [
        depgraph.Edge(dep.name, n, dep.condition)
        for n in ordered for dep in stack.services[n].depends_on
    ]
    return depgraph.Graph(stack.name, nodes, edges)


def draw(stack: Stack, fmt: str, names: Sequence[str] = ()) -> str:
    if fmt not in FORMATS:
        raise UsageError(f"unknown graph format {fmt!r} (use {', '.join(FORMATS)})")
    graph = build(stack, names)
    if fmt == "mermaid":
        return depgraph.mermaid(graph)
    if fmt == "dot":
        return depgraph.dot(graph)
    from stackup import render

    waves = start_levels(stack, [n.name for n in graph.nodes])
    return render.graph_table(graph, waves)
