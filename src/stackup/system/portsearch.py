"""The search behind `--port-offset auto`: an offset that puts every port a stack needs
on a port nobody holds, on IPv4 and IPv6, below the ephemeral range.

"Free" is decided by binding, the way the service will: a test socket is bound to
127.0.0.1, ::1, 0.0.0.0 and :: in turn (SO_REUSEADDR, as servers set it, so a port
whose last connections linger in TIME_WAIT counts as free). A listener on any address,
of any user, makes the bind fail; a listener seen only from another network namespace
is what `preflight.check_ports_free` still catches afterwards.

Ports at or above the start of the kernel's ephemeral range are avoided: the kernel
hands those out as source ports of outgoing connections (health checks, the services'
own calls), so a port free now can be taken a moment later by a client socket.
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Collection, Iterator

STEP = 100  # offsets tried are multiples of this: `+300` reads better than `+287`
LOWEST = 1024  # below this ports are privileged; only a stack already there goes lower
EPHEMERAL_RANGE = "/proc/sys/net/ipv4/ip_local_port_range"
DEFAULT_EPHEMERAL_START = 32768  # Linux's default when /proc cannot be read
ADDRESSES = (
    (socket.AF_INET, "127.0.0.1"),
    (socket.AF_INET6, "::1"),
    (socket.AF_INET, "0.0.0.0"),
    (socket.AF_INET6, "::"),
)
# Binding an IPv6 address fails with these on a machine without IPv6: nothing can hold
# the port there, so the family does not count against it.
NO_FAMILY = {errno.EAFNOSUPPORT, errno.EADDRNOTAVAIL, errno.EPROTONOSUPPORT}


def ephemeral_start() -> int:
    """The first port the kernel may give out as a source port."""
    try:
        with open(EPHEMERAL_RANGE) as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return DEFAULT_EPHEMERAL_START


def bindable(port: int) -> bool:
    """Could a server bind `port` now on 127.0.0.1, ::1 and the wildcard addresses?"""
    for family, host in ADDRESSES:
        try:
            sock = socket.socket(family, socket.SOCK_STREAM)
        except OSError as exc:
            if exc.errno in NO_FAMILY:
                continue
            return False
        with sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            try:
                sock.bind((host, port))
            except OSError as exc:
                if family == socket.AF_INET6 and exc.errno in NO_FAMILY:
                    continue
                return False
    return True


def candidate_offsets(ports: Collection[int], ceiling: int) -> Iterator[int]:
    """0, +100, +200, … then -100, -200, …: every offset (a multiple of STEP) that keeps
    all of `ports` in [1024, ceiling), the lower bound relaxed to the lowest port and the
    upper to the highest for a stack that already lives outside that range."""
    if not ports:
        yield 0
        return
    low, high = min(LOWEST, min(ports)), max(ceiling - 1, max(ports))
    up_to, down_to = high - max(ports), low - min(ports)
    yield from range(0, up_to + 1, STEP)
    yield from range(-STEP, down_to - 1, -STEP)


def find_offset(
    needed: Collection[int], every: Collection[int], avoid: Collection[int] = ()
) -> int | None:
    """The first candidate offset (relative to the ports given) at which every port of
    `needed` is bindable and not in `avoid` (ports another stack has claimed), keeping
    all of `every` (the stack's ports, `needed` among them) in range; None if none is."""
    avoided = set(avoid)
    known_free: dict[int, bool] = {}

    def free(port: int) -> bool:
        if port in avoided:
            return False
        if port not in known_free:
            known_free[port] = bindable(port)
        return known_free[port]

    for offset in candidate_offsets({*every, *needed}, ephemeral_start()):
        if all(free(p + offset) for p in needed):
            return offset
    return None
