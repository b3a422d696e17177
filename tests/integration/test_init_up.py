"""What `stackup init` writes from a Procfile, a compose file and a process-compose
file loads and really comes up: `up -d` with real processes, every service ready,
then `down` leaves nothing."""

from __future__ import annotations

import json

from tests.conftest import PY, SVC, free_port


def init_up_down(stackup, source: str, expected: dict[str, str], *up_args: str) -> dict:
    done = stackup.run("init", "--from", source)
    assert done.returncode == 0, done.stderr
    assert "does not load" not in done.stderr
    up = stackup.run("up", "-d", *up_args, timeout=60)
    assert up.returncode == 0, up.stderr
    status = json.loads(stackup.run("status", "--json").stdout)
    states = {s["name"]: s["state"] for s in status["services"]}
    assert states == expected
    assert stackup.run("down").returncode == 0
    assert not stackup.leftovers()
    return status


def test_from_a_procfile(stackup):
    port = free_port()
    # honcho numbers ports from 5000; --port-offset moves the stack onto a free one
    stackup.write(
        f"web: {PY} {SVC} --http --port $PORT\n"
        f"worker: {PY} {SVC} --say working\n",
        name="Procfile",
    )
    status = init_up_down(
        stackup, "Procfile", {"web": "healthy", "worker": "running"},
        "--port-offset", str(port - 5000),
    )
    assert status["services"][0]["port"] == port


def test_from_a_compose_file(stackup):
    api, web = free_port(), free_port()
    probe = f"import urllib.request; urllib.request.urlopen('http://127.0.0.1:{api}/')"
    stackup.write(
        f"""
        services:
          migrate:
            build: .
            command: ["{PY}", "-c", "print('3 migrations applied')"]
          api:
            build: .
            command: {PY} {SVC} --http --port {api}
            ports: ["{api}:{api}"]
            depends_on:
              migrate: {{condition: service_completed_successfully}}
            healthcheck:
              test: ["CMD", "{PY}", "-c", "{probe}"]
              interval: 1s
          web:
            build: .
            command: {PY} {SVC} --http --port {web}
            ports: ["127.0.0.1:{web}:{web}"]
            depends_on:
              api: {{condition: service_healthy}}
        """,
        name="compose.yaml",
    )
    init_up_down(
        stackup, "compose.yaml", {"migrate": "completed", "api": "healthy", "web": "healthy"}
    )


def test_from_a_process_compose_file(stackup):
    api = free_port()
    stackup.write(
        f"""
        version: "0.5"
        processes:
          migrate:
            command: "{PY} -c 'print(1)'"
          api:
            command: "{PY} {SVC} --http --port {api}"
            depends_on:
              migrate: {{condition: process_completed_successfully}}
            readiness_probe:
              http_get: {{host: 127.0.0.1, path: /, port: {api}}}
              period_seconds: 1
          worker:
            command: "{PY} {SVC} --say ready-to-work"
            ready_log_line: "ready-to-work"
            depends_on:
              api: {{condition: process_healthy}}
        """,
        name="process-compose.yaml",
    )
    init_up_down(
        stackup, "process-compose.yaml",
        {"migrate": "completed", "api": "healthy", "worker": "healthy"},
    )
