"""The runtime folder `.stackup/` beside the stack file: private, and locked by one supervisor."""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from stackup.errors import AlreadySupervisedError, StackupError

LOCK_FILE = "supervisor.lock"


def ensure_private_dir(path: Path) -> Path:
    """Create `path` (0700); tighten it when it already exists with looser bits."""
    if path.exists() and not path.is_dir():
        raise StackupError(f"{path} is in the way: stackup keeps its runtime folder there")
    # Folders created on the way are private too (`.stackup/` for a project's
    # `.stackup/projects/NAME/`): mkdir(parents=True) would give them the umask's bits.
    for folder in reversed([p for p in (path, *path.parents) if not p.exists()]):
        folder.mkdir(mode=0o700, exist_ok=True)
    if path.stat().st_mode & 0o077:
        path.chmod(0o700)
    return path


@contextlib.contextmanager
def supervisor_lock(state_dir: Path, inherited_fd: int | None = None) -> Iterator[int]:
    """Hold the stack's supervisor lock, or raise AlreadySupervisedError (exit 4);
    yields the lock's file descriptor.

    An flock is released by the kernel when the holder dies, so a killed supervisor
    never leaves a stale lock behind. It belongs to the open file, not the process:
    `up -d` passes its descriptor to the supervisor it starts (`inherited_fd`), so
    the lock is never free between the two and a `down` in that moment waits.
    """
    ensure_private_dir(state_dir)
    fd = (
        inherited_fd
        if inherited_fd is not None
        else os.open(state_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    )
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            raise AlreadySupervisedError(
                f"this stack is already supervised (supervisor pid {holder}); "
                "see `stackup status`, stop it with `stackup down`"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield fd
    finally:
        os.close(fd)


def lock_held(state_dir: Path) -> bool:
    """Is a supervisor (perhaps one still starting) holding this stack's lock?"""
    try:
        fd = os.open(state_dir / LOCK_FILE, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing also releases the lock if we just took it
    return False
