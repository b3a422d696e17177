"""Shutdown: 10 services, each with 2 `sleep` grandchildren, stopped with SIGINT.

Once every service is listening, the tool's whole process tree is snapshotted (tool,
`sh`, services, grandchildren); then SIGINT goes to the tool alone and the snapshot is
polled every 5 ms (psutil; a zombie counts as gone). Measured: time until every process
of the snapshot is gone (the later of: services and grandchildren gone, tool exited),
and grandchildren still alive 12 s after the signal. Variant "deaf": one service ignores
SIGTERM (stackup is given `stop_timeout: 1`; honcho has a fixed 5 s wait before SIGKILL).
"""

from __future__ import annotations

import argparse
import math
import os
import signal
import time

import _common as c

SERVICES, CHILDREN, GIVE_UP = 10, 2, 12.0


def run(tool: str, deaf: bool) -> dict[str, float]:
    folder = c.workdir(f"down-{tool}")
    times = folder / "times"
    names = [f"d{i}" for i in range(SERVICES)]
    ports = dict(zip(names, c.free_ports(SERVICES), strict=True))
    cmds = {n: c.fixture(n, times, "--port", str(ports[n]), "--children", str(CHILDREN),
                         *(["--ignore-term"] if deaf and n == "d0" else []))
            for n in names}
    if tool == "stackup":
        cmd = c.stackup_cmd(c.write_stack(folder, {
            n: {"command": cmds[n], "port": ports[n], **({"stop_timeout": 1} if deaf else {})}
            for n in names}))
    else:
        cmd = c.honcho_cmd(c.write_procfile(folder, cmds))
    proc = c.launch(cmd, folder)
    got = c.wait_for(names, times, timeout=30)
    time.sleep(0.3)  # let the tool see every service ready
    seen = c.tree(proc.pid)
    sleeps = [p for p in seen if p.name() == "sleep"]
    if len(got) != SERVICES or len(sleeps) != SERVICES * CHILDREN:
        c.cleanup(proc, seen)
        raise SystemExit(f"{tool}: {len(got)} services, {len(sleeps)} grandchildren up")
    signalled = time.monotonic()
    os.kill(proc.pid, signal.SIGINT)
    all_gone = tool_gone = float("nan")
    while time.monotonic() - signalled < GIVE_UP:
        if math.isnan(tool_gone) and proc.poll() is not None:
            tool_gone = time.monotonic() - signalled
        if math.isnan(all_gone) and all(c.is_gone(p) for p in seen if p.pid != proc.pid):
            all_gone = time.monotonic() - signalled
        if not math.isnan(all_gone) and not math.isnan(tool_gone):
            break
        time.sleep(0.005)
    left = sum(1 for p in sleeps if not c.is_gone(p))
    c.cleanup(proc, seen)
    return {"all": max(all_gone, tool_gone), "svc": all_gone, "tool": tool_gone, "left": left}


def fmt(values: list[float]) -> str:
    done = [v for v in values if not math.isnan(v)]
    if len(done) < len(values):
        return f"never ({len(values) - len(done)} of {len(values)} runs)"
    return f"{c.med(done):.3f} s (max {max(done):.3f})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="1 run instead of 5")
    ap.add_argument("--runs", type=int, default=None)
    args = ap.parse_args()
    runs = args.runs or (1 if args.quick else 5)
    print(f"# shutdown — {c.machine()}, {runs} runs\n")
    rows = []
    for deaf in (False, True):
        for tool in ("stackup", "honcho"):
            res = [run(tool, deaf) for _ in range(runs)]
            rows.append([
                tool, "one ignores SIGTERM" if deaf else "all honour SIGTERM",
                fmt([r["all"] for r in res]), fmt([r["svc"] for r in res]),
                fmt([r["tool"] for r in res]),
                f"{max(int(r['left']) for r in res)} of {SERVICES * CHILDREN}",
            ])
    print(c.table(["tool", "services", "SIGINT → every process gone",
                   "services + grandchildren gone", "tool exited",
                   "grandchildren left alive (worst run)"], rows))


if __name__ == "__main__":
    main()
