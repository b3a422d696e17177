"""Who holds a TCP port, and whether a listener belongs to a given process tree."""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Iterable
from dataclasses import dataclass

import psutil

from stackup.render import holder_text
from stackup.system import processes, sockdiag


@dataclass(frozen=True)
class PortHolder:
    pid: int | None  # None when the listener's owner is not visible (another user)
    command: str

    def describe(self) -> str:
        return holder_text(self.pid, self.command)

    def to_json(self) -> dict[str, object]:
        return {"pid": self.pid, "command": self.command}


def _listening_sockets() -> list:
    try:
        return psutil.net_connections(kind="tcp")
    except (psutil.AccessDenied, OSError):
        return []


@dataclass(frozen=True)
class Listener:
    """One listening socket: the address it is bound to and who owns it."""

    address: str  # "127.0.0.1", "::1", "0.0.0.0", "::" ...
    pid: int | None  # None when the owner is not visible (another user)
    command: str


def listeners(ports: Iterable[int]) -> dict[int, list[Listener]]:
    """Every listening socket on each of these ports, with its address and owner: what
    `doctor` needs to tell an IPv6-only listener or a stranger from the service."""
    wanted = set(ports)
    found: dict[int, list[Listener]] = {}
    if not wanted:
        return found
    for conn in _listening_sockets():
        if conn.status != psutil.CONN_LISTEN or not conn.laddr or conn.laddr.port not in wanted:
            continue
        proc = processes.process_or_none(conn.pid) if conn.pid else None
        command = processes.command_line(proc) if proc else "?"
        found.setdefault(conn.laddr.port, []).append(
            Listener(conn.laddr.ip, conn.pid if proc else None, command)
        )
    return found


def holders(ports: Iterable[int]) -> dict[int, PortHolder]:
    """The processes listening on each of these ports (ports nobody holds are absent)."""
    wanted = set(ports)
    found: dict[int, PortHolder] = {}
    if not wanted:
        return found
    for conn in _listening_sockets():
        if conn.status != psutil.CONN_LISTEN or not conn.laddr:
            continue
        port = conn.laddr.port
        if port not in wanted or (port in found and found[port].pid is not None):
            continue
        proc = processes.process_or_none(conn.pid) if conn.pid else None
        command = processes.command_line(proc) if proc else "?"
        found[port] = PortHolder(conn.pid if proc else None, command)
    # A listener in another network namespace or hidden from psutil still answers.
    for port in wanted - found.keys():
        if accepts(port):
            found[port] = PortHolder(None, "?")
    return found


def accepts(port: int, hosts: Iterable[str] = ("127.0.0.1", "::1")) -> bool:
    """True when something accepts a TCP connection on the port (blocking, fast on loopback)."""
    for host in hosts:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with contextlib.suppress(OSError), socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.settimeout(0.2)
            if sock.connect_ex((host, port)) == 0:
                return True
    return False


def tree_listens_on(pids: Iterable[int], port: int) -> bool:
    """Does any of these processes hold a listening socket on `port`?

    Runs on every successful readiness probe, so it is kept cheap: the listener's inode
    comes from sock_diag, then only these processes' file descriptors are looked at
    (psutil would read /proc/net/tcp and tcp6 once per process, ~1 ms each).
    """
    inodes = sockdiag.listening_inodes(port)
    if inodes is None:  # no sock_diag (not Linux): ask psutil
        return _tree_listens_on_psutil(pids, port)
    if not inodes:
        return False
    wanted = {f"socket:[{inode}]" for inode in inodes}
    for pid in pids:
        fd_dir = f"/proc/{pid}/fd"
        try:
            fds = os.listdir(fd_dir)
        except OSError:
            continue
        for fd in fds:
            with contextlib.suppress(OSError):
                if os.readlink(f"{fd_dir}/{fd}") in wanted:
                    return True
    return False


def _tree_listens_on_psutil(pids: Iterable[int], port: int) -> bool:
    for pid in pids:
        proc = processes.process_or_none(pid)
        if proc is None:
            continue
        try:
            conns = proc.net_connections(kind="tcp")
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
        for conn in conns:
            if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port:
                return True
    return False
