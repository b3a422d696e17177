"""Where a stack's Unix sockets live, and who is on the other end (stdlib only: the
output keeper imports this, and must start in milliseconds).

A socket lives in the state folder (0700) with mode 0600; where that path would be
too long for a Unix socket (about 107 bytes), it lives in a private (0700) per-user
folder under the temp dir instead, at a name derived from the state folder, so both
ends find it. Peers of another user are refused (SO_PEERCRED).
"""

from __future__ import annotations

import contextlib
import os
import socket
import struct
from pathlib import Path

from stackup.locations import user_temp_dir

MAX_SOCKET_PATH = 100


def socket_path(state_dir: Path, name: str) -> Path:
    path = state_dir / name
    if len(str(path)) <= MAX_SOCKET_PATH:
        return path
    import hashlib  # only for the rare long path: the keeper starts without them

    digest = hashlib.sha256(str(state_dir.resolve()).encode()).hexdigest()[:20]
    private = user_temp_dir()
    stem = name.rsplit(".", 1)[0]
    # The control socket keeps its historic name there; others are told apart by name.
    suffix = ".sock" if stem == "control" else f".{stem}.sock"
    return private / f"{digest}{suffix}"


def peer_uid(sock: socket.socket) -> int | None:
    with contextlib.suppress(OSError, AttributeError):
        creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
        _pid, uid, _gid = struct.unpack("3i", creds)
        return uid
    return None


def peer_allowed(sock: socket.socket) -> bool:
    """Only this user (or root) may talk to a stack's supervisor or keeper."""
    return peer_uid(sock) in (os.getuid(), 0)
