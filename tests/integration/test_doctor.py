"""`stackup doctor` finds, each in one line with what to do, what the issue lists: a
backend refusing the frontend's origin, a port held by a stranger, an IPv6-only
listener, a missing command (and folder, user, version), a service stuck waiting —
all with real processes, ports and requests."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys

import psutil

from tests.conftest import kill_group_and_wait, poll, svc


def doctor(stackup, *args: str, text: bool = False) -> tuple[int, list[str], dict]:
    """Exit code, text lines (with `text`) and the --json report of one doctor run."""
    data = stackup.run("doctor", "--json", *args)
    assert not data.stderr, data.stderr
    lines: list[str] = []
    if text:
        shown = stackup.run("doctor", *args)
        assert shown.returncode == data.returncode, (shown.stdout, data.stdout)
        lines = shown.stdout.splitlines()
    return data.returncode, lines, json.loads(data.stdout)


def findings(report: dict, check: str) -> list[dict]:
    return [f for f in report["findings"] if f["check"] == check]


def line_of(stackup, needle: str) -> int:
    lines = (stackup.dir / "stack.yaml").read_text().splitlines()
    return next(i for i, line in enumerate(lines, 1) if needle in line)


def cors_stack(stackup, ports: dict[str, int], allowed: str) -> None:
    stackup.write(f"""
        name: shop
        services:
          api:
            command: {svc("--http")}
            port: {ports['api']}
            health: {{http: /health}}
            env:
              CORS_ALLOWED_ORIGINS: "{allowed}"
          worker:
            command: {svc("--http")}
            port: {ports['worker']}
            depends_on: [api]
          web:
            command: {svc("--http --html")}
            port: {ports['web']}
            health: {{http: /}}
            depends_on: [api, worker]
        """)


def test_a_backend_that_refuses_the_frontends_origin(stackup, port) -> None:
    ports = {name: port() for name in ("api", "worker", "web")}
    cors_stack(stackup, ports, f"http://localhost:{ports['web']}")
    assert stackup.run("up", "-d").returncode == 0
    code, lines, report = doctor(stackup, text=True)
    assert code == 1
    (finding,) = report["findings"]  # the API `worker` calls it server to server: no CORS
    origin = f"http://127.0.0.1:{ports['web']}"
    assert finding["service"] == "api" and finding["check"] == "cors"
    assert origin in finding["problem"] and "(web's origin)" in finding["problem"]
    assert f"http://localhost:{ports['web']}" not in finding["problem"]
    assert finding["fix"] == f"add {origin} to CORS_ALLOWED_ORIGINS"
    key_line = line_of(stackup, "CORS_ALLOWED_ORIGINS")
    assert finding["where"] == f"stack.yaml:{key_line}: services.api.env.CORS_ALLOWED_ORIGINS"
    assert lines[1] == f"api: {finding['problem']} → {finding['fix']} ({finding['where']})"
    assert lines[-1] == "1 problem found"
    assert stackup.run("down").returncode == 0

    both = f"http://localhost:{ports['web']},http://127.0.0.1:{ports['web']}"
    cors_stack(stackup, ports, both)
    assert stackup.run("up", "-d").returncode == 0
    code, lines, report = doctor(stackup, text=True)
    assert (code, report["findings"], lines[-1]) == (0, [], "no problems found")
    assert report["supervisor"]["running"] is True
    assert stackup.run("down").returncode == 0


def test_a_port_held_by_a_stranger(stackup, port) -> None:
    p = port()
    stranger = subprocess.Popen(
        [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(p)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    try:
        poll(lambda: any(c.laddr and c.laddr.port == p for c in
                         psutil.Process(stranger.pid).net_connections("tcp")))
        stackup.write(f"""
            services:
              api: {{command: {svc()}, port: {p}}}
            """)
        code, lines, report = doctor(stackup, text=True)
        assert code == 1 and lines[0].endswith("not running (no start-up to check); "
                                               "checked api")
        (finding,) = findings(report, "port")
        assert finding["problem"] == (
            f"port {p} is held by pid {stranger.pid} ({sys.executable} -m http.server "
            f"--bind 127.0.0.1 {p}), which stackup did not start")
        assert finding["fix"].startswith(f"stop it (`kill {stranger.pid}`)")
        assert finding["where"] == f"stack.yaml:{line_of(stackup, 'api:')}: services.api.port"
        assert len(report["findings"]) == 1
    finally:
        kill_group_and_wait(stranger)
    code, _, report = doctor(stackup)
    assert (code, report["findings"]) == (0, [])


def test_a_listener_on_one_loopback_family_while_callers_use_the_other(stackup, port) -> None:
    p6, p4, pc = port(), port(), port()
    stackup.write(f"""
        env:
          API6_URL: http://127.0.0.1:{p6}/v1
        services:
          api6: {{command: "{svc('--host ::1')}", port: {p6}}}
          api4: {{command: "{svc()}", port: {p4}}}
          client:
            command: {svc()}
            port: {pc}
            env: {{API4_URL: "http://[::1]:{p4}/"}}
            depends_on: [api6, api4]
        """)
    assert stackup.run("up", "-d").returncode == 0  # the check passes: it tries ::1 too
    code, lines, report = doctor(stackup, text=True)
    assert code == 1
    six, four = findings(report, "ipv6")
    assert six["service"] == "api6" and six["problem"] == (
        "listens on ::1 (IPv6) only, but its health check (127.0.0.1; it passes only because "
        "stackup tries both) and the stack's env API6_URL use 127.0.0.1")
    assert six["fix"].startswith("make it listen on 127.0.0.1 too")
    assert four["service"] == "api4" and four["problem"] == (
        "listens on 127.0.0.1 (IPv4) only, but client's API4_URL use ::1")
    assert len(report["findings"]) == 2
    assert any(line.startswith("api6: listens on ::1 (IPv6) only") for line in lines)
    assert stackup.run("down").returncode == 0


def test_missing_commands_folders_users_and_versions_before_anything_runs(stackup) -> None:
    py = stackup.dir / "py"
    py.mkdir()
    (py / ".python-version").write_text("2.7\n")
    (py / "pyproject.toml").write_text('[project]\nname = "x"\nrequires-python = ">=3.8"\n')
    js = stackup.dir / "js"
    js.mkdir()
    (js / "package.json").write_text(json.dumps({"engines": {"node": ">=99"}}))
    (js / ".nvmrc").write_text("lts/*\n")  # an alias: not ours to judge
    script = stackup.dir / "run.sh"
    script.write_text("#!/bin/sh\n")
    stackup.write(f"""
        services:
          gone: {{command: "no-such-program-xyz --serve"}}
          argv: {{command: [./missing-script, a]}}
          plain: {{command: ./run.sh}}
          nowhere: {{command: "true", cwd: not-here}}
          who: {{command: "true", user: no-such-user-xyz}}
          shell: {{command: "cd {py} && exec python3 app.py"}}
          pyapp: {{command: python3 app.py, cwd: py}}
          jsapp: {{command: node server.js, cwd: js}}
          probe:
            command: "true"
            health: {{command: "no-such-check-xyz -q"}}
        """)
    code, lines, report = doctor(stackup, text=True)
    assert code == 1
    by = {(f["service"], f["check"]): f for f in report["findings"]}
    assert by[("gone", "command")]["problem"] == (
        "its command `no-such-program-xyz` is not found on PATH")
    assert by[("argv", "command")]["problem"] == (
        f"its command `./missing-script` is not found in {stackup.dir}")
    assert by[("plain", "command")]["problem"] == (
        f"its command `./run.sh` ({stackup.dir / 'run.sh'}) is not an executable file")
    assert by[("nowhere", "cwd")]["problem"] == (
        f"its working directory {stackup.dir / 'not-here'} does not exist")
    assert by[("nowhere", "cwd")]["where"] == (
        f"stack.yaml:{line_of(stackup, 'nowhere:')}: services.nowhere.cwd")
    assert by[("who", "user")]["problem"] == (
        "user `no-such-user-xyz` does not exist on this machine")
    assert by[("probe", "command")]["problem"] == (
        "its health check command `no-such-check-xyz` is not found on PATH")

    def version(program: str, cwd) -> str:  # what the service itself would run
        done = subprocess.run([program, "--version"], cwd=cwd, capture_output=True, text=True)
        return re.search(r"(\d+\.\d+\.\d+)", done.stdout + done.stderr)[1]

    python3, node = shutil.which("python3"), shutil.which("node")
    assert by[("pyapp", "version")]["problem"] == (
        f"{py / '.python-version'} asks for Python 2.7 (.python-version), but {python3} is "
        f"{version(python3, py)}")  # requires-python >=3.8 is met: no finding for it
    assert by[("jsapp", "version")]["problem"] == (
        f"{js / 'package.json'} asks for node >=99 (engines.node), but {node} is "
        f"{version(node, js)}")
    assert ("shell", "command") not in by  # shell syntax: not guessed at
    # one line each, with what to do
    assert len(lines) == len(report["findings"]) + 2
    assert all(" → " in line for line in lines[1:-1])


def test_a_service_stuck_waiting_on_a_dependency(stackup, port) -> None:
    pa, pb = port(), port()
    stackup.write(f"""
        services:
          db:
            command: {svc("--http --http-status 503 --say db-booting --say still-booting")}
            port: {pb}
            health: {{http: /ready, start_timeout: 60s}}
          api:
            command: {svc()}
            port: {pa}
            depends_on: [db]
          web: {{command: {svc()}, depends_on: [api]}}
        """)
    up = stackup.start("up", "-d")

    def waiting() -> bool:
        status = json.loads(stackup.run("status", "--json").stdout)
        states = {s["name"]: s["state"] for s in status["services"]}
        return states.get("api") == "waiting" and states.get("db") == "starting"

    poll(waiting, timeout=20, interval=0.1)
    code, lines, report = doctor(stackup, text=True)
    assert code == 1
    by = {f["service"]: f for f in report["findings"]}
    assert by["api"]["problem"] == "waiting for db to be healthy (it is starting)"
    assert by["api"]["fix"] == "fix db first (see its line)"
    assert by["web"]["problem"] == "waiting for api to be healthy (it is waiting)"
    assert by["web"]["fix"] == "fix db first (see its line)"
    assert re.fullmatch(r"not ready yet after \d+\.\ds: http://127\.0\.0\.1:\d+/ready "
                        r"answered 503, expected 2xx/3xx", by["db"]["problem"])
    # Its own last lines, right under it (stackup's notes about it are not what it said).
    assert by["db"]["details"] == ["db-booting", "still-booting"]
    db_line = lines.index(next(line for line in lines if line.startswith("db: ")))
    assert lines[db_line + 1:db_line + 3] == ["    | db-booting", "    | still-booting"]
    assert stackup.run("down").returncode == 0
    assert up.wait() != 0


def test_what_a_dead_supervisor_left_running(stackup, port) -> None:
    stackup.write(f"""
        services:
          api: {{command: {svc()}, port: {port()}}}
        """)
    assert stackup.run("up", "-d").returncode == 0
    status = json.loads(stackup.run("status", "--json").stdout)
    os.kill(status["supervisor"]["pid"], signal.SIGKILL)
    poll(lambda: not json.loads(stackup.run("status", "--json").stdout)["supervisor"]["running"])
    code, _, report = doctor(stackup)
    assert code == 1
    leftover = findings(report, "leftover")[0]
    assert leftover["service"] == "api"
    assert f"pid {status['services'][0]['pid']}" in leftover["problem"]
    assert leftover["fix"].startswith("`stackup down` stops it")
    assert stackup.run("down").returncode == 0
    assert doctor(stackup)[0] == 0


def test_an_invalid_stack_file_is_a_finding_and_an_unknown_name_a_usage_error(stackup) -> None:
    stackup.write("services:\n  api:\n    command: run\n    env_file: missing.env\n")
    code, _, report = doctor(stackup)
    assert code == 1
    (finding,) = report["findings"]
    assert finding["check"] == "config"
    assert finding["problem"].startswith("stack.yaml:4: services.api.env_file: env file not found")
    stackup.write("services: {api: {command: 'true'}}\n")
    done = stackup.run("doctor", "nope")
    assert (done.returncode, done.stderr.strip()) == (2, "stackup: no such service: nope")
