"""Names stackup gives and accepts (stdlib only): service names and port variables."""

from __future__ import annotations

import re

# A service name: also a file name under .stackup/logs/, so it can never leave it.
SERVICE_NAME = re.compile(r"^[a-z][a-z0-9_-]*$")
