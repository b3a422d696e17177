"""Services outlive their supervisor (issue 9): after a SIGKILL of the supervisor they
keep running and writing, `status` checks instead of remembering, and a new
supervisor adopts them (same pids), follows their output, restarts them under their
policy and stops them in reverse order — with real processes."""

from __future__ import annotations

import json
import os
import re
import signal
import textwrap

import psutil

from tests.conftest import PY, ROOT, is_gone, poll, svc

# A service that writes a numbered line every 5 ms and dies the moment a write fails:
# its pid and its numbers show whether it ever noticed anything.
TICKER = f"{PY} {ROOT / 'tests' / 'services' / 'ticker.py'} 0.005"


def state_of(stackup) -> dict:
    return json.loads((stackup.dir / ".stackup" / "state.json").read_text())


def status_json(stackup) -> tuple[int, dict]:
    result = stackup.run("status", "--json")
    return result.returncode, json.loads(result.stdout)


def by_name(status: dict) -> dict[str, dict]:
    return {s["name"]: s for s in status["services"]}


def kill_supervisor(stackup) -> int:
    pid = state_of(stackup)["supervisor"]["pid"]
    os.kill(pid, signal.SIGKILL)
    poll(lambda: is_gone(pid))
    return pid


def ticks(stackup, name: str = "ticker") -> list[int]:
    text = (stackup.dir / ".stackup" / "logs" / f"{name}.log").read_text()
    return [int(m) for m in re.findall(r" tick (\d+)$", text, re.M)]


def test_a_service_never_notices_the_supervisor_dying(stackup):
    stackup.write(f"""
        services:
          ticker:
            command: {TICKER}
        """)
    assert stackup.run("up", "-d").returncode == 0
    pid = by_name(status_json(stackup)[1])["ticker"]["pid"]
    poll(lambda: len(ticks(stackup)) > 20)
    kill_supervisor(stackup)
    seen = len(ticks(stackup))
    # A second of output with nobody supervising: every write lands, none fails.
    poll(lambda: len(ticks(stackup)) > seen + 100, timeout=10)
    proc = psutil.Process(pid)
    assert proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    numbers = ticks(stackup)
    assert numbers == list(range(len(numbers)))  # no line lost, none out of order
    assert stackup.run("down").returncode == 0
    assert is_gone(pid)


def test_status_without_a_supervisor_checks_each_service_now(stackup, port):
    p_ok, p_bad = port(), port()
    stackup.write(f"""
        services:
          steady:
            command: {svc("--http")}
            port: {p_ok}
            health: {{http: /}}
          flaky:
            command: {svc("--http --http-fail-after 1.5")}
            port: {p_bad}
            health: {{http: /}}
        """)
    assert stackup.run("up", "-d").returncode == 0
    kill_supervisor(stackup)
    code, status = status_json(stackup)
    assert status["supervisor"]["running"] is False
    assert "restart policies and liveness checks are not being applied" in (
        status["supervisor"]["note"]
    )
    text = stackup.run("status").stdout
    assert "no supervisor running" in text and "not being applied" in text
    # Once flaky's port answers 500, status says so now, not what it remembered.
    def flaky_unhealthy() -> tuple[int, dict] | None:
        code, status = status_json(stackup)
        return (code, status) if by_name(status)["flaky"]["state"] == "unhealthy" else None

    code, status = poll(flaky_unhealthy, timeout=10)
    assert code == 1
    flaky, steady = by_name(status)["flaky"], by_name(status)["steady"]
    assert flaky["ready"] is False and "check failed now" in flaky["reason"]
    assert flaky["pid"] is not None  # it still runs: only its check fails
    assert steady["state"] == "healthy" and "checked now" in steady["reason"]
    assert stackup.run("down").returncode == 0


def test_a_new_supervisor_adopts_restarts_by_policy_and_stops_in_order(stackup, port):
    stackup.write(f"""
        services:
          db:
            command: {svc()}
            port: {port()}
          api:
            command: {svc("--http")}
            port: {port()}
            health: {{http: /, interval: 0.2}}
            depends_on: [db]
            restart: on-failure
          ticker:
            command: {TICKER}
            depends_on: [api]
        """)
    assert stackup.run("up", "-d").returncode == 0
    before = {n: s["pid"] for n, s in by_name(status_json(stackup)[1]).items()}
    old_supervisor = kill_supervisor(stackup)

    again = stackup.run("up", "-d")
    assert again.returncode == 0, again.stderr
    assert "adopted db, api, ticker: still running from a supervisor that died" in again.stderr
    code, status = status_json(stackup)
    assert code == 0
    assert status["supervisor"]["running"] and status["supervisor"]["pid"] != old_supervisor
    assert {n: s["pid"] for n, s in by_name(status).items()} == before  # same pids

    # A crash after adoption is noticed at once and restarted under the policy.
    os.kill(before["api"], signal.SIGKILL)
    api = poll(lambda: (s := by_name(status_json(stackup)[1])["api"])["restarts"] == 1
               and s["ready"] and s, timeout=15)
    assert api["pid"] != before["api"]
    log = (stackup.dir / ".stackup" / "supervisor.log").read_text()
    assert re.search(r"api exited with code -9", log), log

    # The adopted ticker's output is followed again: a log check on it would see it,
    # and `logs` shows lines written after the takeover.
    seen = len(ticks(stackup))
    poll(lambda: len(ticks(stackup)) > seen + 20)

    down = stackup.run("down")
    assert down.returncode == 0, down.stderr
    order = [line.split()[0] for line in down.stdout.splitlines()]
    assert order.index("ticker") < order.index("api") < order.index("db"), down.stdout
    assert all(is_gone(p) for p in before.values())


def test_the_foreground_takes_over_and_prints_the_adopted_output(stackup):
    stackup.write(f"""
        services:
          ticker:
            command: {TICKER}
        """)
    assert stackup.run("up", "-d").returncode == 0
    pid = by_name(status_json(stackup)[1])["ticker"]["pid"]
    kill_supervisor(stackup)
    fg = stackup.start("up")
    fg.wait_for(r"adopted ticker")
    # Lines the adopted service writes from now on reach this terminal.
    fg.wait_for(r"ticker \| tick \d+")
    assert by_name(status_json(stackup)[1])["ticker"]["pid"] == pid
    fg.signal(signal.SIGINT)
    assert fg.wait() == 0
    assert is_gone(pid)


def test_a_changed_definition_is_not_adopted_but_started_afresh(stackup, port):
    p = port()
    stack = textwrap.dedent(f"""
        services:
          api:
            command: {svc()}
            port: {p}
            env: {{FLAVOUR: plain}}
        """)
    stackup.write(stack)
    assert stackup.run("up", "-d").returncode == 0
    old = by_name(status_json(stackup)[1])["api"]["pid"]
    kill_supervisor(stackup)
    stackup.write(stack.replace("plain", "spicy"))
    again = stackup.run("up", "-d")
    assert again.returncode == 0, again.stderr
    assert ("api could not be adopted (its definition in the stack file changed); "
            "started afresh") in again.stderr
    new = by_name(status_json(stackup)[1])["api"]
    assert new["pid"] != old and new["ready"] and is_gone(old)
    assert stackup.run("down").returncode == 0


def test_killing_the_supervisor_and_running_up_again_keeps_every_pid(stackup, port):
    """The in-place upgrade the README documents: kill the supervisor (say, after
    upgrading stackup), `up -d` again: every healthy service keeps its pid."""
    stackup.write(f"""
        services:
          db: {{command: "{svc()}", port: {port()}}}
          web: {{command: "{svc('--http')}", port: {port()}, depends_on: [db],
                 health: {{http: /}}}}
        """)
    assert stackup.run("up", "-d").returncode == 0
    first = {n: s["pid"] for n, s in by_name(status_json(stackup)[1]).items()}
    for _ in range(2):  # twice: a supervisor that adopted can hand over again
        kill_supervisor(stackup)
        assert stackup.run("up", "-d").returncode == 0
        assert {n: s["pid"] for n, s in by_name(status_json(stackup)[1]).items()} == first
    assert stackup.run("down").returncode == 0
