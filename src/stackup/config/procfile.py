"""Commands from a Procfile, parsed by honcho (the format's reference reader)."""

from __future__ import annotations

from pathlib import Path

from honcho.environ import PROCFILE_LINE, parse_procfile


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
    _refuse_duplicates(path, text)
    return dict(parse_procfile(text).processes)


def _refuse_duplicates(path: Path, text: str) -> None:
    """honcho signals a name given twice with an `assert`, which `python -O` removes
    (the later command would then silently win): look first, by honcho's own line
    grammar, and say where."""
    first: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        match = PROCFILE_LINE.match(line)
        if match is None:
            continue
        name = match.group(1)
        if name in first:
            raise ProcfileError(
                f"Procfile {path}:{number} names process '{name}' again "
                f"(first on line {first[name]})"
            )
        first[name] = number
