"""The dependency graph as Mermaid or Graphviz dot, for a README or a design review.

Arrows point from a dependency to the service that waits for it, labelled with the
condition (`healthy`, `completed`, `started`): the direction things start in.
Services of a profile are drawn inside a box named after it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Node:
    name: str
    port: int | None = None
    oneshot: bool = False
    profiles: tuple[str, ...] = ()


@dataclass(frozen=True)
class Edge:
    dependency: str
    dependent: str
    condition: str


@dataclass
class Graph:
    title: str
    nodes: list[Node]  # in start order
    edges: list[Edge] = field(default_factory=list)

    def profile_groups(self) -> dict[tuple[str, ...], list[Node]]:
        """Nodes by their profiles; () holds the services every `up` starts."""
        groups: dict[tuple[str, ...], list[Node]] = {}
        for node in self.nodes:
            groups.setdefault(node.profiles, []).append(node)
        return groups


def node_caption(node: Node) -> list[str]:
    lines = [node.name]
    if node.port is not None:
        lines.append(f":{node.port}")
    if node.oneshot:
        lines.append("oneshot")
    return lines


def profile_caption(profiles: tuple[str, ...]) -> str:
    return ("profiles: " if len(profiles) > 1 else "profile: ") + ", ".join(profiles)


# ---- Mermaid ---------------------------------------------------------------------

# Words that end or open a block in a flowchart: a node called `end` would close one.
_MERMAID_KEYWORDS = {"end", "graph", "flowchart", "subgraph", "style", "class", "classdef",
                     "click", "direction", "default", "linkstyle", "call", "href"}


def _mermaid_ids(names: Iterable[str]) -> dict[str, str]:
    ids: dict[str, str] = {}
    taken: set[str] = set()
    for name in names:
        base = re.sub(r"[^a-z0-9_]", "_", name)
        candidate = base if base not in _MERMAID_KEYWORDS else f"{base}_"
        n = 2
        while candidate in taken:
            candidate = f"{base}_{n}"
            n += 1
        taken.add(candidate)
        ids[name] = candidate
    return ids


def _mermaid_text(text: str) -> str:
    return text.replace("&", "#amp;").replace('"', "#quot;").replace("<", "#lt;").replace(
        ">", "#gt;"
    )


def mermaid(graph: Graph) -> str:
    ids = _mermaid_ids(n.name for n in graph.nodes)
    # A JSON string is a YAML string: any stack name is safe in the front matter.
    out = ["---", f"title: {json.dumps(graph.title)}", "---", "flowchart LR"]

    def node_line(node: Node, indent: str) -> str:
        label = "<br/>".join(_mermaid_text(part) for part in node_caption(node))
        # A task that runs to completion is drawn as a stadium, a server as a box.
        shape = ('(["', '"])') if node.oneshot else ('["', '"]')
        return f"{indent}{ids[node.name]}{shape[0]}{label}{shape[1]}"

    groups = graph.profile_groups()
    for node in groups.pop((), []):
        out.append(node_line(node, "  "))
    for i, (profiles, nodes) in enumerate(groups.items()):
        out.append(f'  subgraph profile_{i}["{_mermaid_text(profile_caption(profiles))}"]')
        out.extend(node_line(node, "    ") for node in nodes)
        out.append("  end")
    for edge in graph.edges:
        arrow = "-.->" if edge.condition == "started" else "-->"
        out.append(f"  {ids[edge.dependency]} {arrow}|{edge.condition}| {ids[edge.dependent]}")
    return "\n".join(out) + "\n"


# ---- Graphviz dot ----------------------------------------------------------------


def _dot_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def dot(graph: Graph) -> str:
    out = [
        f"digraph {_dot_string(graph.title)} {{",
        "  rankdir=LR;",
        f"  label={_dot_string(graph.title)}; labelloc=t;",
        '  node [shape=box, style=rounded, fontname="Helvetica"];',
        '  edge [fontname="Helvetica", fontsize=10];',
    ]

    def node_line(node: Node, indent: str) -> str:
        attrs = [f"label={_dot_string(chr(10).join(node_caption(node)))}"]
        if node.oneshot:
            attrs.append('style="rounded,dashed"')
        return f"{indent}{_dot_string(node.name)} [{', '.join(attrs)}];"

    groups = graph.profile_groups()
    for node in groups.pop((), []):
        out.append(node_line(node, "  "))
    for i, (profiles, nodes) in enumerate(groups.items()):
        # Only subgraphs named cluster_* are drawn as a box.
        out.append(f"  subgraph cluster_profile_{i} {{")
        out.append(f"    label={_dot_string(profile_caption(profiles))}; style=dashed;")
        out.extend(node_line(node, "    ") for node in nodes)
        out.append("  }")
    for edge in graph.edges:
        style = ", style=dashed" if edge.condition == "started" else ""
        out.append(
            f"  {_dot_string(edge.dependency)} -> {_dot_string(edge.dependent)}"
            f" [label={_dot_string(edge.condition)}{style}];"
        )
    out.append("}")
    return "\n".join(out) + "\n"
