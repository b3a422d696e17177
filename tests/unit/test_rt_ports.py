"""ports: who listens on a port, and whether a process tree holds it."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest

from stackup.system import ports
from tests.conftest import free_port

LISTEN = (
    "import socket, sys, time\n"
    "s = socket.socket()\n"
    "s.bind(('127.0.0.1', int(sys.argv[1])))\n"
    "s.listen()\n"
    "print('ready', flush=True)\n"
    "time.sleep(60)\n"
)


@pytest.fixture
def listening_child() -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """A child process (own session) listening on a free port; killed by pid at the end."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-c", LISTEN, str(port)],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, start_new_session=True,
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline() == b"ready\n"
        yield proc, port
    finally:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
        if proc.stdout:
            proc.stdout.close()


def test_holders_names_the_listening_child(
    listening_child: tuple[subprocess.Popen[bytes], int],
) -> None:
    proc, port = listening_child
    found = ports.holders([port])
    assert list(found) == [port]
    assert found[port].pid == proc.pid
    assert found[port].command.startswith(f"{sys.executable} -c import socket")
    assert found[port].describe() == f"pid {proc.pid} ({found[port].command})"
    assert found[port].to_json() == {"pid": proc.pid, "command": found[port].command}


def test_holders_leaves_out_free_ports(
    listening_child: tuple[subprocess.Popen[bytes], int],
) -> None:
    _, port = listening_child
    free = free_port()
    assert set(ports.holders([port, free])) == {port}
    assert ports.holders([]) == {}


def test_holders_finds_a_listener_in_this_process() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", free_port()))
        sock.listen()
        port = sock.getsockname()[1]
        assert ports.holders([port])[port].pid == os.getpid()


def test_tree_listens_on_only_for_the_holder(
    listening_child: tuple[subprocess.Popen[bytes], int],
) -> None:
    proc, port = listening_child
    assert ports.tree_listens_on([proc.pid], port)
    assert ports.tree_listens_on([os.getpid(), proc.pid], port)
    assert not ports.tree_listens_on([os.getpid()], port)
    assert not ports.tree_listens_on([proc.pid], free_port())
    assert not ports.tree_listens_on([], port)


def test_accepts_sees_a_listener_and_not_a_free_port(
    listening_child: tuple[subprocess.Popen[bytes], int],
) -> None:
    _, port = listening_child
    assert ports.accepts(port)
    assert not ports.accepts(free_port())


def test_port_holder_of_another_user_is_described_without_pid() -> None:
    holder = ports.PortHolder(None, "?")
    assert holder.describe() == "a process of another user"
