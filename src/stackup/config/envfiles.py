"""Env files (`.env` format), read with python-dotenv.

python-dotenv's own `${VAR}` expansion reads `os.environ` directly; we read raw values
and expand them with the same rules against the environ `load_stack` was given, so
tests and `--explain` see exactly what a run would.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from dotenv import dotenv_values

from stackup.config import inputs
from stackup.config.interpolate import expand_dotenv


@dataclass(frozen=True)
class EnvFile:
    path: Path  # absolute
    values: dict[str, str]


class EnvFileError(Exception):
    """An env file that cannot be read; the caller names the key that listed it."""


def read_env_files(
    paths: list[Path], environ: Mapping[str, str], inherited: Mapping[str, str] | None = None
) -> list[EnvFile]:
    """Read `paths` in order. `${VAR}` in a value sees the process environment first,
    then what earlier lines and files defined (python-dotenv's order)."""
    seen: dict[str, str] = dict(inherited or {})
    files = []

    def lookup(name: str) -> str | None:
        return environ.get(name, seen.get(name))

    for path in paths:
        raw = _read(path)
        values: dict[str, str] = {}
        for key, value in raw.items():
            values[key] = expand_dotenv(value or "", lookup)
            seen[key] = values[key]
        files.append(EnvFile(path, values))
    return files


def merged(files: list[EnvFile]) -> dict[str, str]:
    """One mapping of all files; a later file overrides an earlier one."""
    out: dict[str, str] = {}
    for env_file in files:
        out.update(env_file.values)
    return out


def _read(path: Path) -> dict[str, str | None]:
    inputs.note(path)
    if not path.exists():
        raise EnvFileError(f"env file not found: {path}")
    if not path.is_file():
        raise EnvFileError(f"env file is not a regular file: {path}")
    try:
        # interpolate=False: see the module docstring.
        return dict(dotenv_values(path, interpolate=False, encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise EnvFileError(f"cannot read env file {path}: {exc}") from None
