"""Output relay: 4 services × 200,000 lines × 100 bytes at once, until all are in the files.

Each service prints its lines as fast as it can (64 KiB writes); the benchmark follows
the files each tool writes (`_logs.Tail`, across rotation) and counts lines ending in the
payload's `x\\n`; every line is parsed back after the run. Variants:

- `shell`: the floor, a bash script with `fixture > rN.log &` per service;
- `supervisord`: one `stdout_logfile` per program (no prefix, no rotation: maxbytes 0);
- `honcho`: it has no files: its stdout, prefixed, into one file;
- `stackup -d`: `stackup up -d`, the keeper writing `.stackup/logs/rN.log` (stamped; the
  detached supervisor follows no file: nothing asks for the lines);
- `stackup`: the foreground `stackup up`, stdout into a file: both when all lines are in
  `.stackup/logs/` and when all are on its stdout (`HH:MM:SS rN | …`, what the terminal
  shows), from the same run.

Measured: launch → all 4×N lines in the files, and first line in → all in (the relay
without the tool's start-up); lines lost, cut or spliced, duplicated
(worst run); the tool's own CPU (user+system) at that moment — stackup's supervisor
and keeper separately, honcho's process and its per-service helpers, supervisord's
process; the services are not counted.

stackup's log files are capped (10 MB + one rotated file): 200,000 × ~124 bytes is
~25 MB per service, so the files rotate twice and keep only the last ~20 MB; "in the
files" counts every line the keeper wrote into them, read while they were there.
"""

from __future__ import annotations

import argparse
import subprocess
import time

import _common as c
import _logs
import psutil

SERVICES = 4
VARIANTS = ("shell", "supervisord", "honcho", "stackup -d", "stackup")


def own_cpu(root: psutil.Process | None) -> float:
    """CPU of `root` and its descendants with the same command line (honcho's helpers)."""
    if root is None:
        return float("nan")
    try:
        cmd = root.cmdline()
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        return float("nan")
    total = 0.0
    for p in procs:
        try:
            if p.pid == root.pid or p.cmdline() == cmd:
                t = p.cpu_times()
                total += t.user + t.system
        except psutil.Error:
            pass
    return total


def run(variant: str, count: int) -> dict[str, float]:
    folder = c.workdir(f"relay-{variant.replace(' ', '')}")
    names = [f"r{i}" for i in range(SERVICES)]
    fix = {n: c.fixture(n, None, "--lines", str(count), "--width", str(_logs.WIDTH))
           for n in names}
    stdout_file = folder / "stdout.out"
    groups: dict[str, list[_logs.Tail]]
    logs = folder / ".stackup" / "logs"
    if variant == "shell":
        cmd = c.build("bash", folder, {n: c.Svc(f"{fix[n]} > {folder / n}.log") for n in names})
        groups = {"files": [_logs.Tail(folder / f"{n}.log") for n in names]}
    elif variant == "supervisord":
        cmd = c.build("supervisord", folder,
                      {n: c.Svc(fix[n], log=folder / f"{n}.log") for n in names})
        groups = {"files": [_logs.Tail(folder / f"{n}.log") for n in names]}
    elif variant == "honcho":
        cmd = c.build("honcho", folder, {n: c.Svc(fix[n]) for n in names})
        groups = {"files": [_logs.Tail(stdout_file)]}
    else:
        cmd = c.build("stackup", folder, {n: c.Svc(fix[n]) for n in names})
        if variant == "stackup -d":
            cmd.append("-d")
        groups = {"files": [_logs.Tail(logs / f"{n}.log") for n in names]}
        if variant == "stackup":
            groups["stdout"] = [_logs.Tail(stdout_file)]
    expected = SERVICES * count
    out = stdout_file.open("wb")
    seen: list[psutil.Process] = []
    sup = keeper = None
    launched = time.time()
    proc = c.launch(cmd, folder, stdout=out)
    try:
        def alive() -> bool:
            # `up -d` returns once the services run, while the keeper writes on: there
            # the idle timeout alone ends a run that stalls.
            return variant == "stackup -d" or proc.poll() is None

        first: dict[str, float] = {}
        done = _logs.follow(groups, expected, alive, first=first)
        if variant == "stackup -d":
            proc.wait(30)
            sup, keeper = c.stackup_procs(folder)
        if variant == "stackup":
            sup = psutil.Process(proc.pid)
            keeper = c.keeper_of(proc.pid)
        cpu = {"sup": c.cpu_of(sup), "keeper": c.cpu_of(keeper)} if variant.startswith(
            "stackup") else {"sup": own_cpu(c.tree(proc.pid)[0] if c.tree(proc.pid) else None)
                             if variant != "shell" else 0.0, "keeper": float("nan")}
        seen = c.tree(proc.pid) + (c.tree(sup.pid) if sup is not None else []) + \
            (c.tree(keeper.pid) if keeper is not None else [])
        time.sleep(0.3)  # stragglers, e.g. a line written twice
        for ts in groups.values():
            for t in ts:
                t.poll()
    finally:
        if variant == "stackup -d":
            subprocess.run([c.STACKUP, "-f", str(folder / "stack.yaml"), "down"],
                           cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           timeout=30, check=False)
        else:
            c.stop_tool("bash" if variant == "shell" else variant, proc)
        c.cleanup(proc, seen)
        out.close()
    res: dict[str, float] = {"cpu": cpu["sup"], "keeper_cpu": cpu["keeper"]}
    for label, ts in groups.items():
        style = {"shell": "raw", "supervisord": "raw", "honcho": "prefixed"}.get(
            variant, "stamped" if label == "files" else "prefixed")
        seen_lines: set[tuple[str, int]] = set()
        bad = dupes = 0
        for t in ts:
            name = t.path.name.split(".")[0] if style != "prefixed" else None
            got, b, d = _logs.check(t.data(), style, names, count, name)
            seen_lines |= got
            bad += b
            dupes += d
            t.close()
        res[f"{label}_wall"] = done[label] - launched
        res[f"{label}_stream"] = done[label] - first.get(label, float("nan"))
        res[f"{label}_lost"] = expected - len(seen_lines)
        res[f"{label}_bad"] = bad
        res[f"{label}_dupes"] = dupes
    c.remove(folder)
    return res


def measure(runs: int, count: int) -> dict[str, dict[str, float]]:
    res: dict[str, list[dict[str, float]]] = {v: [] for v in VARIANTS}
    for _ in range(runs):
        for v in VARIANTS:
            res[v].append(c.attempt(run, v, count))
    out: dict[str, dict[str, float]] = {}
    for v, rs in res.items():
        agg: dict[str, float] = {}
        for key in rs[0]:
            vals = [r[key] for r in rs]
            worst = key.endswith(("_lost", "_bad", "_dupes"))
            agg[key] = max(vals) if worst else c.med(vals)
            if key.endswith("_wall"):
                agg[key + "_max"] = max(vals)
        out[v] = agg
    return out


def report(out: dict[str, dict[str, float]], runs: int, count: int) -> str:
    rows = []
    for v, r in out.items():
        for label in ("files", "stdout"):
            if f"{label}_wall" not in r:
                continue
            where = {"files": "its log files" if v != "honcho" else "its stdout (a file)",
                     "stdout": "its stdout (a file)"}[label]
            wall = r[f"{label}_wall"]
            cpu = "0" if v == "shell" else (
                f"{r['cpu']:.2f} s + keeper {r['keeper_cpu']:.2f} s" if v.startswith("stackup")
                else f"{r['cpu']:.2f} s")
            stream = r[f"{label}_stream"]
            rows.append([v, where, c.secs(wall), c.secs(r[f"{label}_wall_max"]), c.secs(stream),
                         f"{SERVICES * count / stream / 1000:.0f} k/s" if stream > 0
                         else "—",
                         int(r[f"{label}_lost"]), int(r[f"{label}_bad"]),
                         int(r[f"{label}_dupes"]), cpu])
    return (f"### relay: {SERVICES} × {count:,} lines × {_logs.WIDTH} B ({runs} runs, medians;"
            " lost/cut/dup: worst run)\n\n"
            + c.table(["tool", "until all lines are in", "launch → all in", "max",
                       "first line in → all in", "lines/s (first → all)",
                       "lost", "cut/spliced", "duplicated", "tool's own CPU"], rows))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--lines", type=int, default=200_000)
    args = ap.parse_args()
    c.compile_stackup()
    print(f"# relay — {c.machine()}\n")
    print(report(measure(args.runs, args.lines), args.runs, args.lines))


if __name__ == "__main__":
    main()
