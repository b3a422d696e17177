"""Safety: private runtime files, peers of other users refused, secrets never shown."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import stat

import pytest

from tests.conftest import svc

SECRET = "s3cr3t-Pa55word"


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_runtime_files_are_private_and_secrets_masked(stackup, port):
    stackup.write(f"""
        env:
          DB_PASSWORD: {SECRET}
          DATABASE_URL: postgresql://app:{SECRET}@127.0.0.1:5432/app
        services:
          api: {{command: "{svc()}", port: {port()}}}
        """)
    assert stackup.run("up", "-d").returncode == 0
    state_dir = stackup.dir / ".stackup"
    assert mode(state_dir) == 0o700
    assert mode(state_dir / "control.sock") == 0o600
    for f in ["state.json", "supervisor.log", "supervisor.lock", "logs/api.log"]:
        assert mode(state_dir / f) == 0o600, f
    assert mode(state_dir / "logs") == 0o700
    for args in (["config"], ["config", "--json"], ["status", "--json"], ["ports"],
                 ["config", "--explain", "DATABASE_URL"]):
        out = stackup.run(*args)
        assert SECRET not in out.stdout + out.stderr, args
    config = json.loads(stackup.run("config", "--json").stdout)
    env = config["services"]["api"]["env"]
    assert env["DB_PASSWORD"] == "****" and "****" in env["DATABASE_URL"]
    assert stackup.run("down").returncode == 0


def tmp_base(path):
    """pytest's per-user base folder above this test's tmp dir (pytest-of-<user>)."""
    return next(p for p in path.parents if p.name.startswith("pytest-of-"))


def ask_as_nobody(sock, request: bytes) -> str:
    """Send a request from a forked child that dropped to uid/gid 65534."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: never return into pytest
        try:
            os.close(read_end)
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            with socket.socket(socket.AF_UNIX) as s:
                s.settimeout(5)
                s.connect(str(sock))
                # The server may answer and close before reading the request.
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    s.sendall(request)
                os.write(write_end, s.recv(4096))
        except OSError as exc:
            os.write(write_end, repr(exc).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as f:
        answer = f.read().decode()
    os.waitpid(pid, 0)
    return answer


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to act as another user")
def test_control_socket_refuses_another_user(stackup, port):
    stackup.write(f"""
        services:
          api: {{command: "{svc()}", port: {port()}}}
        """)
    assert stackup.run("up", "-d").returncode == 0
    state_dir = stackup.dir / ".stackup"
    sock = state_dir / "control.sock"
    # Loosen the file modes on purpose (the socket, and the test's own folders up to
    # pytest's private base): the peer-credential check must still refuse.
    loosened = [d for d in [state_dir, *state_dir.parents] if mode(d) & 0o011 != 0o011]
    loosened = loosened[: loosened.index(tmp_base(state_dir)) + 1]
    saved = {d: mode(d) for d in loosened}
    for d in loosened:
        os.chmod(d, 0o711)
    os.chmod(sock, 0o666)
    try:
        assert json.loads(ask_as_nobody(sock, b'{"cmd": "stop"}\n')) == {
            "ok": False, "error": "permission denied"
        }
        status = json.loads(stackup.run("status", "--json").stdout)
        assert status["services"][0]["ready"]  # the stop request was not carried out
    finally:
        for d, m in saved.items():
            os.chmod(d, m)
        os.chmod(sock, 0o600)
    assert stackup.run("down").returncode == 0
