"""server.output.LogOutput: the supervisor reading services' output back from the log
files as the keeper writes them, across rotation, and saying when some went unseen."""

from __future__ import annotations

import asyncio
from pathlib import Path

from stackup.events import EventBus, Notice, OutputLines
from stackup.server.logfiles import MAX_BYTES, LogFiles
from stackup.server.output import LogOutput

T0 = 1_700_000_000.0
LINE = "y" * 40  # ~65 bytes stamped


async def until(condition, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.005)


def run_flood(tmp_path: Path, lines_between_reads: int) -> tuple[list[str], list[str]]:
    """Write `lines_between_reads` lines while the loop does not read, then let it read;
    return the lines published and the notices."""
    seen: list[str] = []
    notices: list[str] = []
    bus = EventBus()
    bus.subscribe(lambda e: seen.extend(e.lines) if isinstance(e, OutputLines) else
                  notices.append(e.message) if isinstance(e, Notice) else None)
    files = LogFiles(tmp_path, max_bytes=200)  # three lines a file

    async def main() -> None:
        output = LogOutput(tmp_path, bus)
        output.open()
        output.follow_all(["a"])
        try:
            for i in range(lines_between_reads):  # the loop cannot read meanwhile
                files.write("a", [f"{i:03d} {LINE}"], T0)
            files.write("a", ["last"], T0)
            await until(lambda: "last" in seen)
        finally:
            output.close()
            files.close()

    asyncio.run(main())
    return seen, notices


def test_two_rotations_between_reads_lose_nothing(tmp_path: Path) -> None:
    seen, notices = run_flood(tmp_path, 5)  # a.log rotates after 3, then after 6
    assert seen == [f"{i:03d} {LINE}" for i in range(5)] + ["last"]
    assert notices == []


def test_files_rotated_out_unseen_are_said_once(tmp_path: Path) -> None:
    # Four rotations before the first read: files of lines 0-2, 3-5, 6-8 are gone from
    # the disk; 9-11 is a.log.1, then the current a.log.
    seen, notices = run_flood(tmp_path, 14)
    assert seen == [f"{i:03d} {LINE}" for i in range(9, 14)] + ["last"]
    assert notices == [f"output came faster than it could be read back: about "
                       f"{3 * MAX_BYTES // 2**20} MB of it was rotated out of the log "
                       f"files unseen"]
