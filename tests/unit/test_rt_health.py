"""health: tcp, http and command probes against real sockets and processes; log readiness."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psutil
import pytest

from stackup.config.model import HealthCheck, Service
from stackup.engine.probes import (
    LogWatch,
    Prober,
    ProbeResult,
    probe_command,
    probe_http,
    probe_tcp,
)
from tests.conftest import free_port


@contextlib.contextmanager
def listener(family: int = socket.AF_INET, host: str = "127.0.0.1") -> Iterator[int]:
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind((host, free_port()))
        sock.listen()
        yield sock.getsockname()[1]
    finally:
        sock.close()


class Handler(BaseHTTPRequestHandler):
    paths: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        Handler.paths.append(self.path)
        code = {"/health": 200, "/created": 201, "/moved": 302}.get(self.path, 404)
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def http_port() -> Iterator[int]:
    Handler.paths = []
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_tcp_probe_passes_against_a_listener() -> None:
    with listener() as port:
        result = asyncio.run(probe_tcp("127.0.0.1", port, 1.0))
    assert result.ok
    assert f"127.0.0.1:{port}" in result.detail


def test_tcp_probe_fails_on_a_closed_port() -> None:
    port = free_port()
    result = asyncio.run(probe_tcp("127.0.0.1", port, 1.0))
    assert not result.ok
    assert f"tcp 127.0.0.1:{port}: " in result.detail


def test_tcp_probe_finds_an_ipv6_only_listener_for_localhost() -> None:
    with listener(socket.AF_INET6, "::1") as port:
        assert asyncio.run(probe_tcp("localhost", port, 1.0)).ok
        result = asyncio.run(probe_tcp("localhost", port, 1.0))
        assert "::1" in result.detail
        # A non-loopback name would not try ::1: 127.0.0.1 alone is refused.
        assert not asyncio.run(probe_tcp("127.0.0.2", port, 1.0)).ok


def test_http_probe_accepts_2xx_and_3xx_by_default(http_port: int) -> None:
    for path in ("/health", "/created", "/moved"):
        result = asyncio.run(probe_http("127.0.0.1", http_port, path, None, 2.0))
        assert result.ok, result.detail
    assert Handler.paths == ["/health", "/created", "/moved"]


def test_http_probe_fails_on_a_wrong_status(http_port: int) -> None:
    result = asyncio.run(probe_http("127.0.0.1", http_port, "/missing", None, 2.0))
    assert not result.ok
    assert "answered 404" in result.detail
    assert Handler.paths == ["/missing"]


def test_http_probe_with_an_expected_status(http_port: int) -> None:
    assert asyncio.run(probe_http("127.0.0.1", http_port, "/created", 201, 2.0)).ok
    result = asyncio.run(probe_http("127.0.0.1", http_port, "/health", 201, 2.0))
    assert not result.ok
    assert "answered 200, expected 201" in result.detail


class IPv6Server(ThreadingHTTPServer):
    address_family = socket.AF_INET6


def test_http_probe_names_the_address_that_answered() -> None:
    """Issue 7: a dev server on ::1 only (Vite where localhost is ::1) passes a check on
    127.0.0.1 through the ::1 fallback; the reason must say ::1 answered, not 127.0.0.1."""
    server = IPv6Server(("::1", free_port()), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        port = server.server_address[1]
        result = asyncio.run(probe_http("127.0.0.1", port, "/health", None, 1.0))
        assert result.ok
        assert result.detail == f"http://[::1]:{port}/health answered 200"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_http_probe_fails_on_a_closed_port() -> None:
    port = free_port()
    result = asyncio.run(probe_http("127.0.0.1", port, "/", None, 1.0))
    assert not result.ok and f"http 127.0.0.1:{port}/: " in result.detail


def probe_garbage_listener() -> str:
    """Probe a 127.0.0.1 listener that answers with something that is not HTTP."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", free_port()))
    sock.listen()
    port = sock.getsockname()[1]

    def answer_garbage() -> None:
        with contextlib.suppress(OSError):
            conn, _ = sock.accept()
            with conn:
                conn.recv(1024)
                conn.sendall(b"SSH-2.0-OpenSSH\r\n")

    thread = threading.Thread(target=answer_garbage, daemon=True)
    thread.start()
    try:
        result = asyncio.run(probe_http("127.0.0.1", port, "/", None, 2.0))
    finally:
        sock.close()
        thread.join(5)
    assert not result.ok
    return result.detail


def test_http_probe_fails_on_a_non_http_listener() -> None:
    probe_garbage_listener()


def test_http_probe_reports_why_the_listener_that_answered_failed() -> None:
    assert "not an HTTP response" in probe_garbage_listener()


def command(cmd: str | list[str], timeout: float = 5.0, cwd: str = "/") -> ProbeResult:
    return asyncio.run(probe_command(cmd, cwd, dict(os.environ), timeout))


def test_command_probe_exit_zero_passes() -> None:
    assert command("true").ok
    assert command(["/bin/sh", "-c", "exit 0"]).ok


def test_command_probe_non_zero_fails_with_its_last_stderr_line() -> None:
    result = command("echo first >&2; echo not ready >&2; exit 3")
    assert not result.ok
    assert result.detail == "check command exited 3: not ready"


def test_command_probe_runs_in_the_given_cwd(tmp_path: Path) -> None:
    (tmp_path / "marker").write_text("")
    assert command("test -e marker", cwd=str(tmp_path)).ok
    assert not command("test -e marker", cwd="/").ok


def test_command_probe_that_cannot_run() -> None:
    result = command(["/nonexistent/check-binary"])
    assert not result.ok and "cannot run" in result.detail


def test_command_probe_timeout_kills_the_child(tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    started = time.monotonic()
    # `exec` keeps one process (the shell becomes sleep): killing it orphans nothing.
    result = command(f"echo $$ > {pidfile}; exec sleep 30", timeout=0.5)
    assert time.monotonic() - started < 5.0
    assert not result.ok
    assert result.detail == "check command timed out after 0.5s"
    pid = int(pidfile.read_text())
    try:
        assert not psutil.pid_exists(pid)  # killed and reaped
    finally:
        with contextlib.suppress(psutil.Error):
            proc = psutil.Process(pid)
            if "sleep" in proc.name():
                proc.kill()


def log_service() -> Service:
    return Service(
        name="a", command="true", cwd=Path("."), port=None, host="127.0.0.1", env={},
        health=HealthCheck(kind="log", pattern=r"listening on \d+"),
    )


def test_log_watch_matches_only_the_pattern() -> None:
    async def main() -> None:
        watch = LogWatch(r"listening on \d+")
        watch.feed(["starting", "listening on port"])
        assert not watch.matched.is_set()
        watch.feed(["x", "now listening on 8000 ..."])
        assert watch.matched.is_set()

    asyncio.run(main())


def test_wait_ready_with_a_log_check_returns_when_the_line_arrives() -> None:
    async def main() -> None:
        watch = LogWatch(log_service().health.pattern or "")
        prober = Prober(log_service(), {}, owns_port=lambda port: True, log_watch=watch)
        task = asyncio.create_task(prober.wait_ready(time.monotonic() + 30, asyncio.Event()))
        watch.feed(["booting"])
        for _ in range(5):
            await asyncio.sleep(0)
        assert not task.done()
        started = time.monotonic()
        watch.feed(["listening on 8000"])
        result = await asyncio.wait_for(task, 5)
        assert result.ok and "seen" in result.detail
        assert time.monotonic() - started < 1.0  # woken by the line, not the deadline

    asyncio.run(main())


def test_wait_ready_with_a_log_check_fails_at_the_deadline() -> None:
    async def main() -> None:
        watch = LogWatch(r"never")
        prober = Prober(log_service(), {}, owns_port=lambda port: True, log_watch=watch)
        watch.feed(["something else"])
        result = await asyncio.wait_for(
            prober.wait_ready(time.monotonic() + 0.2, asyncio.Event()), 5
        )
        assert not result.ok and "not seen" in result.detail

    asyncio.run(main())


def test_tcp_probe_refuses_a_port_that_is_not_the_services() -> None:
    async def main(port: int) -> None:
        svc = Service(
            name="a", command="true", cwd=Path("."), port=port, host="127.0.0.1", env={},
            health=HealthCheck(kind="tcp"),
        )
        owned = await Prober(svc, {}, owns_port=lambda p: True).probe()
        stranger = await Prober(svc, {}, owns_port=lambda p: False).probe()
        assert owned.ok
        assert not stranger.ok and "not from this service" in stranger.detail

    with listener() as port:
        asyncio.run(main(port))
