"""Where a stack lives on disk (stdlib only): its stack file and its state folder.

Every command, and the detached supervisor, finds the state folder through
`state_dir()` and nothing else, so `up`, `status`, `down` and `logs` can never pick
different folders (a symlinked stack file once made them do so).

The layout, beside the stack file:

    .stackup/                      the state of `stack.yaml`, the default project
    .stackup/projects/<project>/   the state of any other project

A project is one running copy of a stack file. `stack.yaml` is the default project;
any other file is the project named after the file (`ci.yaml` -> `ci`); `-p NAME`
(or STACKUP_PROJECT) names it explicitly, so two copies of one file can run side by
side from one folder. Projects live under `projects/` so that their names can never
collide with the files of the default project (`logs/`, `state.json`, ...) nor with
what a stack keeps in `.stackup/` itself (such as a database's data folder).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

DEFAULT_FILE = "stack.yaml"
STATE_FOLDER = ".stackup"
PROJECTS_FOLDER = "projects"

# Also a folder name under .stackup/projects/, so it can never leave it.
PROJECT_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


def stack_folder(file: Path) -> Path:
    """The folder of the stack file as the user named it: symlinks are not followed, so
    the state and every relative path in the file sit where the user works."""
    return Path(os.path.abspath(file)).parent


def project_name(file: Path, project: str | None = None) -> str | None:
    """The project a command acts on: `project` when given, None for the default
    project (`stack.yaml`), else the stack file's name without its extension."""
    if project:
        return project
    name = Path(file).name
    return None if name == DEFAULT_FILE else Path(name).stem


def state_dir(file: Path, project: str | None = None) -> Path:
    """The one function that says where a project's state lives."""
    root = stack_folder(file) / STATE_FOLDER
    name = project_name(file, project)
    return root if name is None else root / PROJECTS_FOLDER / name


def find_stack_file(start: Path) -> Path | None:
    """`stack.yaml` in `start` or the nearest folder above it (as git and compose
    search), or None. Found in `start` itself it is named relatively, as the user
    would (messages then say `stack.yaml:7:`); found above, by its absolute path."""
    folder = Path(os.path.abspath(start))
    if (folder / DEFAULT_FILE).is_file():
        return Path(DEFAULT_FILE) if folder == Path(os.path.abspath(".")) else folder / DEFAULT_FILE
    for candidate in folder.parents:
        if (candidate / DEFAULT_FILE).is_file():
            return candidate / DEFAULT_FILE
    return None


def user_temp_dir() -> Path:
    """This user's private (0700) folder under the temp dir, `stackup-<uid>/`: for what
    is shared by every stack of the user on this machine (the port claims) or does not
    fit in a state folder (a Unix socket whose path would be too long)."""
    import tempfile  # only here: most commands never need it, and it costs imports

    private = Path(tempfile.gettempdir()) / f"stackup-{os.getuid()}"
    private.mkdir(mode=0o700, exist_ok=True)
    info = private.stat()
    if info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise OSError(f"{private} is not a private folder of this user")
    return private
