"""Soak run (`make soak`): 10 healthy services and one crash-looping service under
`stackup up -d` for a while; the supervisor's open files, threads and memory must
stay flat, every restart must be logged, and `down` must leave nothing behind.

    .venv/bin/python benchmarks/soak.py [--minutes 5] [--sample 10]
"""

from __future__ import annotations

import argparse
import json
import random
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
SVC = ROOT / "tests" / "services" / "svc.py"
PY = sys.executable


def free_ports(n: int) -> list[int]:
    ports: list[int] = []
    while len(ports) < n:
        port = random.randint(20000, 32000)
        try:
            with socket.socket() as s:
                s.bind(("127.0.0.1", port))
        except OSError:
            continue
        if port not in ports:
            ports.append(port)
    return ports


def write_stack(folder: Path, ports: list[int]) -> None:
    lines = ["name: soak", "services:"]
    for i, port in enumerate(ports):
        lines += [
            f"  web{i}:",
            f"    command: {PY} {SVC} --http",
            f"    port: {port}",
            "    health: {http: /health, interval: 1s}",
        ]
    lines += [
        "  crashy:",
        f"    command: {PY} {SVC} --port 0 --say crashing --exit-after 0.5 --exit-code 3",
        "    restart: always",
    ]
    (folder / "stack.yaml").write_text("\n".join(lines) + "\n")


def stackup(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PY, "-m", "stackup", *args], cwd=folder, capture_output=True, text=True, timeout=120
    )


def sample(proc: psutil.Process) -> dict[str, float]:
    with proc.oneshot():
        mem = proc.memory_full_info()
        return {
            "fds": proc.num_fds(),
            "threads": proc.num_threads(),
            "rss_mb": mem.rss / 2**20,
            "pss_mb": getattr(mem, "pss", mem.rss) / 2**20,
            "cpu_s": sum(proc.cpu_times()[:2]),
        }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--sample", type=float, default=10.0, help="seconds between samples")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="stackup-soak-") as tmp:
        folder = Path(tmp)
        write_stack(folder, free_ports(10))
        up = stackup(folder, "up", "-d")
        if up.returncode != 0:
            print(up.stderr, file=sys.stderr)
            return 1
        status = json.loads(stackup(folder, "status", "--json").stdout)
        supervisor = psutil.Process(status["supervisor"]["pid"])
        samples = []
        end = time.monotonic() + args.minutes * 60
        print(f"{'t (s)':>6} {'fds':>4} {'threads':>7} {'rss MB':>7} {'pss MB':>7} {'cpu s':>6}")
        began = time.monotonic()
        while True:
            s = sample(supervisor)
            samples.append(s)
            print(f"{time.monotonic() - began:6.0f} {s['fds']:4.0f} {s['threads']:7.0f} "
                  f"{s['rss_mb']:7.1f} {s['pss_mb']:7.1f} {s['cpu_s']:6.2f}", flush=True)
            if time.monotonic() >= end:
                break
            time.sleep(min(args.sample, max(0.0, end - time.monotonic())))
        status = json.loads(stackup(folder, "status", "--json").stdout)
        restarts = next(s for s in status["services"] if s["name"] == "crashy")["restarts"]
        log = (folder / ".stackup" / "logs" / "crashy.log").read_text()
        logged = log.count("restarting crashy in")
        healthy = sum(1 for s in status["services"] if s["name"] != "crashy" and s["ready"])
        down = stackup(folder, "down")
        left = [p for p in psutil.process_iter(["cmdline"])
                if str(folder) in " ".join(p.info["cmdline"] or [])]
        # The first sample is taken right after start-up; compare the later ones.
        later = samples[1:] or samples
        spread = {k: max(s[k] for s in later) - min(s[k] for s in later)
                  for k in ("fds", "threads", "rss_mb")}
        idle_cpu = (samples[-1]["cpu_s"] - samples[0]["cpu_s"]) / max(1.0, args.minutes * 60)
        print(f"\nrestarts of crashy: {restarts} (logged: {logged}); healthy others: {healthy}/10")
        print(f"spread after warm-up: fds {spread['fds']:.0f}, threads {spread['threads']:.0f}, "
              f"rss {spread['rss_mb']:.1f} MB; supervisor CPU {idle_cpu * 100:.2f}% of one core")
        print(f"down: exit {down.returncode}; processes left: {len(left)}")
        ok = (down.returncode == 0 and not left and logged >= restarts > 0 and healthy == 10
              and spread["fds"] <= 4 and spread["threads"] <= 4 and spread["rss_mb"] < 10)
        print("verdict:", "FLAT" if ok else "NOT FLAT")
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
