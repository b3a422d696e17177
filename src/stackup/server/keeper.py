"""The output keeper: `python -m stackup.server.keeper STATE_DIR`, one per running stack.

It is what containerd-shim and podman's conmon are to a container: the parent of every
service of the stack, the holder of their stdout/stderr pipes and the writer of their
log files. The supervisor asks it (over `keeper.sock`) to spawn a service and is told
when one exits; everything else (order, readiness, restarts, stopping) stays in the
supervisor. Because the pipes never lose their reader, a service never notices what
happens to the supervisor: killed, crashed or being upgraded, its writes neither fail
nor block, and its output keeps reaching `.stackup/logs/<service>.log`. A new
supervisor connects to the same keeper and takes the stack over.

So it must be small and hard to kill by accident: stdlib only (plus stackup's own
stdlib-only line splitter and log writer), its own session, no terminal, a `select`
loop, `waitpid(-1)` for its children (as child subreaper it also adopts and reaps the
services' orphans), and a try/except around every request. It lives while a service
or a supervisor needs it: it exits once no service of its own runs and no supervisor
is connected (or was ever connected within CONNECT_DEADLINE), or once told to quit and
no service runs.

Protocol: JSON lines both ways on one connection (the supervisor's; a new connection
replaces an old one). Requests carry an `op`; answers and events an `ev`.
- {"op": "hello"} → {"ev": "hello", "protocol", "pid", "services": {name: {"pid",
  "running", "code"}}}: what it runs (the latest instance of each service).
- {"op": "spawn", "id", "service", "argv", "cwd", "env", "uid", "gid"} →
  {"ev": "spawned", "id", "pid"} or {"ev": "spawn_failed", "id", "error"}.
- {"op": "note", "service", "text", "time"}: a `[stackup]` line into the service's log.
- {"op": "quit"}: exit once no service runs.
- event {"ev": "exited", "service", "pid", "code"}: sent once the service's pipe has
  been drained, so its last lines are in the log file before anyone is told.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import selectors
import signal
import socket
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import setproctitle

from stackup.engine.lines import LineSplitter
from stackup.server.logfiles import LogFiles
from stackup.server.sockets import peer_allowed, socket_path

PROTOCOL = 1
SOCKET_NAME = "keeper.sock"
READ_CHUNK = 64 * 1024
READS_PER_WAKE = 16  # chunks read from one pipe before looking at the others again
CONNECT_DEADLINE = 10.0  # seconds for the supervisor that started us to connect
_PR_SET_CHILD_SUBREAPER = 36


class Child:
    """One service process the keeper started, and its output pipe."""

    def __init__(self, service: str, popen: subprocess.Popen[bytes], pipe: int) -> None:
        self.service = service
        self.popen = popen
        self.pid = popen.pid
        self.pipe: int | None = pipe
        self.splitter = LineSplitter()
        self.code: int | None = None

    @property
    def running(self) -> bool:
        return self.code is None


class Keeper:
    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.logs = LogFiles(state_dir / "logs")
        self.sel = selectors.DefaultSelector()
        self.children: dict[int, Child] = {}  # by pid, until reaped and drained
        self.latest: dict[str, Child] = {}  # each service's most recent instance
        self.client: socket.socket | None = None
        self.inbuf = b""
        self.outbuf = b""
        self.quit = False
        self.seen_client = False
        self.started = time.monotonic()
        self.listener = self._listen()
        self.wakeup_r, wakeup_w = os.pipe()
        os.set_blocking(self.wakeup_r, False)
        os.set_blocking(wakeup_w, False)
        signal.set_wakeup_fd(wakeup_w)
        # Handlers, never SIG_IGN: an ignored signal would be inherited by every
        # service we exec (PostgreSQL's SIGINT stop would then do nothing).
        signal.signal(signal.SIGCHLD, lambda *_: None)
        signal.signal(signal.SIGINT, lambda *_: None)
        signal.signal(signal.SIGHUP, lambda *_: None)
        signal.signal(signal.SIGTERM, lambda *_: self._ask_quit())
        self.sel.register(self.listener, selectors.EVENT_READ, self._accept)
        self.sel.register(self.wakeup_r, selectors.EVENT_READ, self._wakeup)

    # ---- lifetime -------------------------------------------------------------------

    def run(self) -> None:
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
        while not self._done():
            for key, mask in self.sel.select(timeout=1.0):
                try:
                    key.data(key.fileobj, mask)
                except Exception:  # a bug must not take every service's output down
                    traceback.print_exc()
            self._reap()
        self._close()

    def _done(self) -> bool:
        if any(c.running for c in self.children.values()):
            return False
        if self.quit:
            return True
        if self.client is not None:
            return False
        waited = time.monotonic() - self.started
        # With nothing running and nobody connected, a pipe still held by an orphan
        # is the one thing left to keep; once it closes we are done.
        holding = any(c.pipe is not None for c in self.children.values())
        return not holding and (self.seen_client or waited > CONNECT_DEADLINE)

    def _ask_quit(self) -> None:
        self.quit = True

    def _close(self) -> None:
        for child in list(self.children.values()):
            self._drain(child)
            self._close_pipe(child)
        self.logs.close()
        with contextlib.suppress(OSError):
            path = socket_path(self.state_dir, SOCKET_NAME)
            if path.exists():
                path.unlink()

    # ---- the supervisor's connection ------------------------------------------------

    def _listen(self) -> socket.socket:
        path = socket_path(self.state_dir, SOCKET_NAME)
        with contextlib.suppress(FileNotFoundError):
            path.unlink()  # left by a keeper that was killed
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old = os.umask(0o177)  # created 0600, never briefly wider
        try:
            sock.bind(str(path))
        finally:
            os.umask(old)
        sock.listen(4)
        sock.setblocking(False)
        return sock

    def _accept(self, sock: socket.socket, _mask: int) -> None:
        conn, _ = sock.accept()
        if not peer_allowed(conn):
            conn.close()
            return
        if self.client is not None:
            self._drop_client()  # a new supervisor took over from one that died
        conn.setblocking(False)
        self.client, self.inbuf, self.outbuf = conn, b"", b""
        self.seen_client = True
        self.sel.register(conn, selectors.EVENT_READ, self._client_io)

    def _drop_client(self) -> None:
        assert self.client is not None
        self.sel.unregister(self.client)
        self.client.close()
        self.client = None
        self.outbuf = b""

    def _client_io(self, conn: socket.socket, mask: int) -> None:
        if mask & selectors.EVENT_WRITE:
            self._flush()
        if not mask & selectors.EVENT_READ or self.client is not conn:
            return
        try:
            data = conn.recv(1 << 20)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self._drop_client()  # the supervisor went away; the services stay
            return
        self.inbuf += data
        *lines, self.inbuf = self.inbuf.split(b"\n")
        for line in lines:
            if line.strip():
                self._handle(json.loads(line))

    def _send(self, message: dict[str, Any]) -> None:
        if self.client is None:
            return
        self.outbuf += (json.dumps(message) + "\n").encode()
        self._flush()

    def _flush(self) -> None:
        if self.client is None:
            return
        try:
            sent = self.client.send(self.outbuf)
            self.outbuf = self.outbuf[sent:]
        except (BlockingIOError, InterruptedError):
            pass
        except OSError:
            self._drop_client()
            return
        events = selectors.EVENT_READ | (selectors.EVENT_WRITE if self.outbuf else 0)
        self.sel.modify(self.client, events, self._client_io)

    def _handle(self, req: dict[str, Any]) -> None:
        op = req.get("op")
        if op == "hello":
            services = {
                name: {"pid": c.pid, "running": c.running, "code": c.code}
                for name, c in self.latest.items()
            }
            self._send({"ev": "hello", "protocol": PROTOCOL, "pid": os.getpid(),
                        "services": services})
        elif op == "spawn":
            self._spawn(req)
        elif op == "note":
            self.logs.note(str(req["service"]), str(req["text"]), float(req["time"]))
        elif op == "quit":
            self.quit = True
            self._send({"ev": "quitting"})

    # ---- services -------------------------------------------------------------------

    def _spawn(self, req: dict[str, Any]) -> None:
        service = str(req["service"])
        read_end, write_end = os.pipe()
        user: dict[str, Any] = {}
        if req.get("uid") is not None:
            user = {"user": req["uid"], "group": req["gid"], "extra_groups": []}
        try:
            popen = subprocess.Popen(
                req["argv"], cwd=req["cwd"], env=req["env"],
                stdin=subprocess.DEVNULL, stdout=write_end, stderr=write_end,
                start_new_session=True,  # own session and group: signalled as a group
                close_fds=True, **user,
            )
        except (OSError, subprocess.SubprocessError, ValueError) as exc:
            os.close(read_end)
            error = getattr(exc, "strerror", None) or str(exc)
            self._send({"ev": "spawn_failed", "id": req["id"], "error": error})
            return
        finally:
            os.close(write_end)
        os.set_blocking(read_end, False)
        child = Child(service, popen, read_end)
        self.children[child.pid] = child
        self.latest[service] = child
        self.sel.register(read_end, selectors.EVENT_READ, lambda fd, _m, c=child: self._read(c))
        self._send({"ev": "spawned", "id": req["id"], "pid": child.pid})

    def _read(self, child: Child) -> None:
        self._drain(child, limit=READS_PER_WAKE)

    def _drain(self, child: Child, limit: int | None = None) -> None:
        """Relay what the pipe holds now (`limit` chunks at most); at EOF, the last
        unterminated line too, and the pipe is closed."""
        reads = 0
        while child.pipe is not None and (limit is None or reads < limit):
            try:
                chunk = os.read(child.pipe, READ_CHUNK)
            except BlockingIOError:
                return
            except OSError:
                chunk = b""
            reads += 1
            if not chunk:
                tail = child.splitter.flush()
                if tail:
                    self.logs.write(child.service, tail, time.time())
                self._close_pipe(child)
                return
            text = child.splitter.feed_text(chunk)
            if text is not None:
                self.logs.write_block(child.service, text, time.time())

    def _close_pipe(self, child: Child) -> None:
        if child.pipe is None:
            return
        self.sel.unregister(child.pipe)
        os.close(child.pipe)
        child.pipe = None
        if not child.running:
            self.children.pop(child.pid, None)

    def _wakeup(self, fd: int, _mask: int) -> None:
        with contextlib.suppress(BlockingIOError):
            os.read(fd, 512)

    def _reap(self) -> None:
        """Collect every child that exited: services (record, drain, tell) and the
        orphans we adopted as subreaper (just reaped)."""
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            child = self.children.get(pid)
            if child is None:
                continue
            child.code = os.waitstatus_to_exitcode(status)
            child.popen.returncode = child.code  # so Popen never waits for it again
            self._drain(child)  # its last lines reach the log first
            if child.pipe is None:
                self.children.pop(pid, None)
            if self.client is not None:
                self._send({"ev": "exited", "service": child.service, "pid": pid,
                            "code": child.code})
            else:
                self.logs.note(
                    child.service,
                    f"{child.service} exited with code {child.code} "
                    "(no supervisor was running)",
                    time.time(),
                )


def answers(state_dir: Path) -> bool:
    """Does a keeper already listen for this stack (one a dead supervisor started)?"""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(str(socket_path(state_dir, SOCKET_NAME)))
    except OSError:
        return False
    finally:
        sock.close()
    return True


class Forked:
    """A keeper forked from the calling process: the part of `subprocess.Popen`'s
    interface the supervisor uses (poll, wait, terminate, returncode)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            with contextlib.suppress(ChildProcessError):
                pid, status = os.waitpid(self.pid, os.WNOHANG)
                if pid == self.pid:
                    self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: float) -> int | None:
        from stackup.polling import poll_until  # the supervisor's side, not the keeper's

        poll_until(lambda: self.poll() is not None, timeout)
        return self.returncode

    def terminate(self) -> None:
        if self.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGTERM)


def spawn(state_dir: Path, fork: bool = True) -> Forked | subprocess.Popen[bytes]:
    """Start a keeper for the stack: forked from the calling supervisor, so it is ready
    in a millisecond instead of the ~100 ms a new interpreter takes here (it already
    has every module it needs). The supervisor calls this under the stack's lock,
    before it starts a thread or an event loop (fork is safe then). The child leaves
    our session (the terminal's Ctrl-C is not for it), closes every descriptor it
    inherited — the supervisor lock's too, which must die with the supervisor —, sends
    its own lines to `keeper.log`, and never returns into the caller's code.

    `fork=False`, for a process that may have threads by now (a supervisor replacing
    a keeper it lost): a new interpreter instead, since a fork there could inherit a
    lock another thread holds."""
    log = os.open(state_dir / "keeper.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    if not fork:
        env = {k: v for k, v in os.environ.items()
               if k not in ("STACKUP_INSTANCE", "STACKUP_SERVICE")}
        try:
            return subprocess.Popen(
                [sys.executable, "-m", "stackup.server.keeper", str(state_dir)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True, close_fds=True, env=env,
            )
        finally:
            os.close(log)
    pid = os.fork()
    if pid:
        os.close(log)
        return Forked(pid)
    code = 1
    try:
        os.setsid()
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(log, 1)
        os.dup2(log, 2)
        for name in os.listdir("/proc/self/fd"):
            fd = int(name)
            if fd > 2:
                with contextlib.suppress(OSError):
                    os.close(fd)
        for marker in ("STACKUP_INSTANCE", "STACKUP_SERVICE"):
            os.environ.pop(marker, None)  # the keeper is no service
        code = main([str(state_dir)])
    except BaseException:
        traceback.print_exc()
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m stackup.server.keeper STATE_DIR", file=sys.stderr)
        return 2
    if answers(Path(args[0])):  # never take a live keeper's socket from it
        print("stackup keeper: a keeper already runs for this stack", file=sys.stderr)
        return 1
    # A title of its own: forked, it would carry its parent's command line, and `ps`
    # would show a second `stackup up` (or supervisor).
    setproctitle.setproctitle(f"stackup-keeper {args[0]}")
    Keeper(Path(args[0])).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
