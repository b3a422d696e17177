"""Your project's tests, run against the stack CI brought up (here: the demo stack).

Under `stackup run` the tests get the stack's environment, so every service's port
is in `<NAME>_PORT`; after a plain `stackup up -d`, `stackup port SERVICE` prints it
(the port the running stack has, after `--port-offset auto` moved it).
"""

from __future__ import annotations

import json
import os
import subprocess
import urllib.request


def port(service: str) -> int:
    from_env = os.environ.get(f"{service.upper()}_PORT")
    if from_env:
        return int(from_env)
    found = subprocess.run(["stackup", "port", service], capture_output=True, text=True)
    assert found.returncode == 0, found.stderr
    return int(found.stdout)


def get(service: str, path: str) -> object:
    url = f"http://127.0.0.1:{port(service)}{path}"
    with urllib.request.urlopen(url, timeout=5) as response:
        assert response.status == 200
        return json.loads(response.read())


def test_the_api_is_healthy() -> None:
    assert get("backend", "/api/health/") == {"status": "ok"}


def test_the_migrations_ran_and_the_apis_talk() -> None:
    appointments = get("backend2", "/api/appointments/")
    assert appointments, "no appointments: did the migration run?"
