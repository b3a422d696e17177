"""The package's layers, as docs/architecture.md draws them: imports point down only,
and no module imports itself back through others (no cycles)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "stackup"

# Higher imports lower, never the reverse. Modules in one group may import each other
# (as long as there is no cycle); a group never imports another group of its rank.
LAYERS: dict[str, int] = {
    "__main__": 10,
    "cli": 9,
    "app": 8,
    "server": 7,
    "engine": 6,
    "export": 5,
    "importers": 5,
    "system": 5,
    "config": 4,
    "settings": 4,
    # presentation helpers every layer above may print with
    "printer": 3,
    "render": 3,
    "diagrams": 3,
    # stdlib-only leaves
    "events": 2,
    "states": 1,
    "errors": 1,
    "naming": 1,
    "polling": 1,
    "locations": 1,
    "globs": 1,
    "__init__": 0,
}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def all_modules() -> dict[str, Path]:
    return {module_name(p): p for p in PACKAGE.rglob("*.py")}


def imports_of(path: Path, modules: dict[str, Path]) -> set[str]:
    """Every stackup module `path` imports, at module level or inside functions."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("stackup")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if not node.module.startswith("stackup"):
                continue
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                found.add(sub if sub in modules else node.module)
    return {m for m in found if m in modules}


def group(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def test_every_module_belongs_to_a_layer() -> None:
    unknown = sorted({group(m) for m in all_modules()} - LAYERS.keys())
    assert not unknown, f"modules outside every layer (add them to LAYERS): {unknown}"


def test_imports_point_down() -> None:
    modules = all_modules()
    upward = []
    for name, path in modules.items():
        for target in imports_of(path, modules):
            if group(target) == group(name) or target == "stackup":
                continue
            if LAYERS[group(target)] >= LAYERS[group(name)]:
                upward.append(f"{name} imports {target}")
    assert not upward, "imports that do not point down:\n" + "\n".join(sorted(upward))


def test_no_import_cycles() -> None:
    modules = all_modules()
    graph = {name: imports_of(path, modules) - {name} for name, path in modules.items()}
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            # A package's __init__ re-exporting its own modules is not a cycle.
            if node.startswith(nxt + ".") or nxt.startswith(node + "."):
                continue
            if state.get(nxt) == 1:
                cycles.append([*path[path.index(nxt):], nxt])
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_the_check_sees_an_upward_import(tmp_path: Path) -> None:
    """The walker itself finds imports, inside functions too (lazy imports count)."""
    probe = tmp_path / "probe.py"
    probe.write_text("def f():\n    from stackup.app import status\n")
    modules = all_modules()
    assert imports_of(probe, modules) == {"stackup.app.status"}
