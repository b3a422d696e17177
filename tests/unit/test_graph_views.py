"""`stackup graph`: the dependency graph as a table, Mermaid and dot (structure)."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

from stackup.app import graph
from stackup.config import load_stack
from stackup.config.model import Stack

STACK = """\
    name: shop "dev"
    services:
      db: {command: run, port: 5432}
      migrate: {command: run, oneshot: true, depends_on: [db]}
      my-api:
        command: run
        port: 8000
        depends_on: {migrate: {condition: completed}, db: {condition: healthy}}
      my_api: {command: run, depends_on: {my-api: {condition: started}}}
      end: {command: run, depends_on: [my_api], profiles: [extra]}
      voice: {command: run, port: 8080, profiles: [voice, extra2], depends_on: [db]}
"""


def load(tmp_path: Path) -> Stack:
    file = tmp_path / "stack.yaml"
    file.write_text(textwrap.dedent(STACK))
    return load_stack(file)


def dependencies(stack: Stack) -> set[tuple[str, str, str]]:
    return {(d.name, n, d.condition) for n, s in stack.services.items() for d in s.depends_on}


NODE = re.compile(r'^\s+(\w+)(\["|\(\[")(.*?)("\]|"\]\))$')
SUBGRAPH = re.compile(r'^\s+subgraph (\w+)\["([^"]*)"\]$')
EDGE = re.compile(r"^\s+(\w+) (-->|-\.->)\|(\w+)\| (\w+)$")
KEYWORDS = {"end", "graph", "flowchart", "subgraph", "style", "class", "click", "default"}


def parse_mermaid(text: str) -> tuple[dict[str, str], list[tuple[str, str, str, str]], dict]:
    """A parser for the flowchart subset stackup writes: every line must be one of
    front matter, the header, a node, a subgraph or its end, or an edge."""
    lines = text.splitlines()
    assert lines[0] == "---" and lines[1].startswith("title: ") and lines[2] == "---"
    assert lines[3] == "flowchart LR"
    nodes: dict[str, str] = {}  # id -> first caption line
    edges: list[tuple[str, str, str, str]] = []
    groups: dict[str, list[str]] = {}
    current: str | None = None
    for line in lines[4:]:
        if m := NODE.match(line):
            ident, caption = m[1], m[3].split("<br/>")
            assert ident not in nodes and ident not in KEYWORDS, line
            assert (m[2] == '(["') == (m[4] == '"])'), f"unbalanced shape: {line}"
            nodes[ident] = caption[0]
            if current:
                groups[current].append(caption[0])
        elif m := SUBGRAPH.match(line):
            assert current is None, "nested subgraph"
            current = m[2]
            groups[current] = []
        elif line.strip() == "end":
            assert current is not None, "end without subgraph"
            current = None
        elif m := EDGE.match(line):
            assert m[1] in nodes and m[4] in nodes, f"edge to an undefined node: {line}"
            edges.append((nodes[m[1]], nodes[m[4]], m[3], m[2]))
        else:
            raise AssertionError(f"not a flowchart line: {line!r}")
    assert current is None, "subgraph not closed"
    return nodes, edges, groups


def test_mermaid_has_every_service_every_condition_and_each_profile_as_a_box(
    tmp_path: Path,
) -> None:
    stack = load(tmp_path)
    nodes, edges, groups = parse_mermaid(graph.draw(stack, "mermaid"))
    assert sorted(nodes.values()) == sorted(stack.services)
    assert {(a, b, c) for a, b, c, _ in edges} == dependencies(stack)
    # `started` is drawn dotted, the others solid
    assert all((arrow == "-.->") == (cond == "started") for _, _, cond, arrow in edges)
    assert groups == {"profile: extra": ["end"], "profiles: voice, extra2": ["voice"]}
    assert 'title: "shop \\"dev\\""' in graph.draw(stack, "mermaid")


def test_mermaid_draws_a_oneshot_as_a_stadium_and_shows_ports(tmp_path: Path) -> None:
    text = graph.draw(load(tmp_path), "mermaid")
    assert re.search(r'migrate\(\["migrate<br/>oneshot"\]\)', text)
    assert 'db["db<br/>:5432"]' in text


def test_dot_lists_every_node_and_edge_with_its_condition(tmp_path: Path) -> None:
    stack = load(tmp_path)
    text = graph.draw(stack, "dot")
    assert text.startswith('digraph "shop \\"dev\\"" {') and text.rstrip().endswith("}")
    assert text.count("{") == text.count("}")
    found = set(re.findall(r'^\s+"([\w-]+)" -> "([\w-]+)" \[label="(\w+)"', text, re.M))
    assert found == dependencies(stack)
    assert re.search(r'"my_api" -> "end" \[label="healthy"\]', text)
    assert re.search(r'"my-api" -> "my_api" \[label="started", style=dashed\]', text)
    assert "subgraph cluster_profile_0 {" in text and 'label="profile: extra"' in text


def test_text_lists_what_each_service_starts_after_and_the_start_waves(tmp_path: Path) -> None:
    text = graph.draw(load(tmp_path), "text")
    rows = {line.split()[0]: line for line in text.splitlines()[2:-1]}
    assert rows["db"].split()[1:] == ["5432", "service", "-", "-"]
    assert "migrate completed, db healthy" in rows["my-api"]
    assert rows["migrate"].split()[2] == "oneshot"
    assert "voice, extra2" in rows["voice"]
    assert text.splitlines()[-1] == (
        "start order: db → migrate, voice → my-api → my_api → end"
    )


def test_naming_services_draws_them_and_what_they_depend_on(tmp_path: Path) -> None:
    nodes, edges, _ = parse_mermaid(graph.draw(load(tmp_path), "mermaid", ["my-api"]))
    assert sorted(nodes.values()) == ["db", "migrate", "my-api"]
    assert len(edges) == 3
