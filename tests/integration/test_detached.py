"""Detached mode and control from other terminals: up -d, status, down, logs, restart."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time

import psutil

from tests.conftest import PY, SVC, is_gone, kill_group_and_wait, poll, svc


def three_service_stack(stackup, port, extra: str = "") -> dict[str, int]:
    ports = {"db": port(), "api": port(), "web": port()}
    stackup.write(f"""
        name: shop
        services:
          db:
            command: {svc("--children 1 --say db-booting")}
            port: {ports['db']}
          api:
            command: {svc("--bind-delay 0.1 --say api-hello")}
            port: {ports['api']}
            depends_on: [db]
          web:
            command: {svc("--http")}
            port: {ports['web']}
            health: {{http: /}}
            depends_on: [api]
        {extra}
        """)
    return ports


def status_json(stackup, *names: str) -> tuple[int, dict]:
    result = stackup.run("status", "--json", *names)
    return result.returncode, json.loads(result.stdout)


def listening(port: int) -> bool:
    return any(
        c.laddr and c.laddr.port == port and c.status == psutil.CONN_LISTEN
        for c in psutil.net_connections("tcp")
    )


def test_up_detached_status_and_down(stackup, port):
    ports = three_service_stack(stackup, port)
    began = time.time()
    result = stackup.run("up", "-d")
    assert result.returncode == 0, result.stderr
    assert f"http://localhost:{ports['web']}/" in result.stdout  # the table of URLs
    code, status = status_json(stackup)
    assert code == 0
    assert status["stack"] == "shop"
    sup = status["supervisor"]
    assert sup["running"] is True and psutil.pid_exists(sup["pid"])
    by_name = {s["name"]: s for s in status["services"]}
    assert list(by_name) == ["db", "api", "web"]
    for name, entry in by_name.items():
        assert entry["state"] == "healthy" and entry["ready"] is True
        assert entry["port"] == ports[name]
        assert psutil.pid_exists(entry["pid"])
        assert entry["restarts"] == 0 and entry["exit_code"] is None
        assert entry["port_holder"] is None
        assert 0 <= entry["uptime_s"] < 60
        assert began <= entry["started_at"] <= entry["ready_at"] <= time.time()
    assert by_name["api"]["started_at"] >= by_name["db"]["ready_at"]
    # From any folder, with -f (and with STACKUP_FILE).
    elsewhere = subprocess.run(
        [PY, "-m", "stackup", "-f", str(stackup.dir / "stack.yaml"), "status", "--json"],
        cwd="/", env=stackup.env, capture_output=True, text=True, timeout=30,
    )
    assert elsewhere.returncode == 0
    remote = json.loads(elsewhere.stdout)
    assert remote["supervisor"] == status["supervisor"]
    assert [(s["name"], s["pid"]) for s in remote["services"]] == [
        (s["name"], s["pid"]) for s in status["services"]
    ]
    by_env = subprocess.run(
        [PY, "-m", "stackup", "status"], cwd="/", capture_output=True, text=True, timeout=30,
        env={**stackup.env, "STACKUP_FILE": str(stackup.dir / "stack.yaml")},
    )
    assert by_env.returncode == 0 and "shop" in by_env.stdout
    supervisor_log = (stackup.dir / ".stackup" / "supervisor.log").read_text()
    assert "api started" in supervisor_log and "api-hello" not in supervisor_log
    pids = [p.pid for e in by_name.values() for p in [psutil.Process(e["pid"])]]
    tree = [c.pid for pid in pids for c in psutil.Process(pid).children(recursive=True)]

    down = stackup.run("down")
    assert down.returncode == 0, down.stderr
    assert all(is_gone(p) for p in [*pids, *tree, sup["pid"]])
    assert not any(listening(p) for p in ports.values())
    code, status = status_json(stackup)
    assert code == 1 and status["supervisor"]["running"] is False
    assert {s["state"] for s in status["services"]} == {"stopped"}
    assert stackup.run("down").returncode == 0  # idempotent


def test_up_detached_is_idempotent_and_adds_missing_services(stackup, port):
    three_service_stack(stackup, port, extra=f"""
          extra:
            command: {svc()}
            port: {port()}
            profiles: [tools]
        """)
    assert stackup.run("up", "-d", "api").returncode == 0
    _, first = status_json(stackup)
    assert [s["name"] for s in first["services"]] == ["db", "api"]
    again = stackup.run("up", "-d")
    assert again.returncode == 0, again.stderr
    _, second = status_json(stackup)
    pids = {s["name"]: s["pid"] for s in second["services"]}
    assert pids["db"] == first["services"][0]["pid"]  # left alone
    assert pids["api"] == first["services"][1]["pid"]
    assert set(pids) == {"db", "api", "web"}
    assert stackup.run("up", "-d", "extra").returncode == 0
    _, third = status_json(stackup, "extra")
    assert third["services"][0]["ready"] is True
    assert stackup.run("down").returncode == 0


def test_failed_up_detached_reports_and_leaves_nothing(stackup, port):
    stackup.write(f"""
        services:
          db: {{command: "{svc('--children 1')}", port: {port()}}}
          api:
            command: {svc("--port 0 --say 'Traceback boom' --exit-after 0.1 --exit-code 2")}
            port: {port()}
            depends_on: [db]
        """)
    result = stackup.run("up", "-d")
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("stackup:")]
    assert errors[0].startswith("stackup: api exited with code 2 before it was ready")
    assert "api | Traceback boom" in result.stderr
    poll(lambda: not stackup.leftovers(), timeout=5)  # the supervisor is gone too
    code, status = status_json(stackup)
    assert code == 1 and status["supervisor"]["running"] is False


def test_down_after_supervisor_was_killed(stackup, port, tmp_path):
    pidfile = tmp_path / "pids"
    stackup.write(f"""
        services:
          db: {{command: "{svc(f'--children 2 --pidfile {pidfile}')}", port: {port()}}}
          api:
            command: {svc(f"--children 1 --setsid-children --pidfile {pidfile}")}
            port: {port()}
            depends_on: [db]
        """)
    assert stackup.run("up", "-d").returncode == 0
    _, status = status_json(stackup)
    os.kill(status["supervisor"]["pid"], signal.SIGKILL)
    poll(lambda: is_gone(status["supervisor"]["pid"]))
    pids = [int(x) for x in pidfile.read_text().split()]
    assert not any(is_gone(p) for p in pids)
    code, after = status_json(stackup)
    assert after["supervisor"]["running"] is False
    assert all(s["pid"] for s in after["services"])  # still running, still known
    down = stackup.run("down")
    assert down.returncode == 0, down.stderr
    assert all(is_gone(p) for p in pids)
    assert not stackup.leftovers()


def test_down_never_signals_a_process_it_did_not_start(stackup, port):
    three_service_stack(stackup, port)
    assert stackup.run("up", "-d").returncode == 0
    _, status = status_json(stackup)
    os.kill(status["supervisor"]["pid"], signal.SIGKILL)
    poll(lambda: is_gone(status["supervisor"]["pid"]))
    stranger = subprocess.Popen(["sleep", "1000"], start_new_session=True)
    try:
        state_file = stackup.dir / ".stackup" / "state.json"
        state = json.loads(state_file.read_text())
        rec = state["services"]["web"]
        rec["pid"] = stranger.pid  # forged: the stranger's real pid and creation time
        rec["create_time"] = psutil.Process(stranger.pid).create_time()
        state_file.write_text(json.dumps(state))
        assert stackup.run("down").returncode == 0
        assert stranger.poll() is None and not is_gone(stranger.pid)
    finally:
        kill_group_and_wait(stranger)


def test_concurrent_up_detached_end_with_one_supervisor(stackup, port):
    three_service_stack(stackup, port)
    cmd = [PY, "-m", "stackup", "up", "-d"]
    runs = [
        subprocess.Popen(cmd, cwd=stackup.dir, env=stackup.env, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
        for _ in range(2)
    ]
    outs = [r.communicate(timeout=30) for r in runs]
    assert [r.returncode for r in runs] == [0, 0], outs
    supervisors = [
        p for p in stackup.leftovers() if "stackup.server.daemon" in " ".join(p.cmdline())
    ]
    assert len(supervisors) == 1
    assert stackup.run("down").returncode == 0


def test_logs_tail_and_follow_across_restart(stackup, port):
    three_service_stack(stackup, port)
    assert stackup.run("up", "-d").returncode == 0
    tail = stackup.run("logs", "-n", "1", "api")
    assert tail.returncode == 0
    lines = tail.stdout.splitlines()
    assert len(lines) == 1 and lines[0].split(" ", 1)[1].startswith("api")
    all_logs = stackup.run("logs")
    assert "db-booting" in all_logs.stdout and "api-hello" in all_logs.stdout
    follower = stackup.start("logs", "-f", "-n", "0", "api")
    try:
        time.sleep(0.3)  # let the follower reach the end of the file before restarting
        _, before = status_json(stackup, "api", "web")
        result = stackup.run("restart", "api")
        assert result.returncode == 0, result.stderr
        follower.wait_for(r"api\s+\| api-hello")
        _, after = status_json(stackup, "api", "web")
        assert after["services"][0]["pid"] != before["services"][0]["pid"]
        assert after["services"][0]["ready"]
        assert after["services"][1]["pid"] == before["services"][1]["pid"]  # web stayed up
    finally:
        follower.signal(signal.SIGINT)
        follower.wait()
    assert stackup.run("logs", "nope").returncode == 2
    assert stackup.run("logs", "../../etc/passwd").returncode == 2
    assert stackup.run("down").returncode == 0


def test_one_supervisor_per_stack_and_down_from_another_terminal(stackup, port):
    three_service_stack(stackup, port)
    fg = stackup.start("up")
    fg.wait_for(r"all 3 services ready")
    detach = stackup.run("up", "-d")
    assert detach.returncode == 4, detach.stderr
    code, status = status_json(stackup)
    assert code == 0 and status["supervisor"]["mode"] == "foreground"
    assert stackup.run("down").returncode == 0
    assert fg.wait() == 0  # the foreground `up` ended cleanly
    assert not stackup.leftovers()
    assert stackup.run("up", "-d").returncode == 0
    assert stackup.run("up").returncode == 4
    assert stackup.run("down").returncode == 0


def test_status_without_supervisor_names_port_holder(stackup, port):
    ports = three_service_stack(stackup, port)
    squatter = subprocess.Popen(
        [PY, str(SVC), "--port", str(ports["api"])], start_new_session=True,
        stdin=subprocess.DEVNULL,
    )
    try:
        poll(lambda: listening(ports["api"]))
        code, status = status_json(stackup)
        assert code == 1 and status["supervisor"]["running"] is False
        api = next(s for s in status["services"] if s["name"] == "api")
        assert api["state"] == "stopped"
        assert api["port_holder"]["pid"] == squatter.pid
        assert "svc.py" in api["port_holder"]["command"]
        table = stackup.run("status").stdout
        assert f"held by pid {squatter.pid}" in table
        detach = stackup.run("up", "-d")
        assert detach.returncode == 3 and f"pid {squatter.pid}" in detach.stderr
        assert squatter.poll() is None
        assert stackup.run("status", "nope").returncode == 2
    finally:
        kill_group_and_wait(squatter)


def test_down_service_stops_its_dependents_first_and_leaves_the_rest(stackup, port):
    three_service_stack(stackup, port, extra=f"""
          cache:
            command: {svc()}
            port: {port()}
        """)
    assert stackup.run("up", "-d").returncode == 0
    _, before = status_json(stackup)
    pids = {s["name"]: s["pid"] for s in before["services"]}
    result = stackup.run("down", "api")
    assert result.returncode == 0, result.stderr
    assert "also stopped web: they depend on api" in result.stderr
    assert is_gone(pids["api"]) and is_gone(pids["web"])  # web depends on api
    assert not is_gone(pids["db"]) and not is_gone(pids["cache"])
    log = (stackup.dir / ".stackup" / "supervisor.log").read_text()
    assert log.index("web stopped") < log.index("stopping api")
    code, after = status_json(stackup)
    assert code == 0  # what is still selected is all ready
    assert [s["name"] for s in after["services"]] == ["db", "cache"]
    assert stackup.run("up", "-d", "web").returncode == 0  # and back again
    assert stackup.run("down").returncode == 0


def test_usage_errors_with_nothing_running(stackup, port):
    three_service_stack(stackup, port)
    for args in (["down", "nosuch"], ["restart", "nosuch"], ["logs", "nosuch"]):
        result = stackup.run(*args)
        assert result.returncode == 2 and "no such service: nosuch" in result.stderr, args
    result = stackup.run("restart", "api")
    assert result.returncode == 1 and "not running" in result.stderr


def test_unusable_runtime_folder_is_one_line_not_a_traceback(stackup, port):
    three_service_stack(stackup, port)
    (stackup.dir / ".stackup").write_text("not a folder")
    for args in (["up"], ["up", "-d"]):
        result = stackup.run(*args)
        assert result.returncode == 1, args
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert ".stackup" in result.stderr and "Traceback" not in result.stderr


def test_down_during_up_detached_ends_both_cleanly(stackup, port):
    stackup.write(f"""
        services:
          slow:
            command: {svc("--bind-delay 30")}
            port: {port()}
        """)
    starting = stackup.start("up", "-d")
    poll(lambda: (s := status_json(stackup)[1]["services"][0])["state"] == "starting" and s)
    assert stackup.run("down").returncode == 0
    assert starting.wait() == 1
    assert "slow was stopped before it became ready" in starting.stderr
    assert not stackup.leftovers()


def test_up_fresh_after_supervisor_was_killed_reclaims_its_leftovers(stackup, port, tmp_path):
    """`up -d --fresh` keeps the behaviour from before adoption: stop everything left,
    start anew (a plain `up -d` adopts instead: test_takeover.py)."""
    pidfile = tmp_path / "pids"
    stackup.write(f"""
        services:
          db: {{command: "{svc(f'--children 1 --pidfile {pidfile}')}", port: {port()}}}
          worker: {{command: "{svc(f'--setsid-children --children 1 --pidfile {pidfile}')}"}}
        """)
    assert stackup.run("up", "-d").returncode == 0
    _, status = status_json(stackup)
    os.kill(status["supervisor"]["pid"], signal.SIGKILL)
    poll(lambda: is_gone(status["supervisor"]["pid"]))
    old = [int(x) for x in pidfile.read_text().split()]
    again = stackup.run("up", "-d", "--fresh")
    assert again.returncode == 0, again.stderr
    assert "left running by an earlier stackup whose supervisor died" in again.stderr
    assert all(is_gone(p) for p in old)  # the worker (no port) too, escaped child included
    _, fresh = status_json(stackup)
    assert all(s["ready"] and s["pid"] not in old for s in fresh["services"])
    assert stackup.run("down").returncode == 0


def test_restart_reruns_a_completed_task_and_concurrent_restarts_agree(stackup, port, tmp_path):
    runs = tmp_path / "runs"
    stackup.write(f"""
        services:
          migrate:
            oneshot: true
            command: {svc(f"--port 0 --touch {runs} --exit-after 0")}
          api:
            command: {svc("--bind-delay 0.5")}
            port: {port()}
            depends_on: [migrate]
        """)
    assert stackup.run("up", "-d").returncode == 0
    assert stackup.run("restart", "migrate").returncode == 0
    assert len(runs.read_text().splitlines()) == 2
    both = [stackup.start("restart", "api") for _ in range(2)]
    assert [r.wait() for r in both] == [0, 0], [r.stderr for r in both]
    assert status_of_api_ready(stackup)
    assert stackup.run("logs", "-n", "-1").returncode == 2
    assert stackup.run("down").returncode == 0


def status_of_api_ready(stackup) -> bool:
    return status_json(stackup, "api")[1]["services"][0]["ready"]


def test_down_finishes_when_the_supervisor_dies_while_stopping(stackup, port):
    stackup.write(f"""
        services:
          stubborn:
            command: {svc("--ignore-term --children 1")}
            port: {port()}
            stop_timeout: 3
        """)
    assert stackup.run("up", "-d").returncode == 0
    supervisor = status_json(stackup)[1]["supervisor"]["pid"]
    stopping = stackup.start("down")
    poll(lambda: status_json(stackup)[1]["services"][0]["state"] == "stopping")
    os.kill(supervisor, signal.SIGKILL)
    assert stopping.wait(timeout=60) == 0, stopping.stderr
    assert not stackup.leftovers()


def test_down_during_foreground_start_is_a_clean_stop(stackup, port):
    stackup.write(f"""
        services:
          slow: {{command: "{svc('--bind-delay 30')}", port: {port()}}}
        """)
    fg = stackup.start("up")
    fg.wait_for(r"slow started")
    assert stackup.run("down").returncode == 0
    assert fg.wait() == 0
    assert "failed" not in fg.stdout + fg.stderr


def test_down_right_after_up_detached_stops_the_starting_supervisor(stackup, port):
    from stackup.server.statedir import lock_held

    stackup.write(f"""
        services:
          db: {{command: "{svc()}", port: {port()}}}
          api: {{command: "{svc('--bind-delay 0.1')}", port: {port()}, depends_on: [db]}}
        """)
    for _ in range(3):
        starting = stackup.start("up", "-d")
        # Once `up -d` holds the lock (checking ports, spawning its supervisor), a
        # `down` must wait for that supervisor and stop it: never report success early.
        poll(lambda: lock_held(stackup.dir / ".stackup"), timeout=10, interval=0.002)
        assert stackup.run("down").returncode == 0
        starting.wait(timeout=30)
        poll(lambda: not stackup.leftovers(), timeout=15)


def test_each_run_opens_the_logs_with_a_dated_separator(stackup, port):
    """Issue 11.14: yesterday's lines are not mistaken for today's."""
    stackup.write(f"""
        name: shop
        services:
          api: {{command: "{svc('--say hello')}", port: {port()}}}
        """)
    for _ in range(2):
        assert stackup.run("up", "-d").returncode == 0
        assert stackup.run("down").returncode == 0
    shown = stackup.run("logs", "api").stdout
    separators = re.findall(r"\[stackup\] ─+ shop started (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) ─+",
                            shown)
    assert len(separators) == 2, shown
    lines = shown.splitlines()
    first, second = (i for i, line in enumerate(lines) if "shop started" in line)
    assert any("hello" in line for line in lines[first:second])  # each run under its own
    assert any("hello" in line for line in lines[second:])


def test_a_failed_first_up_d_returns_only_once_its_supervisor_is_gone(stackup, port):
    """Issue 11.2: no supervisor outlives the failed command, and its log says why."""
    stackup.write(f"""
        services:
          api: {{command: "exit 127", port: {port()}}}
        """)
    result = stackup.run("up", "-d")
    assert result.returncode == 1
    assert "api exited with code 127 before it was ready" in result.stderr
    status = json.loads(stackup.run("status", "--json").stdout)
    assert status["supervisor"]["running"] is False  # at once, not a few hundred ms later
    log = (stackup.dir / ".stackup" / "supervisor.log").read_text()
    assert re.search(r"exiting: the start failed \(api exited with code 127 before it was "
                     r"ready .*\) and nothing runs", log), log


def test_a_refused_up_leaves_no_stale_states(stackup, port):
    """Issue 11.3: after a port-conflict refusal, status does not show the last run's
    `completed` task."""
    p = port()
    stackup.write(f"""
        services:
          migrate: {{command: "true", oneshot: true}}
          api: {{command: "{svc()}", port: {p}, depends_on: [migrate]}}
        """)
    assert stackup.run("up", "-d").returncode == 0
    assert stackup.run("down").returncode == 0
    stranger = subprocess.Popen([PY, str(SVC), "--port", str(p)], start_new_session=True)
    try:
        poll(lambda: listening(p))
        refused = stackup.run("up", "-d")
        assert refused.returncode == 3
        states = {s["name"]: s["state"] for s in
                  json.loads(stackup.run("status", "--json").stdout)["services"]}
        assert states == {"migrate": "stopped", "api": "stopped"}
    finally:
        kill_group_and_wait(stranger)


def test_down_says_what_it_stopped_one_line_per_service(stackup, port):
    """Issue 11.5, as compose does: one line per service, with how long it took."""
    three_service_stack(stackup, port)
    assert stackup.run("up", "-d").returncode == 0
    down = stackup.run("down")
    assert down.returncode == 0
    lines = down.stdout.splitlines()
    assert [line.split()[0] for line in lines] == ["web", "api", "db"], down.stdout
    assert all(re.fullmatch(r"\w+ stopped in \d+\.\d\ds", line) for line in lines), lines
