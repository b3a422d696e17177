"""The view's one source: the supervisor's `watch` stream, read on a worker thread and
handed to the view in batches — at most one every FLUSH_EVERY seconds while output
floods, so the view redraws a few times a second however fast services print."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from stackup.errors import NotRunningError
from stackup.server import control

FLUSH_EVERY = 0.05  # seconds: the longest a line waits before the view gets it
BACKLOG_LINES = 1000  # each service's last lines, sent first: the pane's scrollback

Batch = list[dict[str, Any]]


def watch_request(backlog: int = BACKLOG_LINES) -> dict[str, Any]:
    return {"cmd": "watch", "output": True, "tail": backlog}


def pump(
    state_dir: Path, deliver: Callable[[Batch], object], stopped: Callable[[], bool],
    backlog: int = BACKLOG_LINES,
) -> bool:
    """Hand the stream's messages to `deliver` in batches until the stream ends or
    `stopped()`. Returns True when the supervisor went away (the stream said
    `closing`, or the connection ended or could not be made), False when stopped."""
    batch: Batch = []
    flushed = time.monotonic()
    try:
        for message in control.stream(state_dir, watch_request(backlog), timeout=FLUSH_EVERY):
            if stopped():
                return False
            if message is not None:
                batch.append(message)
                if message.get("event") == "closing":
                    break
            now = time.monotonic()
            if batch and (message is None or now - flushed >= FLUSH_EVERY):
                deliver(batch)
                batch, flushed = [], now
    except (NotRunningError, OSError, ValueError):
        pass  # the supervisor is gone (or never answered): the same for the view
    if batch:
        deliver(batch)
    return not stopped()
