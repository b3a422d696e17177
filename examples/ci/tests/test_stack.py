"""Your project's tests, run against the stack CI brought up (here: the demo stack).

Under `stackup run` the tests get the stack's environment, so every service's port
is in `<NAME>_PORT`; after a plain `stackup up -d`, `stackup status --json` says it.
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
    status = subprocess.run(
        ["stackup", "status", "--json"], capture_output=True, text=True, check=False
    )
    services = json.loads(status.stdout)["services"]
    return next(s["port"] for s in services if s["name"] == service)


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
