"""Listening TCP sockets by port, from the kernel's sock_diag netlink interface (Linux).

What `ss -ltn` uses. Reading /proc/net/tcp instead makes the kernel walk its whole
connection hash table — about 1 ms per read on a machine with much memory, once per
table, on every readiness probe — while a sock_diag dump of listeners only walks
the listening hash: tens of microseconds.
"""

from __future__ import annotations

import socket
import struct

NETLINK_SOCK_DIAG = 4
SOCK_DIAG_BY_FAMILY = 20
NLM_F_REQUEST = 0x1
NLM_F_DUMP = 0x300
NLMSG_ERROR = 2
NLMSG_DONE = 3
TCP_LISTEN = 10

_NLMSGHDR = struct.Struct("=IHHII")
# inet_diag_req_v2: family, protocol, ext, pad, states, then inet_diag_sockid (48 bytes)
_REQUEST = struct.Struct("=BBBBI48s")
# inet_diag_msg: family, state, timer, retrans (4 bytes), sockid (48: sport and dport
# big-endian, src, dst, if, cookie), expires, rqueue, wqueue, uid, inode (native u32s):
# sport sits at bytes 4–6, the inode at bytes 68–72.


def listening_inodes(port: int) -> set[int] | None:
    """Inodes of sockets listening on TCP `port` (IPv4 and IPv6); None if unsupported."""
    found: set[int] = set()
    try:
        with socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, NETLINK_SOCK_DIAG) as sock:
            sock.settimeout(1.0)
            for family in (socket.AF_INET, socket.AF_INET6):
                found |= _dump(sock, family, port)
    except (OSError, AttributeError, struct.error):
        return None
    return found


def _dump(sock: socket.socket, family: int, port: int) -> set[int]:
    body = _REQUEST.pack(family, socket.IPPROTO_TCP, 0, 0, 1 << TCP_LISTEN, bytes(48))
    header = _NLMSGHDR.pack(
        _NLMSGHDR.size + len(body), SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST | NLM_F_DUMP, 1, 0
    )
    sock.send(header + body)
    inodes: set[int] = set()
    while True:
        data = sock.recv(65536)
        offset = 0
        while offset + _NLMSGHDR.size <= len(data):
            length, kind, _flags, _seq, _pid = _NLMSGHDR.unpack_from(data, offset)
            if kind == NLMSG_DONE:
                return inodes
            if kind == NLMSG_ERROR or length < _NLMSGHDR.size:
                raise OSError("sock_diag request refused")
            msg = data[offset + _NLMSGHDR.size : offset + length]
            if len(msg) >= 72:
                sport = int.from_bytes(msg[4:6], "big")  # network byte order
                if sport == port:
                    inodes.add(int.from_bytes(msg[68:72], "little"))
            offset += (length + 3) & ~3  # messages are 4-byte aligned
