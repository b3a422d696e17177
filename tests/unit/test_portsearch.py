"""The search behind `--port-offset auto`, against real sockets: what counts as free
(IPv4 and IPv6, any address), which offsets are tried, and in what order."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager

from stackup.system import portsearch
from tests.conftest import free_port


@contextmanager
def listening(family: int, host: str, port: int) -> Iterator[socket.socket]:
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind((host, port))
        sock.listen()
        yield sock
    finally:
        sock.close()


def test_a_free_port_is_bindable_and_a_listener_on_any_family_makes_it_not() -> None:
    for family, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1"),
                         (socket.AF_INET, "0.0.0.0"), (socket.AF_INET6, "::")):
        port = free_port()
        assert portsearch.bindable(port)
        with listening(family, host, port):
            assert not portsearch.bindable(port), host
        assert portsearch.bindable(port)


def test_offsets_are_tried_upwards_from_zero_then_downwards_below_the_ceiling() -> None:
    tried = list(portsearch.candidate_offsets({15000, 18080}, ceiling=32768))
    assert tried[:3] == [0, 100, 200]
    assert all(o % 100 == 0 for o in tried)
    ups = [o for o in tried if o >= 0]
    downs = [o for o in tried if o < 0]
    assert max(ups) + 18080 < 32768 <= max(ups) + 100 + 18080  # never at or above it
    assert min(downs) + 15000 >= 1024 > min(downs) - 100 + 15000
    assert tried.index(max(ups)) < tried.index(-100)  # all of the way up first


def test_a_stack_outside_the_range_keeps_offset_zero_and_no_ports_means_zero() -> None:
    assert next(portsearch.candidate_offsets({80, 40000}, ceiling=32768)) == 0
    assert list(portsearch.candidate_offsets(set(), ceiling=32768)) == [0]


def test_find_offset_steps_over_a_held_port_and_a_claimed_one() -> None:
    a = free_port()
    b = free_port()
    assert portsearch.find_offset({a, b}, {a, b}) == 0
    with listening(socket.AF_INET6, "::1", b):  # held on IPv6 only
        found = portsearch.find_offset({a, b}, {a, b})
        assert found is not None and found != 0
        assert portsearch.bindable(a + found) and portsearch.bindable(b + found)
    found = portsearch.find_offset({a, b}, {a, b}, avoid={a})
    assert found is not None and found != 0 and a + found != a


def test_find_offset_gives_up_when_nothing_is_free() -> None:
    assert portsearch.find_offset({free_port()}, set(), avoid=set(range(1, 65536))) is None


def test_ephemeral_start_is_the_kernels() -> None:
    with open(portsearch.EPHEMERAL_RANGE) as f:
        assert portsearch.ephemeral_start() == int(f.read().split()[0])
