"""app.status.collect from a hand-written state file, and the status/table rendering."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from stackup import render
from stackup.app.status import all_ready, collect
from stackup.errors import UsageError
from stackup.server import statefile
from stackup.system import processes
from tests.conftest import poll


class Sleeps:
    """`sleep` children of this test, each in its own session, killed by pid at the end."""

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, env: dict[str, str] | None = None) -> tuple[int, float]:
        proc = subprocess.Popen(
            ["sleep", "30"], env=env, stdin=subprocess.DEVNULL, start_new_session=True
        )
        self.procs.append(proc)
        ps = psutil.Process(proc.pid)
        # Right after exec, /proc/<pid>/environ can still read empty for a moment.
        poll(lambda: ps.cmdline() == ["sleep", "30"], timeout=5)
        return proc.pid, ps.create_time()

    def cleanup(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


@pytest.fixture
def sleeps() -> Iterator[Sleeps]:
    s = Sleeps()
    try:
        yield s
    finally:
        s.cleanup()


def dead_pid() -> tuple[int, float]:
    proc = subprocess.Popen(["true"])
    created = psutil.Process(proc.pid).create_time()  # a zombie until waited
    proc.wait(10)
    return proc.pid, created


def no_defaults() -> dict[str, Any]:
    raise AssertionError("the stack file must not be read when a state exists")


def record(state: str, pid: int | None = None, create_time: float | None = None,
           **extra: Any) -> dict[str, Any]:
    return {"state": state, "pid": pid, "create_time": create_time, "port": None,
            "health": "none", "restarts": 0, "exit_code": None, **extra}


def write_state(state_dir: Path, services: dict[str, Any], **extra: Any) -> str:
    instance = uuid.uuid4().hex
    statefile.write(state_dir, {"stack": "demo", "instance": instance,
                                "supervisor": {"pid": None, "running": False},
                                "services": services, **extra})
    return instance


def by_name(status: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["name"]: s for s in status["services"]}


def test_a_dead_pid_is_reported_stopped(tmp_path: Path) -> None:
    pid, created = dead_pid()
    write_state(tmp_path, {"db": record("healthy", pid, created, started_at=1.0)})
    status = collect(tmp_path, [], no_defaults)
    db = by_name(status)["db"]
    assert (db["state"], db["pid"], db["ready"], db["uptime_s"]) == ("stopped", None, False, None)
    assert status["supervisor"] == {"running": False, "pid": None, "mode": None}
    assert not all_ready(status)


def test_final_states_are_kept_when_nothing_runs(tmp_path: Path) -> None:
    write_state(tmp_path, {"migrate": record("completed", exit_code=0),
                           "api": record("failed", exit_code=3)})
    got = by_name(collect(tmp_path, [], no_defaults))
    assert got["migrate"]["state"] == "completed" and got["migrate"]["ready"]
    assert got["api"]["state"] == "failed" and got["api"]["exit_code"] == 3


def test_a_live_process_without_our_marker_is_not_ours(tmp_path: Path, sleeps: Sleeps) -> None:
    pid, created = sleeps.start()  # the right pid and create time, but no marker
    write_state(tmp_path, {"web": record("healthy", pid, created)})
    web = by_name(collect(tmp_path, [], no_defaults))["web"]
    assert web["pid"] is None
    assert web["state"] == "stopped"


def test_a_live_process_with_our_marker_is_reported(tmp_path: Path, sleeps: Sleeps) -> None:
    instance = uuid.uuid4().hex
    env = {**os.environ, processes.MARKER_INSTANCE: instance, processes.MARKER_SERVICE: "web"}
    pid, created = sleeps.start(env)
    statefile.write(tmp_path, {
        "stack": "demo", "instance": instance, "supervisor": {"running": False},
        "services": {"web": record("healthy", pid, created, started_at=created)},
    })
    web = by_name(collect(tmp_path, [], no_defaults))["web"]
    assert (web["pid"], web["state"], web["ready"]) == (pid, "healthy", True)
    assert web["uptime_s"] is not None and web["uptime_s"] >= 0


def test_a_supervisor_that_is_alive_keeps_the_recorded_state(
    tmp_path: Path, sleeps: Sleeps
) -> None:
    pid, created = sleeps.start()
    me = psutil.Process()
    write_state(tmp_path, {"web": record("starting", pid, created)},
                supervisor={"pid": me.pid, "create_time": me.create_time(),
                            "running": True, "mode": "detached"})
    status = collect(tmp_path, [], no_defaults)
    assert status["supervisor"] == {"running": True, "pid": me.pid, "mode": "detached"}
    web = by_name(status)["web"]
    assert (web["state"], web["pid"]) == ("starting", None)


def test_names_select_services_and_unknown_names_are_refused(tmp_path: Path) -> None:
    write_state(tmp_path, {"a": record("stopped"), "b": record("stopped")},
                selected=["a", "b"])
    assert [s["name"] for s in collect(tmp_path, ["b"], no_defaults)["services"]] == ["b"]
    assert [s["name"] for s in collect(tmp_path, [], no_defaults)["services"]] == ["a", "b"]
    with pytest.raises(UsageError, match="no such service: zzz"):
        collect(tmp_path, ["zzz"], no_defaults)


def test_without_a_state_file_the_stack_defaults_are_used(tmp_path: Path) -> None:
    def defaults() -> dict[str, Any]:
        return {"stack": "demo", "default": ["db"],
                "services": {"db": {"state": "stopped", "port": None, "health": "tcp"},
                             "extra": {"state": "stopped", "port": None, "health": "none"}}}

    status = collect(tmp_path, [], defaults)
    assert status["stack"] == "demo"
    assert [(s["name"], s["state"], s["health"]) for s in status["services"]] == [
        ("db", "stopped", "tcp"),
    ]


def test_after_down_without_supervisor_status_lists_the_default_services(
    tmp_path: Path,
) -> None:
    write_state(tmp_path, {"web": record("stopped", profiles=[]),
                           "mcp": record("stopped", profiles=["voice"])},
                selected=[], profiles=[])
    assert [s["name"] for s in collect(tmp_path, [], no_defaults)["services"]] == ["web"]


def columns(line: str, headers: list[str], header_line: str) -> list[str]:
    """Cut `line` at the offsets where each header starts in `header_line`."""
    starts = [header_line.index(h) for h in headers] + [None]
    return [line[a:b].strip() for a, b in zip(starts, starts[1:], strict=False)]


def test_status_table_aligns_columns() -> None:
    status = {
        "stack": "demo",
        "supervisor": {"running": True, "pid": 4242, "mode": "foreground"},
        "services": [
            {"name": "db", "state": "healthy", "pid": 4250, "port": 5432, "health": "tcp",
             "uptime_s": 75.0, "restarts": 0, "exit_code": None, "ready": True},
            {"name": "frontend-long", "state": "stopped", "pid": None, "port": None,
             "health": None, "uptime_s": None, "restarts": 2, "exit_code": 137,
             "ready": False},
        ],
    }
    out = render.status_table(status).splitlines()
    assert out[0] == "stack demo: supervisor pid 4242 (foreground)"
    headers = ["SERVICE", "STATE", "PID", "PORT", "HEALTH", "UPTIME", "RESTARTS", "EXIT"]
    head = out[1]
    assert head.split()[: len(headers)] == headers
    assert columns(out[2], headers, head) == ["db", "healthy", "4250", "5432", "tcp",
                                              "1m15s", "0", "-"]
    assert columns(out[3], headers, head) == ["frontend-long", "stopped", "-", "-", "-",
                                              "-", "2", "137"]
    # Columns are two spaces apart after the widest cell.
    assert head.index("STATE") == len("frontend-long") + 2


def test_status_table_without_a_supervisor() -> None:
    status = {"stack": "demo", "supervisor": {"running": False, "pid": None},
              "services": []}
    assert render.status_table(status).splitlines()[0] == "stack demo: no supervisor running"


def test_table_pads_every_column_to_its_widest_cell() -> None:
    out = render.table(["A", "LONG HEADER", "C"], [["xxxxx", 1, None], ["y", "zz", "end"]])
    assert out == (
        "A      LONG HEADER  C\n"
        "xxxxx  1\n"
        "y      zz           end\n"
    )
