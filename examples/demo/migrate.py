"""demo migrate — a oneshot task, like `python manage.py migrate`.

Connects to the demo db ($DB_PORT), applies 3 migrations (plain SET commands that
create the demo data the APIs serve), prints each one and exits 0. stackup starts
backend2 only after this has *completed* (exited 0).
"""

from __future__ import annotations

import json
import sys
import time

from _common import STOP, db_query, port

MIGRATIONS = [
    ("clinic.0001_initial", "SET schema:clinic patients,appointments"),
    (
        "clinic.0002_seed_patients",
        "SET patients "
        + json.dumps(
            [
                {"id": 1, "name": "Ada Lovelace", "born": 1815},
                {"id": 2, "name": "Alan Turing", "born": 1912},
                {"id": 3, "name": "Grace Hopper", "born": 1906},
            ]
        ),
    ),
    (
        "clinic.0003_appointments",
        "SET appointments "
        + json.dumps(
            [
                {"id": 10, "patient_id": 1, "at": "2025-01-06T09:00"},
                {"id": 11, "patient_id": 3, "at": "2025-01-06T10:30"},
                {"id": 12, "patient_id": 2, "at": "2025-01-07T14:00"},
            ]
        ),
    ),
]


def wait_for_db(deadline_s: float = 10.0) -> bool:
    """stackup starts us only once the db is ready; retry anyway when run by hand."""
    deadline = time.monotonic() + deadline_s
    while True:
        try:
            return db_query("PING") == ["PONG"]
        except OSError as exc:
            if time.monotonic() > deadline or STOP.is_set():
                print(f"migrate: cannot reach the db on port {port('DB_PORT', 15432)}: {exc}")
                return False
            STOP.wait(0.2)


def main() -> int:
    if not wait_for_db():
        return 1
    print("Operations to perform:\n  Apply all migrations: clinic\nRunning migrations:")
    for done, (name, command) in enumerate(MIGRATIONS):
        if STOP.is_set():
            print(f"migrate: interrupted after {done} of {len(MIGRATIONS)} migrations")
            return 0
        time.sleep(0.1)  # "work"
        (reply,) = db_query(command)
        if reply != "OK":
            print(f"  Applying {name}... FAILED ({reply})")
            return 1
        print(f"  Applying {name}... OK", flush=True)
    db_query("SET migrations:applied " + ",".join(name for name, _ in MIGRATIONS))
    print(f"migrate: {len(MIGRATIONS)} migrations applied")
    return 0


if __name__ == "__main__":
    sys.exit(main())
