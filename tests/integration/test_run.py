"""`stackup run`: CI bootstrapping with the command's exit code."""

from __future__ import annotations

import json
import signal

from tests.conftest import poll, svc


def write_stack(stackup, port) -> dict[str, int]:
    ports = {"db": port(), "api": port()}
    stackup.write(f"""
        env:
          GREETING: hello-${{API_PORT}}
        services:
          db: {{command: "{svc()}", port: {ports['db']}}}
          api: {{command: "{svc('--http')}", port: {ports['api']}, depends_on: [db]}}
        """)
    return ports


def test_run_gives_the_stack_env_returns_the_exit_code_and_takes_it_down(stackup, port):
    ports = write_stack(stackup, port)
    script = (
        "import os, sys, urllib.request;"
        "print(os.environ['DB_PORT'], os.environ['GREETING']);"
        "urllib.request.urlopen(f\"http://127.0.0.1:{os.environ['API_PORT']}/\");"
        "sys.exit(3)"
    )
    result = stackup.run("run", "--", "python3", "-c", script)
    assert result.returncode == 3, result.stderr
    assert f"{ports['db']} hello-{ports['api']}" in result.stdout
    status = json.loads(stackup.run("status", "--json").stdout)
    assert status["supervisor"]["running"] is False
    assert not stackup.leftovers()


def test_run_exit_codes_for_missing_command_and_failed_stack(stackup, port):
    write_stack(stackup, port)
    assert stackup.run("run", "no-such-command-xyz").returncode == 127
    assert not stackup.leftovers()
    stackup.write(f"""
        services:
          broken: {{command: "{svc('--port 0 --exit-after 0 --exit-code 1')}", port: {port()}}}
        """)
    result = stackup.run("run", "true")
    assert result.returncode == 125
    assert "did not become ready" in result.stderr
    assert stackup.run("run").returncode == 2


def test_run_leaves_a_stack_it_did_not_start_running(stackup, port):
    write_stack(stackup, port)
    assert stackup.run("up", "-d").returncode == 0
    assert stackup.run("run", "true").returncode == 0
    assert stackup.run("status").returncode == 0  # still up
    assert stackup.run("down").returncode == 0


def test_run_cancelled_while_the_stack_starts_takes_it_down(stackup, port):
    stackup.write(f"""
        services:
          db: {{command: "{svc()}", port: {port()}}}
          slow: {{command: "{svc('--bind-delay 30')}", port: {port()}, depends_on: [db]}}
        """)
    run = stackup.start("run", "--", "true")
    poll(lambda: json.loads(stackup.run("status", "--json").stdout)["services"][1]["state"]
         == "starting")
    run.signal(signal.SIGTERM)
    assert run.wait() == 143
    assert "interrupted while the stack was starting" in run.stderr
    assert json.loads(stackup.run("status", "--json").stdout)["supervisor"]["running"] is False
