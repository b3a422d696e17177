#!/usr/bin/env python3
"""A configurable fixture service for stackup's integration tests (stdlib only).

It behaves like the services users run: binds a port after a delay, prints lines,
forks grandchildren (optionally escaping into their own session), ignores SIGTERM,
exits early with a code, or serves HTTP.
"""

from __future__ import annotations

import argparse
import http.server
import os
import signal
import socket
import subprocess
import sys
import threading
import time


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, default=int(os.environ.get("PORT", "0") or 0))
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--bind-delay", type=float, default=0.0)
    p.add_argument("--http", action="store_true", help="serve HTTP instead of raw TCP")
    p.add_argument("--http-status", type=int, default=200)
    p.add_argument("--http-name", default=None, help="start each HTTP answer with this name")
    p.add_argument("--http-fail-after", type=float, default=None, help="then answer 500")
    p.add_argument("--html", action="store_true", help="answer GETs with a text/html page")
    p.add_argument("--close-stdout", action="store_true", help="close stdout, keep running")
    p.add_argument("--long-line", type=int, default=0, help="write N bytes with no newline")
    p.add_argument("--raw", default=None, help="write these bytes (Python escapes) to stdout")
    p.add_argument("--lines", type=int, default=0, help="print N numbered lines at start")
    p.add_argument("--say", action="append", default=[], help="print this line at start")
    p.add_argument("--say-when-bound", default=None, help="print this line once listening")
    p.add_argument("--children", type=int, default=0, help="spawn N `sleep 1000` children")
    p.add_argument("--setsid-children", action="store_true", help="children escape via setsid")
    p.add_argument("--ignore-term", action="store_true")
    p.add_argument("--exit-after", type=float, default=None)
    p.add_argument("--exit-code", type=int, default=0)
    p.add_argument("--pidfile", default=None, help="append own pid and children's pids here")
    p.add_argument("--touch", default=None, help="append a line '<name> <time>' to this file")
    return p.parse_args()


def serve_http(
    sock: socket.socket, status: int, fail_after: float | None, html: bool = False,
    name: str | None = None,
) -> None:
    began = time.monotonic()
    # CORS as django-cors-headers does it: origins listed in CORS_ALLOWED_ORIGINS.
    allowed = [o.strip() for o in os.environ.get("CORS_ALLOWED_ORIGINS", "").split(",")]

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            failing = fail_after is not None and time.monotonic() - began > fail_after
            code = 500 if failing else status
            body = f"{name + ' ' if name else ''}{self.path} {code}\n".encode()
            self.send_response(code)
            if html:
                self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_OPTIONS(self) -> None:  # noqa: N802 - a CORS preflight
            self.send_response(200)
            origin = self.headers.get("Origin")
            if origin and origin in allowed:
                self.send_header("Access-Control-Allow-Origin", origin)
                self.send_header("Access-Control-Allow-Methods", "GET, OPTIONS")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler, bind_and_activate=False)
    server.socket.close()
    server.socket = sock
    threading.Thread(target=server.serve_forever, daemon=True).start()


def accept_forever(sock: socket.socket) -> None:
    def loop() -> None:
        while True:
            try:
                conn, _ = sock.accept()
            except OSError:
                return
            conn.close()

    threading.Thread(target=loop, daemon=True).start()


def main() -> int:
    args = parse()
    if args.ignore_term:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    else:
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    pids = [os.getpid()]
    for _ in range(args.children):
        child = subprocess.Popen(
            ["sleep", "1000"], start_new_session=args.setsid_children, stdin=subprocess.DEVNULL
        )
        pids.append(child.pid)
    if args.pidfile:
        with open(args.pidfile, "a") as f:
            f.write(" ".join(map(str, pids)) + "\n")
    if args.touch:
        with open(args.touch, "a") as f:
            f.write(f"{os.environ.get('STACKUP_SERVICE', '?')} {time.time():.6f}\n")
    for line in args.say:
        print(line, flush=True)
    if args.raw is not None:
        sys.stdout.buffer.write(args.raw.encode().decode("unicode_escape").encode("latin-1"))
        sys.stdout.buffer.write(b"\n")
    if args.long_line:
        chunk = b"y" * 65536
        for _ in range(args.long_line // len(chunk)):
            sys.stdout.buffer.write(chunk)
        sys.stdout.buffer.write(b"\nafter-long-line\n")
    for i in range(args.lines):
        print(f"line {i:08d} " + "x" * 80, flush=False)
    sys.stdout.flush()
    if args.close_stdout:
        os.close(1)
        os.close(2)
    if args.port:
        time.sleep(args.bind_delay)
        family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((args.host, args.port))
        sock.listen(64)
        if args.http:
            serve_http(sock, args.http_status, args.http_fail_after, args.html, args.http_name)
        else:
            accept_forever(sock)
        if args.say_when_bound:
            print(args.say_when_bound, flush=True)
    if args.exit_after is not None:
        time.sleep(args.exit_after)
        return args.exit_code
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    sys.exit(main())
