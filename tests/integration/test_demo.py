"""The demo stack that `make demo` runs, end to end, as a user would see it."""

from __future__ import annotations

import json
import random
import re
import shutil
import signal
import socket
import urllib.request

from tests.conftest import ROOT

DEMO_PORTS = [15432, 18000, 18002, 15000, 18080]


def free_offset() -> int:
    """An offset that puts every demo port on a free port below the ephemeral range."""
    for _ in range(100):
        offset = random.randrange(1000, 12000, 7)
        try:
            for port in DEMO_PORTS:
                with socket.socket() as s:
                    s.bind(("127.0.0.1", port + offset))
        except OSError:
            continue
        return offset
    raise RuntimeError("no free offset")


def test_demo_stack_starts_in_order_serves_cors_and_stops_in_reverse(stackup):
    shutil.copy(ROOT / "stack.yaml", stackup.dir / "stack.yaml")
    shutil.copytree(ROOT / "examples", stackup.dir / "examples")
    offset = free_offset()
    run = stackup.start("up", "--profile", "voice", "--port-offset", str(offset))
    run.wait_for(r"all 6 services ready", timeout=30)

    def index(pattern: str) -> int:
        return next(i for i, line in enumerate(run.out) if re.search(pattern, line))

    assert index("migrate completed") < index("backend2 started")
    assert index("backend is healthy") < index("backend2 started")
    assert index("backend2 is healthy") < index("frontend started")

    frontend, backend = 15000 + offset, 18000 + offset
    page = urllib.request.urlopen(f"http://127.0.0.1:{frontend}/", timeout=5).read().decode()
    assert str(backend) in page  # the page was given the real (offset) API ports
    request = urllib.request.Request(
        f"http://127.0.0.1:{backend}/api/patients/",
        headers={"Origin": f"http://localhost:{frontend}"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.headers["Access-Control-Allow-Origin"] == f"http://localhost:{frontend}"
        assert json.loads(response.read())

    run.signal(signal.SIGINT)
    assert run.wait() == 0
    assert index("frontend stopped") < index("stopping backend2$")
    assert index("backend2 stopped") < index("stopping backend$")
    assert index("backend stopped") < index("stopping db$")
