"""`stackup restart SERVICE…`: stop and start again through the supervisor, waiting
for readiness; what depends on the service stays up."""

from __future__ import annotations

from pathlib import Path

from stackup.app.progress import Progress, request_with_progress
from stackup.errors import NotRunningError
from stackup.server import control


def restart(state_dir: Path, names: list[str], progress: Progress) -> None:
    if control.ping(state_dir) is None:
        raise NotRunningError("the stack is not running (start it with `stackup up -d`)")
    result = request_with_progress(
        state_dir, {"cmd": "restart", "services": names}, names, progress
    )
    control.raise_for(result)
