"""Commands from a Procfile, parsed by honcho (the format's reference reader)."""

from __future__ import annotations

from pathlib import Path

from honcho.environ import parse_procfile


class ProcfileError(Exception):
    """A Procfile that cannot be read; the caller names the `procfile` key."""


def read_procfile(path: Path) -> dict[str, str]:
    """Process name -> command, in file order."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ProcfileError(f"Procfile not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ProcfileError(f"cannot read Procfile {path}: {exc}") from None
    try:
        return dict(parse_procfile(text).processes)
    except AssertionError:
        # honcho asserts that names are unique instead of raising a proper error.
        raise ProcfileError(f"Procfile {path} names a process twice") from None
