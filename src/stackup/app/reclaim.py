"""Before `up` starts a new supervisor: stop what a dead one left running, and say so."""

from __future__ import annotations

import asyncio
import sys

from stackup.config.model import Stack
from stackup.render import plural
from stackup.server import leftovers


def reclaim_leftovers(stack: Stack) -> None:
    """Stop what a supervisor that died left running, before starting afresh: those
    processes are this stack's (they carry its marker) and hold its ports."""
    count = asyncio.run(leftovers.reclaim(stack.state_dir))
    if count:
        sys.stderr.write(
            f"stackup: stopped {plural(count, 'process', 'processes')} left running by an "
            "earlier stackup "
            "whose supervisor died\n"
        )
