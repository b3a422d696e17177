"""The dev loop (issue 10), with real processes and real files: `up -d` applies an
edited stack file, a foreground `up` follows it, `watch:` restarts a service when its
files change, and `external: true` services are waited for but never signalled."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time

import psutil

from tests.conftest import PY, SVC, is_gone, kill_group_and_wait, poll, svc


def status(stackup, *names: str) -> dict:
    result = stackup.run("status", "--json", *names)
    return {s["name"]: s for s in json.loads(result.stdout)["services"]}


def pids(stackup) -> dict[str, int | None]:
    return {name: s["pid"] for name, s in status(stackup).items()}


def up_d(stackup, *args: str):
    result = stackup.run("up", "-d", *args)
    assert result.returncode == 0, result.stderr
    return result


def notes(result) -> list[str]:
    """What converging printed: its lines, without the progress lines."""
    progress = re.compile(r"^[a-z][\w-]*: \w+ \(\d+\.\d+s\)$")
    return [line for line in result.stderr.splitlines() if not progress.match(line)]


def starts(touch, name: str) -> int:
    """How many processes of `name` have started (each appends a line when it does)."""
    if not touch.exists():
        return 0
    return sum(1 for line in touch.read_text().splitlines() if line.split()[0] == name)


def stays(condition, seconds: float) -> bool:
    """Proving that something does *not* happen needs a window: `condition` holds for
    `seconds` (checked every 20 ms)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not condition():
            return False
        time.sleep(0.02)
    return True


def env_of(pid: int) -> dict[str, str]:
    return psutil.Process(pid).environ()


# ---- item 1: `up -d` converges to the file -----------------------------------------------


def detached_stack(stackup, ports, *, flag="1", api_port=None, extra="", broken=""):
    stackup.write(f"""
        services:
          db:
            command: {svc()}
            port: {ports['db']}
          api:
            command: {svc()}
            port: {api_port or ports['api']}
            env_file: api.env
            env: {{FLAG: "{flag}"}}
            depends_on: [db]
          web:
            command: {svc("--http")}
            port: {ports['web']}
            health: {{http: /}}
            depends_on: [api]
        {extra}
        {broken}
        """)


def test_up_d_applies_each_edit_and_leaves_the_rest_running(stackup, port):
    ports = {"db": port(), "api": port(), "web": port()}
    (stackup.dir / "api.env").write_text("FROM_FILE=1\n")
    detached_stack(stackup, ports)
    up_d(stackup)
    first = pids(stackup)

    # A changed env var: only that service is recreated.
    detached_stack(stackup, ports, flag="2")
    result = up_d(stackup)
    assert notes(result)[:2] == ["recreated api: env changed (FLAG)", "unchanged: db, web"]
    now = pids(stackup)
    assert now["db"] == first["db"] and now["web"] == first["web"]
    assert now["api"] != first["api"] and is_gone(first["api"])
    assert env_of(now["api"])["FLAG"] == "2"

    # A new service is started; the others keep their pids.
    extra = f"""
          extra:
            command: {svc("--say extra-up")}
        """
    detached_stack(stackup, ports, flag="2", extra=extra)
    result = up_d(stackup)
    assert "started extra" in notes(result)
    with_extra = pids(stackup)
    assert with_extra["extra"] and {n: with_extra[n] for n in now} == now

    # A removed service is stopped, and no longer shown.
    detached_stack(stackup, ports, flag="2")
    result = up_d(stackup)
    assert "stopped extra: no longer in stack.yaml" in notes(result)
    assert is_gone(with_extra["extra"]) and "extra" not in status(stackup)
    assert pids(stackup) == now

    # A moved port: recreated, and status, ports and run show the new one. web depends
    # on api (API_PORT), so it follows; db does not.
    moved = port()
    detached_stack(stackup, ports, flag="2", api_port=moved)
    result = up_d(stackup)
    said = notes(result)
    assert f"recreated api: port changed ({ports['api']} → {moved})" in said
    assert "recreated web: env changed (API_PORT)" in said
    assert status(stackup)["api"]["port"] == moved
    rows = json.loads(stackup.run("ports", "--json").stdout)
    api_row = next(r for r in rows if r["service"] == "api")
    assert api_row["port"] == moved and api_row["held_by_service"] == "api"
    seen = stackup.run("run", "--", "sh", "-c", "echo $API_PORT")
    assert seen.returncode == 0 and seen.stdout.strip() == str(moved)
    after_move = pids(stackup)
    assert after_move["db"] == first["db"]

    # An env file's content counts.
    (stackup.dir / "api.env").write_text("FROM_FILE=2\n")
    result = up_d(stackup)
    assert "recreated api: env changed (FROM_FILE)" in notes(result)
    assert pids(stackup)["db"] == first["db"]

    # A file that no longer loads: refused, the running stack untouched.
    before = pids(stackup)
    detached_stack(stackup, ports, flag="3", api_port=moved, broken="oops: [")
    broken = stackup.run("up", "-d")
    assert broken.returncode == 2, broken.stderr
    assert re.fullmatch(r"stackup: .*stack\.yaml:\d+: .+\n", broken.stderr), broken.stderr
    assert pids(stackup) == before
    assert env_of(before["api"])["FLAG"] == "2"
    assert stackup.run("down").returncode == 0


def test_restart_true_dependents_and_the_recreate_options(stackup, port):
    ports = {"api": port(), "web": port()}
    touch = stackup.dir / "starts.txt"

    def write(flag: str) -> None:
        stackup.write(f"""
            services:
              api:
                command: {svc("--touch", touch)}
                port: {ports['api']}
                env: {{FLAG: "{flag}"}}
              web:
                command: {svc("--touch", touch)}
                port: {ports['web']}
                depends_on:
                  api: {{restart: true}}
              worker:
                command: {svc("--touch", touch)}
                depends_on: [api]
            """)

    write("1")
    up_d(stackup)
    first = pids(stackup)

    write("2")
    result = up_d(stackup)
    said = notes(result)
    assert "recreated api: env changed (FLAG)" in said
    assert "restarted web: api was recreated or restarted (depends_on restart: true)" in said
    assert "unchanged: worker" in said
    now = pids(stackup)
    assert now["worker"] == first["worker"]  # a plain dependent stays up
    assert now["web"] != first["web"] and starts(touch, "web") == 2  # restarted once
    assert starts(touch, "api") == 2

    write("3")
    kept = up_d(stackup, "--no-recreate")
    assert "kept api as it runs: env changed (FLAG) (--no-recreate)" in notes(kept)
    assert pids(stackup) == now
    applied = up_d(stackup)  # the change is still pending: a plain up -d applies it
    assert "recreated api: env changed (FLAG)" in notes(applied)

    forced = up_d(stackup, "--force-recreate", "worker")
    said = notes(forced)
    assert "recreated worker: --force-recreate" in said
    assert "recreated api: --force-recreate" in said
    assert starts(touch, "worker") == 2

    both = stackup.run("up", "-d", "--force-recreate", "--no-recreate")
    assert both.returncode == 2 and "exclude each other" in both.stderr
    assert stackup.run("down").returncode == 0


# ---- item 2: the foreground follows the file --------------------------------------------


def test_foreground_up_applies_saved_edits_live(stackup, port):
    ports = {"db": port(), "api": port()}

    def write(flag: str, tail: str = "") -> None:
        stackup.write(f"""
            services:
              db:
                command: {svc()}
                port: {ports['db']}
              api:
                command: {svc("--say", "flag=$$FLAG")}
                port: {ports['api']}
                env: {{FLAG: "{flag}"}}
                depends_on: [db]
            {tail}
            """)

    write("1")
    run = stackup.start("up")
    run.wait_for(r"ready in")
    run.wait_for(r"api\s+\| flag=1")
    first = pids(stackup)

    write("2")
    run.wait_for(r"recreated api: env changed \(FLAG\)")
    run.wait_for(r"api\s+\| flag=2")
    now = pids(stackup)
    assert now["db"] == first["db"] and now["api"] != first["api"]

    write("3", tail="oops: [")
    run.wait_for(r"system \| stackup: .*stack\.yaml:\d+: .*\(not applied")
    assert pids(stackup) == now

    write("2", tail=f"""  extra:
                command: {svc("--say", "extra-up")}
            """)
    run.wait_for(r"started extra")
    run.wait_for(r"extra\s+\| extra-up")
    assert {n: p for n, p in pids(stackup).items() if n != "extra"} == now

    run.signal(2)  # Ctrl-C
    assert run.wait() == 0, run.stderr


def test_no_reload_and_no_watch_leave_a_foreground_up_as_it_started(stackup, port):
    (stackup.dir / "app").mkdir()
    (stackup.dir / "app" / "tasks.py").write_text("a = 1\n")
    text = f"""
        services:
          worker:
            command: {svc()}
            port: {port()}
            env: {{FLAG: "1"}}
            watch: {{paths: [app/], debounce: 100ms}}
        """
    stackup.write(text)
    run = stackup.start("up", "--no-reload", "--no-watch")
    run.wait_for(r"ready in")
    first = pids(stackup)
    stackup.write(text.replace('FLAG: "1"', 'FLAG: "2"'))
    (stackup.dir / "app" / "tasks.py").write_text("a = 2\n")
    assert stays(lambda: pids(stackup) == first and "applying" not in run.stdout, 1.5)
    assert not status(stackup)["worker"]["watched"]
    run.signal(2)
    assert run.wait() == 0, run.stderr


# ---- item 3: watch: restarts a service when its files change ----------------------------


def test_a_burst_of_saves_restarts_exactly_that_service_once(stackup, port):
    app = stackup.dir / "app"
    app.mkdir()
    (app / "tasks.py").write_text("v = 0\n")
    touch = stackup.dir / "starts.txt"
    stackup.write(f"""
        services:
          db:
            command: {svc("--touch", touch)}
            port: {port()}
          worker:
            command: {svc("--touch", touch)}
            port: {port()}
            restart: on-failure
            max_restarts: 1
            watch: {{paths: [app/], ignore: ["*.tmp"], debounce: 300ms}}
            depends_on: [db]
          web:
            command: {svc("--touch", touch)}
            depends_on:
              worker: {{restart: true}}
        """)
    up_d(stackup)
    first = pids(stackup)
    assert status(stackup)["worker"]["watched"] and not status(stackup)["db"]["watched"]

    for i in range(5):  # one burst: five saves 50 ms apart
        if i:
            time.sleep(0.05)
        (app / "tasks.py").write_text(f"v = {i}\n")
        last_save = time.time()
    poll(lambda: starts(touch, "web") == 2, timeout=10)
    worker = status(stackup)["worker"]
    assert worker["changed"] == ["app/tasks.py"]
    # The restart began after the debounce (300 ms of quiet), within a second of it.
    assert 0.3 <= worker["changed_at"] - last_save <= 0.3 + 1.0
    assert starts(touch, "worker") == 2 and starts(touch, "db") == 1
    assert pids(stackup)["db"] == first["db"]
    table = stackup.run("status").stdout
    assert re.search(r"worker .*watched; restarted \d+s ago for app/tasks\.py", table), table

    # Ignored files (editors' swap files, compiled Python, the service's own ignore)
    # restart nothing.
    (app / ".tasks.py.swp").write_text("x")
    (app / "tasks.pyc").write_text("x")
    (app / "build.tmp").write_text("x")
    assert stays(lambda: starts(touch, "worker") == 2, 1.0)

    # Restarts for a change are not crashes: max_restarts (1) never gives up on it.
    for i in range(2):
        (app / "tasks.py").write_text(f"v = {10 + i}\n")
        poll(lambda i=i: starts(touch, "worker") == 3 + i, timeout=10)
    poll(lambda: status(stackup)["worker"]["state"] == "healthy", timeout=10)
    assert status(stackup)["worker"]["restarts"] == 0

    # `up -d --no-watch` turns watching off for the running supervisor.
    up_d(stackup, "--no-watch")
    assert not status(stackup)["worker"]["watched"]
    (app / "tasks.py").write_text("v = 99\n")
    assert stays(lambda: starts(touch, "worker") == 4, 1.0)
    assert stackup.run("down").returncode == 0


def test_foreground_up_restarts_a_watched_service(stackup, port):
    src = stackup.dir / "src"
    src.mkdir()
    (src / "main.py").write_text("")
    stackup.write(f"""
        services:
          api:
            command: {svc("--say", "api-started")}
            port: {port()}
            watch: ["src/*.py"]
        """)
    run = stackup.start("up")
    run.wait_for(r"ready in")
    first = pids(stackup)["api"]
    (src / "main.py").write_text("print('hi')\n")
    run.wait_for(r"restarting api: src/main\.py changed")
    poll(lambda: sum("api-started" in line for line in run.out) == 2)
    poll(lambda: status(stackup)["api"]["state"] == "healthy")
    assert pids(stackup)["api"] not in (None, first)
    run.signal(2)
    assert run.wait() == 0, run.stderr


# ---- item 4: external: true ----------------------------------------------------------


def test_an_external_dependency_gates_its_dependents_and_is_never_signalled(stackup, port):
    shared = port()
    stackup.write(f"""
        services:
          shared-db:
            external: true
            port: {shared}
            health: {{start_timeout: 20s}}
          app:
            command: {svc()}
            port: {port()}
            depends_on: [shared-db]
        """)
    starting = stackup.start("up", "-d")
    poll(lambda: status(stackup).get("app", {}).get("state") == "waiting", timeout=10)
    assert status(stackup)["shared-db"]["state"] == "starting"
    # Someone else's server, not started through stackup: what "external" stands for.
    env = {k: v for k, v in os.environ.items() if k != "STACKUP_TEST_ID"}
    holder = subprocess.Popen([PY, str(SVC), "--port", str(shared)], env=env,
                              start_new_session=True)
    try:
        assert starting.wait(20) == 0, starting.stderr
        now = status(stackup)
        assert now["shared-db"]["state"] == "healthy" and now["shared-db"]["external"]
        assert now["shared-db"]["pid"] is None and now["app"]["ready"]
        assert re.search(rf"shared-db\s+healthy\s+-\s+{shared} .*external",
                         stackup.run("status").stdout)
        rows = json.loads(stackup.run("ports", "--json").stdout)
        assert any(r["service"] == "shared-db" and r["port"] == shared for r in rows)
        down = stackup.run("down")
        assert down.returncode == 0, down.stderr
        assert holder.poll() is None  # never signalled
        assert psutil.Process(holder.pid).status() != psutil.STATUS_ZOMBIE
    finally:
        kill_group_and_wait(holder)


def test_an_unreachable_external_service_fails_the_start_clearly(stackup, port):
    nobody = port()
    stackup.write(f"""
        services:
          staging-api:
            external: true
            health: {{http: {{path: /health, port: {nobody}}}, start_timeout: 500ms}}
          app:
            command: {svc()}
            depends_on: [staging-api]
        """)
    result = stackup.run("up", "-d")
    assert result.returncode == 1
    assert re.search(
        rf"stackup: staging-api \(external\) is not reachable within 0\.5s: "
        rf"http 127\.0\.0\.1:{nobody}/health: .*refused", result.stderr), result.stderr
    assert status(stackup)["app"]["pid"] is None


def test_a_watched_service_that_crashed_starts_again_at_the_next_save(stackup):
    app = stackup.dir / "app"
    app.mkdir()
    touch = stackup.dir / "starts.txt"
    stackup.write(f"""
        services:
          worker:
            command: {svc("--touch", touch, "--exit-after", "0.2", "--exit-code", "3")}
            watch: {{paths: [app/], debounce: 100ms}}
        """)
    up_d(stackup)
    poll(lambda: status(stackup)["worker"]["state"] == "failed")

    def supervised() -> bool:
        return json.loads(stackup.run("status", "--json").stdout)["supervisor"]["running"]

    # Every service has ended, but a save would start it again: the supervisor stays.
    assert stays(supervised, 0.5)
    (app / "tasks.py").write_text("fixed = True\n")
    poll(lambda: starts(touch, "worker") == 2)
    assert stackup.run("down").returncode == 0
