"""`stackup timeline` from a recorded state: spans, the critical chain, the text and
the chart model. (tests/integration/test_timeline.py records one for real.)"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from stackup import render
from stackup.app import timeline
from stackup.errors import ExitCode, UsageError
from stackup.server import statefile

T0 = 1_700_000_000.0


def record(deps: list[str], waiting: float | None, started: float | None,
           ready: float | None, state: str = "healthy", oneshot: bool = False) -> dict[str, Any]:
    def at(t: float | None) -> float | None:
        return None if t is None else T0 + t

    return {"state": state, "depends_on": deps, "oneshot": oneshot,
            "timeline": {"waiting_at": at(waiting), "started_at": at(started),
                         "ready_at": at(ready)}}


def write_state(tmp_path: Path, services: dict[str, dict[str, Any]], stack: str = "") -> Path:
    state_dir = tmp_path / ".stackup"
    state_dir.mkdir()
    file = None
    if stack:
        file = tmp_path / "stack.yaml"
        file.write_text(textwrap.dedent(stack))
    statefile.write(state_dir, {
        "stack": "t", "file": str(file) if file else None,
        "supervisor": {"pid": 1, "create_time": 0, "running": False}, "services": services,
    })
    return state_dir


# base ready at 1; left ready at 3, right at 2: top waited for left last.
DIAMOND = {
    "base": record([], None, 0.0, 1.0),
    "left": record(["base"], 0.0, 1.0, 3.0),
    "right": record(["base"], 0.0, 1.0, 2.0),
    "top": record(["left", "right"], 0.0, 3.0, 3.5),
    "later": record(["base"], 10.0, 10.0, None, state="starting"),
}


def test_the_critical_chain_follows_the_dependency_ready_last(tmp_path: Path) -> None:
    tl = timeline.load(write_state(tmp_path, {k: v for k, v in DIAMOND.items()
                                              if k != "later"}))
    assert [link.name for link in tl.chains[0]] == ["top", "left", "base"]
    assert [(link.ready, link.took) for link in tl.chains[0]] == [
        (3.5, 0.5), (3.0, 2.0), (1.0, 1.0)]
    assert tl.waited_for == {"left": "base", "right": "base", "top": "left"}
    assert tl.total == 3.5 and tl.origin == T0


def test_spans_are_in_start_order_and_a_service_not_ready_leaves_no_total(
    tmp_path: Path,
) -> None:
    tl = timeline.load(write_state(tmp_path, DIAMOND))
    assert [s.name for s in tl.spans] == ["base", "left", "right", "top", "later"]
    assert tl.total is None
    # the chain of the last service to become ready, not of the one still starting
    assert tl.chains[0][0].name == "top"


def test_a_dependency_ready_before_the_wait_began_did_not_hold_it_up(tmp_path: Path) -> None:
    tl = timeline.load(write_state(tmp_path, {
        "db": record([], None, 0.0, 1.0),
        "voice": record(["db"], 60.0, 60.0, 60.5),  # `up -d voice` a minute later
    }))
    assert [link.name for link in tl.chains[0]] == ["voice"]


def test_a_started_condition_waits_for_the_start_not_readiness(tmp_path: Path) -> None:
    stack = """\
        services:
          db: {command: run, port: 5432}
          web: {command: run, depends_on: {db: {condition: started}}}
    """
    services = {"db": record([], None, 0.0, 2.0), "web": record(["db"], 0.0, 0.0, 0.5)}
    tl = timeline.load(write_state(tmp_path, services, stack))
    assert tl.waited_for == {"web": "db"}
    chart = timeline.chart(tl, now=T0 + 5)
    (arrow,) = chart.arrows
    assert (arrow.source, arrow.source_time, arrow.target_time) == ("db", 0.0, 0.0)


def test_named_services_get_one_chain_each(tmp_path: Path) -> None:
    tl = timeline.load(write_state(tmp_path, DIAMOND), ["right", "left"])
    assert [s.name for s in tl.spans] == ["left", "right"]
    assert [[link.name for link in c] for c in tl.chains] == [["right", "base"],
                                                            ["left", "base"]]


def test_no_state_or_no_start_is_one_line_and_exit_1(tmp_path: Path) -> None:
    with pytest.raises(timeline.NoTimelineError, match="no start recorded") as err:
        timeline.load(tmp_path / ".stackup")
    assert err.value.exit_code == ExitCode.SERVICE_FAILED
    state_dir = write_state(tmp_path, {"db": record([], None, None, None, "stopped")})
    with pytest.raises(timeline.NoTimelineError, match="stackup up -d"):
        timeline.load(state_dir)


def test_an_unknown_service_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such service: nope"):
        timeline.load(write_state(tmp_path, DIAMOND), ["nope"])


def test_the_text_prints_times_and_the_chain_as_systemd_analyze_does(tmp_path: Path) -> None:
    text = render.timeline_text(timeline.load(write_state(tmp_path, DIAMOND)))
    lines = text.splitlines()
    assert lines[0].startswith("stack t: last start at ")
    assert "not every service became ready (supervisor not running)" in lines[0]
    assert lines[1].split() == ["SERVICE", "WAITING", "STARTED", "READY", "WAITED", "TOOK",
                                "STATE"]
    assert lines[5].split() == ["top", "+0.00s", "+3.00s", "+3.50s", "3.00s", "0.50s",
                                "healthy"]
    assert lines[6].split() == ["later", "+10.00s", "+10.00s", "-", "0.00s", "-", "starting"]
    assert lines[-3:] == ["top @3.50s +0.50s", "└─left @3.00s +2.00s", "  └─base @1.00s +1.00s"]


def test_the_chart_has_a_bar_per_service_and_highlights_the_chain(tmp_path: Path) -> None:
    services = {**{k: v for k, v in DIAMOND.items() if k != "later"},
                "task": record(["base"], 0.0, 1.0, 1.5, "completed", oneshot=True)}
    chart = timeline.chart(timeline.load(write_state(tmp_path, services)), now=T0 + 100)
    by = {b.label: b for b in chart.bars}
    assert {n for n, b in by.items() if b.critical} == {"top", "left", "base"}
    assert [s.phase for s in by["left"].segments] == ["waiting", "starting", "ready"]
    assert [(s.start, s.end) for s in by["left"].segments][:2] == [(0.0, 1.0), (1.0, 3.0)]
    # a oneshot ends at its completion, marked, without a "ready" phase after it
    assert [s.phase for s in by["task"].segments] == ["waiting", "starting"]
    assert by["task"].milestone == 1.5 and by["task"].note == "completed +0.50s"
    assert {(a.source, a.target, a.critical) for a in chart.arrows} == {
        ("base", "left", True), ("base", "right", False), ("left", "top", True),
        ("right", "top", False), ("base", "task", False)}
    assert chart.end == pytest.approx(3.5 * 1.06)
    assert "critical chain: top ← left ← base" in chart.subtitle
