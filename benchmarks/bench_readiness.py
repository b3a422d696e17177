"""Readiness ordering: a chain of 10 services and a diamond, stackup vs honcho + wait loop.

Chain: s0 → s1 → … → s9, each binding 200 ms after it starts. Measured per run: time
from launching the tool to s9 bound, overhead per link `(t9_bound − launch − 10×0.2)/10`,
the dependent start latency `s(i+1).start − s(i).bound` (SPEC: under 20 ms), and
ordering violations (a dependent started before its dependency was bound).
Diamond: db → {api1, api2} → web, 300 ms bind delay each: time to web ready, and the gap
between api1's and api2's starts (together = parallel).

`start` is recorded by the fixture as its first statement, so every latency includes
spawning `/bin/sh -c python3 …` and the interpreter's start-up: the "spawn floor",
measured here by launching the fixture directly, is reported beside it.
"""

from __future__ import annotations

import argparse
import subprocess
import time

import _common as c

CHAIN, CHAIN_DELAY = 10, 0.2
DIAMOND = {"db": [], "api1": ["db"], "api2": ["db"], "web": ["api1", "api2"]}
DIAMOND_DELAY = 0.3


def spawn_floor(tries: int = 10) -> float:
    """Median time from Popen(`/bin/sh -c fixture`) to the fixture's first statement."""
    folder = c.workdir("floor")
    out = []
    for i in range(tries):
        times = folder / f"t{i}"
        began = time.time()
        subprocess.run(["/bin/sh", "-c", c.fixture("x", times, "--exit")], check=True)
        out.append(c.read_times(times)["x"][0] - began)
    return c.med(out)


Times = dict[str, tuple[float, float]]


def run_graph(tool: str, deps: dict[str, list[str]], delay: float) -> tuple[float, Times]:
    """Start the graph under `tool`; return launch time and {name: (start, bound)}."""
    folder = c.workdir(f"ready-{tool}")
    times = folder / "times"
    ports = dict(zip(deps, c.free_ports(len(deps)), strict=True))
    cmds = {n: c.fixture(n, times, "--bind-delay", str(delay), "--port", str(ports[n]))
            for n in deps}
    if tool == "stackup":
        stack = c.write_stack(folder, {
            n: {"command": cmds[n], "port": ports[n], **({"depends_on": d} if d else {})}
            for n, d in deps.items()})
        cmd = c.stackup_cmd(stack)
    else:
        procfile = c.write_procfile(folder, {
            n: c.wait_loop([ports[d] for d in deps[n]], cmds[n]) if deps[n] else cmds[n]
            for n in deps})
        cmd = c.honcho_cmd(procfile)
    launched = time.time()
    proc = c.launch(cmd, folder)
    got = c.wait_for(deps, times, timeout=30)
    seen = c.tree(proc.pid)
    c.stop(proc)
    c.cleanup(proc, seen)
    if set(got) != set(deps):
        raise SystemExit(f"{tool}: only {sorted(got)} came up; see {folder}")
    return launched, got


def chain_run(tool: str) -> dict[str, object]:
    deps = {f"s{i}": [f"s{i - 1}"] if i else [] for i in range(CHAIN)}
    launched, got = run_graph(tool, deps, CHAIN_DELAY)
    lat = [got[f"s{i + 1}"][0] - got[f"s{i}"][1] for i in range(CHAIN - 1)]
    total = got[f"s{CHAIN - 1}"][1] - launched
    return {"total": total, "overhead": (total - CHAIN * CHAIN_DELAY) / CHAIN,
            "first": got["s0"][0] - launched,
            "lat": lat, "violations": sum(1 for x in lat if x < 0)}


def diamond_run(tool: str) -> dict[str, float]:
    launched, got = run_graph(tool, DIAMOND, DIAMOND_DELAY)
    return {"web": got["web"][1] - launched, "gap": abs(got["api1"][0] - got["api2"][0]),
            "ok": all(got[n][0] >= got[d][1] for n, ds in DIAMOND.items() for d in ds)}


def ms(x: float) -> str:
    return f"{x * 1000:.1f} ms"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="2 runs instead of 5")
    ap.add_argument("--runs", type=int, default=None)
    args = ap.parse_args()
    runs = args.runs or (2 if args.quick else 5)
    floor = spawn_floor()
    print(f"# readiness — {c.machine()}, {runs} runs, spawn floor {ms(floor)}\n")
    rows, drows = [], []
    for tool in ("stackup", "honcho"):
        label = tool if tool == "stackup" else "honcho + 100 ms wait loop"
        chains = [chain_run(tool) for _ in range(runs)]
        lat = [x for r in chains for x in r["lat"]]  # type: ignore[attr-defined]
        rows.append([
            label, ms(c.med([r["first"] for r in chains])),
            f"{c.med([r['total'] for r in chains]):.2f} s",
            ms(c.med([r["overhead"] for r in chains])),
            ms(c.med(lat)), ms(c.pct(lat, 0.95)), ms(max(lat)),
            ms(c.med(lat) - floor), sum(r["violations"] for r in chains),
        ])
        dia = [diamond_run(tool) for _ in range(runs)]
        drows.append([
            label, f"{c.med([d['web'] for d in dia]):.2f} s",
            ms(c.med([d["gap"] for d in dia])), ms(max(d["gap"] for d in dia)),
            "yes" if all(d["ok"] for d in dia) else "NO",
        ])
    print("## chain of 10 (200 ms bind delay each)\n")
    print(c.table(["tool", "launch → s0 started", "time to s9 ready", "overhead/link",
                   "dep. start latency median", "p95", "max", "median − spawn floor",
                   "ordering violations"], rows))
    print("\n## diamond db → {api1, api2} → web (300 ms bind delay each; ideal 0.9 s)\n")
    print(c.table(["tool", "time to web ready", "api1/api2 start gap median", "max",
                   "order respected"], drows))


if __name__ == "__main__":
    main()
