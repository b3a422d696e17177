"""Foreground `stackup up` with real processes, ports and signals."""

from __future__ import annotations

import json
import os
import pwd
import re
import signal
import stat
import subprocess

import psutil
import pytest

from tests.conftest import PY, SVC, is_gone, kill_group_and_wait, poll, svc


def lines_index(run, pattern: str) -> int:
    import re

    rx = re.compile(pattern)
    for i, line in enumerate(run.out):
        if rx.search(line):
            return i
    raise AssertionError(f"{pattern!r} not in output:\n{run.stdout}")


def test_chain_starts_in_dependency_order_and_ctrl_c_stops_in_reverse(stackup, port):
    a, b, c = port(), port(), port()
    stackup.write(f"""
        services:
          a:
            command: {svc("--bind-delay 0.2")}
            port: {a}
          b:
            command: {svc("--bind-delay 0.2")}
            port: {b}
            depends_on: [a]
          c:
            command: {svc("--bind-delay 0.2 --say hello-from-c")}
            port: {c}
            depends_on: [b]
        """)
    run = stackup.start("up")
    run.wait_for(r"all 3 services ready")
    # Each starts only after what it depends on is healthy.
    assert lines_index(run, r"a is healthy") < lines_index(run, r"b started")
    assert lines_index(run, r"b is healthy") < lines_index(run, r"c started")
    # Output is prefixed `HH:MM:SS name | line`.
    run.wait_for(r"^\d\d:\d\d:\d\d c\s+\| hello-from-c$")
    run.signal(signal.SIGINT)
    assert run.wait() == 0
    # Reverse order: c has exited before b is signalled, b before a.
    assert lines_index(run, r"c stopped") < lines_index(run, r"stopping b")
    assert lines_index(run, r"b stopped") < lines_index(run, r"stopping a")
    for p in (a, b, c):
        assert not any(
            conn.laddr.port == p for conn in psutil.net_connections("tcp")
            if conn.status == psutil.CONN_LISTEN
        )


def test_diamond_starts_independent_services_in_parallel(stackup, port):
    db, api1, api2, web = port(), port(), port(), port()
    stackup.write(f"""
        services:
          db: {{command: "{svc('--bind-delay 0.1')}", port: {db}}}
          api1: {{command: "{svc('--bind-delay 0.6')}", port: {api1}, depends_on: [db]}}
          api2: {{command: "{svc('--bind-delay 0.6')}", port: {api2}, depends_on: [db]}}
          web:
            command: {svc("--bind-delay 0.1")}
            port: {web}
            depends_on: [api1, api2]
        """)
    run = stackup.start("up")
    run.wait_for(r"all 4 services ready")
    # Both APIs were started before either became ready: they ran side by side.
    first_ready = min(lines_index(run, r"api1 is healthy"), lines_index(run, r"api2 is healthy"))
    assert lines_index(run, r"api1 started") < first_ready
    assert lines_index(run, r"api2 started") < first_ready
    assert lines_index(run, r"web started") > max(
        lines_index(run, r"api1 is healthy"), lines_index(run, r"api2 is healthy")
    )
    run.signal(signal.SIGTERM)
    assert run.wait() == 0


def test_service_exiting_before_ready_fails_up_and_stops_everything(stackup, port):
    db, api = port(), port()
    stackup.write(f"""
        services:
          db: {{command: "{svc('--children 2')}", port: {db}}}
          api:
            command: >-
              {svc("--port 0 --say booting --say 'fatal: cannot import settings'",
                   "--exit-after 0.1 --exit-code 3")}
            port: {api}
            depends_on: [db]
          web:
            command: {svc()}
            depends_on: [api]
        """)
    run = stackup.start("up")
    assert run.wait() == 1
    first = run.err[0]
    assert first.startswith("stackup: api exited with code 3 before it was ready"), run.stderr
    assert "fatal: cannot import settings" in run.stderr  # its last lines are shown
    assert "web started" not in run.stdout
    assert not stackup.leftovers()


def test_service_not_ready_by_start_timeout_fails_with_the_check(stackup, port):
    p = port()
    stackup.write(f"""
        services:
          slow:
            command: {svc("--bind-delay 30")}
            port: {p}
            health: {{tcp: true, start_timeout: 0.5}}
        """)
    run = stackup.start("up")
    assert run.wait() == 1
    assert "slow not ready after 0.5s" in run.err[0]
    assert f"tcp 127.0.0.1:{p}" in run.err[0]
    assert not stackup.leftovers()


def test_ctrl_c_stops_grandchildren_and_escaped_sessions(stackup, port, tmp_path):
    pidfile = tmp_path / "pids"
    stackup.write(f"""
        services:
          family:
            command: {svc(f"--children 2 --pidfile {pidfile}")}
            port: {port()}
          escapee:
            command: {svc(f"--children 2 --setsid-children --pidfile {pidfile}")}
            port: {port()}
        """)
    run = stackup.start("up")
    run.wait_for(r"all 2 services ready")
    pids = [int(x) for x in pidfile.read_text().split()]
    assert len(pids) == 6 and not any(is_gone(p) for p in pids)
    run.signal(signal.SIGINT)
    assert run.wait() == 0
    assert all(is_gone(p) for p in pids)


def test_sigterm_ignoring_service_is_killed_after_stop_timeout(stackup, port):
    stackup.write(f"""
        services:
          stubborn:
            command: {svc("--ignore-term --children 1")}
            port: {port()}
            stop_timeout: 0.3
        """)
    run = stackup.start("up")
    run.wait_for(r"1 service ready")
    run.signal(signal.SIGINT)
    assert run.wait() == 0
    # It outlived its stop_timeout: said as what it was, not as a stop (issue 11.5).
    assert re.search(r"stubborn killed \(SIGKILL\) after 0\.\ds", run.stdout), run.stdout
    assert "stubborn stopped" not in run.stdout


def test_second_ctrl_c_kills_at_once(stackup, port):
    stackup.write(f"""
        services:
          stubborn:
            command: {svc("--ignore-term")}
            port: {port()}
            stop_timeout: 60
        """)
    run = stackup.start("up")
    run.wait_for(r"1 service ready")
    run.signal(signal.SIGINT)
    run.wait_for(r"stopping stubborn")
    run.signal(signal.SIGINT)
    assert run.wait(timeout=10) == 0  # far sooner than the 60 s stop_timeout
    # The output says what the second Ctrl-C did (issue 7).
    assert "stubborn killed (SIGKILL): asked to kill at once" in run.stdout, run.stdout


def test_port_held_by_another_process_exits_3_and_leaves_it_alone(stackup, port, tmp_path):
    p = port()
    squatter = subprocess.Popen(
        [PY, str(SVC), "--port", str(p)], start_new_session=True, stdin=subprocess.DEVNULL
    )
    try:
        poll(lambda: any(c.laddr.port == p for c in psutil.Process(squatter.pid).net_connections()))
        touched = tmp_path / "touched"
        stackup.write(f"""
            services:
              other: {{command: "{svc(f'--touch {touched}')}"}}
              api: {{command: "{svc()}", port: {p}}}
            """)
        result = stackup.run("up")
        assert result.returncode == 3, result.stderr
        assert f"port {p} (api) is held by pid {squatter.pid}" in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
        assert not touched.exists()  # nothing started
        assert squatter.poll() is None  # and the squatter was not signalled
    finally:
        kill_group_and_wait(squatter)


def test_oneshot_completed_condition_and_failed_task(stackup, port, tmp_path):
    touched = tmp_path / "touched"
    stackup.write(f"""
        services:
          migrate:
            oneshot: true
            command: {svc(f"--say migrating --touch {touched} --exit-after 0.1")}
          api:
            command: {svc(f"--touch {touched}")}
            port: {port()}
            depends_on: [migrate]
        """)
    run = stackup.start("up")
    run.wait_for(r"all 2 services ready")
    order = [line.split()[0] for line in touched.read_text().splitlines()]
    assert order == ["migrate", "api"]
    run.signal(signal.SIGINT)
    assert run.wait() == 0

    stackup.write(f"""
        services:
          migrate:
            oneshot: true
            command: {svc("--exit-after 0 --exit-code 4")}
          api: {{command: "{svc()}", port: {port()}, depends_on: [migrate]}}
        """)
    result = stackup.run("up")
    assert result.returncode == 1
    assert result.stderr.startswith("stackup: migrate exited with code 4")


def test_http_log_and_command_checks(stackup, port):
    web, api = port(), port()
    connect = f'import socket; socket.create_connection(("127.0.0.1", {api}))'
    stackup.write(f"""
        services:
          web:
            command: {svc("--http --bind-delay 0.2")}
            port: {web}
            health: {{http: /ready}}
          worker:
            command: {svc("--bind-delay 0.1 --say-when-bound 'worker is up'", f"--port {port()}")}
            health: {{log: "worker is up"}}
          api:
            command: {svc()}
            port: {api}
            health: {{command: ['{PY}', '-c', '{connect}']}}
            depends_on: [web, worker]
        """)
    run = stackup.start("up")
    run.wait_for(r"all 3 services ready")
    assert f"http://127.0.0.1:{web}/ready answered 200" in run.stdout
    assert "log /worker is up/ seen" in run.stdout
    assert "check command exited 0" in run.stdout
    run.signal(signal.SIGINT)
    assert run.wait() == 0


def test_http_check_with_wrong_status_is_not_ready(stackup, port):
    web = port()
    stackup.write(f"""
        services:
          web:
            command: {svc("--http --http-status 503")}
            port: {web}
            health: {{http: {{path: /health, status: 200}}, start_timeout: 0.5}}
        """)
    result = stackup.run("up")
    assert result.returncode == 1
    assert "answered 503, expected 200" in result.stderr


def test_localhost_check_finds_an_ipv6_only_listener(stackup, port):
    p = port()
    stackup.write(f"""
        services:
          vite:
            command: {svc("--host ::1")}
            port: {p}
            host: localhost
        """)
    run = stackup.start("up")
    run.wait_for(r"vite is healthy.*\[::1\]|vite is healthy.*::1")
    run.signal(signal.SIGINT)
    assert run.wait() == 0


def test_environment_ports_unbuffered_and_log_files(stackup, port):
    a, b = port(), port()
    script = (
        "import os; print(os.environ['PORT'], os.environ['A_PORT'], os.environ['B_PORT'],"
        " os.environ['PYTHONUNBUFFERED'])"
    )
    stackup.write(f"""
        services:
          a: {{command: "{svc()}", port: {a}}}
          b:
            command: ["{PY}", "-c", "{script}"]
            port: {b}
            oneshot: true
        """)
    run = stackup.start("up")
    run.wait_for(r"all 2 services ready")
    run.wait_for(rf"b\s+\| {b} {a} {b} 1$")
    run.signal(signal.SIGINT)
    assert run.wait() == 0
    state_dir = stackup.dir / ".stackup"
    assert stat.S_IMODE(state_dir.stat().st_mode) == 0o700
    log = (state_dir / "logs" / "b.log").read_text()
    assert f"{b} {a} {b} 1" in log
    assert stat.S_IMODE((state_dir / "logs" / "b.log").stat().st_mode) == 0o600


def test_up_selected_service_starts_only_it_and_its_dependencies(stackup, port, tmp_path):
    touched = tmp_path / "touched"
    stackup.write(f"""
        services:
          db: {{command: "{svc(f'--touch {touched}')}", port: {port()}}}
          api: {{command: "{svc(f'--touch {touched}')}", port: {port()}, depends_on: [db]}}
          web: {{command: "{svc(f'--touch {touched}')}", port: {port()}, depends_on: [api]}}
          other: {{command: "{svc(f'--touch {touched}')}", port: {port()}}}
        """)
    run = stackup.start("up", "api")
    run.wait_for(r"all 2 services ready")
    started = sorted(line.split()[0] for line in touched.read_text().splitlines())
    assert started == ["api", "db"]
    run.signal(signal.SIGINT)
    assert run.wait() == 0
    assert stackup.run("up", "nope").returncode == 2


def test_second_foreground_up_exits_4(stackup, port):
    stackup.write(f"""
        services:
          a: {{command: "{svc()}", port: {port()}}}
        """)
    run = stackup.start("up")
    run.wait_for(r"1 service ready")
    second = stackup.run("up")
    assert second.returncode == 4
    assert "already supervised" in second.stderr
    run.signal(signal.SIGINT)
    assert run.wait() == 0


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_signal_during_startup_stops_what_started(stackup, port, sig):
    stackup.write(f"""
        services:
          db: {{command: "{svc('--children 1')}", port: {port()}}}
          api:
            command: {svc("--bind-delay 30")}
            port: {port()}
            depends_on: [db]
        """)
    run = stackup.start("up")
    run.wait_for(r"api started")
    run.signal(sig)
    assert run.wait() == 0
    assert not stackup.leftovers()



def test_command_that_cannot_run_fails_the_start_and_stops_its_sibling(stackup, port):
    stackup.write(f"""
        services:
          nobin: {{command: [no-such-binary-xyz]}}
          web: {{command: "{svc('--bind-delay 0.3')}", port: {port()}}}
        """)
    for args, code in ((["up"], 1), (["up", "-d"], 1), (["run", "true"], 125)):
        for _ in range(3):  # the sibling is cancelled at different points of its start
            result = stackup.run(*args)
            assert result.returncode == code, (args, result.stderr)
            assert "nobin cannot run ['no-such-binary-xyz']" in result.stderr, args
            poll(lambda: not stackup.leftovers(), timeout=5)


def test_a_command_check_runs_with_the_services_environment_and_user(stackup, port):
    """Issue 11.18: `pg_isready` must ask as the role the server runs as, and a check
    may read the service's own variables."""
    as_nobody = os.geteuid() == 0
    user = "user: nobody" if as_nobody else ""
    whoami = "nobody" if as_nobody else pwd.getpwuid(os.geteuid()).pw_name
    stackup.write(f"""
        services:
          api:
            command: sleep 30
            {user}
            env: {{CHECK_TOKEN_NAME: expected}}
            health:
              command: test "$CHECK_TOKEN_NAME" = expected && test "$(id -un)" = {whoami}
              start_timeout: 10
        """)
    result = stackup.run("up", "-d")
    assert result.returncode == 0, result.stderr
    status = json.loads(stackup.run("status", "--json").stdout)
    assert status["services"][0]["reason"] == "check command exited 0"
    assert stackup.run("down").returncode == 0
