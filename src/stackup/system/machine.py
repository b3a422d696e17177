"""What this machine offers a service: programs on a PATH, their versions, users.
Used by `doctor` to explain a start that cannot work before it is tried."""

from __future__ import annotations

import os
import pwd
import re
import shutil
import subprocess
from pathlib import Path

VERSION = re.compile(r"(?<![\d.])(\d+\.\d+(?:\.\d+)?)")


def find_program(program: str, cwd: Path, path: str | None) -> Path | None:
    """Where `program` would be found when the service runs in `cwd` with `PATH=path`:
    a name is looked up on the PATH, a path (with a `/`) relative to `cwd`."""
    if "/" in program:
        candidate = Path(os.path.expanduser(program))
        candidate = candidate if candidate.is_absolute() else cwd / candidate
        return candidate if candidate.exists() else None
    found = shutil.which(program, path=path)
    return Path(found) if found else None


def is_executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def program_version(program: Path, cwd: Path, env: dict[str, str]) -> str | None:
    """The X.Y[.Z] a program prints for `--version` (Python and node both do), or None
    when it cannot be run or says nothing of the kind."""
    try:
        done = subprocess.run(
            [str(program), "--version"], cwd=cwd if cwd.is_dir() else None, env=env,
            capture_output=True, text=True, timeout=10, stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = VERSION.search(done.stdout + " " + done.stderr)
    return match[1] if match else None


def user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True
