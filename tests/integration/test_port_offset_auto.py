"""Two jobs on one runner: `--port-offset auto` and `stackup port SERVICE`, with real
stacks, real sockets and real claims.

The proof of issue 13's "two `stackup run --port-offset auto` of the demo stack at the
same moment from one checkout both pass": two projects of the repo's demo stack run
at once, each checks its own stack from outside while the other one runs, and nothing
of either is left afterwards.
"""

from __future__ import annotations

import json
import shutil
import signal
import socket
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from stackup.server import portclaims
from stackup.system import portsearch
from tests.conftest import PY, ROOT, is_gone, poll, svc

# Run by `stackup -p JOB run --port-offset auto -- python check.py JOB OTHER`: checks
# its stack through the ports `run` gave it and `stackup port`, then waits until the
# other job's stack is up too, so the two surely ran side by side.
CHECK = '''
import json, os, subprocess, sys, time, urllib.request

job, other = sys.argv[1], sys.argv[2]

def get(port, path):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as answer:
        assert answer.status == 200
        return json.loads(answer.read())

def stackup(*args):
    done = subprocess.run([sys.executable, "-m", "stackup", "-p", job, *args],
                          capture_output=True, text=True, check=True)
    return done.stdout

ports = {n: int(os.environ[f"{n.upper()}_PORT"]) for n in ("db", "backend", "backend2", "frontend")}
assert get(ports["backend"], "/api/health/") == {"status": "ok"}
assert get(ports["backend2"], "/api/appointments/"), "no appointments: the migration?"
assert stackup("port", "backend") == f"{ports['backend']}\\n"
assert stackup("port", "frontend", "--url") == f"http://localhost:{ports['frontend']}/\\n"
status = json.loads(stackup("status", "--json"))
assert all(s["ready"] for s in status["services"]), status
pids = [s["pid"] for s in status["services"] if s["pid"]]
with open(f"{job}.json", "w") as f:
    json.dump({"offset": int(os.environ["STACKUP_PORT_OFFSET"]), "ports": ports,
               "status_offset": status["port_offset"], "pids": pids}, f)
deadline = time.monotonic() + 30
while not os.path.exists(f"{other}.json"):
    assert time.monotonic() < deadline, f"{other} never came up beside {job}"
    time.sleep(0.05)
get(ports["backend"], "/api/health/")  # still ours, with the other stack up
'''


def demo_checkout(root: Path) -> None:
    """The repo's demo stack as a checkout holds it."""
    shutil.copy(ROOT / "stack.yaml", root / "stack.yaml")
    shutil.copytree(ROOT / "examples" / "demo", root / "examples" / "demo")
    (root / "check.py").write_text(CHECK)


def test_two_runs_of_the_demo_at_once_from_one_checkout_get_their_own_ports(stackup):
    demo_checkout(stackup.dir)
    jobs = {"job1": "job2", "job2": "job1"}
    runs = {
        job: stackup.start("-p", job, "run", "--port-offset", "auto", "--",
                           PY, "check.py", job, other)
        for job, other in jobs.items()
    }
    for job, run in runs.items():
        assert run.wait(50) == 0, f"{job}\n{run.stdout}\n{run.stderr}"
    reports = {job: json.loads((stackup.dir / f"{job}.json").read_text()) for job in jobs}
    one, two = reports["job1"], reports["job2"]
    assert one["offset"] != two["offset"]
    assert set(one["ports"].values()).isdisjoint(two["ports"].values())
    for job, report in reports.items():
        assert report["status_offset"] == report["offset"]
        said = f"stackup: --port-offset auto: offset {report['offset']:+d}"
        assert said in runs[job].stderr, runs[job].stderr
        assert all(p < portsearch.ephemeral_start() for p in report["ports"].values())
    # Each job took its stack down: no process of either, no port still listening.
    for report in reports.values():
        assert all(is_gone(pid) for pid in report["pids"])
        assert all(portsearch.bindable(p) for p in report["ports"].values())
    assert not stackup.leftovers()


def two_services(api: int, web: int) -> str:
    return f"""
        name: shop
        services:
          api:
            command: {svc('--http')}
            port: {api}
            health: {{http: /}}
          web:
            command: {svc()}
            port: {web}
            depends_on: [api]
          task:
            command: "true"
            oneshot: true
        """


@contextmanager
def ipv6_listener(port: int) -> Iterator[None]:
    """A stranger holding `port` on ::1 only: an IPv4-only check would miss it."""
    sock = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    try:
        sock.bind(("::1", port))
        sock.listen()
        yield
    finally:
        sock.close()


def test_auto_moves_around_a_stranger_and_the_offset_shows_everywhere(stackup, port):
    api, web = port(), port()
    stackup.write(two_services(api, web))
    with ipv6_listener(api):
        up = stackup.run("up", "-d", "--port-offset", "auto")
        assert up.returncode == 0, up.stderr
        offset = json.loads(stackup.run("status", "--json").stdout)["port_offset"]
        assert offset != 0 and offset % portsearch.STEP == 0
        moved = {"api": api + offset, "web": web + offset}
        assert (f"stackup: --port-offset auto: offset {offset:+d} "
                f"(api {moved['api']}, web {moved['web']})") in up.stderr
        assert up.stdout.splitlines()[-1] == f"port offset {offset:+d}"
        rows = [line.split() for line in up.stdout.splitlines()]
        assert ["api", str(moved["api"]), f"http://localhost:{moved['api']}/"] in rows

        status = stackup.run("status")
        assert "supervisor pid" in status.stdout.splitlines()[0]
        assert status.stdout.splitlines()[0].endswith(f", port offset {offset:+d}")
        ports_json = json.loads(stackup.run("ports", "--json").stdout)
        assert {r["service"]: r["port"] for r in ports_json} == moved
        assert {r["port_offset"] for r in ports_json} == {offset}
        assert all(r["held_by_service"] == r["service"] for r in ports_json)
        assert stackup.run("ports").stdout.splitlines()[-1] == f"port offset {offset:+d}"
        assert f"at offset {offset:+d}" in stackup.run("ports", "--markdown").stdout

        assert stackup.run("port", "api").stdout == f"{moved['api']}\n"
        assert stackup.run("port", "api", "--url").stdout == f"http://localhost:{moved['api']}/\n"
        assert stackup.run("port", "web", "--url").stdout == f"localhost:{moved['web']}\n"
        # A running stack keeps its offset: `auto` again means the one it runs with,
        # and `config`/`ports`/`export` with `auto` show what runs.
        again = stackup.run("up", "-d", "--port-offset", "auto")
        assert again.returncode == 0, again.stderr
        assert "--port-offset auto: offset" not in again.stderr
        assert again.stdout.splitlines()[-1] == f"port offset {offset:+d}"
        config = stackup.run("config", "--json", "--port-offset", "auto")
        assert json.loads(config.stdout)["services"]["api"]["port"] == moved["api"]
        env = stackup.run("export", "env", "--port-offset", "auto").stdout
        assert f"API_PORT={moved['api']}" in env
        assert str(moved["api"]) in stackup.run("graph", "--port-offset", "auto").stdout
        assert stackup.run("down").returncode == 0
        # Not running: the stack file's port, or where `auto` would put it now.
        assert stackup.run("port", "api").stdout == f"{api}\n"
        preview = json.loads(stackup.run("ports", "--json", "--port-offset", "auto").stdout)
        assert {r["service"] for r in preview} == {"api", "web"}
        assert all(r["port_offset"] != 0 for r in preview)
        assert api not in {r["port"] for r in preview}


def test_ports_another_stack_claimed_are_avoided_and_refused(stackup, port):
    """A claim is what a stack starting at this moment holds before its services bind:
    nothing listens on the port yet, so only the claim keeps the two apart."""
    api, web = port(), port()
    stackup.write(two_services(api, web))
    elsewhere = stackup.dir / "elsewhere" / ".stackup"
    with portclaims.locked() as claims:  # this test process is that stack's chooser
        claims.claim(elsewhere, "other", "job9", [api])
    try:
        assert portsearch.bindable(api)
        fixed = stackup.run("up", "-d")
        assert fixed.returncode == 3
        assert fixed.stderr.strip() == (
            f"stackup: port {api} (api) is claimed by stack other (project job9, "
            f"{elsewhere}), which is starting or running; nothing was started: move the "
            "stack (`--port-offset auto` picks a free block)"
        )
        assert json.loads(stackup.run("status", "--json").stdout)["supervisor"]["running"] is False
        # The foreground `up` chooses too, and says where.
        run = stackup.start("up", "--port-offset", "auto")
        run.wait_for(r"all 3 services ready", timeout=30)
        offset = json.loads(stackup.run("status", "--json").stdout)["port_offset"]
        assert offset != 0
        assert stackup.run("port", "api").stdout == f"{api + offset}\n"
        assert f"--port-offset auto: offset {offset:+d}" in run.stderr
        run.signal(signal.SIGINT)
        assert run.wait(20) == 0
        # Every block claimed: nothing to choose, nothing started.
        with portclaims.locked() as claims:
            claims.claim(elsewhere, "other", "job9", range(api % 100, 65536, 100))
        full = stackup.run("up", "-d", "--port-offset", "auto")
        assert full.returncode == 3
        assert full.stderr == (
            "stackup: --port-offset auto found no offset (in steps of 100) at which every "
            "port of api, web is free; nothing was started: see who holds them "
            "(`stackup ports`), or give --port-offset N\n"
        )
    finally:
        portclaims.release(elsewhere)
    # Claims of stacks that ended lapse: the fixed start is free to go now.
    assert stackup.run("up", "-d").returncode == 0
    assert stackup.run("port", "api").stdout == f"{api}\n"
    assert stackup.run("down").returncode == 0


def test_port_prints_only_the_value_and_exits_2_for_a_service_without_one(stackup, port):
    api, web = port(), port()
    stackup.write(two_services(api, web))
    assert stackup.run("port", "api").stdout == f"{api}\n"
    inherited = stackup.run("port", "api", env={"STACKUP_PORT_OFFSET": "7"})
    assert inherited.stdout == f"{api + 7}\n"  # as a `stackup` inside a stack sees it
    for name, message in (("nope", "no such service: nope"),
                          ("task", "service task has no port"),
                          ("Bad!", "no such service: 'Bad!'")):
        result = stackup.run("port", name)
        assert (result.returncode, result.stdout) == (2, ""), name
        assert result.stderr == f"stackup: {message}\n"
    # A running copy: its ports, from its state (the file is not read for it).
    assert stackup.run("-p", "two", "up", "-d", "--port-offset", "3").returncode == 0
    (stackup.dir / "stack.yaml").write_text(textwrap.dedent(two_services(api + 1, web)))
    assert stackup.run("-p", "two", "port", "api").stdout == f"{api + 3}\n"
    assert stackup.run("-p", "two", "port", "nope").returncode == 2
    assert stackup.run("-p", "two", "down").returncode == 0
    poll(lambda: portsearch.bindable(api + 3))
