"""app.logs: parsing stamped lines, the last N lines across rotation, merging, following."""

from __future__ import annotations

import io
import os
import time
from pathlib import Path

import pytest

from stackup.app.logs import Follower, last_lines, parse_line, show
from stackup.printer import Printer
from stackup.server.logfiles import LogFiles, log_path, stamp

T0 = 1_700_000_000.0


def write_raw(path: Path, entries: list[tuple[float, str]]) -> None:
    with path.open("a") as f:
        for when, line in entries:
            f.write(f"{stamp(when)} {line}\n")


def texts(entries: list[tuple[float, str]]) -> list[str]:
    return [line for _, line in entries]


def test_parse_line_gives_epoch_and_text() -> None:
    when, line = parse_line(f"{stamp(T0 + 0.5)} hello  world\n")
    assert when == pytest.approx(T0 + 0.5, abs=0.001)
    assert line == "hello  world"


def test_parse_line_without_a_stamp_keeps_time_zero_and_the_whole_line() -> None:
    assert parse_line("no stamp here\n") == (0.0, "no stamp here")


def test_parse_line_with_an_empty_message() -> None:
    assert parse_line(f"{stamp(T0)} \n") == (pytest.approx(T0, abs=0.001), "")


def test_last_lines_reads_the_rotated_file_first(tmp_path: Path) -> None:
    path = tmp_path / "a.log"
    write_raw(tmp_path / "a.log.1", [(T0, "old1"), (T0 + 1, "old2")])
    write_raw(path, [(T0 + 2, "new1"), (T0 + 3, "new2")])
    assert texts(last_lines(path, None)) == ["old1", "old2", "new1", "new2"]
    assert texts(last_lines(path, 3)) == ["old2", "new1", "new2"]
    assert texts(last_lines(path, 1)) == ["new2"]


def test_last_lines_of_a_missing_file_is_empty(tmp_path: Path) -> None:
    assert last_lines(tmp_path / "none.log", 10) == []


def test_last_lines_of_what_logfiles_wrote_across_a_rotation(tmp_path: Path) -> None:
    files = LogFiles(tmp_path, max_bytes=60)
    try:
        for i in range(5):
            files.write("svc", [f"line {i}"], T0 + i)
    finally:
        files.close()
    assert (tmp_path / "svc.log.1").exists()
    got = last_lines(log_path(tmp_path, "svc"), 2)
    assert texts(got) == ["line 3", "line 4"]
    assert got[1][0] == pytest.approx(T0 + 4, abs=0.001)


def test_show_merges_services_by_time(tmp_path: Path) -> None:
    write_raw(tmp_path / "a.log", [(T0, "a1"), (T0 + 2, "a2")])
    write_raw(tmp_path / "b.log", [(T0 + 1, "b1"), (T0 + 3, "b2")])
    out = io.StringIO()
    show(tmp_path, ["a", "b"], Printer(["a", "b"], stream=out), None)
    got = [(line.split()[1], line.split("| ", 1)[1]) for line in out.getvalue().splitlines()]
    assert got == [("a", "a1"), ("b", "b1"), ("a", "a2"), ("b", "b2")]


def test_show_limits_each_service_to_n_lines(tmp_path: Path) -> None:
    write_raw(tmp_path / "a.log", [(T0 + i, f"a{i}") for i in range(5)])
    write_raw(tmp_path / "b.log", [(T0 + i + 0.5, f"b{i}") for i in range(5)])
    out = io.StringIO()
    show(tmp_path, ["a", "b"], Printer(["a", "b"], stream=out), 2)
    got = [line.split("| ", 1)[1] for line in out.getvalue().splitlines()]
    assert got == ["a3", "b3", "a4", "b4"]


def test_show_prefixes_with_the_logged_time(tmp_path: Path) -> None:
    write_raw(tmp_path / "a.log", [(T0, "x")])
    out = io.StringIO()
    show(tmp_path, ["a"], Printer(["a"], stream=out), None)
    assert out.getvalue().startswith(time.strftime("%H:%M:%S", time.localtime(T0)))


def test_follower_starts_at_the_end_and_reads_appended_lines(tmp_path: Path) -> None:
    path = tmp_path / "a.log"
    write_raw(path, [(T0, "before")])
    follower = Follower(path)
    assert follower.read() == []
    write_raw(path, [(T0 + 1, "after1"), (T0 + 2, "after2")])
    got = follower.read()
    assert texts(got) == ["after1", "after2"]
    assert got[0][0] == pytest.approx(T0 + 1, abs=0.001)
    assert follower.read() == []


def test_follower_holds_back_a_partial_line(tmp_path: Path) -> None:
    path = tmp_path / "a.log"
    path.write_text("")
    follower = Follower(path)
    with path.open("a") as f:
        f.write(f"{stamp(T0)} half")
    assert follower.read() == []
    with path.open("a") as f:
        f.write(" done\n")
    assert texts(follower.read()) == ["half done"]


def test_follower_waits_for_a_file_that_does_not_exist_yet(tmp_path: Path) -> None:
    path = tmp_path / "late.log"
    follower = Follower(path)
    assert follower.read() == []
    write_raw(path, [(T0, "first")])
    assert texts(follower.read()) == ["first"]


def test_follower_follows_a_rotation(tmp_path: Path) -> None:
    path = tmp_path / "a.log"
    write_raw(path, [(T0, "old")])
    follower = Follower(path)
    write_raw(path, [(T0 + 1, "last before rotation")])
    os.replace(path, tmp_path / "a.log.1")
    # Between the rename and the next write there is no current file.
    assert texts(follower.read()) == ["last before rotation"]
    write_raw(path, [(T0 + 2, "new1"), (T0 + 3, "new2")])
    assert texts(follower.read()) == ["new1", "new2"]
    write_raw(path, [(T0 + 4, "new3")])
    assert texts(follower.read()) == ["new3"]


def test_follower_reads_old_tail_and_new_file_in_one_read(tmp_path: Path) -> None:
    path = tmp_path / "a.log"
    path.write_text("")
    follower = Follower(path)
    write_raw(path, [(T0, "tail of old")])
    os.replace(path, tmp_path / "a.log.1")
    write_raw(path, [(T0 + 1, "head of new")])
    assert texts(follower.read()) == ["tail of old", "head of new"]


def test_follower_reads_the_file_between_two_rotations_in_one_read(tmp_path: Path) -> None:
    # A flood can make the keeper rotate twice before the follower reads again: the
    # middle file (now a.log.1) must be read too, not skipped for the new a.log.
    files = LogFiles(tmp_path, max_bytes=200)
    files.write("a", ["before"], T0)
    follower = Follower(log_path(tmp_path, "a"))
    follower.read()
    lines = [f"line {i:03d} " + "x" * 40 for i in range(7)]
    for line in lines:  # ~75 bytes stamped: a.log rotates after 4 lines, then 3, then a.log
        files.write("a", [line], T0)
    files.close()
    assert texts(follower.read()) == lines


def test_follower_keeps_lines_written_between_its_read_and_the_rotation(tmp_path: Path) -> None:
    # The keeper runs beside the follower: it can append to a.log after the follower
    # read it to its end, then rotate it, before the follower looks for a new file.
    files = LogFiles(tmp_path, max_bytes=10_000)
    files.write("a", ["before"], T0)

    class Interleaved(Follower):
        calls = 0

        def _drain(self) -> bytes:
            data = super()._drain()
            Interleaved.calls += 1
            if Interleaved.calls == 1:  # right after the first read of a.log
                files.write("a", ["written after the read"], T0)
                files._rotate("a")
                files.write("a", ["in the new file"], T0)
            return data

    follower = Interleaved(log_path(tmp_path, "a"), start=0)
    try:
        assert texts(follower.read()) == ["before", "written after the read",
                                          "in the new file"]
    finally:
        files.close()


def test_follower_rereads_a_truncated_file_from_the_start(tmp_path: Path) -> None:
    path = tmp_path / "a.log"
    write_raw(path, [(T0, "a long first line to make the file big")])
    follower = Follower(path)
    with path.open("w") as f:  # truncated in place: same inode, smaller size
        f.write(f"{stamp(T0 + 1)} short\n")
    assert texts(follower.read()) == ["short"]
