"""Output relay: 4 services × 200,000 lines × 100 bytes at once, stackup vs honcho.

The benchmark reads the tool's stdout through a pipe and, while reading, only counts
lines ending in the payload's `x\\n` (cheap, so the reader is never the bottleneck);
every line is parsed after the run. Measured: wall time from launching the tool until
the last of the 4×N lines arrived, lines lost, lines cut or spliced (a service line must
parse back exactly into `<name> <seq> xxx…` under a prefix naming the same service), and
the tool's own CPU time (user+system, psutil) at that moment. "Own" means the tool's
process plus any helper process it forked from itself (same command line: honcho's one
multiprocessing helper per service); the services and their `sh` are excluded.
"""

from __future__ import annotations

import argparse
import math
import os
import select
import subprocess
import threading
import time

import _common as c
import psutil

SERVICES, WIDTH = 4, 100


def tool_cpu(pid: int) -> float:
    procs = c.tree(pid)
    if not procs:
        return float("nan")
    own = procs[0].cmdline()
    total = 0.0
    for p in procs:
        try:
            if p.pid == pid or p.cmdline() == own:
                t = p.cpu_times()
                total += t.user + t.system
        except psutil.Error:
            pass
    return total


def check(data: bytes, names: list[str], count: int) -> tuple[int, int]:
    """(lines lost, lines cut or spliced) in the tool's output."""
    seen: set[tuple[str, int]] = set()
    bad = 0
    for raw in data.split(b"\n"):
        line = raw.decode("utf-8", "replace")
        head, sep, payload = line.partition(" | ")
        label = head.split(" ", 1)[1].strip().split(".")[0] if " " in head else ""
        if not sep or label == "system" or not line:
            continue
        parts = payload.split(" ", 2)
        ok = (len(parts) == 3 and parts[0] == label and parts[0] in names
              and parts[1].isdigit() and len(payload) == WIDTH - 1
              and parts[2] == "x" * len(parts[2]))
        if ok and int(parts[1]) < count:
            seen.add((parts[0], int(parts[1])))
        else:
            bad += 1
    return len(names) * count - len(seen), bad


def run(tool: str, count: int, idle_timeout: float = 5.0) -> dict[str, float]:
    folder = c.workdir(f"relay-{tool}")
    names = [f"r{i}" for i in range(SERVICES)]
    cmds = {n: c.fixture(n, None, "--lines", str(count), "--width", str(WIDTH)) for n in names}
    if tool == "stackup":
        cmd = c.stackup_cmd(c.write_stack(folder, {n: {"command": cmds[n]} for n in names}))
    else:
        cmd = c.honcho_cmd(c.write_procfile(folder, cmds))
    expected = SERVICES * count
    chunks: list[bytes] = []
    arrived = 0
    last = b""
    first_at = done_at = cpu = float("nan")
    launched = time.time()
    proc = c.launch(cmd, folder, stdout=subprocess.PIPE)
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    seen = c.tree(proc.pid)
    while True:
        ready, _, _ = select.select([fd], [], [], idle_timeout)
        if not ready:
            break  # nothing for idle_timeout: whatever is missing is lost
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            break
        chunks.append(chunk)
        n = chunk.count(b"x\n") + (last == b"x" and chunk[:1] == b"\n")
        if n and arrived == 0:
            first_at = time.time()
            seen = c.tree(proc.pid)
        arrived += n
        last = chunk[-1:]
        if arrived >= expected:
            done_at = time.time()
            cpu = tool_cpu(proc.pid)
            break
    seen += c.tree(proc.pid)
    if math.isnan(cpu):  # incomplete
        cpu = tool_cpu(proc.pid)
    time.sleep(0.3)  # stragglers, e.g. a line relayed twice
    while select.select([fd], [], [], 0)[0] and (chunk := os.read(fd, 1 << 20)):
        chunks.append(chunk)
    drain = threading.Thread(target=proc.stdout.read)  # until the tool exits
    drain.start()
    c.stop(proc)
    c.cleanup(proc, seen)
    drain.join(5)
    lost, bad = check(b"".join(chunks), names, count)
    return {"wall": done_at - launched, "stream": done_at - first_at,
            "first": first_at - launched, "lost": lost, "bad": bad, "cpu": cpu}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="4 × 50,000 lines, 1 run")
    ap.add_argument("--runs", type=int, default=None)
    ap.add_argument("--lines", type=int, default=None)
    args = ap.parse_args()
    count = args.lines or (50_000 if args.quick else 200_000)
    runs = args.runs or (1 if args.quick else 3)
    print(f"# relay — {c.machine()}, {SERVICES} × {count:,} lines × {WIDTH} B, {runs} runs\n")
    rows = []
    for tool in ("stackup", "honcho"):
        res = [run(tool, count) for _ in range(runs)]
        wall = c.med([r["wall"] for r in res])
        rows.append([
            tool, f"{wall:.2f} s", f"{c.med([r['stream'] for r in res]):.2f} s",
            f"{SERVICES * count / wall / 1000:.0f} k/s",
            max(int(r["lost"]) for r in res), max(int(r["bad"]) for r in res),
            f"{c.med([r['cpu'] for r in res]):.2f} s",
        ])
    print(c.table(["tool", "launch → all lines arrived", "first → last line", "lines/s",
                   "lines lost (worst run)", "cut/spliced (worst run)",
                   "tool's own CPU"], rows))


if __name__ == "__main__":
    main()
