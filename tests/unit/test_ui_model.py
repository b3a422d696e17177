"""The live view's plain data: rows from the stream's records, the log pane's
scrollback, choice of service and filter, and the process trees' CPU and memory."""

from __future__ import annotations

import subprocess
import sys
import time

from stackup.app.ui.model import ALL, LogBuffer, StackModel
from stackup.app.ui.usage import TreeUsage
from tests.conftest import kill_group_and_wait, poll


def model() -> StackModel:
    m = StackModel()
    m.snapshot({
        "stack": "shop", "supervisor": {"pid": 42, "mode": "detached"}, "port_offset": 100,
        "profiles": ["voice"],
        "services": {
            "api": {"state": "healthy", "pid": 1234, "create_time": 1.0, "port": 8100,
                    "host": "127.0.0.1", "health": "http", "restarts": 2,
                    "started_at": 1000.0, "reason": "http://127.0.0.1:8100/ answered 200"},
            "db": {"state": "stopped", "pid": None, "port": 5532, "health": "tcp"},
        },
    })
    return m


def test_rows_show_what_the_records_say():
    m = model()
    row = m.row("api", {"api": (12.34, 50 << 20)}, now=1000.0 + 125)
    assert (row.state, row.pid, row.port, row.url) == (
        "healthy", "1234", "8100", "http://localhost:8100/")
    assert row.health == "http: http://127.0.0.1:8100/ answered 200"
    assert (row.uptime, row.restarts, row.cpu, row.memory) == ("2m05s", "2", "12.3%", "50.0 MiB")
    stopped = m.row("db", {"db": (1.0, 1)}, now=2000.0)
    assert (stopped.pid, stopped.uptime, stopped.cpu, stopped.memory, stopped.url) == (
        "-", "-", "-", "-", "localhost:5532")
    assert m.title() == "stack shop: supervisor pid 42 (detached)"
    assert m.roots() == {"api": (1234, 1.0)}  # only what runs is measured


def test_a_state_event_replaces_the_record():
    m = model()
    m.update({"event": "state", "service": "db", "state": "starting",
              "record": {"state": "starting", "pid": 99, "create_time": 2.0, "port": 5532}})
    assert m.row("db", {}).state == "starting"
    assert m.roots()["db"] == (99, 2.0)


def test_merged_pane_is_prefixed_one_service_is_as_written():
    buf = LogBuffer(["api", "db"])
    when = time.mktime((2026, 1, 2, 3, 4, 5, 0, 0, -1))
    merged = buf.add("db", ["\x1b[32mready\x1b[0m", "second"], when)
    assert merged == ["03:04:05 db     | ready", "03:04:05 db     | second"]
    buf.add("api", ["hello"], when)
    buf.note("api", "api restarted")
    buf.service = "api"
    assert buf.visible() == ["hello", "[stackup] api restarted"]
    assert buf.add("db", ["not shown"], when) == []
    buf.service = ALL
    assert [v.split("| ")[1] for v in buf.visible()] == [
        "ready", "second", "hello", "[stackup] api restarted", "not shown"]


def test_filter_keeps_lines_with_the_text_in_any_case():
    buf = LogBuffer(["api"])
    buf.service = "api"
    buf.add("api", ["GET /health 200", "POST /login 500", "get /static 304"], None)
    buf.filter = "get"
    assert buf.visible() == ["GET /health 200", "get /static 304"]
    assert buf.add("api", ["PUT /x", "GET /y"], None) == ["GET /y"]


def test_a_flooding_service_does_not_push_the_others_lines_out():
    buf = LogBuffer(["flood", "quiet"], limit=100)
    buf.add("quiet", ["quiet-here"], None)
    for i in range(10):
        buf.add("flood", [f"flood {i}-{j}" for j in range(100)], None)
    buf.service = "quiet"
    assert buf.visible() == ["quiet-here"]
    buf.service = ALL
    shown = buf.visible()
    assert len(shown) == 100 and shown[-1].endswith("flood 9-99")
    buf.filter = "quiet"
    assert [s.split("| ")[1] for s in buf.visible()] == ["quiet-here"]
    assert buf.received == 1001


def test_tree_usage_sums_cpu_and_memory_over_the_whole_tree():
    # A shell whose child burns CPU: the service's tree, not just its leader.
    busy = "import time\nend = time.time() + 30\nwhile time.time() < end: pass"
    proc = subprocess.Popen(["sh", "-c", f'{sys.executable} -c "{busy}"; true'],
                            start_new_session=True)
    try:
        import psutil

        leader = psutil.Process(proc.pid)
        poll(lambda: leader.children())
        usage = TreeUsage()
        roots = {"svc": (proc.pid, leader.create_time())}
        usage.sample(roots)  # the first sample only starts the measure
        cpu, memory = poll(lambda: (u := usage.sample(roots)["svc"])[0] > 20 and u,
                           timeout=10, interval=0.2)
        child_rss = leader.children()[0].memory_info().rss
        assert memory > child_rss  # the shell's and the child's
        assert usage.sample({"svc": (proc.pid, leader.create_time() + 5)}) == {}  # not it
    finally:
        kill_group_and_wait(proc)
