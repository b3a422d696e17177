"""statefile: atomic private writes, tolerant reads, and the supervisor liveness check."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import psutil

from stackup.server import statefile


def me() -> dict[str, object]:
    return {"pid": os.getpid(), "create_time": psutil.Process().create_time()}


def test_write_then_read_round_trips_with_the_format_version(tmp_path: Path) -> None:
    data = {"stack": "demo", "services": {"db": {"state": "healthy", "pid": 12}}}
    statefile.write(tmp_path, data)
    assert statefile.read(tmp_path) == {"format": statefile.FORMAT_VERSION, **data}


def test_a_second_write_replaces_the_first(tmp_path: Path) -> None:
    statefile.write(tmp_path, {"stack": "one"})
    statefile.write(tmp_path, {"stack": "two"})
    state = statefile.read(tmp_path)
    assert state is not None and state["stack"] == "two"
    # Atomic replace: no temporary file is left beside the state.
    assert [p.name for p in tmp_path.iterdir()] == [statefile.STATE_FILE]


def test_state_file_is_private(tmp_path: Path) -> None:
    statefile.write(tmp_path, {"stack": "demo"})
    path = statefile.state_path(tmp_path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_missing_file_reads_as_none(tmp_path: Path) -> None:
    assert statefile.read(tmp_path) is None


def test_corrupt_file_reads_as_none(tmp_path: Path) -> None:
    statefile.state_path(tmp_path).write_text('{"format": 1, "stack": ')
    assert statefile.read(tmp_path) is None


def test_wrong_format_or_shape_reads_as_none(tmp_path: Path) -> None:
    path = statefile.state_path(tmp_path)
    path.write_text('{"format": 999, "stack": "x"}')
    assert statefile.read(tmp_path) is None
    path.write_text("[1, 2, 3]")
    assert statefile.read(tmp_path) is None
    path.write_bytes(b"\xff\xfe")
    assert statefile.read(tmp_path) is None


def test_supervisor_alive_for_this_process_when_running() -> None:
    assert statefile.supervisor_alive({"supervisor": {**me(), "running": True}})


def test_supervisor_not_alive_when_not_running() -> None:
    assert not statefile.supervisor_alive({"supervisor": {**me(), "running": False}})
    assert not statefile.supervisor_alive({"supervisor": {**me()}})


def test_supervisor_not_alive_with_a_wrong_create_time() -> None:
    sup = {**me(), "running": True}
    sup["create_time"] = float(sup["create_time"]) - 5.0  # type: ignore[arg-type]
    assert not statefile.supervisor_alive({"supervisor": sup})


def test_supervisor_not_alive_for_a_dead_pid() -> None:
    proc = subprocess.Popen(["true"])
    created = psutil.Process(proc.pid).create_time()
    proc.wait(10)
    sup = {"pid": proc.pid, "create_time": created, "running": True}
    assert not statefile.supervisor_alive({"supervisor": sup})


def test_supervisor_not_alive_without_a_record() -> None:
    assert not statefile.supervisor_alive({})
    assert not statefile.supervisor_alive({"supervisor": None})
