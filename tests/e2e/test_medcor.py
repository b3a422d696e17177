"""The MedCor platform, end to end: `stackup run` brings examples/medcor up under a
free port offset, examples/medcor/check.py asserts from outside that everything
answers as it should, and after the stack is taken down no port is held and no
process of the stack is left (Django's autoreloader child, node's children,
PostgreSQL's background workers and nginx's workers included).

Needs PostgreSQL 15, node + npm, nginx and the example's Python requirements
(`make e2e` installs those); missing ones FAIL with what to install. Chromium is
used when installed (`.ci/run` installs it) to render the page: the real CORS proof.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import uuid
import warnings
from pathlib import Path

import psutil
import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "medcor"
STACK = EXAMPLE / "stack.yaml"
CHECK = EXAMPLE / "check.py"
IPV6_LOCALHOST = Path(__file__).resolve().parent / "ipv6_localhost.cjs"
PG_BIN = os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin")
# A cold run (fresh clone: initdb, npm ci, the first Vite and Django start) takes
# about a minute here; the bound is for a slow CI machine and a slow npm registry.
RUN_TIMEOUT = 600


def missing_requirements() -> list[str]:
    missing = []
    search = os.pathsep.join([PG_BIN, os.environ.get("PATH", "")])
    if not all(shutil.which(t, path=search) for t in ("initdb", "postgres", "pg_isready", "psql")):
        missing.append(
            f"PostgreSQL 15 server binaries (initdb, postgres, pg_isready, psql) in {PG_BIN}"
            " or on PATH: apt-get install postgresql-15 (or set PG_BIN)"
        )
    if not (shutil.which("node") and shutil.which("npm")):
        missing.append("node 20 and npm: apt-get install nodejs npm")
    if not shutil.which("nginx"):
        missing.append("nginx: apt-get install nginx-light")
    modules = {"django": "Django", "corsheaders": "django-cors-headers", "psycopg": "psycopg",
               "fastmcp": "fastmcp"}
    absent = [pkg for mod, pkg in modules.items() if importlib.util.find_spec(mod) is None]
    if absent:
        missing.append(
            f"{', '.join(absent)} in {sys.executable}: `make e2e` installs"
            " examples/medcor/requirements.txt"
        )
    return missing


@pytest.fixture(scope="module")
def requirements() -> None:
    missing = missing_requirements()
    if missing:
        pytest.fail("the MedCor e2e test needs: " + "; ".join(missing), pytrace=False)


@pytest.fixture(scope="module")
def data_env():
    """Run as root, the stack hands its data folder to the postgres user, who must be
    able to reach it by its absolute path; a clone under a closed folder (/root is
    0700) gets its data in a folder of its own under /tmp instead (MEDCOR_DATA)."""
    if os.geteuid() != 0 or "MEDCOR_DATA" in os.environ:
        yield {}
        return
    probe = subprocess.run(["runuser", "-u", "postgres", "--", "test", "-x", str(EXAMPLE)])
    if probe.returncode == 0:
        yield {}
        return
    folder = tempfile.mkdtemp(prefix="medcor-e2e-data-")
    os.chmod(folder, 0o755)
    yield {"MEDCOR_DATA": folder}
    shutil.rmtree(folder, ignore_errors=True)


def base_ports() -> list[int]:
    out = subprocess.run(
        [sys.executable, "-m", "stackup", "-f", str(STACK), "ports", "--json",
         "--profile", "proxy", "--profile", "voice", "--port-offset", "0"],
        capture_output=True, text=True, timeout=30, env=clean_env(),
    )
    assert out.returncode == 0, out.stderr
    return [row["port"] for row in json.loads(out.stdout)]


def is_free(port: int) -> bool:
    try:
        for family, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
            with socket.socket(family, socket.SOCK_STREAM) as sock:
                sock.bind((host, port))
    except OSError:
        return False
    return True


def free_offset(ports: list[int]) -> int:
    """An offset that puts every port of the stack on a free one (20000-32000: below
    the ephemeral range, where no client's local port lands)."""
    low, high = 20000 - min(ports), 32000 - max(ports)
    for _ in range(200):
        offset = random.randint(low, high)
        if all(is_free(p + offset) for p in ports):
            return offset
    raise RuntimeError("no free block of ports found")


def clean_env(**extra: str) -> dict[str, str]:
    env = {**os.environ, "NO_COLOR": "1", **extra}
    # The venv's python and stackup first: the stack runs `python manage.py …`.
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    for inherited in ("STACKUP_FILE", "STACKUP_PORT_OFFSET", "NODE_OPTIONS"):
        if inherited not in extra:
            env.pop(inherited, None)
    return env


def stack_is_supervised() -> bool:
    out = subprocess.run(
        [sys.executable, "-m", "stackup", "-f", str(STACK), "status", "--json"],
        capture_output=True, text=True, timeout=30, env=clean_env(),
    )
    return bool(out.stdout) and json.loads(out.stdout)["supervisor"]["running"]


def alive(recorded: list[dict]) -> list[str]:
    left = []
    for entry in recorded:
        try:
            proc = psutil.Process(entry["pid"])
            if proc.create_time() == entry["create_time"] and proc.status() != "zombie":
                left.append(f"{entry['pid']} {entry['name']} ({entry['service']})")
        except psutil.NoSuchProcess:
            continue
    return left


def listening(ports: list[int]) -> list[int]:
    held = {
        c.laddr.port for c in psutil.net_connections("tcp")
        if c.status == psutil.CONN_LISTEN and c.laddr
    }
    return sorted(set(ports) & held)


def run_and_check(tmp_path: Path, profiles: list[str], check_args: list[str],
                  extra_env: dict[str, str] | None = None) -> None:
    """`stackup run … -- python check.py …`, then: nothing listens, nothing is left."""
    if stack_is_supervised():
        pytest.fail(f"{STACK} is already running: `stackup -f {STACK} down` first", pytrace=False)
    offset = free_offset(base_ports())
    pids_file = tmp_path / "processes.json"
    test_id = uuid.uuid4().hex
    env = clean_env(STACKUP_TEST_ID=test_id, **(extra_env or {}))
    profile_args = [arg for p in profiles for arg in ("--profile", p)]
    command = [
        sys.executable, "-m", "stackup", "-f", str(STACK), "run", "--port-offset", str(offset),
        *profile_args, "--",
        sys.executable, str(CHECK), *profile_args, "--pids-file", str(pids_file), *check_args,
    ]
    proc = subprocess.Popen(
        command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL, text=True, start_new_session=True,
    )
    try:
        output, _ = proc.communicate(timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGTERM)  # `run` takes the stack down on SIGTERM
        output, _ = proc.communicate(timeout=60)
        pytest.fail(f"stackup run took over {RUN_TIMEOUT}s:\n{output[-6000:]}", pytrace=False)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
        # Whatever happened, leave nothing running.
        subprocess.run([sys.executable, "-m", "stackup", "-f", str(STACK), "down"],
                       env=clean_env(), capture_output=True, timeout=120)
    print(output)
    assert proc.returncode == 0, f"stackup run exited {proc.returncode}:\n{output[-8000:]}"
    assert "all checks passed" in output

    recorded = json.loads(pids_file.read_text())
    names = {entry["name"] for entry in recorded["processes"]}
    # The families the test is about were really there to be stopped.
    assert {"postgres", "node", "nginx"} <= names or "proxy" not in profiles, names
    assert len([e for e in recorded["processes"] if e["service"] == "backend"]) >= 2, recorded
    assert not listening(recorded["ports"]), f"ports still held after down: {recorded['ports']}"
    left = alive(recorded["processes"])
    marked = [p.pid for p in marked_processes(test_id)]
    for pid in marked:
        with contextlib.suppress(psutil.Error):
            psutil.Process(pid).kill()
    assert not left and not marked, f"left after down: {left}, marked: {marked}"


def marked_processes(test_id: str) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter():
        with contextlib.suppress(psutil.Error, OSError):
            if proc.environ().get("STACKUP_TEST_ID") == test_id and proc.status() != "zombie":
                found.append(proc)
    return found


@pytest.mark.timeout(RUN_TIMEOUT + 180)
def test_medcor_platform_up_checked_and_down(requirements, data_env, tmp_path):
    check_args = []
    if shutil.which("chromium") or shutil.which("chromium-browser"):
        check_args.append("--browser")
    else:
        warnings.warn("chromium not installed: the page is not rendered in a browser "
                      "(apt-get install chromium)", stacklevel=1)
    run_and_check(tmp_path, ["proxy", "voice"], check_args, data_env)


@pytest.mark.timeout(RUN_TIMEOUT + 180)
def test_medcor_ready_when_vite_listens_on_ipv6_only(requirements, data_env, tmp_path):
    """Where `localhost` resolves to ::1 first, Vite (no --host) listens on [::1] only:
    the stack still becomes ready, the page is served there, and nginx reaches it."""
    node_options = f"--require {IPV6_LOCALHOST}"
    run_and_check(
        tmp_path, ["proxy"], ["--frontend-on", "::1"], {**data_env, "NODE_OPTIONS": node_options}
    )
