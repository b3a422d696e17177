"""Every setting stackup takes from the environment, named in one place (stdlib only).

click reads the two that stand for command-line options (`envvar=` on `-f` and `-p`),
the loader reads the port offset, the printer NO_COLOR; all of them by these names.
(pydantic-settings was the first home of these: importing it costs more than `stackup
status` may take in all, so it is not used.)
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from stackup.naming import PORT_OFFSET_VARIABLE

FILE = "STACKUP_FILE"  # the stack file, as -f/--file
PROJECT = "STACKUP_PROJECT"  # the project, as -p/--project
PORT_OFFSET = PORT_OFFSET_VARIABLE  # the default --port-offset (set for every service)
NO_COLOR = "NO_COLOR"  # https://no-color.org: any non-empty value turns colour off


def no_color(environ: Mapping[str, str] = os.environ) -> bool:
    return bool(environ.get(NO_COLOR))
