"""`stackup graph` output checked by the real tools: Graphviz lays out the dot, and
mermaid.js (in headless chromium) renders the Mermaid, both for the demo stack."""

from __future__ import annotations

import html
import json
import shlex
import shutil
import subprocess
from pathlib import Path

from tests import tools
from tests.conftest import ROOT

# The demo's dependencies (stack.yaml): dependency, dependent, condition.
DEMO_EDGES = {
    ("db", "migrate", "healthy"), ("db", "backend", "healthy"),
    ("migrate", "backend2", "completed"), ("backend", "backend2", "healthy"),
    ("backend", "frontend", "healthy"), ("backend2", "frontend", "healthy"),
    ("backend", "voice", "healthy"),
}
DEMO_SERVICES = {"db", "migrate", "backend", "backend2", "frontend", "voice"}


def demo_graph(stackup, fmt: str) -> str:
    shutil.copy(ROOT / "stack.yaml", stackup.dir / "stack.yaml")
    done = stackup.run("graph", "--format", fmt)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_graphviz_lays_out_the_demo_graph_with_every_edge(stackup) -> None:
    text = demo_graph(stackup, "dot")
    plain = subprocess.run(
        [tools.dot(), "-Tplain"], input=text, capture_output=True, text=True, timeout=30
    )
    assert plain.returncode == 0, plain.stderr
    nodes, edges = set(), set()
    for line in plain.stdout.splitlines():
        words = shlex.split(line)
        if words[0] == "node":
            nodes.add(words[1])
        elif words[0] == "edge":
            n = int(words[3])  # edge tail head n x1 y1 ... xn yn label xl yl style color
            edges.add((words[1], words[2], words[4 + 2 * n]))
    assert nodes == DEMO_SERVICES
    assert edges == DEMO_EDGES
    svg = subprocess.run([tools.dot(), "-Tsvg"], input=text, capture_output=True, text=True)
    assert svg.returncode == 0 and "<svg" in svg.stdout


PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>pending</title></head>
<body><textarea id="src">{source}</textarea>
<script src="{mermaid}"></script>
<script>
mermaid.initialize({{startOnLoad: false}});
(async () => {{
  try {{
    const text = document.getElementById("src").value;
    await mermaid.parse(text);
    const {{svg}} = await mermaid.render("graph", text);
    document.body.insertAdjacentHTML("beforeend", svg);
    const texts = sel => [...document.querySelectorAll(sel)].map(e => e.textContent.trim());
    document.title = JSON.stringify({{
      nodes: texts("svg g.node"), edges: texts("svg g.edgeLabel"),
      clusters: texts("svg g.cluster-label"),
    }});
  }} catch (e) {{
    document.title = JSON.stringify({{error: String(e.message || e)}});
  }}
}})();
</script></body></html>
"""


def render_mermaid(source: str, tmp_path: Path) -> dict:
    page = tmp_path / "graph.html"
    page.write_text(PAGE.format(source=html.escape(source), mermaid=tools.mermaid_js().as_uri()))
    dom = tools.run_chromium(
        ["--virtual-time-budget=20000", "--dump-dom", page.as_uri()], tmp_path / "profile"
    )
    title = dom.split("<title>", 1)[1].split("</title>", 1)[0]
    return json.loads(html.unescape(title))


def test_mermaid_renders_the_demo_graph(stackup, tmp_path: Path) -> None:
    drawn = render_mermaid(demo_graph(stackup, "mermaid"), tmp_path)
    assert "error" not in drawn, drawn["error"]
    names = {label.split(":")[0].removesuffix("oneshot") for label in drawn["nodes"]}
    assert names == DEMO_SERVICES, drawn["nodes"]
    assert sorted(drawn["edges"]) == sorted(cond for _, _, cond in DEMO_EDGES)
    assert drawn["clusters"] == ["profile: voice"]


def test_the_mermaid_check_catches_an_invalid_graph(tmp_path: Path) -> None:
    drawn = render_mermaid("flowchart LR\n  a -->|x b\n", tmp_path)
    assert "error" in drawn
