"""logfiles.LogFiles: private, stamped, rotated per-service log files."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from stackup.events import Notice, OutputLines, StateChanged
from stackup.server.logfiles import LogFiles, log_path, stamp
from stackup.states import State

WHEN = 1_700_000_000.123


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def logs(tmp_path: Path) -> Iterator[LogFiles]:
    files = LogFiles(tmp_path / "state" / "logs")
    try:
        yield files
    finally:
        files.close()


def test_lines_are_written_with_an_iso_stamp(logs: LogFiles) -> None:
    logs(OutputLines("web", ["hello", "world"], WHEN))
    text = log_path(logs.dir, "web").read_text()
    ts = datetime.fromtimestamp(WHEN).isoformat(timespec="milliseconds")
    assert text == f"{ts} hello\n{ts} world\n"
    assert ts.endswith(".123")


def test_stamp_round_trips_to_the_millisecond() -> None:
    assert datetime.fromisoformat(stamp(WHEN)).timestamp() == pytest.approx(WHEN, abs=0.001)


def test_directory_is_0700_and_files_0600(logs: LogFiles) -> None:
    logs(OutputLines("web", ["x"], WHEN))
    assert mode(logs.dir) == 0o700
    assert mode(log_path(logs.dir, "web")) == 0o600


def test_each_service_has_its_own_file(logs: LogFiles) -> None:
    logs(OutputLines("a", ["from a"], WHEN))
    logs(OutputLines("b", ["from b"], WHEN))
    assert log_path(logs.dir, "a").read_text().endswith(" from a\n")
    assert log_path(logs.dir, "b").read_text().endswith(" from b\n")


def test_notices_are_written_with_the_stackup_tag(logs: LogFiles) -> None:
    logs(Notice("db", "db is healthy", WHEN))
    assert log_path(logs.dir, "db").read_text() == f"{stamp(WHEN)} [stackup] db is healthy\n"


def test_state_changes_are_not_written(logs: LogFiles) -> None:
    logs(StateChanged("db", State.STOPPED, State.STARTING, WHEN))
    assert not log_path(logs.dir, "db").exists()


def test_appends_to_an_existing_file(tmp_path: Path) -> None:
    first = LogFiles(tmp_path)
    first.write("a", ["one"], WHEN)
    first.close()
    second = LogFiles(tmp_path)
    try:
        second.write("a", ["two"], WHEN)
    finally:
        second.close()
    assert [line.split(" ", 1)[1] for line in log_path(tmp_path, "a").read_text().splitlines()] \
        == ["one", "two"]


def test_rotates_to_dot_one_past_max_bytes(tmp_path: Path) -> None:
    logs = LogFiles(tmp_path, max_bytes=100)
    try:
        line_size = len(f"{stamp(WHEN)} {'x' * 20}\n")  # 44 bytes
        for i in range(3):
            logs.write("svc", [f"{i}" + "x" * 19], WHEN)
        path = log_path(tmp_path, "svc")
        rotated = tmp_path / "svc.log.1"
        # 3 lines = 132 bytes > 100: moved aside whole, no current file until next write.
        assert rotated.stat().st_size == 3 * line_size
        assert not path.exists()
        logs.write("svc", ["after rotation"], WHEN)
        assert path.read_text() == f"{stamp(WHEN)} after rotation\n"
        assert mode(path) == 0o600
        assert rotated.read_text().splitlines()[0].endswith(" 0" + "x" * 19)
    finally:
        logs.close()


def test_only_one_rotated_file_is_kept(tmp_path: Path) -> None:
    logs = LogFiles(tmp_path, max_bytes=10)
    try:
        logs.write("svc", ["first batch"], WHEN)
        logs.write("svc", ["second batch"], WHEN)
    finally:
        logs.close()
    assert (tmp_path / "svc.log.1").read_text().endswith(" second batch\n")
    assert not (tmp_path / "svc.log.2").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["svc.log.1"]


def test_stamp_is_what_datetime_isoformat_writes() -> None:
    """`stamp` avoids importing datetime (the keeper stamps every line and must start
    fast), so it must write exactly what datetime would, rounding included."""
    import random

    rng = random.Random(7)
    times = [rng.uniform(1e9, 2e9) for _ in range(20_000)]
    times += [1_700_000_000.9999996, 1_700_000_000.0, 1_596_992_154.1459994, WHEN]
    for t in times:
        assert stamp(t) == datetime.fromtimestamp(t).isoformat(timespec="milliseconds"), t
