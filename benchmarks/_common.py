"""Shared plumbing for the benchmarks: stack files, Procfiles, launching and cleaning up.

Every tool is started in its own session; at the end each run kills what is left of the
process tree it saw (snapshotted while running), by pid, and nothing else.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

import psutil

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
PY = sys.executable
FIXTURE = str(HERE / "bench_service.py")
STACKUP = str(BIN / "stackup")
HONCHO = str(BIN / "honcho")
PORT_LOW, PORT_HIGH = 21000, 31000  # below the ephemeral range (32768+)


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


def wait_loop(ports: Iterable[int], command: str, interval: float = 0.1) -> str:
    """What peers' users write: poll each predecessor's port every 100 ms, then exec."""
    checks = " && ".join(f"(exec 3<>/dev/tcp/127.0.0.1/{p})" for p in ports)
    loop = f"until {{ {checks}; }} 2>/dev/null; do sleep {interval}; done; exec {command}"
    return "bash -c " + json.dumps(loop)


def write_stack(folder: Path, services: dict[str, dict[str, object]]) -> Path:
    """JSON is YAML: no YAML library needed. Avoid `$` in commands (interpolation)."""
    path = folder / "stack.yaml"
    path.write_text(json.dumps({"services": services}, indent=1))
    return path


def write_procfile(folder: Path, commands: dict[str, str]) -> Path:
    path = folder / "Procfile"
    path.write_text("".join(f"{name}: {cmd}\n" for name, cmd in commands.items()))
    return path


def stackup_cmd(stack: Path) -> list[str]:
    return [STACKUP, "--no-color", "-f", str(stack), "up"]


def honcho_cmd(procfile: Path) -> list[str]:
    return [HONCHO, "--no-colour", "-f", str(procfile), "-d", str(procfile.parent), "start"]


def launch(
    cmd: Sequence[str], cwd: Path, stdout: int | None = subprocess.DEVNULL
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        list(cmd), cwd=cwd, stdin=subprocess.DEVNULL, stdout=stdout,
        stderr=subprocess.STDOUT, start_new_session=True,
    )


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


def cleanup(tool: subprocess.Popen[bytes], seen: Iterable[psutil.Process]) -> int:
    """Stop the tool if needed and kill, by pid, whatever it left; return how many were left."""
    with contextlib.suppress(ProcessLookupError):
        if tool.poll() is None:
            os.killpg(tool.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        tool.wait(5)
    left = [p for p in {p.pid: p for p in seen}.values() if p.pid != tool.pid and not is_gone(p)]
    for proc in left:
        with contextlib.suppress(psutil.Error):
            proc.kill()  # psutil checks the pid still names the same process
    psutil.wait_procs(left, timeout=3)
    return len(left)


def read_times(path: Path) -> dict[str, tuple[float, float]]:
    out: dict[str, tuple[float, float]] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            name, start, bound = line.split()
            out[name] = (float(start), float(bound))
    return out


def wait_for(names: Iterable[str], times: Path, timeout: float) -> dict[str, tuple[float, float]]:
    wanted = set(names)
    deadline = time.monotonic() + timeout
    got = read_times(times)
    while not wanted <= got.keys() and time.monotonic() < deadline:
        time.sleep(0.02)
        got = read_times(times)
    return got


def stop(tool: subprocess.Popen[bytes], sig: int = signal.SIGINT, timeout: float = 15.0) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(tool.pid, sig)
    with contextlib.suppress(subprocess.TimeoutExpired):
        tool.wait(timeout)


def workdir(prefix: str) -> Path:
    """A fresh folder, removed at exit unless BENCH_KEEP=1 (relay logs reach 80 MB a run)."""
    path = Path(tempfile.mkdtemp(prefix=f"stackup-bench-{prefix}-"))
    if not os.environ.get("BENCH_KEEP"):
        atexit.register(shutil.rmtree, path, True)
    return path


def pct(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def med(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


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
