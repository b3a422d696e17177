"""The control socket: one JSON request per connection, one JSON response.

The server runs inside the supervisor (foreground or detached); the client is used
by `up -d`, `down` and `restart` from any terminal. The socket lives in `.stackup/`
with mode 0600; where that path would be too long for a Unix socket (about 107
bytes), it lives in a private (0700) per-user folder under the temp dir instead, at a
name derived from the state folder so both sides find it. Peers of another user are
refused (SO_PEERCRED).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import socket
import struct
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from stackup.errors import StackupError
from stackup.server import statedir

SOCKET_NAME = "control.sock"
MAX_SOCKET_PATH = 100
MAX_REQUEST = 1 << 20

Handler = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]


class NotRunning(StackupError):
    """No supervisor answers on this stack's control socket."""


def socket_path(state_dir: Path) -> Path:
    path = state_dir / SOCKET_NAME
    if len(str(path)) <= MAX_SOCKET_PATH:
        return path
    digest = hashlib.sha256(str(state_dir.resolve()).encode()).hexdigest()[:20]
    private = Path(tempfile.gettempdir()) / f"stackup-{os.getuid()}"
    private.mkdir(mode=0o700, exist_ok=True)
    if private.stat().st_uid != os.getuid() or private.stat().st_mode & 0o077:
        raise OSError(f"{private} is not a private folder of this user")
    return private / f"{digest}.sock"


def _peer_uid(sock: socket.socket) -> int | None:
    with contextlib.suppress(OSError, AttributeError):
        creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
        _pid, uid, _gid = struct.unpack("3i", creds)
        return uid
    return None


async def serve(state_dir: Path, handler: Handler) -> asyncio.AbstractServer:
    path = socket_path(state_dir)
    with contextlib.suppress(FileNotFoundError):
        path.unlink()  # a stale socket from a killed supervisor (we hold the lock)
    me = os.getuid()

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            sock = writer.get_extra_info("socket")
            if sock is not None and _peer_uid(sock) not in (me, 0):
                writer.write(_encode({"ok": False, "error": "permission denied"}))
                return
            try:
                line = await reader.readline()  # ValueError past MAX_REQUEST
                request = json.loads(line)
                if not isinstance(request, dict):
                    raise ValueError
            except ValueError:
                response: dict[str, Any] = {"ok": False, "error": "bad request"}
            else:
                response = await handler(request)
            writer.write(_encode(response))
            await writer.drain()
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


def _encode(data: dict[str, Any]) -> bytes:
    return (json.dumps(data) + "\n").encode()


def request(state_dir: Path, payload: dict[str, Any], timeout: float | None = 5.0) -> dict:
    """Send one request and wait for its response (blocking; `timeout` None waits forever).

    Raises NotRunning when nothing listens on the socket.
    """
    path = socket_path(state_dir)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(2.0)
        try:
            sock.connect(str(path))
        except (FileNotFoundError, ConnectionRefusedError) as exc:
            raise NotRunning(str(path)) from exc
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
        raise NotRunning("the supervisor closed the connection")
    return json.loads(b"".join(chunks))


def ping(state_dir: Path) -> dict[str, Any] | None:
    """The supervisor's identity (pid, mode…) when one answers, else None."""
    try:
        response = request(state_dir, {"cmd": "ping"}, timeout=2.0)
    except (NotRunning, OSError, ValueError):
        return None
    return response if response.get("ok") else None


def wait_for_starting(state_dir: Path, timeout: float) -> dict[str, Any] | None:
    """A supervisor that holds the stack's lock but does not answer yet is still
    opening its socket (an `up -d` a moment ago): wait (bounded) for its answer.
    Returns None at once when nobody holds the lock."""
    deadline = time.monotonic() + timeout
    while statedir.lock_held(state_dir) and time.monotonic() < deadline:
        info = ping(state_dir)
        if info is not None:
            return info
        time.sleep(0.02)
    return None
