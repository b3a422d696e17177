"""Readiness and liveness probes: tcp, http, command, log.

Timeouts use `asyncio.timeout()`, never `asyncio.wait_for()`: on Python 3.11 the
latter can swallow a cancellation that races with completion, leaving a cancelled
readiness loop polling until its deadline.

Each probe is one attempt with its own timeout, returning a ProbeResult. The
readiness loop (`wait_ready`) polls tightly at first, so a dependent starts within a
few milliseconds of its dependency becoming ready, then backs off; probes are async
and never block one another.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import re
import signal
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from stackup.config.model import HealthCheck, Service
from stackup.engine.service_process import SpawnError, user_ids
from stackup.polling import apoll_until
from stackup.system import children, processes

LOOPBACK = {"localhost", "127.0.0.1", "::1"}

# Readiness polling: start at 2 ms, grow by half each miss, never sleep more than
# POLL_CEILING for network probes (so readiness is seen within ~5 ms; a refused
# loopback connect costs about 0.2 ms of CPU) nor more than COMMAND_CEILING between
# command probes (each spawns a process).
POLL_START = 0.002
POLL_CEILING = 0.005
COMMAND_CEILING = 0.050


@dataclass(frozen=True)
class ProbeResult:
    ok: bool
    detail: str = ""
    foreign_port: int | None = None  # the port answered, but not from the service


def hosts_for(host: str) -> list[str]:
    """Loopback checks try IPv4 and IPv6: Vite on `localhost` may listen on ::1 only."""
    if host in LOOPBACK:
        return ["127.0.0.1", "::1"]
    return [host]


async def probe_tcp(host: str, port: int, timeout: float) -> ProbeResult:
    errors: list[BaseException] = []
    for addr in hosts_for(host):
        try:
            await tcp_connect(addr, port, timeout)
        except (OSError, TimeoutError) as exc:
            errors.append(exc)
            continue
        return ProbeResult(True, f"tcp {addr}:{port} accepts")
    return ProbeResult(False, f"tcp {host}:{port}: {_best_reason(errors)}")


async def tcp_connect(addr: str, port: int, timeout: float) -> None:
    """Connect and close at once; raise OSError or TimeoutError.

    A liveness check runs every 2 s for every service: with 200 services that is 100
    connections a second, so it is a bare non-blocking socket waited on by the event
    loop (~0.08 ms of CPU) rather than a stream (`open_connection` builds a transport,
    a protocol and a reader: ~0.2 ms). A name that is not an address is resolved by
    `open_connection` as before."""
    family = _address_family(addr)
    if family is None:
        async with asyncio.timeout(timeout):
            _, writer = await asyncio.open_connection(addr, port)
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        return
    loop = asyncio.get_running_loop()
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setblocking(False)
        err = sock.connect_ex((addr, port))
        if err == errno.EINPROGRESS:  # always, even on loopback: wait until writable
            done: asyncio.Future[None] = loop.create_future()
            fd = sock.fileno()
            loop.add_writer(fd, lambda: done.done() or done.set_result(None))
            timer = loop.call_later(
                timeout, lambda: done.done() or done.set_exception(TimeoutError()))
            try:
                await done
            finally:
                timer.cancel()
                loop.remove_writer(fd)
            err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err:
            raise OSError(err, os.strerror(err))


def _address_family(addr: str) -> socket.AddressFamily | None:
    for family in (socket.AF_INET, socket.AF_INET6):
        with contextlib.suppress(OSError):
            socket.inet_pton(family, addr)
            return family
    return None


async def probe_http(
    host: str, port: int, path: str, status: int | None, timeout: float
) -> ProbeResult:
    errors: list[BaseException] = []
    for addr in hosts_for(host):
        try:
            async with asyncio.timeout(timeout):
                code = await _http_status(addr, port, path)
        except (OSError, TimeoutError, ValueError) as exc:
            errors.append(exc)
            continue
        good = code == status if status is not None else 200 <= code < 400
        # Name the address that answered: with a listener on ::1 only, "127.0.0.1
        # answered" would send the reader looking in the wrong place.
        url = f"http://{_netloc(addr)}:{port}{path}"
        if good:
            return ProbeResult(True, f"{url} answered {code}")
        want = status if status is not None else "2xx/3xx"
        return ProbeResult(False, f"{url} answered {code}, expected {want}")
    return ProbeResult(False, f"http {host}:{port}{path}: {_best_reason(errors)}")


def _netloc(addr: str) -> str:
    return f"[{addr}]" if ":" in addr else addr


async def _http_status(addr: str, port: int, path: str) -> int:
    """A minimal HTTP/1.1 GET returning the status code (no body needed)."""
    reader, writer = await asyncio.open_connection(addr, port)
    try:
        writer.write(
            f"GET {path} HTTP/1.1\r\nHost: {_netloc(addr)}:{port}\r\nUser-Agent: stackup\r\n"
            "Accept: */*\r\nConnection: close\r\n\r\n".encode()
        )
        await writer.drain()
        status_line = await reader.readline()
        parts = status_line.split()
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/"):
            raise ValueError("not an HTTP response")
        return int(parts[1])
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


async def probe_command(
    command: str | list[str], cwd: str, env: dict[str, str], timeout: float,
    user: tuple[int, int] | None = None,
) -> ProbeResult:
    """Run the check command; `user` (uid, gid) runs it as the service's user, so
    that `pg_isready` asks as the role the server runs as, not as root."""
    kwargs: dict[str, Any] = dict(
        cwd=cwd,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
    )
    if user is not None:
        kwargs.update(user=user[0], group=user[1], extra_groups=[])
    argv = ["/bin/sh", "-c", command] if isinstance(command, str) else command

    async def kill(created: asyncio.subprocess.Process) -> None:
        processes.signal_group(created.pid, signal.SIGKILL)
        await created.wait()

    try:
        proc = await children.spawn_shielded(
            asyncio.create_subprocess_exec(*argv, **kwargs), kill
        )
    except OSError as exc:
        return ProbeResult(False, f"check command cannot run: {exc.strerror or exc}")
    try:
        async with asyncio.timeout(timeout):
            _, err = await proc.communicate()
    except TimeoutError:
        processes.signal_group(proc.pid, signal.SIGKILL)
        await proc.wait()
        return ProbeResult(False, f"check command timed out after {timeout:g}s")
    finally:
        # No child outlives its task: a cancelled probe still kills and reaps its process.
        if proc.returncode is None:
            processes.signal_group(proc.pid, signal.SIGKILL)
            await asyncio.shield(proc.wait())
    if proc.returncode == 0:
        return ProbeResult(True, "check command exited 0")
    tail = err.decode(errors="replace").strip().splitlines()[-1:] if err else []
    return ProbeResult(
        False, f"check command exited {proc.returncode}" + (f": {tail[0]}" if tail else "")
    )


def _best_reason(errors: list[BaseException]) -> str:
    """Of the addresses tried, the failure of one that was listening says the most
    (a refused connection on the other loopback family is just noise)."""
    if not errors:
        return "refused"
    telling = [e for e in errors if not isinstance(e, ConnectionRefusedError)]
    return _reason((telling or errors)[0])


def _reason(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, OSError) and exc.errno:
        # asyncio's "Connect call failed ('127.0.0.1', 8000)" says less than errno's text.
        return os.strerror(exc.errno).lower()
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return str(exc) or type(exc).__name__


def _loop_deadline(monotonic_deadline: float) -> float:
    """Convert a time.monotonic() deadline to the event loop's clock."""
    return asyncio.get_running_loop().time() + (monotonic_deadline - time.monotonic())


class LogWatch:
    """Matches a `log` check's regex against the service's output as it arrives."""

    def __init__(self, pattern: str) -> None:
        self.regex = re.compile(pattern)
        self.matched = asyncio.Event()

    def feed(self, lines: list[str]) -> None:
        if not self.matched.is_set() and any(self.regex.search(line) for line in lines):
            self.matched.set()


class Prober:
    """Runs one service's check; `owns_port` tells whether a listener is the service's."""

    def __init__(
        self,
        service: Service,
        env: dict[str, str],
        owns_port: Callable[[int], bool],
        log_watch: LogWatch | None = None,
    ) -> None:
        self.service = service
        self.check: HealthCheck = service.health
        self.env = env
        self.owns_port = owns_port
        self.log_watch = log_watch

    @property
    def port(self) -> int | None:
        return self.check.port or self.service.port

    async def probe(self, verify_owner: bool = True) -> ProbeResult:
        """One check. `verify_owner` also asks whether the listener that answered is the
        service's own: needed until it is first ready (a stale server from an earlier
        run must not pass for it), too costly for every liveness check (it reads
        /proc), and not needed then: the service holds the port itself by now."""
        check = self.check
        if check.kind == "log":
            ok = self.log_watch is not None and self.log_watch.matched.is_set()
            return ProbeResult(ok, f"log /{check.pattern}/ " + ("seen" if ok else "not seen"))
        if check.kind == "command":
            # When the service has a port, wait for it to accept first: a TCP connect
            # costs microseconds, spawning the check command costs milliseconds.
            if self.service.port:
                gate = await probe_tcp(self.service.host, self.service.port, check.timeout)
                if not gate.ok:
                    return gate
            assert check.command is not None
            try:
                user = user_ids(self.service.user)
            except SpawnError as exc:
                return ProbeResult(False, f"check command cannot run: {exc}")
            return await probe_command(
                check.command, str(self.service.cwd), self.env, check.timeout, user
            )
        port = self.port
        assert port is not None
        if check.kind == "tcp":
            result = await probe_tcp(check.host, port, check.timeout)
        else:
            result = await probe_http(check.host, port, check.path, check.status, check.timeout)
        if result.ok and verify_owner and not self.owns_port(port):
            return ProbeResult(
                False, f"port {port} answers, but not from this service", foreign_port=port
            )
        return result

    async def wait_ready(self, deadline: float, stop: asyncio.Event) -> ProbeResult:
        """Poll until the check passes, `deadline` (monotonic) passes, or `stop` is set."""
        if self.check.kind == "none":
            return ProbeResult(True, "started")
        if self.check.kind == "log" and self.log_watch is not None:
            # Event-driven: wake the moment the line arrives.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout_at(_loop_deadline(deadline)):
                    await self.log_watch.matched.wait()
            return await self.probe()
        last: list[ProbeResult] = []

        async def passed() -> bool:
            last[:] = [await self.probe()]
            return last[0].ok

        ceiling = COMMAND_CEILING if self.check.kind == "command" else POLL_CEILING
        await apoll_until(
            passed, max(0.0, deadline - time.monotonic()),
            first=POLL_START, growth=1.5, cap=ceiling, interrupt=stop,
        )
        return last[0]
