"""Readiness ordering: a chain of 10 services and a diamond, stackup vs its peers + wait loop.

Tools (`_common.build`): stackup (`depends_on`), honcho and supervisord (`priority`)
with the 100 ms wait loop their users write before each dependent, and a bash script
with the same loop.

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
    services = {n: c.Svc(c.fixture(n, times, "--bind-delay", str(delay), "--port",
                                   str(ports[n])), ports[n], list(deps[n])) for n in deps}
    cmd = c.build(tool, folder, services)
    launched = time.time()
    proc = c.launch(cmd, folder)
    seen = []
    try:
        got = c.wait_for(deps, times, timeout=30, every=0.01)
        seen = c.tree(proc.pid)
    finally:
        c.stop_tool(tool, proc)
        c.cleanup(proc, seen)
    if set(got) != set(deps):
        raise c.failed(tool, f"only {sorted(got)} came up", folder)
    c.remove(folder)
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


def measure(runs: int) -> dict[str, object]:
    floor = spawn_floor()
    chains: dict[str, list[dict[str, object]]] = {t: [] for t in c.TOOLS}
    dias: dict[str, list[dict[str, float]]] = {t: [] for t in c.TOOLS}
    for _ in range(runs):  # tools take turns: load drifts hit all alike
        for tool in c.TOOLS:
            chains[tool].append(c.attempt(chain_run, tool))
            dias[tool].append(c.attempt(diamond_run, tool))
    out: dict[str, object] = {"floor": floor}
    for tool in c.TOOLS:
        rs = chains[tool]
        lat = [x for r in rs for x in r["lat"]]  # type: ignore[attr-defined]
        dia = dias[tool]
        out[tool] = {
            "first": c.med([r["first"] for r in rs]),  # type: ignore[misc]
            "total": c.med([r["total"] for r in rs]),  # type: ignore[misc]
            "overhead": c.med([r["overhead"] for r in rs]),  # type: ignore[misc]
            "lat": c.med(lat), "lat_p95": c.pct(lat, 0.95), "lat_max": max(lat),
            "violations": sum(r["violations"] for r in rs),  # type: ignore[misc]
            "web": c.med([d["web"] for d in dia]), "web_max": max(d["web"] for d in dia),
            "gap": c.med([d["gap"] for d in dia]), "gap_max": max(d["gap"] for d in dia),
            "ok": all(d["ok"] for d in dia),
        }
    return out


LABELS = {"stackup": "stackup", "honcho": "honcho + wait loop",
          "supervisord": "supervisord (priority) + wait loop", "bash": "bash script + wait loop"}


def report(out: dict[str, object], runs: int) -> str:
    floor = float(out["floor"])  # type: ignore[arg-type]
    rows, drows = [], []
    for tool in c.TOOLS:
        r: dict[str, float] = out[tool]  # type: ignore[assignment]
        rows.append([LABELS[tool], c.ms(r["first"]), c.secs(r["total"]), c.ms(r["overhead"]),
                     c.ms(r["lat"]), c.ms(r["lat_p95"]), c.ms(r["lat_max"]),
                     f"{c.ms(r['lat'] - floor)} / {c.ms(r['lat_p95'] - floor)}",
                     int(r["violations"])])
        drows.append([LABELS[tool], c.secs(r["web"]), c.secs(r["web_max"]), c.ms(r["gap"]),
                      c.ms(r["gap_max"]), "yes" if r["ok"] else "NO"])
    return (f"### chain of 10, 200 ms bind delay each ({runs} runs; spawn floor {c.ms(floor)})"
            "\n\n" + c.table(
                ["tool", "launch → s0 started", "time to s9 ready", "overhead/link",
                 "dependent start latency median", "p95", "max",
                 "median / p95 − spawn floor", "ordering violations"], rows)
            + f"\n\n### diamond db → {{api1, api2}} → web, 300 ms bind delay each "
            f"({runs} runs; ideal 0.9 s + spawn)\n\n" + c.table(
                ["tool", "time to web ready", "max", "api1/api2 start gap median", "max",
                 "order respected"], drows))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    c.compile_stackup()
    print(f"# readiness — {c.machine()}\n")
    print(report(measure(args.runs), args.runs))


if __name__ == "__main__":
    main()
