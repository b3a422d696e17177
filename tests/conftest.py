"""Shared fixtures: free ports, stack files in tmp dirs, and running the real CLI.

Every process a test starts through stackup inherits STACKUP_TEST_ID; at teardown
any process still carrying this test's id is a leftover: the test fails, and the
leftovers (which this test started) are killed by pid.
"""

from __future__ import annotations

import contextlib
import os
import random
import re
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest

ROOT = Path(__file__).resolve().parent.parent
SVC = ROOT / "tests" / "services" / "svc.py"
PY = sys.executable
_used_ports: set[int] = set()


def free_port() -> int:
    """A port free on 127.0.0.1 and ::1, below the ephemeral range (see PEERS.md)."""
    for _ in range(200):
        port = random.randint(20000, 32000)
        if port in _used_ports:
            continue
        try:
            for family, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
                with socket.socket(family, socket.SOCK_STREAM) as s:
                    s.bind((host, port))
        except OSError:
            continue
        _used_ports.add(port)
        return port
    raise RuntimeError("no free port found")


def poll(condition: Callable[[], object], timeout: float = 10.0, interval: float = 0.01):
    """Wait for `condition()` to be truthy, with a deadline; return its value."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(interval)


def svc(*args: object) -> str:
    """A shell command running the fixture service."""
    return " ".join([PY, str(SVC), *(str(a) for a in args)])


def processes_with_env(key: str, value: str) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter():
        try:
            if proc.environ().get(key) == value and proc.status() != psutil.STATUS_ZOMBIE:
                found.append(proc)
        except (psutil.Error, OSError):
            continue
    return found


def is_gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


class Run:
    """A running `stackup` CLI process whose output is collected by a thread."""

    def __init__(self, args: list[str], cwd: Path, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [PY, "-m", "stackup", *args],
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.out: list[str] = []
        self.err: list[str] = []
        self._threads = [
            threading.Thread(target=self._read, args=(self.proc.stdout, self.out), daemon=True),
            threading.Thread(target=self._read, args=(self.proc.stderr, self.err), daemon=True),
        ]
        for t in self._threads:
            t.start()

    @staticmethod
    def _read(stream, sink: list[str]) -> None:
        for raw in iter(stream.readline, b""):
            sink.append(raw.decode(errors="replace").rstrip("\n"))

    @property
    def stdout(self) -> str:
        return "\n".join(self.out)

    @property
    def stderr(self) -> str:
        return "\n".join(self.err)

    def wait_for(self, pattern: str, timeout: float = 15.0) -> re.Match[str]:
        rx = re.compile(pattern)

        def found() -> re.Match[str] | None:
            for line in list(self.out):
                m = rx.search(line)
                if m:
                    return m
            return None

        try:
            return poll(found, timeout)
        except AssertionError:
            raise AssertionError(
                f"{pattern!r} not seen in {timeout}s\n"
                f"stdout:\n{self.stdout}\nstderr:\n{self.stderr}"
            ) from None

    def signal(self, sig: int) -> None:
        self.proc.send_signal(sig)

    def wait(self, timeout: float = 20.0) -> int:
        code = self.proc.wait(timeout)
        for t in self._threads:
            t.join(5)
        return code


class Stackup:
    """Writes stack files into a tmp dir and runs the CLI on them."""

    def __init__(self, tmp_path: Path) -> None:
        self.dir = tmp_path
        self.test_id = uuid.uuid4().hex
        self.env = {**os.environ, "STACKUP_TEST_ID": self.test_id, "NO_COLOR": "1"}
        self.env.pop("STACKUP_FILE", None)
        self.env.pop("STACKUP_PROJECT", None)
        self.env.pop("STACKUP_PORT_OFFSET", None)  # set when the suite runs under stackup
        self.runs: list[Run] = []

    def write(self, text: str, name: str = "stack.yaml") -> Path:
        path = self.dir / name
        path.write_text(textwrap.dedent(text))
        return path

    def start(self, *args: str) -> Run:
        run = Run(list(args), self.dir, self.env)
        self.runs.append(run)
        return run

    def run(
        self, *args: str, timeout: float = 30.0, cwd: Path | None = None,
        env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [PY, "-m", "stackup", *args], cwd=cwd or self.dir, env={**self.env, **(env or {})},
            capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
        )

    def leftovers(self) -> list[psutil.Process]:
        return processes_with_env("STACKUP_TEST_ID", self.test_id)

    def cleanup(self) -> list[str]:
        """Kill what is left (ours by marker); return descriptions of leftovers."""
        for run in self.runs:
            if run.proc.poll() is None:
                run.proc.kill()
                run.proc.wait(10)
        left = self.leftovers()
        described = []
        for p in left:
            try:
                described.append(f"{p.pid} {' '.join(p.cmdline())}")
                p.kill()
            except psutil.Error:
                pass
        psutil.wait_procs(left, timeout=5)
        return described


@pytest.fixture
def stackup(tmp_path: Path) -> Iterator[Stackup]:
    s = Stackup(tmp_path)
    yield s
    # Give a just-finished stackup a moment to have finished its own cleanup.
    with contextlib.suppress(AssertionError):
        poll(lambda: not s.leftovers(), timeout=3)
    left = s.cleanup()
    assert not left, f"processes left behind: {left}"


@pytest.fixture
def port() -> Callable[[], int]:
    return free_port


def kill_group_and_wait(proc: subprocess.Popen) -> None:
    """End a process this test started (and its group) by pid."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
