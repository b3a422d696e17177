"""Names stackup gives and accepts (stdlib only): service names and port variables."""

from __future__ import annotations

import re

# A service name: also a file name under .stackup/logs/, so it can never leave it.
SERVICE_NAME = re.compile(r"^[a-z][a-z0-9_-]*$")


def port_variable(service: str) -> str:
    """The variable every service sees a service's port in: `my-api` -> `MY_API_PORT`."""
    return service.upper().replace("-", "_") + "_PORT"

# The port offset of a running stack, given to every service (and to `stackup run`'s
# command) and read by the loader as the default `--port-offset`: a `stackup` run
# from inside a stack resolves the same ports.
PORT_OFFSET_VARIABLE = "STACKUP_PORT_OFFSET"

# `--port-offset auto`: a free block of ports, chosen when the stack starts.
AUTO_OFFSET = "auto"

# Environment variables stackup sets in every service it spawns. Descendants inherit
# them, so a process that escaped the process group (setsid) or was orphaned is still
# recognisably "ours" — and a process without them never is.
MARKER_INSTANCE = "STACKUP_INSTANCE"
MARKER_SERVICE = "STACKUP_SERVICE"
