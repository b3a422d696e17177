"""The fixture service every benchmark runs, under stackup and under its peers (stdlib only).

Records its start time first thing (before any other import), binds 127.0.0.1:PORT
`--bind-delay` seconds after that start, appends `name start bound` (time.time()) to
`--times FILE`, optionally prints `--lines N` numbered lines of exactly `--width` bytes
(newline included) as fast as it can, forks `--children N` `sleep` grandchildren, and
then stays until signalled (or exits with `--exit`). `--max-life` bounds its life, so a
lost fixture never lingers.
"""

import time

STARTED = time.time()

import argparse  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402


def payload_lines(name: str, count: int, width: int) -> bytes:
    """`<name> <seq> xxx…\\n`, each exactly `width` bytes; parsed back by bench_relay."""
    out = []
    for seq in range(count):
        head = f"{name} {seq} "
        out.append(head + "x" * (width - 1 - len(head)) + "\n")
    return "".join(out).encode()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--name", default=os.environ.get("BENCH_NAME", "svc"))
    ap.add_argument("--port", type=int, default=int(os.environ.get("PORT", "0")))
    ap.add_argument("--bind-delay", type=float, default=0.0)
    ap.add_argument("--times", help="append `name start bound` to this file")
    ap.add_argument("--lines", type=int, default=0)
    ap.add_argument("--width", type=int, default=100)
    ap.add_argument("--children", type=int, default=0)
    ap.add_argument("--ignore-term", action="store_true")
    ap.add_argument("--exit", action="store_true", help="exit 0 after printing")
    ap.add_argument("--max-life", type=float, default=300.0)
    args = ap.parse_args()

    if args.ignore_term:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    sleeper = str(int(args.max_life))
    kids = [subprocess.Popen(["sleep", sleeper]) for _ in range(args.children)]
    time.sleep(max(0.0, STARTED + args.bind_delay - time.time()))  # delay counts from start
    sock = None
    if args.port:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", args.port))
        sock.listen(128)
    bound = time.time()
    if args.times:
        with open(args.times, "a") as f:
            f.write(f"{args.name} {STARTED:.6f} {bound:.6f}\n")
    if args.lines:
        data = payload_lines(args.name, args.lines, args.width)
        out = sys.stdout.buffer
        for i in range(0, len(data), 1 << 16):  # many writes, as a chatty service does
            out.write(data[i : i + (1 << 16)])
            out.flush()
    if args.exit:
        return 0
    deadline = STARTED + args.max_life
    try:
        while time.time() < deadline:
            if sock is not None:  # accept and drop health-check connections
                sock.settimeout(max(0.01, min(1.0, deadline - time.time())))
                try:
                    conn, _ = sock.accept()
                    conn.close()
                except OSError:
                    pass
            else:
                time.sleep(1.0)
    except KeyboardInterrupt:
        pass
    for kid in kids:
        kid.poll()
    return 0


if __name__ == "__main__":
    sys.exit(main())
