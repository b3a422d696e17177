"""The supervisor's state file, `.stackup/state.json`: written atomically on every
change, read by `status`, `down` and `up -d` from any terminal — also after the
supervisor itself was killed, which is why it records each service's pid, creation
time and dependencies, and the instance marker its processes carry."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from stackup.system import processes

STATE_FILE = "state.json"
FORMAT_VERSION = 1


def state_path(state_dir: Path) -> Path:
    return state_dir / STATE_FILE


def write(state_dir: Path, data: dict[str, Any]) -> None:
    """Replace the state file atomically: readers see the old or the new, never half."""
    data = {"format": FORMAT_VERSION, **data}
    fd, tmp = tempfile.mkstemp(prefix=".state-", dir=state_dir)  # mode 0600
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(data, f, separators=(",", ":"))
        os.replace(tmp, state_path(state_dir))
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def read(state_dir: Path) -> dict[str, Any] | None:
    """The last state written, or None when there is none (or it is unreadable)."""
    try:
        data = json.loads(state_path(state_dir).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("format") != FORMAT_VERSION:
        return None
    return data


def supervisor_alive(state: dict[str, Any]) -> bool:
    """Is the supervisor that wrote this state still running (same pid, same process)?"""
    sup = state.get("supervisor") or {}
    return bool(sup.get("running")) and processes.same_process(
        sup.get("pid"), sup.get("create_time")
    ) is not None
