"""`make bench-profile`: where stackup's time goes, measured rather than guessed.

    .cache/bench-venv/bin/python benchmarks/profile_stackup.py [--only startup,chain,imports,…]

1. startup: `up` launch → first spawn as a timeline of phases (`_trace_up.py`: time
   marks around imports and the functions on the path, no change to `src/`), 5 runs,
   medians.
   chain: the chain of 10 under the same marks: each link's time from the dependency
   listening to the dependent's first statement, in spans.
2. imports: `python -X importtime` of `up` (until its first service starts), `status`
   (5 services up) and the keeper: the import cost by package, and the heaviest
   imports stackup makes, by cumulative time.
3. relay: py-spy (sampling, 250 Hz, `--subprocesses`) on a foreground `up` relaying 4 ×
   200,000 lines: CPU seconds of the supervisor and the keeper, their top functions by
   own time and by inclusive time.
4. scale: the 200-service stack: py-spy on the supervisor (and, attached once the first
   service runs, the keeper) until all are listening; cProfile of the same start for
   call counts; then py-spy on both over 10 s of idle.

Prints Markdown: the "Where the time goes" section of docs/benchmarks.md is made of it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import pstats
import re
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import _common as c
import _logs
import bench_scale
import psutil

VENV_PY = str(Path(c.STACKUP).parent / "python")
TRACE = str(c.HERE / "_trace_up.py")
PYSPY = str(c.PEER_BIN / "py-spy")
RATE = 250  # samples per second: 4 ms a sample


def five_services(folder: Path, times: Path, extra: tuple[str, ...] = ()) -> Path:
    names = [f"p{i}" for i in range(5)]
    ports = dict(zip(names, c.free_ports(5), strict=True))
    return c.write_stack(folder, {n: {"command": c.fixture(n, times, "--port", str(ports[n]),
                                                           *extra), "port": ports[n]}
                                  for n in names})


def stop_and_clean(proc: subprocess.Popen[bytes], seen: list[psutil.Process]) -> None:
    c.stop(proc)
    c.cleanup(proc, seen)


# ---- 1. the start-up timeline -----------------------------------------------------------

PHASES = [  # (label, from mark, to mark)
    ("interpreter start (exec → first statement)", "launch", "interpreter up"),
    ("import stackup.cli (click, the group)", "import stackup.cli begin", "import stackup.cli end"),
    ("import stackup.cli.up", "import stackup.cli.up begin", "import stackup.cli.up end"),
    ("click parsing, `Context.state_dir` (state file owner check)",
     "import stackup.cli.up end", "import stackup.config.load begin"),
    ("import stackup.config.load (pydantic models)", "import stackup.config.load begin",
     "import stackup.config.load end"),
    ("  of which stackup.config.schema", "import stackup.config.schema begin",
     "import stackup.config.schema end"),
    ("load_stack (read, validate, resolve)", "load_stack begin", "load_stack end"),
    ("import stackup.app.foreground (engine, server)", "import stackup.app.foreground begin",
     "import stackup.app.foreground end"),
    ("  of which stackup.server.supervisor_process",
     "import stackup.server.supervisor_process begin",
     "import stackup.server.supervisor_process end"),
    ("→ up_foreground (printer import, colour check)", "import stackup.app.foreground end",
     "up_foreground begin"),
    ("prepare_start (preflight: ports free)", "prepare_start begin", "prepare_start end"),
    ("SupervisorProcess() (psutil identity, hashes)", "SupervisorProcess.__init__ begin",
     "SupervisorProcess.__init__ end"),
    ("keeper forked (before the event loop)", "spawn begin", "spawn end"),
    ("  keeper: fork → its socket listens", "spawn begin", "keeper listening"),
    ("keeper: connect → it answers hello", "KeeperClient.connect begin",
     "KeeperClient.connect end"),
    ("control socket, first state write", "KeeperClient.connect end", "serve end"),
    ("spawn request → keeper's `spawned`", "KeeperClient.spawn begin", "KeeperClient.spawn end"),
    ("Popen in the keeper → service's first statement", "KeeperClient.spawn begin", "first"),
    ("total: launch → first service's first statement", "launch", "first"),
]


def startup(runs: int, label: str) -> str:
    durations: dict[str, list[float]] = defaultdict(list)
    for _ in range(runs):
        folder = c.workdir("prof-start")
        times = folder / "times"
        stack = five_services(folder, times)
        marks_file = folder / "marks"
        launched = time.time()
        proc = c.launch([VENV_PY, TRACE, str(marks_file), "--", "--no-color", "-f", str(stack),
                         "up"], folder)
        got = c.wait_for([f"p{i}" for i in range(5)], times, timeout=30, every=0.005)
        seen = c.tree(proc.pid)
        marks = {"launch": launched, "first": min(s for s, _ in got.values())}
        with contextlib.suppress(OSError):  # bound (mtime) by the keeper, removed at its exit
            marks["keeper listening"] = (folder / ".stackup" / "keeper.sock").stat().st_mtime
        stop_and_clean(proc, seen)
        for line in marks_file.read_text().splitlines():
            rec = json.loads(line)
            marks.setdefault(rec["mark"], rec["t"])
        for phase, a, b in PHASES:
            if a in marks and b in marks:
                durations[phase].append(marks[b] - marks[a])
        c.remove(folder)
    rows = [[phase, c.ms(c.med(durations[phase]))] for phase, _, _ in PHASES
            if durations[phase]]
    return (f"### `up`: launch → first service, by phase, {label} ({runs} runs, medians)\n\n"
            + c.table(["phase", "time"], rows))


# ---- 1b. a dependent's start, link by link ------------------------------------------------

def chain(runs: int, links: int = 10, delay: float = 0.2) -> str:
    """The chain of 10 under `_trace_up.py`: for each link, where the time goes between the
    dependency listening and the dependent's first statement."""
    spans: dict[str, list[float]] = defaultdict(list)
    for _ in range(runs):
        folder = c.workdir("prof-chain")
        times = folder / "times"
        names = [f"s{i}" for i in range(links)]
        ports = dict(zip(names, c.free_ports(links), strict=True))
        stack = c.write_stack(folder, {
            n: {"command": c.fixture(n, times, "--bind-delay", str(delay), "--port",
                                     str(ports[n])), "port": ports[n],
                **({"depends_on": [names[i - 1]]} if i else {})}
            for i, n in enumerate(names)})
        marks_file = folder / "marks"
        proc = c.launch([VENV_PY, TRACE, str(marks_file), "--", "--no-color", "-f", str(stack),
                         "up"], folder)
        got = c.wait_for(names, times, timeout=30)
        seen = c.tree(proc.pid)
        time.sleep(0.1)
        stop_and_clean(proc, seen)
        last: dict[tuple[str, str], float] = {}
        owner: dict[str, float] = {}
        begun: dict[str, float] = {}
        for line in marks_file.read_text().splitlines():
            rec = json.loads(line)
            key = (rec["mark"], rec.get("service", ""))
            last.setdefault(key, rec["t"])  # the first call of each (a start happens once)
            if rec["mark"] == "ServiceRunner._owns_port begin":
                begun[rec["service"]] = rec["t"]
            elif rec["mark"] == "ServiceRunner._owns_port end":
                owner[rec["service"]] = rec["t"] - begun.get(rec["service"], rec["t"])
        for i in range(links - 1):
            dep, nxt = names[i], names[i + 1]
            a = got[dep][1]
            b = last.get(("Prober.wait_ready end", dep))
            cc = last.get(("ServiceRunner._spawn begin", nxt))
            d = last.get(("KeeperClient.spawn end", nxt))
            e = got[nxt][0]
            if None in (b, cc, d):
                continue
            spans["dependency listens → its readiness check passes"].append(b - a)
            spans["  of which the ownership check (the last one)"].append(owner.get(dep, 0.0))
            spans["check passed → dependent's spawn begins (state change, wake-up)"].append(cc - b)
            spans["spawn begins → keeper's `spawned` (env, request, fork/exec)"].append(d - cc)
            spans["`spawned` → dependent's first statement (sh + interpreter)"].append(e - d)
            spans["total: dependency listens → dependent's first statement"].append(e - a)
        c.remove(folder)
    floor = bench_readiness_floor()
    rows = [[k, c.ms(c.med(v)), c.ms(c.pct(v, 0.95))] for k, v in spans.items()]
    rows.append(["spawn floor (`Popen(sh -c fixture)` → first statement, no supervisor)",
                 c.ms(floor), ""])
    return (f"### a dependent's start, link by link (chain of {links}, {runs} runs: "
            f"{len(spans['total: dependency listens → dependent' + chr(39) + 's first statement'])}"
            " links)\n\n" + c.table(["span", "median", "p95"], rows))


def bench_readiness_floor() -> float:
    import bench_readiness

    return bench_readiness.spawn_floor()


# ---- 2. import times ---------------------------------------------------------------------

LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \| ( *)(\S+)")


Import = tuple[str, int, int, str, int]  # module, own µs, cumulative µs, importer, level


def parse_importtime(text: str) -> list[Import]:
    """Every import, in the order importtime printed it (children before their
    parent, one level deeper); importer "" at the top level."""
    out: list[Import] = []
    pending: dict[int, list[int]] = defaultdict(list)  # level -> indexes awaiting a parent
    for line in text.splitlines():
        m = LINE.match(line)
        if not m:
            continue
        own, cum, level, name = int(m[1]), int(m[2]), len(m[3]) // 2, m[4]
        out.append((name, own, cum, "", level))
        for i in pending.pop(level + 1, []):
            n, o, cu, _, lv = out[i]
            out[i] = (n, o, cu, name, lv)
        pending[level].append(len(out) - 1)
    return out


def import_summary(label: str, entries: list[Import]) -> str:
    total = sum(e[1] for e in entries)
    by_pkg: Counter[str] = Counter()
    for name, own, *_ in entries:
        by_pkg[name.split(".")[0]] += own
    entry_points = sorted((e for e in entries if e[3].startswith("stackup")
                           and not e[0].startswith("stackup")), key=lambda e: -e[2])
    own_mods = sorted((e for e in entries if e[0].startswith("stackup")), key=lambda e: -e[1])
    pkgs = ", ".join(f"{p} {us / 1000:.0f}" for p, us in by_pkg.most_common(10))
    eps = "; ".join(f"`{e[0]}` {e[2] / 1000:.0f} ms (from `{e[3]}`)" for e in entry_points[:8])
    mods = "; ".join(f"`{e[0]}` {e[1] / 1000:.1f}" for e in own_mods[:6])
    return (f"- **{label}**: {total / 1000:.0f} ms of imports, {len(entries)} modules. "
            f"By package (own time, ms): {pkgs}.\n"
            f"  Heaviest imports stackup makes (cumulative): {eps}.\n"
            f"  stackup's own modules, own time (ms): {mods}.")


def import_order(entries: list[Import], threshold_us: int = 3000) -> str:
    """The top-level imports (and, in brackets, the ones they make) costing more than
    `threshold_us`, in the order they finished: which step pays for what."""
    parts = [f"({e[0]} {e[2] / 1000:.0f})" if e[4] else f"{e[0]} {e[2] / 1000:.0f}"
             for e in entries if e[4] <= 1 and e[2] >= threshold_us]
    return "  In the order they finished (cumulative ms; imported by the next one): " \
        + ", ".join(parts) + "."


def importtime_of(cmd: list[str], folder: Path, until: Path | None = None,
                  names: list[str] | None = None) -> str:
    """stderr of `python -X importtime …`; a long-running command (up) is stopped once
    `names` appear in the `until` times file."""
    err = folder / f"importtime-{time.monotonic_ns()}.txt"
    with err.open("wb") as f:
        proc = c.launch([VENV_PY, "-X", "importtime", *cmd], folder, stdout=subprocess.DEVNULL,
                        stderr=f)
        seen: list[psutil.Process] = []
        if until is not None and names is not None:
            c.wait_for(names, until, timeout=30, every=0.005)
            seen = c.tree(proc.pid)
            stop_and_clean(proc, seen)
        else:
            proc.wait(30)
    return err.read_text()


def imports(runs: int) -> str:
    folder = c.workdir("prof-imports")
    out = []
    # up: to its first service (the imports after it are few: the stop path's)
    for i in range(runs):
        times = folder / f"times{i}"
        stack = five_services(folder, times)
        text = importtime_of([c.STACKUP, "--no-color", "-f", str(stack), "up"], folder,
                             until=times, names=[f"p{j}" for j in range(5)])
        (folder / "stackup.yaml").unlink(missing_ok=True)
        if i == runs - 1:
            entries = parse_importtime(text)
            out.append(import_summary("`stackup up` (until the first spawn)", entries))
            out.append(import_order(entries))
    # status, with 5 services up
    times = folder / "times-status"
    stack = five_services(folder, times)
    proc = c.launch(c.stackup_cmd(stack), folder)
    try:
        c.wait_for([f"p{j}" for j in range(5)], times, timeout=30)
        time.sleep(0.5)
        seen = c.tree(proc.pid)
        text = importtime_of([c.STACKUP, "-f", str(stack), "status"], folder)
    finally:
        stop_and_clean(proc, seen)
    out.append(import_summary("`stackup status` (5 services up)", parse_importtime(text)))
    text = importtime_of(["-c", "import stackup.server.keeper"], folder)
    out.append(import_summary("the keeper (`python -m stackup.server.keeper`)",
                              parse_importtime(text)))
    text = importtime_of([c.STACKUP, "--version"], folder)
    out.append(import_summary("`stackup --version`", parse_importtime(text)))
    return "### imports (`python -X importtime`)\n\n" + "\n".join(out)


# ---- 3./4. py-spy ------------------------------------------------------------------------

def classify(frame0: str) -> str:
    if "stackup.server.keeper" in frame0:
        return "keeper"
    if "bin/stackup" in frame0 or "_trace_up.py" in frame0:
        return "supervisor"
    return "other"


def read_raw(path: Path, who: str | None = None) -> dict[str, tuple[int, Counter[str],
                                                                   Counter[str]]]:
    """{process class: (samples, own samples by function, inclusive samples by function)}
    from py-spy's raw (collapsed) output; `who` names the class when there is no
    process frame (one process recorded)."""
    data: dict[str, tuple[list[int], Counter[str], Counter[str]]] = {}
    if not path.exists():
        return {}
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        frames = stack.split(";")
        cls = who
        # With --subprocesses a child's stack sits under its parents' process frames:
        # the last one names the process.
        procs = [i for i, f in enumerate(frames) if f.startswith("process ")]
        if procs:
            cls = classify(frames[procs[-1]])
            frames = frames[procs[-1] + 1:]
        if cls is None or cls == "other" or not frames:
            continue
        if IDLE.search(frames[-1]):
            continue  # waiting in epoll: py-spy does not always see it as idle
        n = int(count)
        total, own, incl = data.setdefault(cls, ([0], Counter(), Counter()))
        total[0] += n
        importing = any("<frozen importlib" in f for f in frames)
        own[IMPORTING if importing else frames[-1]] += n
        for f in {IMPORTING if "<frozen importlib" in f else f for f in frames}:
            incl[f] += n
    return {k: (v[0][0], v[1], v[2]) for k, v in data.items()}


# Frames every sample of a process passes through (entry points, click, the event loop):
# left out of the inclusive column, which is there to show where the work is.
SKIP_INCL = re.compile(r"\((click/|asyncio/|runpy\.py|stackup/cli/|stackup\)|<frozen runpy)"
                       r"|^<module> |^main \(stackup/server/keeper|^Keeper\.run ")
IMPORTING = "(importing modules)"
# Leaves where a thread waits rather than works (epoll, an idle worker thread, a lock):
# py-spy does not always recognise them as idle, so they are dropped here.
IDLE = re.compile(r"(Selector\.select \(selectors\.py\)|^_worker \(concurrent/futures/thread"
                  r"|^wait \(threading\.py\)|^_wait_for_tstate_lock )")


def spy_report(label: str, data: dict[str, tuple[int, Counter[str], Counter[str]]],
               cpu: dict[str, float], top: int = 10) -> str:
    """Top functions per process; shares are of the samples not waiting in epoll, the CPU
    seconds are psutil's (user + system) over the same span."""
    out = [f"**{label}**"]
    for cls in ("supervisor", "keeper"):
        if cls not in data:
            out.append(f"\n*{cls}*: {cpu.get(cls, float('nan')):.2f} s of CPU; "
                       "no samples outside epoll\n")
            continue
        total, own, incl = data[cls]
        secs = cpu.get(cls, float("nan"))
        out.append(f"\n*{cls}*: {secs:.2f} s of CPU (psutil); {total} samples at {RATE} Hz "
                   "doing work (≈ s: the share of that CPU time)\n")
        rows = []
        own_top = own.most_common(top)
        incl_top = [(f, n) for f, n in incl.most_common(top * 4)
                    if not SKIP_INCL.search(f)][:top]
        for i in range(max(len(own_top), len(incl_top))):
            a = own_top[i] if i < len(own_top) else ("", 0)
            b = incl_top[i] if i < len(incl_top) else ("", 0)
            rows.append([f"`{a[0]}`" if a[0] else "",
                         f"{100 * a[1] / total:.1f} % ≈ {secs * a[1] / total:.2f}" if a[0] else "",
                         f"`{b[0]}`" if b[0] else "",
                         f"{100 * b[1] / total:.1f} % ≈ {secs * b[1] / total:.2f}" if b[0] else ""])
        out.append(c.table(["own time", "% ≈ s", "inclusive", "% ≈ s"], rows))
    return "\n".join(out)


def spy_cmd(out: Path, *extra: str) -> list[str]:
    return [PYSPY, "record", "-r", str(RATE), "--nolineno", "-f", "raw", "-o", str(out), *extra]


def child_named(parent: int, needle: str, timeout: float = 10.0) -> psutil.Process | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for p in c.tree(parent)[1:]:  # not py-spy itself, whose arguments name it too
            with contextlib.suppress(psutil.Error):
                if any(needle in part for part in p.cmdline()):
                    return p
        time.sleep(0.01)
    return None


def relay(count: int) -> str:
    folder = c.workdir("prof-relay")
    names = [f"r{i}" for i in range(4)]
    stack = c.write_stack(folder, {n: {"command": c.fixture(n, None, "--lines", str(count))}
                                   for n in names})
    raw = folder / "relay.txt"
    stdout = (folder / "stdout.out").open("wb")
    launched = time.time()
    spy = c.launch(spy_cmd(raw, "--subprocesses", "--", *c.stackup_cmd(stack)), folder,
                   stdout=stdout, stderr=subprocess.DEVNULL)
    seen: list[psutil.Process] = []
    try:
        sup = child_named(spy.pid, "bin/stackup")
        groups = {"files": [_logs.Tail(folder / ".stackup" / "logs" / f"{n}.log")
                            for n in names], "stdout": [_logs.Tail(folder / "stdout.out")]}
        done = _logs.follow(groups, 4 * count, lambda: spy.poll() is None, idle_timeout=3)
        keeper = c.keeper_of(sup.pid) if sup is not None else None
        cpu = {"supervisor": c.cpu_of(sup), "keeper": c.cpu_of(keeper)}
        seen = c.tree(spy.pid)
        for ts in groups.values():
            for t in ts:
                t.close()
        if sup is not None:
            os.kill(sup.pid, signal.SIGINT)
        spy.wait(30)
    finally:
        c.cleanup(spy, seen)
        stdout.close()
    data = read_raw(raw)
    c.remove(folder)
    return spy_report(f"relay, 4 × {count:,} lines, foreground `up` (py-spy, {RATE} Hz; all "
                      f"in the files {done['files'] - launched:.2f} s after launch, under "
                      "the profiler; CPU: launch → all in the stdout)", data, cpu)


def scale_start() -> tuple[str, str]:
    """py-spy on the supervisor from its start (and on the keeper from its first spawn)
    until all 200 listen; then cProfile of the same start, for call counts."""
    folder = c.workdir("prof-scale")
    times = folder / "times"
    services = bench_scale.graph(times)
    stack_cmd = c.build("stackup", folder, services)
    raw_sup, raw_keeper = folder / "sup.txt", folder / "keeper.txt"
    launched = time.time()
    spy = c.launch(spy_cmd(raw_sup, "--", *stack_cmd), folder)
    seen: list[psutil.Process] = []
    kspy = None
    try:
        sup = child_named(spy.pid, "bin/stackup")
        c.wait_for(["l00s0"], times, timeout=30, every=0.005)
        keeper = c.keeper_of(sup.pid) if sup is not None else None
        if keeper is not None:
            kspy = c.launch(spy_cmd(raw_keeper, "--pid", str(keeper.pid)), folder,
                            stderr=subprocess.DEVNULL)
        got = c.wait_for(services, times, timeout=90)
        all_up = max(b for _, b in got.values()) - launched
        cpu = {"supervisor": c.cpu_of(sup), "keeper": c.cpu_of(keeper)}
        seen = c.tree(spy.pid)
        if sup is not None:
            os.kill(sup.pid, signal.SIGINT)
        spy.wait(60)
        if kspy is not None:
            kspy.wait(30)  # ends with the keeper
    finally:
        c.cleanup(spy, seen)
        if kspy is not None:
            c.cleanup(kspy, [])
    data = read_raw(raw_sup, "supervisor")
    data.update(read_raw(raw_keeper, "keeper"))
    c.remove(folder)
    spy_text = spy_report(f"200 services, start until all listen (py-spy, {RATE} Hz; "
                          f"{all_up:.2f} s under the profiler)", data, cpu)

    folder = c.workdir("prof-scale-cp")
    times = folder / "times"
    services = bench_scale.graph(times)
    stack = Path(c.build("stackup", folder, services)[3])
    prof_out, marks = folder / "up.prof", folder / "marks"
    proc = c.launch([VENV_PY, TRACE, str(marks), "--cprofile", str(prof_out), "--",
                     "--no-color", "-f", str(stack), "up"], folder)
    seen = []
    try:
        c.wait_for(services, times, timeout=120)
        seen = c.tree(proc.pid)
        os.kill(proc.pid, signal.SIGUSR1)
        deadline = time.monotonic() + 30
        while not prof_out.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)
    finally:
        stop_and_clean(proc, seen)
    cp_text = cprofile_report(prof_out)
    if not prof_out.exists():
        tail = marks.read_text().splitlines()[-3:] + \
            (folder / "tool.out").read_text(errors="replace").splitlines()[-5:]
        cp_text += "\n" + "\n".join(f"    {t}" for t in tail)
    c.remove(folder)
    return spy_text, cp_text


def scale_marks() -> str:
    """The 200-service start under the time marks alone (no profiler): how often the
    state file is written and what a write, an ownership check, loading cost."""
    folder = c.workdir("prof-scale-marks")
    times = folder / "times"
    services = bench_scale.graph(times)
    stack = Path(c.build("stackup", folder, services)[3])
    marks = folder / "marks"
    launched = time.time()
    proc = c.launch([VENV_PY, TRACE, str(marks), "--", "--no-color", "-f", str(stack), "up"],
                    folder)
    seen: list[psutil.Process] = []
    try:
        got = c.wait_for(services, times, timeout=120)
        all_up = max(b for _, b in got.values())
        seen = c.tree(proc.pid)
    finally:
        stop_and_clean(proc, seen)
    spans: dict[str, list[float]] = defaultdict(list)
    open_at: dict[tuple[str, str], float] = {}
    for line in marks.read_text().splitlines():
        rec = json.loads(line)
        if rec["t"] > all_up:
            break  # the stop is not part of the start
        name, _, edge = rec["mark"].rpartition(" ")
        key = (name, rec.get("service", ""))
        if edge == "begin":
            open_at[key] = rec["t"]
        elif edge == "end" and key in open_at:
            spans[name].append(rec["t"] - open_at.pop(key))
    c.remove(folder)
    rows = []
    for name, label in (("write", "state file written (`statefile.write`)"),
                        ("ServiceRunner._owns_port", "ownership check (`_owns_port`)"),
                        ("KeeperClient.spawn", "spawn through the keeper"),
                        ("load_stack", "`load_stack` (200 services)"),
                        ("check_ports_free", "preflight: 200 ports free")):
        v = spans.get(name, [])
        rows.append([label, f"{len(v):,}", c.ms(c.med(v)), c.ms(c.pct(v, 0.95)),
                     c.secs(sum(v), 2)])
    return (f"**200 services, start until all listen, under the time marks only** "
            f"({all_up - launched:.2f} s)\n\n"
            + c.table(["call", "calls", "median", "p95", "sum"], rows))


def short(file: str) -> str:
    """A module's path from its package root (site-packages, src/, the stdlib)."""
    return re.sub(r"^.*?(site-packages/|/src/|/lib/python3\.\d+/)", "", file)


def cprofile_report(path: Path, top: int = 18) -> str:
    if not path.exists():
        return "(cProfile: no stats written)"
    st = pstats.Stats(str(path))
    rows = []
    entries = sorted(st.stats.items(), key=lambda kv: -kv[1][2])  # type: ignore[attr-defined]
    for (file, line, func), (_cc, ncalls, tottime, cumtime, _) in entries[:top]:
        where = short(file)
        rows.append([f"`{func}` ({where}:{line})", f"{ncalls:,}", c.secs(tottime, 3),
                     c.secs(cumtime, 3)])
    named = []
    for (file, _line, func), (_cc, ncalls, _own, cumtime, _) in entries:
        where = short(file)
        if (func, where) in NAMED:
            named.append([f"`{func}` ({where})", f"{ncalls:,}", c.secs(cumtime, 3),
                          c.ms(cumtime / ncalls) if ncalls else "—"])
    named.sort(key=lambda r: -float(r[2].split()[0]))
    return ("**200 services, start until all listen: cProfile of the supervisor's main thread** "
            "(deterministic, so slower than real; for the call counts)\n\n"
            + c.table(["function", "calls", "own time", "cumulative"], rows)
            + "\n\nThe calls on the path, by cumulative time:\n\n"
            + c.table(["function", "calls", "cumulative", "per call"], named))


NAMED = {
    ("write", "stackup/server/statefile.py"), ("state", "stackup/server/supervisor_process.py"),
    ("service_record", "stackup/server/supervisor_process.py"),
    ("tree", "stackup/system/processes.py"), ("tree_listens_on", "stackup/system/ports.py"),
    ("load_stack", "stackup/config/load.py"), ("spawn", "stackup/server/keeper_client.py"),
    ("probe", "stackup/engine/probes.py"), ("set_state", "stackup/engine/runtime.py"),
    ("publish", "stackup/events.py"), ("__call__", "stackup/printer.py"),
    ("marked_processes", "stackup/system/processes.py"),
    ("service_environment", "stackup/engine/runner.py"),
    ("definition_hash", "stackup/config/hashing.py"),
    ("check_ports_free", "stackup/system/preflight.py"),
    ("_on_event", "stackup/server/supervisor_process.py"),
}


def scale_idle(window: float = 10.0) -> str:
    folder = c.workdir("prof-idle")
    times = folder / "times"
    services = bench_scale.graph(times)
    proc = c.launch(c.build("stackup", folder, services), folder)
    seen: list[psutil.Process] = []
    try:
        c.wait_for(services, times, timeout=90)
        time.sleep(1.0)
        seen = c.tree(proc.pid)
        keeper = c.keeper_of(proc.pid)
        sup = psutil.Process(proc.pid)
        before = {"supervisor": c.cpu_of(sup), "keeper": c.cpu_of(keeper)}
        spies = [c.launch(spy_cmd(folder / "idle-sup.txt", "--pid", str(proc.pid), "-d",
                                  str(int(window))), folder, stderr=subprocess.DEVNULL)]
        if keeper is not None:
            spies.append(c.launch(spy_cmd(folder / "idle-keeper.txt", "--pid", str(keeper.pid),
                                          "-d", str(int(window))), folder,
                                  stderr=subprocess.DEVNULL))
        for s in spies:
            s.wait(window + 30)
        cpu = {"supervisor": c.cpu_of(sup) - before["supervisor"],
               "keeper": c.cpu_of(keeper) - before["keeper"]}
    finally:
        stop_and_clean(proc, seen)
    data = read_raw(folder / "idle-sup.txt", "supervisor")
    data.update(read_raw(folder / "idle-keeper.txt", "keeper"))
    c.remove(folder)
    return spy_report(f"200 services, {window:.0f} s idle once all are ready (py-spy, {RATE} Hz)",
                      data, cpu)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default="startup,chain,imports,relay,scale")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--lines", type=int, default=200_000)
    args = ap.parse_args()
    parts = args.only.split(",")
    print(f"# where the time goes — {c.machine()}\n\n`{c.uptime()}`\n", flush=True)
    if "startup" in parts:
        if c.no_bytecode_by_default():
            c.drop_stackup_bytecode()
            print(startup(args.runs, "no bytecode (as this machine runs it by default)")
                  + "\n", flush=True)
        c.compile_stackup()
        print(startup(args.runs, "with bytecode") + "\n", flush=True)
    c.compile_stackup()
    if "chain" in parts:
        print(chain(3) + "\n", flush=True)
    if "imports" in parts:
        print(imports(3) + "\n", flush=True)
    if "relay" in parts:
        print(relay(args.lines) + "\n", flush=True)
    if "scale" in parts:
        spy_text, cp_text = scale_start()
        print(spy_text + "\n\n" + cp_text + "\n", flush=True)
        print(scale_marks() + "\n", flush=True)
        print(scale_idle() + "\n", flush=True)
    print(f"`{c.uptime()}`")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
