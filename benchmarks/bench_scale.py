"""A large stack: 200 services in 20 levels of 10, each binding 50 ms after it starts.

Every service of level k depends on all 10 of level k−1 (1,800 edges). Measured per
run: launch → the last service listening (ideal: 20 × 50 ms = 1.0 s plus 20 spawns),
for stackup also → all 200 `healthy` in its state file; then, 1 s after, the memory
(RSS) of the supervisor and of the output keeper, separately, and their CPU over a 10 s
idle window (liveness checks every 2 s per service) as % of one core.

Peers (one run each: 190 wait loops forking a subshell per port and a `sleep` every
100 ms load 2 cores heavily — the load average passes 30): supervisord with priority per
level and honcho, each dependent behind the 100 ms loop polling its 10 dependencies.
Their "supervisor" is supervisord's process, honcho's process with its per-service
helpers. (A bash script with the same loops took 23.5 s: the loops, not the tool, are
the cost, so it is no floor here and is left out.) Run this figure last: the load it
leaves behind takes a minute to decay.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import _common as c
import psutil

LEVELS, WIDTH, DELAY = 20, 10, 0.05
IDLE_WINDOW = 10.0


def graph(times: Path) -> dict[str, c.Svc]:
    names = [[f"l{k:02d}s{i}" for i in range(WIDTH)] for k in range(LEVELS)]
    ports = iter(c.free_ports(LEVELS * WIDTH))
    out: dict[str, c.Svc] = {}
    for k, level in enumerate(names):
        for n in level:
            port = next(ports)
            out[n] = c.Svc(c.fixture(n, times, "--bind-delay", str(DELAY), "--port", str(port)),
                           port, names[k - 1] if k else [])
    return out


def own(tool: str, proc: psutil.Process) -> list[psutil.Process]:
    """The tool's own processes (honcho: itself and its helpers: same command line)."""
    if tool != "honcho":
        return [proc]
    cmd = proc.cmdline()
    return [p for p in c.tree(proc.pid) if p.cmdline() == cmd]


def all_healthy(folder: Path, names: list[str], timeout: float = 30.0) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        services = c.stackup_state(folder).get("services") or {}
        if isinstance(services, dict) and all(
                (services.get(n) or {}).get("state") == "healthy" for n in names):
            return time.time()
        time.sleep(0.01)
    return float("nan")


def cpu(procs: list[psutil.Process]) -> float:
    return sum(c.cpu_of(p) for p in procs)


def run(tool: str) -> dict[str, float]:
    folder = c.workdir(f"scale-{tool}")
    times = folder / "times"
    services = graph(times)
    cmd = c.build(tool, folder, services)
    launched = time.time()
    proc = c.launch(cmd, folder)
    seen: list[psutil.Process] = []
    res: dict[str, float] = {}
    try:
        got = c.wait_for(services, times, timeout=90, every=0.02)
        seen = c.tree(proc.pid)
        if set(got) != set(services):
            raise c.failed(tool, f"only {len(got)} of {len(services)} came up", folder)
        res["bound"] = max(b for _, b in got.values()) - launched
        # Per level: the last of level k listening → the first of level k+1 started
        # (the tool noticing and spawning), and the first → last start within a level.
        lv = [[got[f"l{k:02d}s{i}"] for i in range(WIDTH)] for k in range(LEVELS)]
        res["gap"] = c.med([min(s for s, _ in lv[k + 1]) - max(b for _, b in lv[k])
                            for k in range(LEVELS - 1)])
        res["spread"] = c.med([max(s for s, _ in lv[k]) - min(s for s, _ in lv[k])
                               for k in range(LEVELS)])
        res["first"] = min(s for s, _ in lv[0]) - launched
        res["healthy"] = (all_healthy(folder, list(services)) - launched
                          if tool == "stackup" else float("nan"))
        state = folder / ".stackup" / "state.json"
        res["state_kb"] = state.stat().st_size / 1024 if state.exists() else float("nan")
        time.sleep(1.0)
        root = psutil.Process(proc.pid)
        sup = own(tool, root)
        keeper = [k] if tool == "stackup" and (k := c.keeper_of(proc.pid)) else []
        seen += c.tree(proc.pid)
        before_s, before_k, began = cpu(sup), cpu(keeper), time.monotonic()
        time.sleep(IDLE_WINDOW)
        spent = time.monotonic() - began
        res["idle_sup"] = 100 * (cpu(sup) - before_s) / spent
        res["idle_keeper"] = 100 * (cpu(keeper) - before_k) / spent if keeper else float("nan")
        res["rss_sup"] = sum(c.rss_mb(p) for p in sup)
        res["rss_keeper"] = c.rss_mb(keeper[0]) if keeper else float("nan")
        res["procs"] = len(sup)
    finally:
        c.stop_tool(tool, proc)
        c.cleanup(proc, seen)
    c.remove(folder)
    return res


PEERS = ("honcho", "supervisord")  # the bash script's 190 loops take ~25 s: not the floor here


def measure(runs: int, peer_runs: int = 1) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for tool in ("stackup", *PEERS):
        rs = [c.attempt(run, tool) for _ in range(runs if tool == "stackup" else peer_runs)]
        out[tool] = {k: c.med([r[k] for r in rs]) for k in rs[0]}
        out[tool]["runs"] = len(rs)
        out[tool]["bound_max"] = max(r["bound"] for r in rs)
    return out


def report(out: dict[str, dict[str, float]]) -> str:
    rows = []
    for tool, r in out.items():
        rows.append([
            tool if tool == "stackup" else f"{tool} + wait loop", int(r["runs"]),
            c.secs(r["bound"]), c.secs(r["bound_max"]), c.secs(r["healthy"]),
            c.ms(r["first"]), c.ms(r["gap"]), c.ms(r["spread"]),
            f"{r['rss_sup']:.0f} MB" + (f" ({int(r['procs'])} processes)"
                                         if r["procs"] > 1 else ""),
            "—" if r["rss_keeper"] != r["rss_keeper"] else f"{r['rss_keeper']:.0f} MB",
            f"{r['idle_sup']:.2f} %",
            "—" if r["idle_keeper"] != r["idle_keeper"] else f"{r['idle_keeper']:.2f} %",
        ])
    su = out.get("stackup", {})
    note = (f"\n\nstackup's state file with {LEVELS * WIDTH} services: "
            f"{su.get('state_kb', float('nan')):.0f} KB, rewritten on every burst of changes.")
    return (f"### {LEVELS * WIDTH} services in {LEVELS} levels of {WIDTH}, {DELAY * 1000:.0f} ms "
            f"bind delay each (ideal {LEVELS * DELAY:.1f} s + spawns; medians)\n\n"
            + c.table(["tool", "runs", "launch → all listening", "max",
                       "→ all healthy (state file)", "launch → first spawned",
                       "per level: last listening → next level's first start",
                       "per level: first → last start", "supervisor RSS", "keeper RSS",
                       f"supervisor idle CPU ({IDLE_WINDOW:.0f} s)", "keeper idle CPU"], rows)
            + note)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--peer-runs", type=int, default=1)
    args = ap.parse_args()
    c.compile_stackup()
    print(f"# scale — {c.machine()}\n")
    print(report(measure(args.runs, args.peer_runs)))


if __name__ == "__main__":
    main()
