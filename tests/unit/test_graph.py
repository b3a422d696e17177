from __future__ import annotations

from pathlib import Path

import pytest

from stackup.config import graph
from stackup.config.checks import find_cycle
from stackup.config.model import Dependency, HealthCheck, Service, Stack
from stackup.errors import UsageError


def make_stack(
    deps: dict[str, list[str]],
    profiles: dict[str, list[str]] | None = None,
    active: tuple[str, ...] = (),
) -> Stack:
    profiles = profiles or {}
    services = {
        name: Service(
            name=name,
            command="run",
            cwd=Path("/tmp"),
            port=None,
            host="127.0.0.1",
            env={},
            health=HealthCheck(kind="none"),
            depends_on=tuple(Dependency(d, "healthy") for d in ds),
            profiles=tuple(profiles.get(name, ())),
        )
        for name, ds in deps.items()
    }
    return Stack(name="t", file=Path("/tmp/stack.yaml"), services=services, active_profiles=active)


DIAMOND = {"top": ["left", "right"], "left": ["base"], "right": ["base"], "base": []}


def test_find_cycle() -> None:
    assert find_cycle({"a": ["b"], "b": ["a"]}) == ["a", "b", "a"]
    assert find_cycle({"a": ["a"]}) == ["a", "a"]
    assert find_cycle({"x": ["a"], "a": ["b"], "b": ["c"], "c": ["a"]}) == [
        "a",
        "b",
        "c",
        "a",
    ]
    assert find_cycle(DIAMOND) is None
    assert find_cycle({"a": ["missing"]}) is None
    assert find_cycle({}) is None


def test_select_pulls_in_dependencies_in_file_order() -> None:
    stack = make_stack({"db": [], "cache": [], "api": ["db"], "web": ["api"], "other": []})
    assert graph.select(stack, ["web"]) == ["db", "api", "web"]
    assert graph.select(stack, ["api", "cache"]) == ["db", "cache", "api"]
    assert graph.select(stack) == ["db", "cache", "api", "web", "other"]


def test_select_respects_profiles_but_pulls_needed_dependencies() -> None:
    deps = {"db": [], "mcp": ["db"], "tools": [], "web": ["tools"]}
    profiles = {"mcp": ["voice"], "tools": ["dev"]}
    stack = make_stack(deps, profiles)
    # tools is in an inactive profile, but web needs it
    assert graph.select(stack) == ["db", "tools", "web"]
    assert graph.select(stack, ["mcp"]) == ["db", "mcp"]
    voice = make_stack(deps, profiles, active=("voice",))
    assert graph.select(voice) == ["db", "mcp", "tools", "web"]


def test_select_unknown_name_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="no such service: nope"):
        graph.select(make_stack(DIAMOND), ["top", "nope"])


def test_with_dependents_is_transitive_and_keeps_order() -> None:
    deps = {"db": [], "cache": [], "api": ["db"], "web": ["api", "cache"], "docs": []}
    assert graph.with_dependents(deps, ["db"]) == ["db", "api", "web"]
    assert graph.with_dependents(deps, ["cache"]) == ["cache", "web"]
    assert graph.with_dependents(deps, ["docs"]) == ["docs"]
    assert graph.with_dependents(deps, []) == []
