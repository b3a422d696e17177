"""A real PostgreSQL under stackup: initdb as a oneshot, the server (run as the
`postgres` user when stackup is root: PostgreSQL refuses root) checked with
pg_isready, a psql task depending on it, and `down` leaving nothing behind."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import signal
import subprocess
import tempfile

import psutil
import pytest

NEEDED = ("initdb", "postgres", "pg_isready", "psql")
pytestmark = pytest.mark.skipif(
    any(shutil.which(tool) is None for tool in NEEDED), reason="PostgreSQL binaries not found"
)


@pytest.fixture
def pg_dir():
    """A data folder the server's user owns (the test's tmp_path is private to root)."""
    folder = tempfile.mkdtemp(prefix="stackup-pg-")
    if os.geteuid() == 0:
        entry = pwd.getpwnam("postgres")
        os.chown(folder, entry.pw_uid, entry.pw_gid)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def postgres_services(pg_dir: str, db_port: int) -> str:
    """initdb (a oneshot) and the server, as the `postgres` user when we are root
    (PostgreSQL refuses root): the stack file's `services:` entries, indented."""
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root without a postgres user")
        as_postgres = "user: postgres"
    else:
        as_postgres = ""
    data = f"{pg_dir}/data"
    return f"""
          initdb:
            oneshot: true
            {as_postgres}
            command: initdb -D {data} -U app --auth=trust -E UTF8 --no-sync
          db:
            {as_postgres}
            command: >-
              postgres -D {data} -p ${{PORT}} -k {pg_dir}
              -c listen_addresses=127.0.0.1 -c fsync=off
            port: {db_port}
            health: {{command: "pg_isready -h 127.0.0.1 -p ${{PORT}} -U app"}}
            stop_signal: SIGINT
            depends_on: [initdb]"""


def test_postgres_stack_up_query_and_down(stackup, port, pg_dir):
    db_port = port()
    stackup.write(f"""
        services:{postgres_services(pg_dir, db_port)}
          migrate:
            oneshot: true
            command: >-
              psql -h 127.0.0.1 -p ${{DB_PORT}} -U app -d postgres -v ON_ERROR_STOP=1
              -c "create table patients (id int primary key, name text)"
              -c "insert into patients values (1, 'Ada')"
            depends_on: [db]
        """)
    result = stackup.run("up", "-d", timeout=120)
    assert result.returncode == 0, result.stderr
    status = json.loads(stackup.run("status", "--json").stdout)
    states = {s["name"]: s["state"] for s in status["services"]}
    assert states == {"initdb": "completed", "db": "healthy", "migrate": "completed"}
    db_pid = next(s["pid"] for s in status["services"] if s["name"] == "db")
    server = psutil.Process(db_pid)
    family = [server, *server.children(recursive=True)]
    if os.geteuid() == 0:
        assert all(p.username() == "postgres" for p in family if p.name() == "postgres")
    query = subprocess.run(
        ["psql", "-h", "127.0.0.1", "-p", str(db_port), "-U", "app", "-d", "postgres",
         "-tAc", "select name from patients"],
        capture_output=True, text=True, timeout=30,
    )
    assert query.stdout.strip() == "Ada", query.stderr

    assert stackup.run("down", timeout=60).returncode == 0
    assert all(not p.is_running() or p.status() == psutil.STATUS_ZOMBIE for p in family)
    assert not any(
        c.laddr and c.laddr.port == db_port and c.status == psutil.CONN_LISTEN
        for c in psutil.net_connections("tcp")
    )


def test_a_killed_supervisors_postgres_is_adopted_not_restarted(stackup, port, pg_dir):
    """Issue 9 with a real database: SIGKILL the detached supervisor, PostgreSQL goes on
    serving (its logger and workers write to a pipe that never loses its reader);
    `up -d` adopts it with the same pid; `down` stops it, workers and all."""
    db_port = port()
    stackup.write(f"""
        services:{postgres_services(pg_dir, db_port)}
        """)
    assert stackup.run("up", "-d", timeout=120).returncode == 0
    status = json.loads(stackup.run("status", "--json").stdout)
    db_pid = next(s["pid"] for s in status["services"] if s["name"] == "db")
    family = [psutil.Process(db_pid), *psutil.Process(db_pid).children(recursive=True)]
    os.kill(status["supervisor"]["pid"], signal.SIGKILL)

    def query(sql: str) -> str:
        return subprocess.run(
            ["psql", "-h", "127.0.0.1", "-p", str(db_port), "-U", "app", "-d", "postgres",
             "-tAc", sql], capture_output=True, text=True, timeout=30,
        ).stdout.strip()

    assert query("select 40 + 2") == "42"  # serving with nobody supervising
    again = stackup.run("up", "-d", timeout=120)
    assert again.returncode == 0, again.stderr
    assert "adopted db: still running from a supervisor that died" in again.stderr
    status = json.loads(stackup.run("status", "--json").stdout)
    assert next(s["pid"] for s in status["services"] if s["name"] == "db") == db_pid
    assert query("select 'still ' || 'here'") == "still here"
    assert stackup.run("down", timeout=60).returncode == 0
    assert all(not p.is_running() or p.status() == psutil.STATUS_ZOMBIE for p in family)
