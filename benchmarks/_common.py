"""Shared plumbing for the benchmarks: the tools, their stack files, launching and cleaning up.

Four ways to run the same graph of fixture services (`bench_service.py`):

- `stackup`: a stack file (`depends_on`, `port`: readiness ordering built in);
- `honcho`: a Procfile whose dependents poll their dependencies' ports every 100 ms
  before exec'ing (what honcho's users write);
- `supervisord`: one `[program:x]` each, `priority` by dependency level plus the same
  wait loop (supervisord has priorities, no readiness ordering);
- `bash`: a shell script that starts each service in the background, dependents behind
  the same wait loop: the floor a hand-written script sets.

The peers come from the bench's own environment (`make bench` creates
`.cache/bench-venv` with supervisor, honcho and psutil: the harness runs under its
Python); stackup is the project's `.venv/bin/stackup` (or `$BENCH_STACKUP`).

Every tool is started in its own session; at the end each run kills what is left of the
process trees it saw (snapshotted while running), by pid, and nothing else.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TypeVar

import psutil

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PEER_BIN = Path(sys.executable).parent  # the bench venv's bin: honcho, supervisord
PY = sys.executable
FIXTURE = str(HERE / "bench_service.py")
STACKUP = os.environ.get("BENCH_STACKUP", str(ROOT / ".venv" / "bin" / "stackup"))
HONCHO = str(PEER_BIN / "honcho") if (PEER_BIN / "honcho").exists() \
    else str(Path(STACKUP).parent / "honcho")
SUPERVISORD = str(PEER_BIN / "supervisord")
SUPERVISORCTL = str(PEER_BIN / "supervisorctl")
PORT_LOW, PORT_HIGH = 21000, 31000  # below the ephemeral range (32768+)
T = TypeVar("T")
TOOLS = ("stackup", "honcho", "supervisord", "bash")
WAIT_INTERVAL = 0.1  # the peers' users poll every 100 ms (PEERS.md)


def port_free(port: int) -> bool:
    with socket.socket() as s:
        if s.connect_ex(("127.0.0.1", port)) == 0:
            return False
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_ports(count: int, start: int = PORT_LOW) -> list[int]:
    """`count` consecutive free ports in [start, PORT_HIGH)."""
    base = start
    while base + count <= PORT_HIGH:
        if all(port_free(p) for p in range(base, base + count)):
            return list(range(base, base + count))
        base += count
    raise SystemExit("no free ports in 21000-31000")


def fixture(name: str, times: Path | None = None, *args: str) -> str:
    parts = [PY, FIXTURE, "--name", name, *args]
    if times is not None:
        parts += ["--times", str(times)]
    return " ".join(parts)


def wait_script(ports: Iterable[int], command: str, interval: float = WAIT_INTERVAL) -> str:
    """The loop itself: poll every predecessor's port every 100 ms, then exec."""
    checks = " && ".join(f"(exec 3<>/dev/tcp/127.0.0.1/{p})" for p in ports)
    return f"until {{ {checks}; }} 2>/dev/null; do sleep {interval}; done; exec {command}"


def wait_loop(ports: Iterable[int], command: str, interval: float = WAIT_INTERVAL) -> str:
    """What peers' users write, as one command line: `bash -c "<loop>"`."""
    return "bash -c " + json.dumps(wait_script(ports, command, interval))


@dataclass
class Svc:
    """One service of a benchmark graph, whatever the tool."""

    command: str
    port: int | None = None
    deps: list[str] = field(default_factory=list)
    log: Path | None = None  # supervisord: where its output goes (default: AUTO)


def levels(services: dict[str, Svc]) -> dict[str, int]:
    """Dependency depth of each service (0: no dependencies): supervisord's priority."""
    out: dict[str, int] = {}

    def depth(name: str) -> int:
        if name not in out:
            deps = services[name].deps
            out[name] = 1 + max(depth(d) for d in deps) if deps else 0
        return out[name]

    for name in services:
        depth(name)
    return out


def write_stack(folder: Path, services: dict[str, dict[str, object]]) -> Path:
    """JSON is YAML: no YAML library needed. Avoid `$` in commands (interpolation)."""
    path = folder / "stack.yaml"
    path.write_text(json.dumps({"services": services}, indent=1))
    return path


def write_procfile(folder: Path, commands: dict[str, str]) -> Path:
    path = folder / "Procfile"
    path.write_text("".join(f"{name}: {cmd}\n" for name, cmd in commands.items()))
    return path


def write_supervisord_conf(folder: Path, services: dict[str, Svc]) -> Path:
    """A supervisord.conf in `folder` (socket, logs, pidfile all there); programs get
    `priority` by dependency level (lower starts first) and the wait loop."""
    ports = {n: s.port for n, s in services.items()}
    depth = levels(services)
    parts = [
        "[unix_http_server]\nfile=%(here)s/supervisor.sock\n",
        "[supervisord]\nnodaemon=true\nlogfile=%(here)s/supervisord.log\n"
        "pidfile=%(here)s/supervisord.pid\nchildlogdir=%(here)s\nloglevel=warn\n",
        "[rpcinterface:supervisor]\n"
        "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n",
        "[supervisorctl]\nserverurl=unix://%(here)s/supervisor.sock\n",
    ]
    for name, svc in services.items():
        cmd = svc.command
        if svc.deps:
            cmd = wait_loop([p for d in svc.deps if (p := ports[d]) is not None], cmd)
        log = str(svc.log) if svc.log is not None else "AUTO"
        parts.append(
            f"[program:{name}]\ncommand={cmd.replace('%', '%%')}\n"
            f"priority={100 + depth[name]}\nautorestart=false\nstartsecs=0\n"
            "stopasgroup=true\nkillasgroup=true\nredirect_stderr=true\n"
            f"stdout_logfile={log}\nstdout_logfile_maxbytes=0\n"
        )
    path = folder / "supervisord.conf"
    path.write_text("\n".join(parts))
    return path


def write_bash_script(folder: Path, services: dict[str, Svc]) -> Path:
    """Each service in the background (dependents behind the wait loop), then `wait`."""
    ports = {n: s.port for n, s in services.items()}
    lines = ["#!/bin/bash"]
    for svc in services.values():
        if svc.deps:
            loop = wait_script([p for d in svc.deps if (p := ports[d]) is not None],
                               svc.command)
            lines.append(f"( {loop} ) &")
        else:
            lines.append(f"{svc.command} &")
    lines.append("wait")
    path = folder / "stack.sh"
    path.write_text("\n".join(lines) + "\n")
    return path


def stackup_cmd(stack: Path, *args: str) -> list[str]:
    return [STACKUP, "--no-color", "-f", str(stack), "up", *args]


def honcho_cmd(procfile: Path) -> list[str]:
    return [HONCHO, "--no-colour", "-f", str(procfile), "-d", str(procfile.parent), "start"]


def supervisord_cmd(conf: Path) -> list[str]:
    return [SUPERVISORD, "-n", "-c", str(conf)]


def build(tool: str, folder: Path, services: dict[str, Svc],
          extra: dict[str, dict[str, object]] | None = None) -> list[str]:
    """Write `tool`'s file for the graph in `folder`; return the command that runs it.
    `extra`: more stack-file keys per service (stackup only)."""
    if tool == "stackup":
        body = {}
        for n, s in services.items():
            body[n] = {"command": s.command, **({"port": s.port} if s.port else {}),
                       **({"depends_on": s.deps} if s.deps else {}),
                       **((extra or {}).get(n, {}))}
        return stackup_cmd(write_stack(folder, body))
    if tool == "honcho":
        ports = {n: s.port for n, s in services.items()}
        return honcho_cmd(write_procfile(folder, {
            n: wait_loop([ports[d] for d in s.deps if ports[d]], s.command) if s.deps
            else s.command for n, s in services.items()}))
    if tool == "supervisord":
        return supervisord_cmd(write_supervisord_conf(folder, services))
    if tool == "bash":
        return ["bash", str(write_bash_script(folder, services))]
    raise ValueError(tool)


def launch(
    cmd: Sequence[str], cwd: Path, stdout: int | IO[bytes] | None = None,
    stderr: int | IO[bytes] | None = subprocess.STDOUT,
) -> subprocess.Popen[bytes]:
    """Start a tool in its own session; its output goes to `cwd/tool.out` unless told
    otherwise (read back by `failed` when a run goes wrong)."""
    if stdout is None:
        with (cwd / "tool.out").open("ab") as out:
            return launch(cmd, cwd, out, stderr)
    return subprocess.Popen(
        list(cmd), cwd=cwd, stdin=subprocess.DEVNULL, stdout=stdout,
        stderr=stderr, start_new_session=True,
    )


def attempt(fn: Callable[..., T], *args: object) -> T:
    """One run, tried a second time if it went wrong (a port taken by someone else's
    test between the check and the bind, on a shared machine); said on stderr."""
    try:
        return fn(*args)
    except SystemExit as err:
        print(f"bench: a run failed, trying it again: {err}", file=sys.stderr, flush=True)
        return fn(*args)


def failed(tool: str, what: str, folder: Path, lines: int = 8) -> SystemExit:
    """A run that went wrong: what, and the tool's last lines of output."""
    try:
        tail = (folder / "tool.out").read_text(errors="replace").splitlines()[-lines:]
    except OSError:
        tail = []
    return SystemExit(f"{tool}: {what}; see {folder}\n" + "\n".join(f"  {t}" for t in tail))


def tree(pid: int) -> list[psutil.Process]:
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.Error:
        return []


def is_gone(proc: psutil.Process) -> bool:
    try:
        return not proc.is_running() or proc.status() == psutil.STATUS_ZOMBIE
    except psutil.Error:
        return True


def cleanup(tool: subprocess.Popen[bytes] | None, seen: Iterable[psutil.Process]) -> int:
    """Stop the tool if needed and kill, by pid, whatever it left; return how many were left."""
    if tool is not None:
        with contextlib.suppress(ProcessLookupError):
            if tool.poll() is None:
                os.killpg(tool.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            tool.wait(5)
    me = tool.pid if tool is not None else -1
    left = [p for p in {p.pid: p for p in seen}.values() if p.pid != me and not is_gone(p)]
    for proc in left:
        with contextlib.suppress(psutil.Error):
            proc.kill()  # psutil checks the pid still names the same process
    psutil.wait_procs(left, timeout=3)
    return len(left)


def read_times(path: Path) -> dict[str, tuple[float, float]]:
    out: dict[str, tuple[float, float]] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            parts = line.split()
            if len(parts) == 3:  # a line being appended right now is skipped
                out[parts[0]] = (float(parts[1]), float(parts[2]))
    return out


def wait_for(names: Iterable[str], times: Path, timeout: float,
             every: float = 0.02) -> dict[str, tuple[float, float]]:
    wanted = set(names)
    deadline = time.monotonic() + timeout
    got = read_times(times)
    while not wanted <= got.keys() and time.monotonic() < deadline:
        time.sleep(every)
        got = read_times(times)
    return got


def stop(tool: subprocess.Popen[bytes], sig: int = signal.SIGINT, timeout: float = 15.0) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(tool.pid, sig)
    with contextlib.suppress(subprocess.TimeoutExpired):
        tool.wait(timeout)


def stop_tool(tool: str, proc: subprocess.Popen[bytes]) -> None:
    """Each tool's normal stop: SIGINT (stackup, honcho), SIGTERM (supervisord); the
    bash script has none (its group is killed by `cleanup`)."""
    if tool == "bash":
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(5)
    else:
        stop(proc, signal.SIGTERM if tool == "supervisord" else signal.SIGINT)


def workdir(prefix: str) -> Path:
    """A fresh folder, removed at exit unless BENCH_KEEP=1 (relay logs reach 100 MB a run)."""
    path = Path(tempfile.mkdtemp(prefix=f"stackup-bench-{prefix}-"))
    if not os.environ.get("BENCH_KEEP"):
        atexit.register(shutil.rmtree, path, True)
    return path


def remove(path: Path) -> None:
    """Drop a run's folder now (not at exit): relay runs write ~100 MB each."""
    if not os.environ.get("BENCH_KEEP"):
        shutil.rmtree(path, ignore_errors=True)


# ---- stackup's bytecode -----------------------------------------------------------------
# This machine sets PYTHONDONTWRITEBYTECODE=1 and stackup is installed editable (src/), so
# no .pyc of stackup's own modules is ever written: every start compiles ~60 modules from
# source. A pip install compiles them once, at install time (as it did for honcho and
# supervisor). The figures are taken with bytecode (compiled here first); the start-up
# figure is also taken without, as this machine runs it by default.

STACKUP_SRC = ROOT / "src" / "stackup"


def compile_stackup() -> None:
    """Write stackup's .pyc files (`compileall` writes them whatever the flag says)."""
    py = Path(STACKUP).parent / "python"
    subprocess.run([str(py), "-m", "compileall", "-q", str(STACKUP_SRC)], check=True,
                   stdout=subprocess.DEVNULL)


def drop_stackup_bytecode() -> None:
    """Remove the .pyc files compile_stackup wrote (only in this checkout's src/)."""
    for cache in STACKUP_SRC.rglob("__pycache__"):
        shutil.rmtree(cache, ignore_errors=True)


def no_bytecode_by_default() -> bool:
    """Whether stackup runs here without .pyc unless compiled: editable + the flag."""
    return bool(os.environ.get("PYTHONDONTWRITEBYTECODE")) and STACKUP_SRC.is_dir()


# ---- stackup's own processes -----------------------------------------------------------

def stackup_state(folder: Path) -> dict[str, object]:
    try:
        return json.loads((folder / ".stackup" / "state.json").read_text())
    except (OSError, ValueError):
        return {}


def stackup_procs(folder: Path) -> tuple[psutil.Process | None, psutil.Process | None]:
    """(supervisor, keeper) of the stack in `folder`, from its state file."""
    state = stackup_state(folder)
    out: list[psutil.Process | None] = []
    for key in ("supervisor", "keeper"):
        rec = state.get(key) or {}
        pid = rec.get("pid") if isinstance(rec, dict) else None
        proc = None
        if pid:
            with contextlib.suppress(psutil.Error):
                proc = psutil.Process(int(pid))
        out.append(proc)
    return out[0], out[1]


def keeper_of(supervisor_pid: int) -> psutil.Process | None:
    """The keeper a foreground supervisor started: its child titled `stackup-keeper …`
    (forked), or running `stackup.server.keeper` (a new interpreter)."""
    with contextlib.suppress(psutil.Error):
        for child in psutil.Process(supervisor_pid).children():
            with contextlib.suppress(psutil.Error):
                cmdline = child.cmdline()
                if cmdline and (cmdline[0].startswith("stackup-keeper")
                                or "stackup.server.keeper" in cmdline):
                    return child
    return None


def cpu_of(proc: psutil.Process | None) -> float:
    if proc is None:
        return float("nan")
    try:
        t = proc.cpu_times()
        return t.user + t.system
    except psutil.Error:
        return float("nan")


def rss_mb(proc: psutil.Process | None) -> float:
    if proc is None:
        return float("nan")
    try:
        return proc.memory_info().rss / 2**20
    except psutil.Error:
        return float("nan")


# ---- figures -----------------------------------------------------------------------------

def pct(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def med(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def ms(x: float) -> str:
    return "—" if x != x else f"{x * 1000:.1f} ms"


def secs(x: float, digits: int = 2) -> str:
    return "—" if x != x else f"{x:.{digits}f} s"


def table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A Markdown table, pasted as is into docs/benchmarks.md."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def machine() -> str:
    return (
        f"{time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores, "
        f"Python {sys.version.split()[0]}, load {os.getloadavg()[0]:.2f}"
    )


def uptime() -> str:
    done = subprocess.run(["uptime"], capture_output=True, text=True, check=False)
    return done.stdout.strip() or f"load average: {os.getloadavg()}"


def versions() -> dict[str, str]:
    def out(cmd: list[str]) -> str:
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=10, check=False)
        except OSError:
            return "missing"
        return (done.stdout or done.stderr).strip().splitlines()[0] if \
            (done.stdout or done.stderr).strip() else "?"

    return {
        "stackup": out([STACKUP, "--version"]),
        "honcho": out([HONCHO, "--version"]),
        "supervisord": out([SUPERVISORD, "--version"]),
        "bash": out(["bash", "--version"]),
        "python": sys.version.split()[0],
        "kernel": platform.release(),
        "cpus": str(os.cpu_count()),
    }
