"""system.processes and the stop ladder with real processes this test starts (and always ends)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator

import psutil
import pytest

from stackup.system import processes
from stackup.system.stopping import stop_ladder
from tests.conftest import poll

IGNORE_TERM = (
    "import signal, time\n"
    "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
    "print('ready', flush=True)\n"
    "time.sleep(60)\n"
)


def shell_tree(body: str) -> list[str]:
    """A shell leader that, on SIGTERM, reaps its children before exiting (143).

    Without it the group signal would orphan the `sleep`s to PID 1, which in some
    containers never reaps them: they would stay behind as zombies.
    """
    return ["/bin/sh", "-c", f'trap "wait; exit 143" TERM; {body} wait']


class Children:
    """Processes this test started: every one is killed (by pid / own group) and reaped."""

    def __init__(self) -> None:
        self.popens: list[subprocess.Popen[bytes]] = []
        self.others: list[psutil.Process] = []

    def start(self, args: list[str], **kwargs: object) -> subprocess.Popen[bytes]:
        kwargs.setdefault("start_new_session", True)
        proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, **kwargs)  # type: ignore[call-overload]
        self.popens.append(proc)
        return proc

    def adopt_tree(self, pid: int) -> list[psutil.Process]:
        """Remember a tree's descendants, so a grandchild is killed even if it escaped."""
        procs = processes.tree(pid)
        self.others += procs[1:]
        return procs

    def cleanup(self) -> None:
        # SIGTERM first, so shell leaders reap their own children (no orphans).
        for proc in self.popens:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.popens:
            try:
                proc.wait(2)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)
            if proc.stdout:
                proc.stdout.close()
        for p in self.others:
            with contextlib.suppress(psutil.Error):
                p.kill()  # psutil refuses when the pid was reused (create time differs)


@pytest.fixture
def children() -> Iterator[Children]:
    c = Children()
    try:
        yield c
    finally:
        c.cleanup()


def wait_tree(pid: int, size: int) -> None:
    """Wait until the leader has `size - 1` descendants that all became `sleep`.

    A forked shell child that has not exec'd yet still runs the leader's trap: a
    SIGTERM landing then is swallowed and the `sleep` after it would need SIGKILL.
    """

    def ready() -> bool:
        procs = processes.tree(pid)
        with contextlib.suppress(psutil.Error):
            return len(procs) == size and all(p.name() == "sleep" for p in procs[1:])
        return False

    poll(ready)


def test_sleep_tree_in_its_own_session_stops_on_sigterm(children: Children) -> None:
    leader = children.start(shell_tree("sleep 30 & sleep 30 &"))
    wait_tree(leader.pid, 3)
    procs = children.adopt_tree(leader.pid)
    assert os.getpgid(leader.pid) == leader.pid != os.getpgid(0)
    started = time.monotonic()
    left = asyncio.run(stop_ladder(procs, signal.SIGTERM, 5.0, pgid=leader.pid))
    assert left == []
    assert time.monotonic() - started < 4.0  # SIGTERM sufficed; no SIGKILL wait
    assert leader.wait(5) == 143  # it got the SIGTERM (its trap exits 143)
    assert all(processes.is_gone(p) for p in procs)


def test_a_child_that_left_the_group_is_stopped_from_the_snapshot(children: Children) -> None:
    leader = children.start(shell_tree("setsid sleep 30 & sleep 30 &"))
    wait_tree(leader.pid, 3)
    procs = children.adopt_tree(leader.pid)
    poll(lambda: [p for p in procs[1:] if os.getpgid(p.pid) != leader.pid])
    escaped = [p for p in procs[1:] if os.getpgid(p.pid) != leader.pid]
    assert len(escaped) == 1
    left = asyncio.run(stop_ladder(procs, signal.SIGTERM, 5.0, pgid=leader.pid))
    assert left == []
    assert processes.is_gone(escaped[0])


def test_a_process_ignoring_sigterm_is_killed_after_the_bounded_wait(
    children: Children,
) -> None:
    proc = children.start([sys.executable, "-c", IGNORE_TERM], stdout=subprocess.PIPE)
    assert proc.stdout is not None and proc.stdout.readline() == b"ready\n"
    procs = processes.tree(proc.pid)
    started = time.monotonic()
    left = asyncio.run(stop_ladder(procs, signal.SIGTERM, 0.3, pgid=proc.pid))
    elapsed = time.monotonic() - started
    assert left == []
    assert 0.3 <= elapsed < 3.0
    assert proc.wait(5) == -signal.SIGKILL


def test_kill_now_skips_the_stop_signal(children: Children) -> None:
    proc = children.start(["sleep", "30"])
    kill = asyncio.Event()
    kill.set()
    started = time.monotonic()
    left = asyncio.run(stop_ladder(processes.tree(proc.pid), signal.SIGTERM, 10.0, proc.pid, kill))
    assert left == []
    assert time.monotonic() - started < 3.0
    assert proc.wait(5) == -signal.SIGKILL


def test_stop_ladder_with_nothing_to_stop_returns_at_once() -> None:
    assert asyncio.run(stop_ladder([], signal.SIGTERM, 10.0)) == []


def test_tree_lists_the_process_and_its_descendants(children: Children) -> None:
    leader = children.start(shell_tree("sleep 30 &"))
    wait_tree(leader.pid, 2)
    pids = [p.pid for p in children.adopt_tree(leader.pid)]
    assert pids[0] == leader.pid and len(pids) == 2
    assert processes.tree(2**22 + 12345) == []


def test_same_process_checks_the_create_time(children: Children) -> None:
    proc = children.start(["sleep", "30"])
    created = psutil.Process(proc.pid).create_time()
    found = processes.same_process(proc.pid, created)
    assert found is not None and found.pid == proc.pid
    assert processes.same_process(proc.pid, created + 1.0) is None
    assert processes.same_process(proc.pid, None) is None
    assert processes.same_process(None, created) is None


def test_marked_processes_finds_only_processes_with_the_instance_marker(
    children: Children,
) -> None:
    instance = uuid.uuid4().hex
    env = {**os.environ, processes.MARKER_INSTANCE: instance, processes.MARKER_SERVICE: "x"}
    marked = children.start(["sleep", "30"], env=env)
    plain = children.start(["sleep", "30"])
    found = poll(lambda: processes.marked_processes(instance))
    assert isinstance(found, dict)
    assert list(found) == ["x"]
    assert [p.pid for p in found["x"]] == [marked.pid]
    assert processes.carries_marker(psutil.Process(marked.pid), instance)
    assert not processes.carries_marker(psutil.Process(plain.pid), instance)
    assert processes.marked_processes(uuid.uuid4().hex) == {}


def test_is_gone_is_true_for_an_unreaped_zombie(children: Children) -> None:
    proc = children.start(["sleep", "30"])
    ps = psutil.Process(proc.pid)
    assert not processes.is_gone(ps)
    os.kill(proc.pid, signal.SIGKILL)  # not waited for: it stays a zombie
    poll(lambda: ps.status() == psutil.STATUS_ZOMBIE)
    assert ps.is_running()  # psutil alone still calls it running
    assert processes.is_gone(ps)
    assert processes.alive([ps]) == []
    assert processes.same_process(proc.pid, ps.create_time()) is None
    assert proc.wait(5) == -signal.SIGKILL  # reaped here


def test_wait_gone_returns_survivors_at_the_deadline_or_on_interrupt(
    children: Children,
) -> None:
    proc = children.start(["sleep", "30"])
    ps = psutil.Process(proc.pid)
    assert asyncio.run(processes.wait_gone([ps], 0.05)) == [ps]

    async def interrupted() -> list[psutil.Process]:
        stop = asyncio.Event()
        stop.set()
        return await processes.wait_gone([ps], 30.0, stop)

    started = time.monotonic()
    assert asyncio.run(interrupted()) == [ps]
    assert time.monotonic() - started < 2.0


def test_command_line_is_one_line(children: Children) -> None:
    proc = children.start(["sleep", "30"])
    ps = psutil.Process(proc.pid)
    poll(lambda: ps.cmdline(), timeout=5)  # empty for a moment right after exec
    assert processes.command_line(ps) == "sleep 30"


def test_stop_ladder_never_signals_a_group_none_of_its_processes_is_in() -> None:
    """A stale process-group id (the leader was reaped, the group emptied) may be
    another process's new session by now: the ladder must not signal it."""
    import asyncio

    from stackup.system.stopping import stop_ladder

    stranger = subprocess.Popen(["sleep", "30"], start_new_session=True)
    try:
        asyncio.run(stop_ladder([], signal.SIGTERM, 0.2, pgid=stranger.pid))
        assert stranger.poll() is None  # untouched
        # The same call with the process in the (identity-checked) snapshot stops it.
        asyncio.run(
            stop_ladder([psutil.Process(stranger.pid)], signal.SIGTERM, 2, pgid=stranger.pid)
        )
        assert stranger.wait(5) == -signal.SIGTERM
    finally:
        if stranger.poll() is None:
            stranger.kill()
            stranger.wait(5)


def test_newer_descendants_finds_children_and_grandchildren_as_psutil_does() -> None:
    # A wrapper with a child that forks a grandchild: the readiness check's cheap walk
    # must find the same processes as psutil's walk of every process.
    leader = subprocess.Popen(["/bin/sh", "-c", "sleep 30 & (sleep 30 & wait) & wait"])
    try:
        want = poll(lambda: len(d := psutil.Process(leader.pid).children(recursive=True)) == 3
                    and sorted(p.pid for p in d), 10)
        assert sorted(processes.newer_descendants(leader.pid)) == want
        assert processes.newer_descendants(leader.pid + 10**7) == []  # no such process
    finally:
        for proc in [*psutil.Process(leader.pid).children(recursive=True)]:
            with contextlib.suppress(psutil.Error):
                proc.kill()
        leader.kill()
        leader.wait()
