"""Read the stack file as YAML, keeping the line of every key path.

PyYAML's `safe_load` forgets where values came from, so we `compose` the node tree
first: it gives each node a mark, lets us refuse duplicate keys (which `safe_load`
silently lets the last one win), and only then construct plain Python values.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from stackup.config import inputs
from stackup.errors import ConfigError

KeyPath = tuple[Any, ...]  # mapping keys (usually str) and list indices (int)


def format_path(path: KeyPath) -> str:
    """`("services", "db", "command", 0)` -> `services.db.command[0]`."""
    out = ""
    for part in path:
        if isinstance(part, int) and not isinstance(part, bool):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


@dataclass
class Source:
    """The parsed stack file: its data and the line (1-based) of every key path."""

    file: Path  # the path as the user gave it, used in every message
    data: Any
    lines: dict[KeyPath, int] = field(default_factory=dict)

    def line(self, path: KeyPath) -> int | None:
        """The line of `path`, or of its nearest ancestor that has one."""
        path = tuple(path)
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return None

    def error(self, message: str, path: KeyPath = (), *, line: int | None = None) -> ConfigError:
        key = format_path(path) or None
        return ConfigError(message, self.file, line if line is not None else self.line(path), key)


# libyaml composes a stack file ~15× faster than PyYAML's pure-Python parser (200
# services: 11 ms instead of 165 ms), with the same nodes and marks. Its error texts
# differ, so a file it rejects is parsed again by the pure-Python loader, whose
# messages are the ones stackup reports.
FAST_LOADER = getattr(yaml, "CSafeLoader", None)


def read_source(file: Path) -> Source:
    """Read and parse `file`; every problem becomes a ConfigError naming the file."""
    inputs.note(file)
    text = _read_text(file)
    if FAST_LOADER is not None:
        with contextlib.suppress(yaml.YAMLError):  # said below, as PyYAML says it
            return _compose(file, FAST_LOADER(text))
    try:
        return _compose(file, yaml.SafeLoader(text))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid syntax"
        if exc.problem and exc.context and exc.context_mark and exc.context_mark is not mark:
            # e.g. "while parsing a flow sequence" that an unclosed `[` started earlier
            problem += f" ({exc.context} that starts on line {exc.context_mark.line + 1})"
        raise ConfigError(
            f"invalid YAML: {_one_line(problem)}", file, mark.line + 1 if mark else None
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"invalid YAML: {_one_line(str(exc))}", file) from None


def _compose(file: Path, loader: Any) -> Source:
    """The document with the line of every key; YAML errors are the caller's."""
    try:
        node = loader.get_single_node()
        if node is None:
            raise ConfigError("the file is empty; it needs at least a 'services' mapping", file)
        if not isinstance(node, yaml.MappingNode):
            kind = "a list" if isinstance(node, yaml.SequenceNode) else "a single value"
            raise ConfigError(
                f"the top level must be a mapping (version, services, ...), not {kind}",
                file,
                _line(node),
            )
        lines: dict[KeyPath, int] = {}
        _index(loader, node, (), lines, set(), file)
        data = loader.construct_document(node)
    finally:
        loader.dispose()
    return Source(file, data, lines)


def _read_text(file: Path) -> str:
    try:
        return file.read_text(encoding="utf-8")
    except FileNotFoundError:
        # A relative name says where it was looked for: `-f` is relative to the
        # current folder, which may not be the one the user thinks of.
        where = "" if file.is_absolute() else f" (no {file.absolute()})"
        raise ConfigError(f"stack file not found{where}", file) from None
    except IsADirectoryError:
        raise ConfigError("is a directory, not a stack file", file) from None
    except UnicodeDecodeError:
        raise ConfigError("the file is not UTF-8 text", file) from None
    except OSError as exc:
        raise ConfigError(f"cannot read the file: {exc.strerror or exc}", file) from None


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _index(
    loader: yaml.SafeLoader,
    node: yaml.Node,
    path: KeyPath,
    lines: dict[KeyPath, int],
    active: set[int],
    file: Path,
) -> None:
    """Record the line of each key path under `node`; refuse duplicate keys."""
    # An alias may refer to one of its own ancestors (`a: &x [*x]`); don't recurse forever.
    if id(node) in active:
        return
    active.add(id(node))
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                _index(loader, value_node, path, lines, active, file)
                continue
            key = _key(loader, key_node)
            if key in seen:
                raise ConfigError(
                    f"duplicate key '{key}' (first on line {seen[key]})",
                    file,
                    _line(key_node),
                    format_path((*path, key)),
                )
            seen[key] = _line(key_node)
            lines.setdefault((*path, key), _line(key_node))
            _index(loader, value_node, (*path, key), lines, active, file)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines.setdefault((*path, index), _line(item))
            _index(loader, item, (*path, index), lines, active, file)
    active.discard(id(node))


def _key(loader: yaml.SafeLoader, key_node: yaml.Node) -> Any:
    """The Python value of a mapping key, as the constructed data will have it."""
    if isinstance(key_node, yaml.ScalarNode):
        return loader.construct_object(key_node, deep=True)
    return f"<{key_node.id} key on line {_line(key_node)}>"
