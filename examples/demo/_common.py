"""What every demo service shares: ports from the environment, CORS, JSON replies,
Django-style request logs and a clean stop on SIGTERM / SIGINT. Stdlib only."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def port(var: str = "PORT", default: int = 0) -> int:
    """A port from the environment: stackup sets PORT and <NAME>_PORT for every service."""
    value = os.environ.get(var, "")
    if not value:
        if default:
            return default
        sys.exit(f"error: {var} is not set")
    try:
        return int(value)
    except ValueError:
        sys.exit(f"error: {var}={value!r} is not a port number")


# Installed on import, before anything else runs, so a SIGTERM that arrives during
# start-up also ends in a clean exit 0. The handler only records the signal; the
# main thread acts on it (calling `server.shutdown()` from inside `serve_forever()`'s
# own thread would deadlock).
STOP = threading.Event()
NAME = os.path.splitext(os.path.basename(sys.argv[0]))[0] or "demo"


def say(message: str) -> None:
    """Print a line; if nobody reads our output any more (the supervisor that started
    us was killed), carry on quietly instead of dying of a BrokenPipeError."""
    with contextlib.suppress(OSError):
        print(message, flush=True)


def _on_signal(signum: int, _frame) -> None:
    say(f"{NAME}: received {signal.Signals(signum).name}, shutting down")
    STOP.set()


signal.signal(signal.SIGTERM, _on_signal)
signal.signal(signal.SIGINT, _on_signal)


def run_until_signal(server) -> None:
    """Serve in a thread until SIGTERM or SIGINT, then shut down and return (exit 0)."""
    # A short poll interval so shutdown() returns within ~0.1 s.
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
    )
    thread.start()
    STOP.wait()
    server.shutdown()
    thread.join()
    server.server_close()
    say(f"{NAME}: stopped")


def runserver_banner(*details: str) -> None:
    """What Django's `manage.py runserver` prints when it starts, with our details."""
    print("Performing system checks...", flush=True)
    print("System check identified no issues (0 silenced).")
    for line in details:
        print(line)
    print(f"CORS_ALLOWED_ORIGINS={os.environ.get('CORS_ALLOWED_ORIGINS', '')}")
    print(f"Starting development server at http://127.0.0.1:{port()}/")
    print("Quit the server with CONTROL-C.", flush=True)


def make_http_server(handler: type[BaseHTTPRequestHandler]) -> ThreadingHTTPServer:
    """Bind 127.0.0.1:$PORT, or exit 1 with a one-line message (no traceback)."""
    ThreadingHTTPServer.allow_reuse_address = True
    ThreadingHTTPServer.daemon_threads = True
    p = port()
    try:
        return ThreadingHTTPServer(("127.0.0.1", p), handler)
    except OSError as exc:
        sys.exit(f"{NAME}: cannot listen on 127.0.0.1:{p}: {exc.strerror}")


def db_query(*commands: str, timeout: float = 1.0) -> list[str]:
    """Send command lines to the demo db (at $DB_PORT) and return its reply lines."""
    addr = ("127.0.0.1", port("DB_PORT", 15432))
    with socket.create_connection(addr, timeout=timeout) as sock:
        conn = sock.makefile("rw", encoding="utf-8", newline="\n")
        greeting = conn.readline().strip()
        if greeting != "demo-db ok":
            raise ConnectionError(f"unexpected greeting from {addr[0]}:{addr[1]}: {greeting!r}")
        replies = []
        for command in commands:
            conn.write(command + "\n")
            conn.flush()
            replies.append(conn.readline().rstrip("\n"))
        return replies


def allowed_origins() -> list[str]:
    raw = os.environ.get("CORS_ALLOWED_ORIGINS", "")
    return [o.strip().rstrip("/") for o in raw.split(",") if o.strip()]


class ApiHandler(BaseHTTPRequestHandler):
    """JSON replies, CORS from CORS_ALLOWED_ORIGINS, and runserver-style logging."""

    server_version = "demo"
    protocol_version = "HTTP/1.1"
    quiet_paths: tuple[str, ...] = ()  # 200s on these are not logged (health-check noise)

    def cors_headers(self) -> None:
        origin = self.headers.get("Origin")
        if not origin:
            return
        if origin.rstrip("/") in allowed_origins():
            self.send_header("Access-Control-Allow-Origin", origin)
            self.send_header("Vary", "Origin")
        else:
            # The browser will block this response: say so, as the CORS middleware would.
            print(
                f"WARNING: CORS: origin {origin} is not in CORS_ALLOWED_ORIGINS "
                f"({os.environ.get('CORS_ALLOWED_ORIGINS', '') or 'unset'})",
                flush=True,
            )

    def send_response(self, code: int, message: str | None = None) -> None:
        # The base class logs here, before the size is known; we log in send_json.
        self.send_response_only(code, message)
        self.send_header("Server", self.version_string())
        self.send_header("Date", self.date_time_string())

    def send_json(self, status: int, payload) -> None:
        body = json.dumps(payload).encode()
        self.log_request(status, len(body))
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.cors_headers()
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_OPTIONS(self) -> None:  # CORS preflight
        self.log_request(204, 0)
        self.send_response(204)
        self.cors_headers()
        self.send_header("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
        self.send_header(
            "Access-Control-Allow-Headers",
            self.headers.get("Access-Control-Request-Headers", "Content-Type"),
        )
        self.send_header("Access-Control-Max-Age", "600")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_request(self, code="-", size="-") -> None:
        if self.path in self.quiet_paths and str(code).startswith("2"):
            return
        stamp = time.strftime("%d/%b/%Y %H:%M:%S")
        print(f'[{stamp}] "{self.requestline}" {code} {size}', flush=True)

    def log_error(self, format: str, *args) -> None:  # noqa: A002 - base class signature
        print(f"ERROR: {format % args}", flush=True)
