"""Start-up: launch → first service spawned, and the cheapest status command with 5 up.

Taken with stackup's bytecode compiled (as a pip install leaves it); where stackup runs
without .pyc by default (PYTHONDONTWRITEBYTECODE=1 and an editable install, as on the
project's machine), also without, in each round, as `stackup, no bytecode`.

Five independent services (the fixture, binding at once). Per run and tool: the time
from `Popen(tool)` to the first service's first statement (`launch → first spawned`:
it includes the spawn floor, ~10 ms of `sh` + the fixture interpreter, which the bash
script shows), then, with all five listening and — for stackup — healthy in its state
file, the wall time of `stackup -f STACK status` and `supervisorctl -c CONF status`
(3 calls per run). Tools take turns within each run, so load drifts hit all alike.
`stackup, again` is a second `up` of an unchanged stack in the same folder, after an
untimed first one: the start-up cache's case, a developer's every launch but the first.
"""

from __future__ import annotations

import argparse
import subprocess
import time
from pathlib import Path

import _common as c

SERVICES = 5


def status_cmd(tool: str, folder: Path) -> list[str] | None:
    if tool == "stackup":
        return [c.STACKUP, "-f", str(folder / "stack.yaml"), "status"]
    if tool == "supervisord":
        return [c.SUPERVISORCTL, "-c", str(folder / "supervisord.conf"), "status"]
    return None


def timed(cmd: list[str], cwd: Path) -> tuple[float, int]:
    began = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                          check=False)
    return time.perf_counter() - began, done.returncode


def all_healthy(folder: Path, names: list[str], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        services = c.stackup_state(folder).get("services") or {}
        if isinstance(services, dict) and all(
                (services.get(n) or {}).get("state") == "healthy" for n in names):
            return True
        time.sleep(0.02)
    return False


def warm_up(tool: str, cmd: list[str], folder: Path, names: list[str], times: Path) -> None:
    """One untimed up and down in the folder: the next launch is the day's second."""
    proc = c.launch(cmd, folder)
    seen = []
    try:
        got = c.wait_for(names, times, timeout=30, every=0.005)
        seen = c.tree(proc.pid)
        if set(got) != set(names):
            raise c.failed(tool, f"warm-up: only {sorted(got)} came up", folder)
    finally:
        seen += c.tree(proc.pid)
        c.stop_tool(tool, proc)
        c.cleanup(proc, seen)
    times.unlink()


def run(tool: str, status_calls: int = 3, warm: bool = False) -> dict[str, object]:
    folder = c.workdir(f"launch-{tool}")
    times = folder / "times"
    names = [f"l{i}" for i in range(SERVICES)]
    ports = dict(zip(names, c.free_ports(SERVICES), strict=True))
    services = {n: c.Svc(c.fixture(n, times, "--port", str(ports[n])), ports[n]) for n in names}
    cmd = c.build(tool, folder, services)
    if warm:
        warm_up(tool, cmd, folder, names, times)
    launched = time.time()
    proc = c.launch(cmd, folder)
    seen = []
    status: list[float] = []
    codes: list[int] = []
    try:
        got = c.wait_for(names, times, timeout=30, every=0.005)
        seen = c.tree(proc.pid)
        if set(got) != set(names):
            raise c.failed(tool, f"only {sorted(got)} came up", folder)
        first = min(start for start, _ in got.values()) - launched
        scmd = status_cmd(tool, folder)
        if scmd is not None:
            if tool == "stackup" and not all_healthy(folder, names):
                raise c.failed(tool, "services not healthy", folder)
            time.sleep(0.2)  # supervisord: let every program reach RUNNING
            for _ in range(status_calls):
                took, code = timed(scmd, folder)
                status.append(took)
                codes.append(code)
    finally:
        seen += c.tree(proc.pid)
        c.stop_tool(tool, proc)
        c.cleanup(proc, seen)
    c.remove(folder)
    return {"first": first, "status": status, "codes": codes}


NO_PYC = "stackup, no bytecode"
# The same stack file brought up again in the same checkout (the developer's day): the
# start-up cache in .stackup/ holds the resolved stack, so pydantic is not imported.
AGAIN = "stackup, again"


def measure(runs: int) -> dict[str, dict[str, object]]:
    res: dict[str, list[dict[str, object]]] = {t: [] for t in c.TOOLS}
    for _ in range(runs):
        if c.no_bytecode_by_default():
            # Also as this machine runs it by default: stackup's modules compiled at
            # every start (PYTHONDONTWRITEBYTECODE=1, editable install), in the same
            # round as the others so that load drifts hit both alike.
            c.drop_stackup_bytecode()
            res.setdefault(NO_PYC, []).append(c.attempt(run, "stackup"))
        c.compile_stackup()
        for tool in c.TOOLS:
            res[tool].append(c.attempt(run, tool))
        res.setdefault(AGAIN, []).append(c.attempt(lambda: run("stackup", warm=True)))
    out: dict[str, dict[str, object]] = {}
    for tool, rs in res.items():
        firsts = [float(r["first"]) for r in rs]  # type: ignore[arg-type]
        status = [x for r in rs for x in r["status"]]  # type: ignore[attr-defined]
        codes = {x for r in rs for x in r["codes"]}  # type: ignore[attr-defined]
        out[tool] = {"first": c.med(firsts), "first_min": min(firsts),
                     "first_max": max(firsts), "status": c.med(status),
                     "status_p95": c.pct(status, 0.95), "status_n": len(status),
                     "status_codes": sorted(codes)}
    return out


def report(out: dict[str, dict[str, object]], runs: int) -> str:
    rows = []
    for tool, r in out.items():
        st = "n/a" if not r["status_n"] else (
            f"{c.ms(r['status'])} (p95 {c.ms(r['status_p95'])}"  # type: ignore[arg-type]
            f", exit {','.join(map(str, r['status_codes']))})")  # type: ignore[arg-type]
        rows.append([tool, c.ms(r["first"]), c.ms(r["first_min"]),  # type: ignore[arg-type]
                     c.ms(r["first_max"]), st])  # type: ignore[arg-type]
    return (f"### launch → first service spawned; status with {SERVICES} up "
            f"({runs} runs, medians)\n\n"
            + c.table(["tool", "launch → first spawned", "min", "max",
                       "status command"], rows))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()
    print(f"# launch — {c.machine()}\n")
    print(report(measure(args.runs), args.runs))


if __name__ == "__main__":
    main()
