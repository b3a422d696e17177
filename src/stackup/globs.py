"""Path patterns of the `watch:` key (stdlib only): which changed files count.

Two kinds of pattern, as .gitignore has them:

- a *path* pattern (absolute here: the loader made it so) matches a path as a whole;
  `*` and `?` stay within one path component, `**` spans any number of them;
- a *name* pattern (no `/` inside, an optional trailing `/` meaning "a folder") matches
  any single component of a path, so `node_modules/` ignores every node_modules folder
  and everything under it, and `*.pyc` every compiled file.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache

MAGIC = re.compile(r"[*?\[]")

# What never restarts a service: version control, dependencies, caches, stackup's own
# state, and the files editors write beside the one being saved.
DEFAULT_IGNORES: tuple[str, ...] = (
    ".git/", ".hg/", ".svn/", "node_modules/", "__pycache__/", "*.pyc", "*.pyo",
    ".stackup/", ".venv/", ".mypy_cache/", ".pytest_cache/", ".ruff_cache/",
    "*.swp", "*.swo", "*.swx", "*~", ".#*", "#*#", "4913", "*___jb_tmp___",
    "*___jb_old___", "*.kate-swp", ".DS_Store",
)


def has_magic(pattern: str) -> bool:
    return MAGIC.search(pattern) is not None


def glob_base(pattern: str) -> str:
    """The folder a pattern's matches are under: its components before the first one
    with a wildcard (`/p/config/*.toml` -> `/p/config`)."""
    parts = pattern.split(os.sep)
    for index, part in enumerate(parts):
        if has_magic(part):
            return os.sep.join(parts[:index]) or os.sep
    return os.path.dirname(pattern) or os.sep


def spans_folders(pattern: str) -> bool:
    """Can a match lie below the pattern's base folder's direct entries? (`**`, or a
    wildcard before the last component): then the base is watched recursively."""
    rest = pattern[len(glob_base(pattern)):].strip(os.sep)
    return "**" in rest or has_magic(os.path.dirname(rest))


@lru_cache(maxsize=1024)
def _regex(pattern: str) -> re.Pattern[str]:
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        char = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif char == "*":
            out.append("[^/]*")
            i += 1
        elif char == "?":
            out.append("[^/]")
            i += 1
        elif char == "[":
            end = pattern.find("]", i + 2)
            if end == -1:
                out.append(re.escape(char))
                i += 1
                continue
            body = pattern[i + 1 : end]
            negate = body.startswith("!")
            body = (body[1:] if negate else body).replace("\\", "\\\\")
            out.append("[" + ("^" if negate else "") + body + "]")
            i = end + 1
        else:
            out.append(re.escape(char))
            i += 1
    return re.compile("".join(out) + r"\Z")


def path_matches(pattern: str, path: str) -> bool:
    """Does `path` match the path pattern `pattern` (both absolute)?"""
    return _regex(pattern).match(path) is not None


def name_matches(pattern: str, path: str, is_dir: bool = False) -> bool:
    """Does a name pattern match a component of `path`? A folder pattern (`name/`)
    matches a component that is a folder: any but the last, or the last when `is_dir`."""
    folder = pattern.endswith("/")
    regex = _regex(pattern.rstrip("/"))
    parts = [p for p in path.split(os.sep) if p]
    candidates = parts if (not folder or is_dir) else parts[:-1]
    return any(regex.match(part) for part in candidates)


def ignored(path: str, patterns: tuple[str, ...], root: str) -> bool:
    """Is `path` ignored by any of `patterns`? Patterns with a `/` inside (not only at
    the end) are relative to `root`; they ignore the path and everything under it. Name
    patterns look at the components below `root` only (a project that lives under a
    folder named `build` still has its files watched)."""
    below = os.path.relpath(path, root)
    named = path if below.startswith("..") else below
    for pattern in patterns:
        inner = pattern.rstrip("/")
        if "/" in inner:
            anchored = os.path.join(root, inner)
            if path_matches(anchored, path) or path_matches(anchored + "/**", path):
                return True
        elif name_matches(pattern, named):
            return True
    return False
