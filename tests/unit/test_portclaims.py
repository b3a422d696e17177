"""The per-user port claims: who holds a claim (its chooser, or its stack's live
supervisor), stale claims dropped, one writer at a time."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from pathlib import Path

import psutil
import pytest

from stackup.errors import StackupError
from stackup.server import portclaims, statefile


def claim(folder: Path, state_dir: Path, ports: list[int]) -> None:
    with portclaims.locked(folder) as claims:
        claims.claim(state_dir, "demo", "job1", ports)


def test_a_live_choosers_claim_is_seen_by_other_stacks_not_by_its_own(tmp_path: Path) -> None:
    mine, other = tmp_path / "mine", tmp_path / "other"
    claim(tmp_path, other, [18100, 15100])
    with portclaims.locked(tmp_path) as claims:
        taken = claims.others(mine)
        assert set(taken) == {18100, 15100}
        assert taken[18100].describe() == f"stack demo (project job1, {other})"
        assert claims.others(other) == {}
    assert (tmp_path / portclaims.CLAIMS_FILE).stat().st_mode & 0o077 == 0


def live(tmp_path: Path) -> set[int]:
    with portclaims.locked(tmp_path) as claims:
        return set(claims.others(tmp_path / "mine"))


def test_a_claim_passes_from_its_chooser_to_the_supervisor_it_started(tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    chooser = subprocess.Popen(["sleep", "60"])
    long_lived = subprocess.Popen(["sleep", "60"])  # a chooser that outlives its stack
    try:
        proc = psutil.Process(chooser.pid)
        made = time.time()
        portclaims._write(tmp_path / portclaims.CLAIMS_FILE, {str(other): {
            "stack": "demo", "project": None, "ports": [18000],
            "pid": proc.pid, "create_time": proc.create_time(), "at": made}})
        sup = psutil.Process(long_lived.pid)
        # An older supervisor's state (before the claim) does not take it over.
        statefile.write(other, {"supervisor": {
            "pid": sup.pid, "create_time": sup.create_time(), "running": True,
            "started_at": made - 5}})
        assert live(tmp_path) == {18000}
        chooser.kill()
        chooser.wait()
        assert live(tmp_path) == set()  # the chooser died before handing over
        portclaims._write(tmp_path / portclaims.CLAIMS_FILE, {str(other): {
            "stack": "demo", "project": None, "ports": [18000],
            "pid": sup.pid, "create_time": sup.create_time(), "at": made}})
        # The supervisor (here: this process) it started wrote its state: the claim is
        # the supervisor's now, and ends with it although the chooser lives on.
        statefile.write(other, {"supervisor": {
            "pid": os.getpid(), "create_time": psutil.Process().create_time(),
            "running": True, "started_at": made + 0.1}})
        assert live(tmp_path) == {18000}
        statefile.write(other, {"supervisor": {
            "pid": os.getpid(), "create_time": psutil.Process().create_time(),
            "running": False, "started_at": made + 0.1}})
        assert psutil.pid_exists(sup.pid)
        assert live(tmp_path) == set()
        assert portclaims._read(tmp_path / portclaims.CLAIMS_FILE) == {}  # pruned on disk
    finally:
        for p in (chooser, long_lived):
            p.kill()
            p.wait()


def test_release_drops_a_claim(tmp_path: Path) -> None:
    claim(tmp_path, tmp_path / "other", [18000])
    with portclaims.locked(tmp_path) as claims:
        claims.release(tmp_path / "other")
    with portclaims.locked(tmp_path) as claims:
        assert claims.others(tmp_path / "mine") == {}


def test_one_holder_at_a_time_and_a_bounded_wait(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(portclaims, "LOCK_DEADLINE", 0.2)
    holding = threading.Event()
    done = threading.Event()

    def hold() -> None:
        with portclaims.locked(tmp_path):
            holding.set()
            done.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert holding.wait(5)
        began = time.monotonic()
        with pytest.raises(StackupError, match="choosing ports"), portclaims.locked(tmp_path):
            pass
        assert time.monotonic() - began < 2
    finally:
        done.set()
        holder.join(5)
    with portclaims.locked(tmp_path):  # free again once the holder let go
        pass


def test_an_unreadable_claims_file_counts_as_no_claims(tmp_path: Path) -> None:
    (tmp_path / portclaims.CLAIMS_FILE).write_text("{not json")
    with portclaims.locked(tmp_path) as claims:
        assert claims.others(tmp_path / "mine") == {}
