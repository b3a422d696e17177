"""`stackup ui` driven headlessly by textual's own test driver (`App.run_test`, `Pilot`)
against a real detached supervisor and real service processes: the table follows the
stream, the keys act through the control socket, the filter filters, selection and
copy yield the text, the view ends cleanly with the supervisor."""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from textual.widgets.data_table import CellDoesNotExist

from stackup.app.ui.model import ALL
from stackup.app.ui.view import GONE_MESSAGE, QUIT_MESSAGE, GraphScreen, StackView
from tests.conftest import PY, ROOT, svc

FLOOD = ROOT / "tests" / "services" / "flood.py"
SIZE = (160, 48)


def write_stack(stackup, port, extra: str = "") -> int:
    web = port()
    stackup.write(f"""
        name: shop
        services:
          web:
            command: {svc("--http --say web-says-hello --lines 3")}
            port: {web}
            health: {{http: /}}
          worker:
            command: {svc("--say worker-ready --exit-after 600")}
            health: {{log: worker-ready}}  # ready once its line is written
            depends_on: [web]
        {extra}
        """)
    return web


def up(stackup) -> Path:
    result = stackup.run("up", "-d")
    assert result.returncode == 0, result.stderr
    return stackup.dir / ".stackup"


@dataclass(frozen=True)
class Running:
    state_dir: Path
    web_port: int


@pytest.fixture
def running(stackup, port) -> Iterator[Running]:
    """The two-service stack, up detached; taken down after the test."""
    web_port = write_stack(stackup, port)
    yield Running(up(stackup), web_port)
    stackup.run("down")


async def until(pilot, condition: Callable[[], object], timeout: float = 15.0) -> object:
    """Let the app run until `condition()` holds (bounded)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await pilot.pause(0.02)


def cell(app: StackView, service: str, column: str) -> str:
    """A cell as the table shows it ("" before the row exists)."""
    try:
        return str(app.query_one("#services").get_cell(service, column))
    except CellDoesNotExist:
        return ""


async def select(pilot, app: StackView, service: str) -> None:
    """Move the table's cursor to the service's row, as a user does with the arrows."""
    table = app.query_one("#services")
    table.focus()
    await until(pilot, lambda: cell(app, service, "STATE"))
    target = table.get_row_index(service)
    while table.cursor_row != target:
        await pilot.press("down" if table.cursor_row < target else "up")
    await until(pilot, lambda: app.selected == service)


class Recording(StackView):
    """The view, noting every state the table shows for each service."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.shown: dict[str, list[str]] = {}

    def _update_row(self, name: str) -> None:
        super()._update_row(name)
        seen = self.shown.setdefault(name, [])
        state = cell(self, name, "STATE")
        if not seen or seen[-1] != state:
            seen.append(state)


def test_table_follows_states_and_r_restarts_the_selected_service(stackup, running):
    state_dir, web_port = running.state_dir, running.web_port

    async def scenario() -> None:
        app = Recording(state_dir)
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: cell(app, "web", "STATE") == "healthy")
            assert cell(app, "web", "PORT") == str(web_port)
            assert cell(app, "web", "URL") == f"http://localhost:{web_port}/"
            assert "answered 200" in cell(app, "web", "HEALTH")
            pid = cell(app, "web", "PID")
            assert pid.isdigit()
            # The tree's CPU and memory are sampled about once a second.
            await until(pilot, lambda: cell(app, "web", "MEM").endswith("MiB"))
            await select(pilot, app, "web")
            app.shown.clear()
            await pilot.press("r")
            await until(pilot, lambda: app.shown.get("web", [])[-1:] == ["healthy"]
                        and cell(app, "web", "PID") != pid, timeout=20)
            assert app.shown["web"][:1] == ["stopping"], app.shown
            assert "starting" in app.shown["web"], app.shown
            assert cell(app, "web", "RESTARTS") == "0"  # asked for: not a crash restart
            new_pid = int(cell(app, "web", "PID"))
            status = stackup.run("status", "--json", "web")
            assert f'"pid": {new_pid}' in status.stdout

    asyncio.run(scenario())


def test_x_stops_and_s_starts_the_selected_service(running):
    state_dir = running.state_dir

    async def scenario() -> None:
        app = StackView(state_dir)
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: cell(app, "worker", "STATE") == "healthy")
            await select(pilot, app, "worker")
            await pilot.press("x")
            await until(pilot, lambda: cell(app, "worker", "STATE") == "stopped")
            assert cell(app, "worker", "PID") == "-"
            assert cell(app, "web", "STATE") == "healthy"  # what it depends on stays
            await pilot.press("s")
            await until(pilot, lambda: cell(app, "worker", "STATE") == "healthy")
            assert cell(app, "worker", "PID").isdigit()

    asyncio.run(scenario())


def test_log_pane_merges_selects_and_filters(running):
    state_dir = running.state_dir

    async def scenario() -> None:
        app = StackView(state_dir)
        async with app.run_test(size=SIZE) as pilot:
            log = app.log_pane
            # Merged and prefixed, from the supervisor's backlog of each service.
            await until(pilot, lambda: any("worker-ready" in ln for ln in log.lines))
            assert app.selected == ALL
            assert any(ln.endswith("web    | web-says-hello") for ln in log.lines), log.lines
            # One service: its lines as it wrote them.
            await select(pilot, app, "web")
            await until(pilot, lambda: "web-says-hello" in log.lines)
            assert not any("worker-ready" in ln for ln in log.lines)
            # The filter: only lines with the text, in any case.
            await pilot.press("a", "slash", *"LINE 0000000", "enter")
            await until(pilot, lambda: len(log.lines) == 3)
            assert all("line 0000000" in ln for ln in log.lines)
            assert "web" not in log.border_title and "filter: 'LINE 0000000'" in log.border_title
            # `/` again selects the filter's text (typing replaces it); in the
            # filter, / is a slash.
            await pilot.press("slash", *"x/y")
            assert app.filter_field.value == "x/y"
            await pilot.press("escape")  # esc clears it
            await until(pilot, lambda: any("worker-ready" in ln for ln in log.lines))
            assert app.buffer.filter == ""

    asyncio.run(scenario())


def test_selecting_a_line_with_the_mouse_and_ctrl_c_copies_its_text(running, tmp_path):
    state_dir = running.state_dir

    async def scenario() -> None:
        app = StackView(state_dir, save_dir=tmp_path)
        async with app.run_test(size=SIZE) as pilot:
            log = app.log_pane
            await select(pilot, app, "web")
            await until(pilot, lambda: log.lines[:1] == ["web-says-hello"])
            await pilot.press("f")  # stop following: the lines stay where they are
            assert "paused" in log.border_title
            # Drag across the first line, as a person does, then ctrl+c.
            width = len("web-says-hello")
            await pilot.mouse_down(log, offset=(1, 1))
            await pilot.hover(log, offset=(1 + width, 1))
            await pilot.mouse_up(log, offset=(1 + width, 1))
            await pilot.press("ctrl+c")
            assert app.clipboard == "web-says-hello"
            # c copies the whole pane (as filtered), w writes it to a file.
            await pilot.press("slash", *"line 00000001", "enter", "c")
            assert app.clipboard == "line 00000001 " + "x" * 80
            await pilot.press("w")
            saved = await until(pilot, lambda: list(tmp_path.glob("stackup-shop-web-*.log")))
            assert saved[0].read_text() == "line 00000001 " + "x" * 80 + "\n"

    asyncio.run(scenario())


def test_g_shows_the_dependency_graph(stackup, running):
    state_dir = running.state_dir

    def graph_text(model) -> str:
        from stackup.app import ui

        return ui.graph_text(lambda profiles, offset: _load(stackup, profiles, offset))(model)

    async def scenario() -> None:
        app = StackView(state_dir, graph_text=graph_text)
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: cell(app, "worker", "STATE") == "healthy")
            await pilot.press("g")
            await until(pilot, lambda: isinstance(app.screen, GraphScreen))
            text = app.screen.text
            assert "STARTS AFTER" in text and "web healthy" in text
            assert "start order: web → worker" in text
            await pilot.press("escape")
            await until(pilot, lambda: not isinstance(app.screen, GraphScreen))

    asyncio.run(scenario())


def _load(stackup, profiles, offset):
    from stackup.config import load_stack

    return load_stack(stackup.dir / "stack.yaml", profiles=profiles, port_offset=offset)


def test_q_leaves_the_stack_running(stackup, running):
    state_dir = running.state_dir

    async def scenario() -> StackView:
        app = StackView(state_dir)
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: cell(app, "web", "STATE") == "healthy")
            await pilot.press("q")
        return app

    app = asyncio.run(scenario())
    assert app.return_value == QUIT_MESSAGE and app.return_code == 0
    assert stackup.run("status").returncode == 0  # still up, every service ready


def test_the_view_exits_cleanly_when_the_supervisor_is_taken_down(stackup, running):
    state_dir = running.state_dir

    async def scenario() -> StackView:
        app = StackView(state_dir)
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: cell(app, "web", "STATE") == "healthy")
            down = await asyncio.to_thread(stackup.run, "down")
            assert down.returncode == 0, down.stderr
            # The view saw the services stop, then the supervisor go, and ended.
            await until(pilot, lambda: app.return_value is not None)
        return app

    app = asyncio.run(scenario())
    assert app.return_value == GONE_MESSAGE and app.return_code == 0


def test_a_service_printing_10000_lines_a_second_does_not_freeze_the_view(stackup, port):
    """The flood's lines arrive in batches (a few writes to the pane a second, not one
    per line) and a key still acts at once."""
    stackup.write(f"""
        name: flood
        services:
          flood:
            command: {PY} {FLOOD} 10000
          quiet:
            command: {svc("--say quiet-here")}
        """)
    state_dir = up(stackup)

    async def scenario() -> dict[str, float]:
        app = StackView(state_dir)
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: any("flood" in ln for ln in app.log_pane.lines))
            writes = 0
            original = app.log_pane.write_lines

            def counting(lines, *args, **kwargs):
                nonlocal writes
                writes += 1
                return original(lines, *args, **kwargs)

            app.log_pane.write_lines = counting  # type: ignore[method-assign]
            applying: list[float] = []  # how long each batch held the view's loop
            apply = app.apply

            def timed(batch):
                began = time.perf_counter()
                apply(batch)
                applying.append(time.perf_counter() - began)

            app.apply = timed  # type: ignore[method-assign]
            received = app.buffer.received + app.dropped
            began = time.monotonic()
            await pilot.pause(3.0)
            seconds = time.monotonic() - began
            rate = (app.buffer.received + app.dropped - received) / seconds
            writes_per_s = writes / seconds
            # Keys while the flood goes on: one moves to the quiet service (the pane
            # refills with its lines), then the filter narrows the merged pane.
            pressed = time.monotonic()
            await pilot.press("down", "down")
            await until(pilot, lambda: app.selected == "quiet"
                        and app.log_pane.lines[-1:] == ["quiet-here"])
            latency = time.monotonic() - pressed
            await pilot.press("a", "slash", *"quiet-here", "enter")
            await until(pilot, lambda: app.log_pane.lines
                        and all("quiet-here" in ln for ln in app.log_pane.lines))
        return {"rate": rate, "writes_per_s": writes_per_s, "latency": latency,
                "dropped": app.dropped,
                "apply_max": max(applying), "apply_mean": sum(applying) / len(applying)}

    try:
        measured = asyncio.run(scenario())
    finally:
        stackup.run("down")
    print(f"flood: {measured}")
    # Freeze detectors, not speed targets (those are in benchmarks/): bounds a
    # loaded CI machine keeps and a view that blocks on its input does not.
    assert measured["rate"] > 2500, measured  # lines per second reaching the view
    assert measured["writes_per_s"] <= 25, measured  # batched: 20 writes a second at most
    assert measured["apply_max"] < 1.0, measured  # no batch holds the view's loop long
    assert measured["latency"] < 2.0, measured


@pytest.mark.parametrize("args", [("ui",), ("up", "--ui")])
def test_without_a_terminal_it_is_one_line_and_nothing_starts(stackup, port, args):
    write_stack(stackup, port)
    result = stackup.run(*args)
    if args == ("ui",):
        assert result.returncode == 1
        assert result.stderr == ("stackup: the stack is not running (start it with "
                                 "`stackup up -d`, or `stackup up --ui`)\n")
        up(stackup)
        result = stackup.run("ui")
        assert stackup.run("down").returncode == 0
    assert result.returncode == 2
    assert result.stderr.startswith("stackup: the live view needs a terminal")
    assert result.stderr.count("\n") == 1
    assert not (stackup.dir / ".stackup" / "control.sock").exists()


def test_watch_with_tail_sends_each_services_last_lines_first(running):
    """The stream's backlog (`tail: N`), which the view's scrollback starts from."""
    from stackup.server import control

    events = control.stream(running.state_dir, {"cmd": "watch", "output": True, "tail": 2})
    try:
        assert next(events)["event"] == "snapshot"
        backlog = {}
        while len(backlog) < 2:
            message = next(events)
            assert message["event"] == "output" and message["backlog"] is True, message
            backlog.setdefault(message["service"], []).extend(message["lines"])
    finally:
        events.close()
    assert backlog == {
        "web": ["line 00000001 " + "x" * 80, "line 00000002 " + "x" * 80],
        "worker": ["worker-ready"],
    }


@pytest.mark.parametrize("args", [("status",), ("up", "--help"), ("ui",)])
def test_only_the_view_imports_textual(stackup, port, args):
    write_stack(stackup, port)
    result = subprocess.run(
        [PY, "-X", "importtime", "-m", "stackup", *args], cwd=stackup.dir, env=stackup.env,
        capture_output=True, text=True, timeout=30,
    )
    imported = {line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines()
                if line.startswith("import time:")}
    assert "stackup.cli" in imported  # the measure works
    assert not {m for m in imported if m.split(".")[0] == "textual"}


def test_a_view_that_falls_behind_is_told_how_many_lines_were_left_out(stackup):
    stackup.write(f"""
        name: flood
        services:
          flood:
            command: {PY} {FLOOD} 20000
        """)
    state_dir = up(stackup)

    async def scenario() -> StackView:
        app = StackView(state_dir)
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: any("flood" in ln for ln in app.log_pane.lines))
            apply = app.apply

            def stalled(batch):  # the view stops keeping up for a while, once
                app.apply = apply  # type: ignore[method-assign]
                time.sleep(4.0)  # 80,000 lines come meanwhile: more than 50,000 behind
                apply(batch)

            app.apply = stalled  # type: ignore[method-assign]
            await until(pilot, lambda: app.dropped > 0, timeout=20)
            # The pane says so (found by its filter: the flood scrolls it away at once).
            await pilot.press("slash", *"fell behind", "enter")
            await until(pilot, lambda: app.log_pane.lines and all(
                ln.endswith("lines left out: the view fell behind the output")
                for ln in app.log_pane.lines))
            # And it goes on: new lines keep coming after the gap.
            seen = app.buffer.received
            await until(pilot, lambda: app.buffer.received > seen + 1000)
        return app

    try:
        app = asyncio.run(scenario())
    finally:
        stackup.run("down")
    assert app.dropped > 10_000


def test_a_refused_request_is_a_note_and_the_view_goes_on(stackup, port):
    stackup.write(f"""
        name: shop
        services:
          flaky:
            command: sh -c 'if [ -e started ]; then echo cannot-start-twice; exit 3; fi;
              touch started; exec {svc("--say first-start")}'
            health: {{log: first-start}}
          steady:  # keeps the supervisor: with nothing left running it would end
            command: {svc("--say steady")}
        """)
    state_dir = up(stackup)

    class Noting(StackView):
        notes: list[str] = []

        def notify(self, message, **kwargs):  # type: ignore[override]
            self.notes.append(str(message))
            super().notify(message, **kwargs)

    async def scenario() -> Noting:
        app = Noting(state_dir)
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: cell(app, "flaky", "STATE") == "healthy")
            await select(pilot, app, "flaky")
            await pilot.press("r")
            await until(pilot, lambda: any("exited with code 3" in n for n in app.notes))
            assert cell(app, "flaky", "STATE") == "failed"
            await until(pilot, lambda: "cannot-start-twice" in app.log_pane.lines)
            await pilot.press("a")  # still answering keys
            await until(pilot, lambda: app.selected == ALL)
        return app

    try:
        app = asyncio.run(scenario())
    finally:
        stackup.run("down")
    failure = next(n for n in app.notes if "exited with code 3" in n)
    assert failure.startswith("restart flaky: flaky exited with code 3"), failure


def test_it_attaches_to_a_foreground_up_too(stackup, port):
    import signal

    write_stack(stackup, port)
    foreground = stackup.start("up")
    foreground.wait_for(r"worker \| worker-ready")
    state_dir = stackup.dir / ".stackup"

    async def scenario() -> StackView:
        app = StackView(state_dir)
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: cell(app, "worker", "STATE") == "healthy")
            title = str(app.query_one("#title").render())
            assert title.startswith("stack shop: supervisor pid") and "(foreground)" in title
            await until(pilot, lambda: any("web-says-hello" in ln for ln in app.log_pane.lines))
            foreground.signal(signal.SIGINT)  # Ctrl-C in the terminal that runs `up`
            await until(pilot, lambda: app.return_value is not None)
        return app

    app = asyncio.run(scenario())
    assert app.return_value == GONE_MESSAGE and app.return_code == 0
    assert foreground.wait() == 0
