"""The control socket: one JSON request per connection, answered with one JSON line —
or, for a streaming request (`watch`), with JSON lines until the client closes.

The server runs inside the supervisor (foreground or detached); the client is used
by `up -d`, `down`, `restart`, `ui` and the progress views from any terminal. The
socket is private (see `server/sockets.py`): mode 0600 in the 0700 state folder, or a
private per-user folder when that path is too long, and peers of another user are
refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

from stackup.errors import (
    AlreadySupervisedError,
    NotRunningError,
    PortConflictError,
    StackupError,
    StartFailedError,
    UsageError,
)
from stackup.polling import poll_until
from stackup.render import failure_text
from stackup.server import statedir
from stackup.server.sockets import MAX_SOCKET_PATH, peer_allowed
from stackup.server.sockets import socket_path as _socket_path

__all__ = [
    "MAX_SOCKET_PATH", "NotRunningError", "arequest", "ping", "request", "serve", "stream",
]

SOCKET_NAME = "control.sock"
MAX_REQUEST = 1 << 20

Response = dict[str, Any] | AsyncIterator[dict[str, Any]]
Handler = Callable[[dict[str, Any]], Awaitable[Response]]


def socket_path(state_dir: Path) -> Path:
    return _socket_path(state_dir, SOCKET_NAME)


async def serve(state_dir: Path, handler: Handler) -> asyncio.AbstractServer:
    path = socket_path(state_dir)
    with contextlib.suppress(FileNotFoundError):
        path.unlink()  # a stale socket from a killed supervisor (we hold the lock)

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            sock = writer.get_extra_info("socket")
            if sock is not None and not peer_allowed(sock):
                writer.write(_encode({"ok": False, "error": "permission denied"}))
                return
            try:
                line = await reader.readline()  # ValueError past MAX_REQUEST
                request = json.loads(line)
                if not isinstance(request, dict):
                    raise ValueError
            except ValueError:
                response: Response = {"ok": False, "error": "bad request"}
            else:
                response = await handler(request)
            if isinstance(response, dict):
                writer.write(_encode(response))
                await writer.drain()
            else:
                await _stream_out(response, reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    old_umask = os.umask(0o177)  # the socket is created 0600, never briefly wider
    try:
        server = await asyncio.start_unix_server(on_connect, path, limit=MAX_REQUEST)
    finally:
        os.umask(old_umask)
    os.chmod(path, 0o600)
    return server


async def _stream_out(
    messages: AsyncIterator[dict[str, Any]],
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
) -> None:
    """Write each message as a line until the stream ends or the client goes away
    (it closes its end, which the reader sees as EOF)."""
    gone = asyncio.create_task(reader.read())

    async def pump() -> None:
        async for message in messages:
            writer.write(_encode(message))
            await writer.drain()

    sending = asyncio.create_task(pump())
    try:
        await asyncio.wait({gone, sending}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (gone, sending):
            task.cancel()
        await asyncio.gather(gone, sending, return_exceptions=True)
        aclose = getattr(messages, "aclose", None)
        if aclose is not None:
            with contextlib.suppress(Exception):
                await aclose()


def _encode(data: dict[str, Any]) -> bytes:
    return (json.dumps(data) + "\n").encode()


def _connect(state_dir: Path) -> socket.socket:
    path = socket_path(state_dir)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(2.0)
    try:
        sock.connect(str(path))
    except (FileNotFoundError, ConnectionRefusedError) as exc:
        sock.close()
        raise NotRunningError(str(path)) from exc
    except BaseException:
        sock.close()
        raise
    return sock


def request(state_dir: Path, payload: dict[str, Any], timeout: float | None = 5.0) -> dict:
    """Send one request and wait for its response (blocking; `timeout` None waits forever).

    Raises NotRunningError when nothing listens on the socket.
    """
    sock = _connect(state_dir)
    try:
        sock.settimeout(timeout)
        sock.sendall(_encode(payload))
        chunks = []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        sock.close()
    if not chunks:
        raise NotRunningError("the supervisor closed the connection")
    return json.loads(b"".join(chunks))


async def arequest(state_dir: Path, payload: dict[str, Any]) -> dict:
    """`request` for an event loop (the live view's keys): waits for the answer without
    a timeout, and cancelling it closes the connection (the request goes on).

    Raises NotRunningError when nothing listens on the socket."""
    try:
        reader, writer = await asyncio.open_unix_connection(
            str(socket_path(state_dir)), limit=MAX_REQUEST
        )
    except (FileNotFoundError, ConnectionRefusedError) as exc:
        raise NotRunningError(str(socket_path(state_dir))) from exc
    try:
        writer.write(_encode(payload))
        await writer.drain()
        line = await reader.readline()
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
    if not line:
        raise NotRunningError("the supervisor closed the connection")
    return json.loads(line)


def stream(
    state_dir: Path, payload: dict[str, Any], timeout: float | None = None
) -> Iterator[dict[str, Any] | None]:
    """Send a streaming request and yield its messages as they come; with `timeout`,
    yield None whenever nothing came for that long (so the caller can look around).
    Closing the generator closes the connection, which ends the stream."""
    sock = _connect(state_dir)
    try:
        sock.settimeout(timeout)
        sock.sendall(_encode(payload))
        buffer = b""
        while True:
            try:
                chunk = sock.recv(1 << 20)
            except TimeoutError:
                yield None
                continue
            if not chunk:
                return
            buffer += chunk
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                if line:
                    yield json.loads(line)
    finally:
        sock.close()


def ping(state_dir: Path) -> dict[str, Any] | None:
    """The supervisor's identity (pid, mode…) when one answers, else None."""
    try:
        response = request(state_dir, {"cmd": "ping"}, timeout=2.0)
    except (NotRunningError, OSError, ValueError):
        return None
    return response if response.get("ok") else None


def wait_for_starting(state_dir: Path, timeout: float) -> dict[str, Any] | None:
    """A supervisor that holds the stack's lock but does not answer yet is still
    opening its socket (an `up -d` a moment ago): wait (bounded) for its answer.
    Returns None at once when nobody holds the lock."""
    found: list[dict[str, Any]] = []

    def answered_or_unlocked() -> bool:
        if not statedir.lock_held(state_dir):
            return True
        info = ping(state_dir)
        if info is not None:
            found.append(info)
        return bool(found)

    poll_until(answered_or_unlocked, timeout, first=0.005, cap=0.02)
    return found[0] if found else None


def raise_for(response: dict[str, Any]) -> None:
    """Turn a supervisor's refusal into the error (and exit code) it stands for."""
    if response.get("ok"):
        return
    failure = response.get("failure")
    if failure:
        raise StartFailedError(failure_text(failure))
    error = str(response.get("error", "the supervisor refused the request"))
    kind: type[StackupError] = {
        2: UsageError, 3: PortConflictError, 4: AlreadySupervisedError,
    }.get(int(response.get("exit_code", 1)), StartFailedError)
    raise kind(error)
