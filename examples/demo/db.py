"""demo db — stands in for PostgreSQL: a tiny line-based key/value server.

Listens on 127.0.0.1:$PORT after ~0.5 s of "recovery", like a real database that
takes a moment before it accepts connections. Each connection is greeted with
`demo-db ok`, then answers one reply line per command line:

    PING              -> PONG
    SET key value     -> OK            (value is the rest of the line)
    GET key           -> VALUE value   or NIL
    KEYS              -> KEYS k1 k2 ...

The data lives in memory (a dict): it is gone when the process stops.
"""

from __future__ import annotations

import os
import socketserver
import sys
import threading

from _common import STOP, port, run_until_signal

DATA: dict[str, str] = {}
LOCK = threading.Lock()


class Handler(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        try:
            self.wfile.write(b"demo-db ok\n")
            for raw in self.rfile:
                reply = execute(raw.decode("utf-8", "replace").strip())
                self.wfile.write(reply.encode() + b"\n")
        except ConnectionError:
            pass  # a TCP health check connects and hangs up without reading: normal


def execute(line: str) -> str:
    cmd, _, rest = line.partition(" ")
    cmd = cmd.upper()
    with LOCK:
        if cmd == "PING":
            return "PONG"
        if cmd == "SET":
            key, _, value = rest.partition(" ")
            if not key:
                return "ERR usage: SET key value"
            DATA[key] = value
            return "OK"
        if cmd == "GET":
            return f"VALUE {DATA[rest]}" if rest in DATA else "NIL"
        if cmd == "KEYS":
            return " ".join(["KEYS", *sorted(DATA)])
    return f"ERR unknown command {cmd!r}"


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


def main() -> None:
    p = port()
    print(f"LOG:  starting demo-db (pid {os.getpid()}) on 127.0.0.1:{p}", flush=True)
    print("LOG:  database system was shut down; starting up", flush=True)
    if STOP.wait(0.5):  # the start-up delay a health check has to wait out
        return  # stopped while still starting: nothing to clean up
    try:
        server = Server(("127.0.0.1", p), Handler)
    except OSError as exc:
        sys.exit(f"FATAL:  could not bind to 127.0.0.1:{p}: {exc.strerror}")
    print(f'LOG:  listening on IPv4 address "127.0.0.1", port {p}', flush=True)
    print("LOG:  database system is ready to accept connections", flush=True)
    run_until_signal(server)


if __name__ == "__main__":
    main()
