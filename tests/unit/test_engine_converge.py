"""The converge plan: what an edited stack file recreates, starts, stops and leaves
alone (the pure part of `up -d` with a supervisor running; the real-process tests are
in tests/integration/test_devloop.py)."""

from __future__ import annotations

import textwrap
from pathlib import Path

from stackup.config import graph, load_stack
from stackup.config.hashing import stack_hashes
from stackup.config.model import Stack
from stackup.engine.converge import plan

BASE = """
services:
  db:
    command: postgres
    port: 5432
  api:
    command: python api.py
    port: 8000
    env: {FLAG: "1"}
    depends_on: [db]
  web:
    command: npm run dev
    port: 3000
    depends_on:
      api: {restart: true}
  tools:
    command: sleep 1000
    profiles: [tools]
"""


def load(tmp_path: Path, text: str) -> Stack:
    path = tmp_path / "stack.yaml"
    path.write_text(textwrap.dedent(text))
    return load_stack(path, environ={})


def converge(tmp_path: Path, edited: str, up=("db", "api", "web"), names=(), recreate="changed"):
    old = load(tmp_path, BASE)
    new = load(tmp_path, edited)
    return plan(old, stack_hashes(old), set(up), new, graph.select(new, list(names)), recreate)


def test_nothing_changed_leaves_everything_alone(tmp_path: Path) -> None:
    result = converge(tmp_path, BASE)
    assert result.unchanged == ["db", "api", "web"]
    assert not (result.recreate or result.start or result.remove or result.kept)


def test_a_changed_service_is_recreated_and_says_why(tmp_path: Path) -> None:
    result = converge(tmp_path, BASE.replace('FLAG: "1"', 'FLAG: "2", NEW_FLAG: x'))
    assert result.recreate == {"api": "env changed (FLAG, NEW_FLAG)"}
    assert result.unchanged == ["db", "web"]
    assert result.stopping == ["api"]
    assert result.stack is not None and result.stack.services["api"].env["NEW_FLAG"] == "x"


def test_new_services_start_and_removed_ones_stop(tmp_path: Path) -> None:
    edited = BASE.replace("  web:\n    command: npm run dev\n    port: 3000\n    depends_on:\n"
                          "      api: {restart: true}\n", "") + "  extra:\n    command: x\n"
    result = converge(tmp_path, edited)
    assert result.start == ["extra"]
    assert result.remove == ["web"] and result.stop == ["web"]
    assert result.stack is not None and "web" not in result.stack.services


def test_a_removed_service_that_was_not_up_is_only_dropped(tmp_path: Path) -> None:
    edited = BASE.split("  tools:")[0]
    result = converge(tmp_path, edited)
    assert result.remove == ["tools"] and result.stop == []


def test_a_selected_service_that_is_not_up_starts(tmp_path: Path) -> None:
    result = converge(tmp_path, BASE, up=("db", "api"))
    assert result.start == ["web"] and result.unchanged == ["db", "api"]


def test_force_recreates_every_selected_service_that_is_up(tmp_path: Path) -> None:
    result = converge(tmp_path, BASE, names=["api"], recreate="force")
    assert result.recreate == {"db": "--force-recreate", "api": "--force-recreate"}
    assert result.unchanged == []


def test_never_keeps_a_changed_service_with_the_definition_it_runs(tmp_path: Path) -> None:
    old = load(tmp_path, BASE)
    result = converge(tmp_path, BASE.replace('FLAG: "1"', 'FLAG: "2"'), recreate="never")
    assert result.kept == {"api": "env changed (FLAG)"} and not result.recreate
    assert result.stack is not None
    assert result.stack.services["api"].env["FLAG"] == "1"  # what runs, not the file
    assert result.hashes["api"] == stack_hashes(old)["api"]


def test_a_service_outside_the_selection_keeps_what_it_runs(tmp_path: Path) -> None:
    result = converge(tmp_path, BASE.replace("npm run dev", "npm start"), names=["api"])
    assert "web" not in result.recreate and "web" not in result.unchanged
    assert result.stack is not None and result.stack.services["web"].command == "npm run dev"


def test_restart_dependents_follow_restart_true_transitively(tmp_path: Path) -> None:
    text = BASE + "  proxy:\n    command: nginx\n    depends_on:\n      web: {restart: true}\n"
    stack = load(tmp_path, text)
    assert graph.restart_dependents(stack, ["api"]) == ["web", "proxy"]
    assert graph.restart_dependents(stack, ["db"]) == []  # api's entry on db says nothing
