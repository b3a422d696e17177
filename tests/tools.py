"""External tools some tests drive: headless chromium, Graphviz `dot`, mermaid.js, tmux.

`make tools` (run by .ci/run) installs them. Where one is missing a test that needs it
is skipped, unless STACKUP_REQUIRE_TOOLS=1 (set by .ci/run): then it fails, so CI
can never pass by skipping.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MERMAID_JS = ROOT / ".cache" / "tools" / "mermaid.min.js"

CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
    "--allow-file-access-from-files", "--hide-scrollbars",
]


def need(what: str, found: object) -> None:
    if found:
        return
    message = f"{what} is not installed (run `make tools`)"
    if os.environ.get("STACKUP_REQUIRE_TOOLS") == "1":
        pytest.fail(message)
    pytest.skip(message)


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    need("chromium", path)
    assert path
    return path


def dot() -> str:
    path = shutil.which("dot")
    need("graphviz (dot)", path)
    assert path
    return path


def tmux() -> str:
    path = shutil.which("tmux")
    need("tmux", path)
    assert path
    return path


def mermaid_js() -> Path:
    need("mermaid.min.js", MERMAID_JS.is_file())
    return MERMAID_JS


def run_chromium(args: list[str], profile_dir: Path, timeout: float = 60) -> str:
    """Run headless chromium with a fresh profile; return its stdout."""
    done = subprocess.run(
        [chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile_dir}", *args],
        capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout
