"""examples/recipes end to end: a real PostgreSQL, Django (runserver with its
autoreloader) and Next.js (next dev) brought up by stackup under a port offset,
checked from outside by examples/recipes/check.py (API, database, CORS, the page, and
the page in a headless chromium when there is one), then taken down — by `down` at the
end of `stackup run`, and by Ctrl-C (SIGINT) of a foreground `up` — leaving no
process of the stack and no listening port behind.

The first run on a fresh clone is the cold start (initdb, `npm ci`, Next's first
compile), which is why the timeouts are minutes. PostgreSQL, node or the example's
Python packages missing is a failure that says what to install, never a skip.
"""

from __future__ import annotations

import importlib.util
import json
import os
import pwd
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

import psutil
import pytest

from tests.conftest import ROOT, Stackup

pytestmark = pytest.mark.e2e

EXAMPLE = ROOT / "examples" / "recipes"
STACK = EXAMPLE / "stack.yaml"
CHECK = EXAMPLE / "check.py"
PG_BIN = os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin")  # as stack.yaml's default
VENV_BIN = str(Path(sys.executable).parent)
CHECK_NEEDS = ("API_PORT", "FRONTEND_PORT", "DATABASE_URL")  # what `stackup run` would pass
COLD_START = 900  # seconds: npm ci downloads Next.js on a fresh machine


def require_the_machine() -> None:
    """Fail, naming what to install, when the machine cannot run the example."""
    missing = []
    search = f"{PG_BIN}{os.pathsep}{os.environ.get('PATH', '')}"
    for tool in ("initdb", "postgres", "pg_isready"):
        if shutil.which(tool, path=search) is None:
            missing.append(f"{tool} (PostgreSQL 15: apt install postgresql-15, or set PG_BIN)")
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            missing.append(f"{tool} (Node.js 20: apt install nodejs npm)")
    for module, package in (("django", "Django"), ("corsheaders", "django-cors-headers"),
                            ("psycopg", "psycopg")):
        if importlib.util.find_spec(module) is None:
            missing.append(f"{package} in {sys.executable} (make e2e installs "
                           "examples/recipes/requirements.txt)")
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            missing.append("a `postgres` user (running as root; adduser --system postgres)")
    if missing:
        pytest.fail("the recipes example needs: " + "; ".join(missing), pytrace=False)


def stack_env(stackup: Stackup, report: Path, pgdata: Path | None) -> dict[str, str]:
    # The stack's `python` must be this interpreter's, which has Django installed.
    env = {**stackup.env, "PATH": f"{VENV_BIN}{os.pathsep}{stackup.env['PATH']}",
           "RECIPES_CHECK_REPORT": str(report)}
    if browser_available():
        env["RECIPES_CHECK_BROWSER"] = "require"
    if pgdata is not None:
        env["RECIPES_PGDATA"] = str(pgdata)
    return env


@pytest.fixture
def pgdata():
    """Where the cluster goes: the example's own .data/ (None), unless we are root and
    the `postgres` user cannot enter the checkout (a clone under a 0700 /root): then a
    fresh folder it can reach, as the example's README tells users to do."""
    if os.geteuid() != 0 or shutil.which("runuser") is None:
        yield None
        return
    probe = subprocess.run(["runuser", "-u", "postgres", "--", "test", "-x", str(EXAMPLE)],
                           capture_output=True, timeout=30)
    if probe.returncode == 0:
        yield None
        return
    warnings.warn(f"the postgres user cannot enter {EXAMPLE}: the cluster goes to a "
                  "temporary folder (RECIPES_PGDATA)", stacklevel=1)
    parent = Path(tempfile.mkdtemp(prefix="stackup-recipes-pg-"))
    parent.chmod(0o755)
    yield parent / "pg15"
    shutil.rmtree(parent, ignore_errors=True)


def browser_available() -> bool:
    return any(shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome"))


def base_ports(stackup: Stackup) -> list[int]:
    result = stackup.run("-f", str(STACK), "ports", "--json")
    assert result.returncode == 0, result.stderr
    return [row["port"] for row in json.loads(result.stdout) if row.get("port")]


def free_on_loopback(port: int) -> bool:
    for family, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            try:
                sock.bind((host, port))
            except OSError:
                return False
    return True


def free_offset(ports: list[int]) -> int:
    """An offset that puts every port of the stack on a free port in 20000-32000 (below
    the ephemeral range, like conftest.free_port)."""
    low, high = 20000 - min(ports), 32000 - max(ports)
    for _ in range(200):
        offset = random.randint(low, high)
        if all(free_on_loopback(p + offset) for p in ports):
            return offset
    raise RuntimeError("no free block of ports found")


def not_already_running(stackup: Stackup) -> None:
    status = json.loads(stackup.run("-f", str(STACK), "status", "--json").stdout)
    if status["supervisor"]["running"]:
        pytest.fail("examples/recipes is already running (stackup -f examples/recipes/stack.yaml "
                    "down first): the test needs the stack's own .stackup/", pytrace=False)


def listening_ports() -> set[int]:
    return {c.laddr.port for c in psutil.net_connections("tcp")
            if c.status == psutil.CONN_LISTEN and c.laddr}


def still_running(process: dict) -> bool:
    """A recorded process that still exists (the same pid and start time); a zombie
    counts as gone (PID 1 here does not reap)."""
    try:
        proc = psutil.Process(process["pid"])
        return (proc.create_time() == process["create_time"]
                and proc.status() != psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return False


def assert_the_report_saw_the_whole_stack(report: dict) -> None:
    """The gone-after-down assertions mean something only if the report holds the
    processes that are hard to stop: PostgreSQL's background workers (each in its own
    session), the autoreloader's child that serves Django, Next's server worker."""
    services = report["services"]
    db = [" ".join(p["cmdline"]) for p in services["db"]["processes"]]
    assert any("checkpointer" in c for c in db) and any("walwriter" in c for c in db), db
    if os.geteuid() == 0:
        assert {p["username"] for p in services["db"]["processes"]} == {"postgres"}
    api = [p for p in services["api"]["processes"] if "runserver" in " ".join(p["cmdline"])
           and p["name"].startswith("python")]
    assert len(api) == 2, services["api"]["processes"]  # the reloader and its server child
    frontend = [p["name"] for p in services["frontend"]["processes"]]
    assert any(n.startswith("next-server") for n in frontend), frontend


def assert_nothing_left(report: dict) -> None:
    processes = [p for s in report["services"].values() for p in s["processes"]]
    left = [f"{p['pid']} {' '.join(p['cmdline'])}" for p in processes if still_running(p)]
    assert not left, f"processes of the stack left after it stopped: {left}"
    ports = {port for s in report["services"].values() for port in [s["port"], *s["listening"]]
             if port}
    held = ports & listening_ports()
    assert not held, f"ports still listening after the stack stopped: {sorted(held)}"


def check_output_ok(output: str) -> None:
    assert "all checks passed" in output, output
    if browser_available():
        assert "ok: browser:" in output, output
    else:
        warnings.warn("chromium not found: the recipes were not checked in a browser "
                      "(Debian: apt install chromium)", stacklevel=2)


@pytest.mark.timeout(COLD_START + 120)
def test_stackup_run_checks_the_stack_and_down_leaves_nothing(stackup, tmp_path, pgdata):
    require_the_machine()
    not_already_running(stackup)
    offset = free_offset(base_ports(stackup))
    report_file = tmp_path / "report.json"
    stackup.env = stack_env(stackup, report_file, pgdata)

    result = stackup.run("-f", str(STACK), "run", "--port-offset", str(offset), "--",
                         sys.executable, str(CHECK), timeout=COLD_START)

    output = f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    assert result.returncode == 0, output
    check_output_ok(result.stdout)
    report = json.loads(report_file.read_text())
    assert_the_report_saw_the_whole_stack(report)
    assert_nothing_left(report)
    after = json.loads(stackup.run("-f", str(STACK), "status", "--json").stdout)
    assert not after["supervisor"]["running"]


@pytest.mark.timeout(COLD_START + 120)
def test_ctrl_c_of_a_foreground_up_leaves_nothing(stackup, tmp_path, pgdata):
    require_the_machine()
    not_already_running(stackup)
    offset = free_offset(base_ports(stackup))
    report_file = tmp_path / "report.json"
    stackup.env = stack_env(stackup, report_file, pgdata)
    config = json.loads(stackup.run("-f", str(STACK), "config", "--json", "--port-offset",
                                    str(offset)).stdout)
    api_env = config["services"]["api"]["env"]
    check_env = {**stackup.env, **{k: api_env[k] for k in CHECK_NEEDS}}

    up = stackup.start("-f", str(STACK), "up", "--port-offset", str(offset))
    up.wait_for(r"frontend is healthy", timeout=COLD_START)
    # The same checks against the foreground supervisor, at another offset than the
    # first test: the page must follow the API to its new port.
    checked = subprocess.run([sys.executable, str(CHECK)], env=check_env, capture_output=True,
                             text=True, timeout=300, stdin=subprocess.DEVNULL)
    assert checked.returncode == 0, f"{checked.stdout}\n{checked.stderr}"
    check_output_ok(checked.stdout)

    up.signal(signal.SIGINT)  # what a terminal's Ctrl-C sends the foreground stackup
    assert up.wait(timeout=60) == 0, up.stdout + up.stderr
    report = json.loads(report_file.read_text())
    assert_the_report_saw_the_whole_stack(report)
    assert_nothing_left(report)
