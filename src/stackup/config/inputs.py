"""What a stack load depended on: every file it read or looked for (stdlib only).

The loader's readers note each path here (`note`); the start-up cache records them
while it loads (`recording`) and knows its entry is stale as soon as one of them has
changed, appeared or gone.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from pathlib import Path

_recorded: ContextVar[list[Path] | None] = ContextVar("stackup_inputs", default=None)


def note(path: Path) -> None:
    """A reader is about to read (or look for) `path`."""
    found = _recorded.get()
    if found is not None:
        found.append(Path(path))


@contextlib.contextmanager
def recording() -> Iterator[list[Path]]:
    found: list[Path] = []
    token = _recorded.set(found)
    try:
        yield found
    finally:
        _recorded.reset(token)
