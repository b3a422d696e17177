"""What real services do to a supervisor: crash loops, liveness failures, hostile output."""

from __future__ import annotations

import json
import signal
import time

import psutil

from tests.conftest import poll, svc


def status_of(stackup, name: str) -> dict:
    result = stackup.run("status", "--json", name)
    return json.loads(result.stdout)["services"][0]


def test_crash_loop_restarts_with_backoff_then_fails(stackup, port):
    stackup.write(f"""
        services:
          db: {{command: "{svc()}", port: {port()}}}
          crashy:
            command: {svc("--port 0 --say crashing --exit-after 0.2 --exit-code 7")}
            restart: on-failure
            max_restarts: 2
        """)
    assert stackup.run("up", "-d").returncode == 0
    final = poll(lambda: "gave up" in (s := status_of(stackup, "crashy"))["reason"] and s, 15)
    assert final["state"] == "failed" and final["restarts"] == 2
    assert final["exit_code"] == 7
    assert "gave up after 2 restarts" in final["reason"]
    log = (stackup.dir / ".stackup" / "logs" / "crashy.log").read_text()
    assert log.count("crashing") == 3  # first run and two restarts, all kept
    assert "restarting crashy in 0.5s (exit code 7; restart 1/2)" in log
    assert "restarting crashy in 1s (exit code 7; restart 2/2)" in log
    assert status_of(stackup, "db")["ready"]  # the rest of the stack is unaffected
    assert stackup.run("down").returncode == 0


def test_restart_no_leaves_a_crashed_service_exited_and_dependents_up(stackup, port):
    stackup.write(f"""
        services:
          api: {{command: "{svc('--exit-after 0.5 --exit-code 0')}", port: {port()}}}
          web: {{command: "{svc()}", port: {port()}, depends_on: [api]}}
        """)
    assert stackup.run("up", "-d").returncode == 0
    api = poll(lambda: (s := status_of(stackup, "api"))["state"] == "exited" and s, 10)
    assert api["exit_code"] == 0 and api["restarts"] == 0
    assert status_of(stackup, "web")["ready"]  # not taken down with it
    assert stackup.run("status").returncode == 1  # but the stack is not all ready
    assert stackup.run("down").returncode == 0


def test_liveness_failure_marks_unhealthy_and_restarts(stackup, port):
    stackup.write(f"""
        services:
          api:
            command: {svc("--http --http-fail-after 0.5")}
            port: {port()}
            health: {{http: /health, interval: 0.1, retries: 2}}
            restart: always
          web:
            command: {svc()}
            port: {port()}
            depends_on: [api]
        """)
    assert stackup.run("up", "-d").returncode == 0
    first_pid = status_of(stackup, "api")["pid"]
    web_pid = status_of(stackup, "web")["pid"]
    poll(lambda: status_of(stackup, "api")["restarts"] >= 1, 10)
    log = (stackup.dir / ".stackup" / "logs" / "api.log").read_text()
    assert "api is unhealthy" in log and "answered 500" in log
    poll(lambda: status_of(stackup, "api")["ready"], 10)
    assert status_of(stackup, "api")["pid"] != first_pid
    assert status_of(stackup, "web")["pid"] == web_pid  # dependents stay up
    assert stackup.run("down").returncode == 0


def test_service_exiting_0_at_once_fails_a_dependent_start(stackup, port):
    stackup.write(f"""
        services:
          quick: {{command: "{svc('--port 0 --exit-after 0')}"}}
          web: {{command: "{svc()}", port: {port()}, depends_on: [quick]}}
        """)
    # `quick` has no port and no check: it is healthy once started, so web may start...
    run = stackup.start("up")
    run.wait_for(r"all 2 services ready")
    run.wait_for(r"quick exited with code 0")
    run.signal(signal.SIGINT)
    assert run.wait() == 0
    stackup.write(f"""
        services:
          quick: {{command: "{svc('--port 0 --exit-after 0')}", port: {port()}}}
          web: {{command: "{svc()}", port: {port()}, depends_on: [quick]}}
        """)
    # ...but with a port to be ready on, exiting 0 before that fails the start.
    result = stackup.run("up")
    assert result.returncode == 1
    assert "quick exited with code 0 before it was ready" in result.stderr


def test_hostile_output_is_bounded_cleaned_and_complete(stackup, port):
    # Python escapes, decoded by the fixture: invalid UTF-8, clear-screen, a title
    # change (OSC), and a colour that must survive.
    raw = "'ok\\xff\\xfe \\x1b[2J\\x1b]0;pwned\\x07 \\x1b[31mred\\x1b[0m end'"
    garbage_cmd = svc("--raw", raw)
    stackup.write(f"""
        services:
          longline:
            command: {svc("--long-line 10485760 --say-when-bound bound")}
            port: {port()}
          garbage:
            command: >-
              {garbage_cmd}
            port: {port()}
          flood:
            command: {svc("--lines 100000 --say-when-bound flood-done")}
            port: {port()}
          mute:
            command: {svc("--close-stdout")}
            port: {port()}
        """)
    run = stackup.start("up")
    run.wait_for(r"all 4 services ready", timeout=30)
    run.wait_for(r"longline\s+\| after-long-line", timeout=20)
    cut = [line for line in run.out if "line cut" in line]
    assert len(cut) == 1 and "more bytes]" in cut[0]
    assert len(max(run.out, key=len)) < 70_000  # 10 MB never reached the terminal whole
    garbage = run.wait_for(r"garbage\s+\| ok").string
    assert "\x1b[2J" not in garbage and "pwned" not in garbage and "\ufffd" in garbage
    assert "\x1b[31mred\x1b[0m end" in garbage  # colour survives
    run.wait_for(r"flood\s+\| flood-done", timeout=30)
    flood = [line for line in run.out if "flood" in line and "| line " in line]
    assert len(flood) == 100000
    assert [int(line.split("| line ")[1].split()[0]) for line in flood] == list(range(100000))
    supervisor = psutil.Process(run.proc.pid)
    assert supervisor.memory_info().rss < 200 * 1024 * 1024
    run.signal(signal.SIGINT)
    assert run.wait() == 0


def test_crash_is_seen_while_a_child_still_holds_the_output_pipe(stackup, port):
    # `npm run dev` style: the process that crashes has a child that keeps stdout open.
    stackup.write(f"""
        services:
          keep: {{command: "{svc()}", port: {port()}}}
          crashy:
            command: "sleep 1000 & echo crashing; sleep 0.3; exit 3"
            restart: on-failure
            max_restarts: 1
          early:
            command: "sleep 1000 & echo boom; exit 4"
            port: {port()}
            profiles: [early]
        """)
    assert stackup.run("up", "-d").returncode == 0
    final = poll(lambda: "gave up" in (s := status_of(stackup, "crashy"))["reason"] and s, 10)
    assert final["state"] == "failed"
    assert final["restarts"] == 1 and final["exit_code"] == 3
    result = stackup.run("up", "-d", "early")
    assert result.returncode == 1
    assert "early exited with code 4 before it was ready" in result.stderr
    assert stackup.run("down").returncode == 0  # the sleeps go too (fixture checks)


def test_adopted_orphans_are_reaped_and_stopped(stackup, port):
    # A service forking short-lived daemons: their zombies must not pile up under the
    # stack's subreaper (the output keeper, every service's parent); and a child that
    # cleared its environment, left the session and was orphaned (so no tree walk and
    # no marker finds it) must still be stopped by `down`.
    stackup.write(f"""
        services:
          forker:
            command: >-
              (env -i setsid sleep 1000 &);
              while true; do (sleep 0.02 &); sleep 0.05; done
            port: {port()}
            health: false
          keep: {{command: "{svc()}", port: {port()}}}
        """)
    assert stackup.run("up", "-d").returncode == 0
    state = json.loads((stackup.dir / ".stackup" / "state.json").read_text())
    supervisor = psutil.Process(state["keeper"]["pid"])

    def status(c: psutil.Process) -> str | None:
        """A child's status, or None when it vanished while we looked (they are born
        and die every 50 ms here)."""
        try:
            return c.status()
        except (psutil.Error, OSError):
            return None

    def is_sleep(c: psutil.Process) -> bool:
        try:
            return status(c) not in (None, psutil.STATUS_ZOMBIE) and c.cmdline() == [
                "sleep", "1000"
            ]
        except (psutil.Error, OSError):
            return False

    def adopted_sleep() -> list[psutil.Process]:
        return [c for c in supervisor.children() if is_sleep(c)]

    escaped = poll(adopted_sleep)
    began, zombies = time.monotonic(), []

    def watched_for_3s() -> bool:
        zombies.append(sum(status(c) == psutil.STATUS_ZOMBIE for c in supervisor.children()))
        return time.monotonic() - began > 3.0

    poll(watched_for_3s, timeout=10, interval=0.1)
    # ~15 orphans a second exit; unreaped they would be ~45 by now.
    assert max(zombies[-10:]) < 30, zombies
    assert stackup.run("down").returncode == 0
    assert all(not p.is_running() or p.status() == psutil.STATUS_ZOMBIE for p in escaped)


def test_failed_restarts_count_towards_max_restarts(stackup, port, tmp_path):
    # Crashes once after being ready; every restart then never binds (and exits 0 on
    # SIGTERM): each failed attempt must count, and the policy must end `failed`.
    marker = tmp_path / "ran-once"
    stackup.write(f"""
        services:
          flaky:
            command: >-
              if [ -e {marker} ]; then exec {svc("--bind-delay 30")};
              else touch {marker}; exec {svc("--exit-after 0.3 --exit-code 5")}; fi
            port: {port()}
            health: {{tcp: true, start_timeout: 0.3}}
            restart: on-failure
            max_restarts: 2
          keep: {{command: "{svc()}", port: {port()}}}
        """)
    assert stackup.run("up", "-d").returncode == 0
    final = poll(lambda: "gave up" in (s := status_of(stackup, "flaky"))["reason"] and s, 15)
    assert final["state"] == "failed" and final["restarts"] == 2
    log = (stackup.dir / ".stackup" / "supervisor.log").read_text()
    assert "restarting flaky in 1s (failed to start; restart 2/2)" in log
    assert status_of(stackup, "keep")["ready"]  # the supervisor is alive and well
    assert stackup.run("down").returncode == 0


def test_restart_stops_what_the_crashed_instance_left_holding_the_port(stackup, port):
    # A wrapper (`npm`, `sh -c "server & …"`) dies while its server child lingers on
    # the port: the restart must clear it, or the new instance can never bind. The
    # first run leaves a marker, so the second runs the server itself and stays up
    # (a second crash would close the window in which `healthy` can be seen).
    p = port()
    marker = stackup.dir / "crashed-once"
    server = svc("--port", p)
    stackup.write(f"""
        services:
          wrapped:
            command: "if [ -e {marker} ]; then exec {server}; fi;
              touch {marker}; {server} & sleep 0.5; exit 1"
            port: {p}
            restart: on-failure
            max_restarts: 1
        """)
    assert stackup.run("up", "-d").returncode == 0
    poll(lambda: status_of(stackup, "wrapped")["restarts"] == 1, 10)
    healthy = poll(lambda: (s := status_of(stackup, "wrapped"))["state"] == "healthy" and s, 10)
    assert healthy["port_holder"] is None
    assert stackup.run("down").returncode == 0
