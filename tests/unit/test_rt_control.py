"""control: socket path, serve/request round trip, permissions, bad requests, ping."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import socket
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from stackup.server import control


@pytest.fixture
def short_dir() -> Iterator[Path]:
    """A short folder under /tmp: Unix socket paths must stay under ~107 bytes."""
    path = Path(tempfile.mkdtemp(prefix="su-", dir="/tmp"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def private_tmp(short_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point tempfile at a folder of this test, so the fallback folder lands there."""
    tmp = short_dir / "t"
    tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    return tmp


def deep_dir(root: Path) -> Path:
    path = root.joinpath(*["d" * 30] * 4) / ".stackup"
    path.mkdir(parents=True)
    return path


async def echo(request: dict[str, Any]) -> dict[str, Any]:
    return {"ok": True, "echo": request}


def with_server(state_dir: Path, handler: control.Handler, client: Any) -> Any:
    """Serve on `state_dir` in this loop; run the blocking `client()` in a thread."""

    async def main() -> Any:
        server = await control.serve(state_dir, handler)
        try:
            return await asyncio.wait_for(asyncio.to_thread(client), 10)
        finally:
            server.close()
            await server.wait_closed()

    return asyncio.run(main())


def send_raw(path: Path, data: bytes) -> dict[str, Any]:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(5)
        sock.connect(str(path))
        sock.sendall(data)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return json.loads(b"".join(chunks))


def test_short_state_dir_keeps_the_socket_inside(short_dir: Path) -> None:
    assert control.socket_path(short_dir) == short_dir / "control.sock"


def test_long_state_dir_falls_back_to_a_private_per_user_folder(
    private_tmp: Path, short_dir: Path
) -> None:
    state = deep_dir(short_dir)
    assert len(str(state / "control.sock")) > control.MAX_SOCKET_PATH
    path = control.socket_path(state)
    folder = private_tmp / f"stackup-{os.getuid()}"
    assert path.parent == folder
    assert path.suffix == ".sock"
    assert len(str(path)) <= control.MAX_SOCKET_PATH
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    # Both sides find the same path; another stack gets another one.
    assert control.socket_path(state) == path
    other = state.parent / "other" / ".stackup"
    other.mkdir(parents=True)
    assert control.socket_path(other) != path


def test_fallback_folder_open_to_others_is_refused(private_tmp: Path, short_dir: Path) -> None:
    folder = private_tmp / f"stackup-{os.getuid()}"
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    with pytest.raises(OSError, match="not a private folder"):
        control.socket_path(deep_dir(short_dir))


def test_serve_and_request_round_trip(short_dir: Path) -> None:
    payload = {"cmd": "status", "names": ["db", "web"]}
    response = with_server(short_dir, echo, lambda: control.request(short_dir, payload))
    assert response == {"ok": True, "echo": payload}


def test_round_trip_through_the_fallback_socket(private_tmp: Path, short_dir: Path) -> None:
    state = deep_dir(short_dir)
    response = with_server(state, echo, lambda: control.request(state, {"cmd": "ping"}))
    assert response == {"ok": True, "echo": {"cmd": "ping"}}
    assert control.socket_path(state).parent.parent == private_tmp


def test_socket_is_created_0600(short_dir: Path) -> None:
    def mode() -> int:
        st = os.stat(control.socket_path(short_dir))
        assert stat.S_ISSOCK(st.st_mode)
        return stat.S_IMODE(st.st_mode)

    assert with_server(short_dir, echo, mode) == 0o600


def test_serve_replaces_a_stale_socket_file(short_dir: Path) -> None:
    (short_dir / "control.sock").write_text("stale")
    response = with_server(short_dir, echo, lambda: control.request(short_dir, {"cmd": "x"}))
    assert response["ok"] is True


@pytest.mark.parametrize("line", [b"{not json\n", b"[1, 2]\n", b"\n"])
def test_a_bad_request_is_answered_not_ok(short_dir: Path, line: bytes) -> None:
    path = control.socket_path(short_dir)
    response = with_server(short_dir, echo, lambda: send_raw(path, line))
    assert response == {"ok": False, "error": "bad request"}


def test_the_server_keeps_serving_after_a_bad_request(short_dir: Path) -> None:
    path = control.socket_path(short_dir)

    def client() -> tuple[dict[str, Any], dict[str, Any]]:
        return send_raw(path, b"garbage\n"), control.request(short_dir, {"cmd": "again"})

    bad, good = with_server(short_dir, echo, client)
    assert bad["ok"] is False and good == {"ok": True, "echo": {"cmd": "again"}}


def test_request_without_a_socket_raises_not_running(short_dir: Path) -> None:
    with pytest.raises(control.NotRunningError):
        control.request(short_dir, {"cmd": "ping"})


def test_request_to_a_dead_socket_raises_not_running(short_dir: Path) -> None:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(str(control.socket_path(short_dir)))
    sock.close()  # the file stays, nobody listens: a killed supervisor's socket
    with pytest.raises(control.NotRunningError):
        control.request(short_dir, {"cmd": "ping"})


def test_ping_is_none_when_nothing_answers(short_dir: Path) -> None:
    assert control.ping(short_dir) is None


def test_ping_returns_the_answer_of_a_live_supervisor(short_dir: Path) -> None:
    async def identity(request: dict[str, Any]) -> dict[str, Any]:
        assert request == {"cmd": "ping"}
        return {"ok": True, "pid": 42, "mode": "detached"}

    assert with_server(short_dir, identity, lambda: control.ping(short_dir)) == {
        "ok": True, "pid": 42, "mode": "detached",
    }


def test_ping_is_none_when_the_answer_is_not_ok(short_dir: Path) -> None:
    async def refuse(request: dict[str, Any]) -> dict[str, Any]:
        return {"ok": False}

    assert with_server(short_dir, refuse, lambda: control.ping(short_dir)) is None


def test_an_oversized_request_is_handled_by_the_server(short_dir: Path) -> None:
    path = control.socket_path(short_dir)
    unhandled: list[dict[str, Any]] = []

    def oversized() -> None:
        with contextlib.suppress(OSError):
            send_raw(path, b'{"pad": "' + b"a" * (2 * control.MAX_REQUEST) + b'"}\n')

    async def main() -> None:
        asyncio.get_running_loop().set_exception_handler(lambda _loop, ctx: unhandled.append(ctx))
        server = await control.serve(short_dir, echo)
        try:
            await asyncio.wait_for(asyncio.to_thread(oversized), 10)
            # A full round trip afterwards: the first connection's task has ended by then.
            await asyncio.wait_for(asyncio.to_thread(control.request, short_dir, {}), 10)
            deadline = asyncio.get_running_loop().time() + 0.5
            while not unhandled and asyncio.get_running_loop().time() < deadline:
                await asyncio.sleep(0.01)
        finally:
            server.close()
            await server.wait_closed()

    asyncio.run(main())
    assert unhandled == []
