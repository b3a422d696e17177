"""The voice server: a FastMCP server over HTTP (streamable) on $PORT.

Its tools answer from the v2 API (MEDCOR_API), as the voice assistant does.
"""

from __future__ import annotations

import json
import os
import urllib.request

from quiet import quiet_authlib

quiet_authlib()
from fastmcp import FastMCP  # noqa: E402

API = os.environ.get("MEDCOR_API", "http://127.0.0.1:8002/api/")
mcp = FastMCP("medcor-voice")


def _get(path: str) -> dict:
    with urllib.request.urlopen(API + path, timeout=5) as response:
        return json.load(response)


@mcp.tool
def list_clinics() -> list[str]:
    """The clinics (tenants) on the platform, by name."""
    return [tenant["name"] for tenant in _get("tenants/")["tenants"]]


@mcp.tool
def count_patients(clinic: str) -> int:
    """How many patients a clinic (its slug, e.g. `north`) has."""
    return len(_get(f"tenants/{clinic}/patients/")["patients"])


if __name__ == "__main__":
    mcp.run(transport="http", host="127.0.0.1", port=int(os.environ["PORT"]), show_banner=False)
