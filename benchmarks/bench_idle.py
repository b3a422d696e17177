"""Idle cost: 20 healthy services up; the supervisor's CPU and memory, and CLI latency.

CPU: user+system time of the tool's own processes (the tool plus helpers forked from it
with the same command line — honcho's per-service helpers; services excluded) over a
20 s window that starts 1 s after every service is listening, as % of one core.
Memory: RSS and PSS (psutil memory_full_info) summed over those processes.
CLI: wall time of `stackup --version`, `stackup -f STACK ports` and `… status` (with the
stack up, so port owners and states are looked up), and `honcho --version`, median of 10.
"""

from __future__ import annotations

import argparse
import subprocess
import time
from pathlib import Path

import _common as c
import psutil

SERVICES = 20


def own(pid: int) -> list[psutil.Process]:
    procs = c.tree(pid)
    if not procs:
        return []
    cmd = procs[0].cmdline()
    return [p for p in procs if p.cmdline() == cmd]


def cpu(procs: list[psutil.Process]) -> float:
    total = 0.0
    for p in procs:
        t = p.cpu_times()
        total += t.user + t.system
    return total


def cli_latency(cmd: list[str], cwd: Path, tries: int = 10) -> float:
    """Median wall time; a failing command makes the figure negative (shown as failed)."""
    out, failed = [], False
    for _ in range(tries):
        began = time.perf_counter()
        done = subprocess.run(cmd, cwd=cwd, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, check=False)
        out.append(time.perf_counter() - began)
        failed |= done.returncode != 0
    return -c.med(out) if failed else c.med(out)


def shown(r: dict[str, float], key: str) -> str:
    if key not in r:
        return "n/a"
    ms = f"{abs(r[key]) * 1000:.0f} ms"
    return ms if r[key] >= 0 else f"{ms} (exit ≠ 0)"


def run(tool: str, window: float) -> dict[str, float]:
    folder = c.workdir(f"idle-{tool}")
    times = folder / "times"
    names = [f"i{i}" for i in range(SERVICES)]
    ports = dict(zip(names, c.free_ports(SERVICES), strict=True))
    cmds = {n: c.fixture(n, times, "--port", str(ports[n])) for n in names}
    if tool == "stackup":
        stack = c.write_stack(folder, {n: {"command": cmds[n], "port": ports[n]} for n in names})
        cmd = c.stackup_cmd(stack)
    else:
        cmd = c.honcho_cmd(c.write_procfile(folder, cmds))
    proc = c.launch(cmd, folder)
    res: dict[str, float] = {}
    seen: list[psutil.Process] = []
    try:
        got = c.wait_for(names, times, timeout=30)
        if len(got) != SERVICES:
            raise SystemExit(f"{tool}: only {len(got)} services came up; see {folder}")
        time.sleep(1.0)
        seen = c.tree(proc.pid)
        procs = own(proc.pid)
        before, began = cpu(procs), time.monotonic()
        time.sleep(window)
        used, spent = cpu(procs) - before, time.monotonic() - began
        mem = [p.memory_full_info() for p in procs]
        res = {"cpu": 100 * used / spent, "rss": sum(m.rss for m in mem) / 2**20,
               "pss": sum(m.pss for m in mem) / 2**20, "procs": len(procs)}
        if tool == "stackup":
            res["version"] = cli_latency([c.STACKUP, "--version"], folder)
            res["ports"] = cli_latency([c.STACKUP, "-f", str(stack), "ports"], folder)
            res["status"] = cli_latency([c.STACKUP, "-f", str(stack), "status"], folder)
        else:
            res["version"] = cli_latency([c.HONCHO, "--version"], folder)
    finally:
        c.stop(proc)
        c.cleanup(proc, seen)
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="5 s window instead of 20 s")
    args = ap.parse_args()
    window = 5.0 if args.quick else 20.0
    print(f"# idle — {c.machine()}, {SERVICES} services, {window:g} s window\n")
    rows = []
    for tool in ("stackup", "honcho"):
        r = run(tool, window)
        rows.append([tool, f"{r['cpu']:.2f} %", f"{r['rss']:.0f} MB", f"{r['pss']:.0f} MB",
                     int(r["procs"]), shown(r, "version"), shown(r, "ports"), shown(r, "status")])
    print(c.table(["tool", "idle CPU (% of one core)", "RSS", "PSS", "own processes",
                   "`--version`", "`ports`", "`status`"], rows))


if __name__ == "__main__":
    main()
