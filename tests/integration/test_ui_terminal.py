"""`stackup ui` once in a real terminal: tmux runs it against a real stack, the test
reads the screen (`capture-pane`), types keys (`send-keys`) and reads what the view
copied through the terminal's clipboard (OSC 52, which tmux keeps as a paste buffer)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import tools
from tests.conftest import PY, poll, svc

VIEW_ENDED = "view exited with "


class Terminal:
    """A private tmux server (its own socket) with one window running a command."""

    def __init__(self, socket: Path, cwd: Path, env: dict[str, str]) -> None:
        self.binary = tools.tmux()
        self.socket = socket
        self.cwd = cwd
        self.env = {**env, "TERM": "xterm-256color"}
        self.env.pop("NO_COLOR", None)
        self.env.pop("TMUX", None)

    def tmux(self, *args: str) -> str:
        result = subprocess.run(
            [self.binary, "-S", str(self.socket), "-f", "/dev/null", *args],
            env=self.env, capture_output=True, text=True, timeout=10,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    def run(self, command: str) -> None:
        # The shell stays after the view (its exit code on screen) until kill-server.
        self.tmux("new-session", "-d", "-s", "t", "-x", "160", "-y", "45", "-c",
                  str(self.cwd), f"{command}; echo {VIEW_ENDED}$?; read nothing")
        self.tmux("set-option", "-g", "set-clipboard", "on")

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "t")

    def wait_for(self, *texts: str, timeout: float = 20.0) -> str:
        def shown() -> str:
            screen = self.screen()
            return screen if all(t in screen for t in texts) else ""

        try:
            return poll(shown, timeout, interval=0.05)
        except AssertionError:
            raise AssertionError(f"{texts} not on the screen:\n{self.screen()}") from None

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", "t", *keys)

    def clipboard(self) -> str:
        return self.tmux("show-buffer")

    def close(self) -> None:
        subprocess.run([self.binary, "-S", str(self.socket), "kill-server"],
                       env=self.env, capture_output=True, timeout=10)


@pytest.fixture
def terminal(stackup, tmp_path) -> Iterator[Terminal]:
    term = Terminal(tmp_path / "tmux.sock", stackup.dir, stackup.env)
    yield term
    term.close()
    stackup.run("down")


def write_stack(stackup, port) -> None:
    stackup.write(f"""
        name: shop
        services:
          web:
            command: {svc("--http --say web-says-hello --lines 3")}
            port: {port()}
            health: {{http: /}}
          worker:
            command: {svc("--say worker-ready")}
            depends_on: [web]
        """)


def test_ui_in_tmux_shows_filters_copies_and_quits_leaving_the_stack_up(
    stackup, port, terminal
):
    write_stack(stackup, port)
    assert stackup.run("up", "-d").returncode == 0
    terminal.run(f"{PY} -m stackup ui")
    terminal.wait_for("stack shop: supervisor pid", "healthy", "running",
                      "web    | web-says-hello", "worker | worker-ready", "r Restart", "q Quit")
    terminal.keys("/")
    terminal.keys("-l", "line 00000001")
    terminal.keys("Enter")
    screen = terminal.wait_for("filter: 'line 00000001'")
    assert "line 00000002" not in screen and "worker-ready" not in screen.split("filter:")[1]
    terminal.keys("c")  # the pane as filtered, to the terminal's clipboard
    copied = poll(lambda: _buffer(terminal), timeout=10)
    assert copied.endswith("web    | line 00000001 " + "x" * 80), copied
    terminal.keys("q")
    screen = terminal.wait_for(f"{VIEW_ENDED}0")
    assert "the view closed; the stack keeps running (`stackup down` stops it)" in screen
    assert stackup.run("status").returncode == 0


def test_up_ui_starts_then_attaches_and_the_view_ends_with_the_supervisor(
    stackup, port, terminal
):
    write_stack(stackup, port)
    terminal.run(f"{PY} -m stackup up --ui")
    terminal.wait_for("stack shop: supervisor pid", "healthy", "running", "q Quit")
    down = stackup.run("down")
    assert down.returncode == 0, down.stderr
    screen = terminal.wait_for(f"{VIEW_ENDED}0")
    assert "the supervisor ended (the stack is down); the view closed" in screen
    assert "Traceback" not in screen


def _buffer(terminal: Terminal) -> str:
    try:
        return terminal.clipboard()
    except AssertionError:
        return ""  # no buffer yet
