"""The start-up cache: a resolved stack kept in the state folder, so that `stackup up`
does not pay for pydantic (about 180 ms of imports and model building on this kind of
machine) when nothing the stack depends on has changed.

An entry is the resolved stack plus everything that decided it: the content hash of
every file the loader read or looked for (the stack file, env files — a `.env` that
appears counts —, the Procfile), the value (or absence) of every environment variable
it consulted, the arguments (profiles, offset, project), and a fingerprint of
stackup's own config code. Any difference and the stack is loaded afresh (and the
entry rewritten), so a cached load returns exactly what a fresh one would.

Never written: an entry whose stack came from a secret-looking variable of the
process environment (a password that lived only in the shell must not land on disk;
values from env files are on disk already), or when the state folder does not exist
yet (a `config` in a fresh folder creates nothing; `up` and `run` create it).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from stackup import __version__
from stackup.config import inputs, model, serial

FORMAT = 1
ALL = "*"  # the loader iterated the whole environment: all of it is the key


class RecordingEnviron(Mapping[str, str]):
    """The process environment, remembering which names were asked for."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ
        self.asked: set[str] = set()
        self.iterated = False

    def __getitem__(self, name: str) -> str:
        self.asked.add(name)
        return self._environ[name]

    def __contains__(self, name: object) -> bool:
        if isinstance(name, str):
            self.asked.add(name)
        return name in self._environ

    def get(self, name: str, default: Any = None) -> Any:
        self.asked.add(name)
        return self._environ.get(name, default)

    def __iter__(self) -> Iterator[str]:
        self.iterated = True
        return iter(self._environ)

    def __len__(self) -> int:
        self.iterated = True
        return len(self._environ)


def load(
    file: Path,
    state_dir: Path,
    *,
    profiles: tuple[str, ...] = (),
    port_offset: int | None = None,
    project: str | None = None,
    environ: Mapping[str, str] | None = None,
    make_state_dir: Callable[[Path], object] | None = None,
) -> model.Stack:
    """`load_stack`, through the cache. `make_state_dir`: for a command about to start
    the stack (which creates the state folder anyway), create it once the stack has
    loaded, so that even the first `up` in a fresh checkout leaves an entry for the
    next one."""
    environ = os.environ if environ is None else environ
    args = {"file": os.path.abspath(file), "profiles": list(profiles),
            "port_offset": port_offset, "project": project}
    path = _entry_path(state_dir, args)
    entry = _read(path)
    if entry is not None and _valid(entry, args, environ):
        return serial.load(entry["stack"])
    from stackup.config.load import load_stack  # pydantic: only when the cache misses

    recorder = RecordingEnviron(environ)
    with inputs.recording() as read:
        stack = load_stack(file, profiles=profiles, port_offset=port_offset,
                           environ=recorder, project=project)
    if make_state_dir is not None and not _secret_asked(recorder):
        make_state_dir(state_dir)
    if state_dir.is_dir() and not _secret_asked(recorder):
        _write(path, {
            "format": FORMAT, "code": _code_fingerprint(), "args": args,
            "files": {str(p): _digest(p) for p in read},
            "environ": _environ_record(recorder, environ),
            "stack": serial.dump(stack),
        })
    return stack


def _valid(entry: dict[str, Any], args: dict[str, Any], environ: Mapping[str, str]) -> bool:
    if entry.get("format") != FORMAT or entry.get("args") != args:
        return False
    if entry.get("code") != _code_fingerprint():
        return False
    if entry.get("environ") != _environ_record_like(entry.get("environ"), environ):
        return False
    return all(_digest(Path(p)) == d for p, d in (entry.get("files") or {}).items())


def _environ_record(recorder: RecordingEnviron, environ: Mapping[str, str]) -> Any:
    if recorder.iterated:
        return {ALL: _environ_digest(environ)}
    names = recorder.asked | {"HOME"}  # `~` in paths reads HOME directly
    return {name: environ.get(name) for name in sorted(names)}


def _environ_record_like(recorded: Any, environ: Mapping[str, str]) -> Any:
    """What the current environment would record, for the same names."""
    if not isinstance(recorded, dict):
        return None
    if ALL in recorded:
        return {ALL: _environ_digest(environ)}
    return {name: environ.get(name) for name in recorded}


def _environ_digest(environ: Mapping[str, str]) -> str:
    text = "\0".join(f"{k}={v}" for k, v in sorted(environ.items()))
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()


def _secret_asked(recorder: RecordingEnviron) -> bool:
    from stackup.config.secrets import is_secret_key

    if recorder.iterated:
        return True  # the whole environment is in the stack: be safe
    return any(is_secret_key(name) and name in recorder._environ for name in recorder.asked)


def _digest(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except FileNotFoundError:
        return None
    except OSError:
        return "unreadable"


def _code_fingerprint() -> str:
    """stackup's version and its config code as installed: an upgrade (or an edit, in
    a development checkout) that changes how a stack resolves invalidates every entry."""
    folder = Path(__file__).parent
    parts = [__version__]
    sources = [*folder.glob("*.py"), folder.parent / "locations.py", folder.parent / "naming.py"]
    for source in sorted(sources):
        st = source.stat()
        parts.append(f"{source.name}:{st.st_size}:{st.st_mtime_ns}")
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


def _entry_path(state_dir: Path, args: dict[str, Any]) -> Path:
    key = hashlib.sha256(json.dumps(args, sort_keys=True).encode()).hexdigest()[:16]
    return state_dir / "cache" / f"stack-{key}.json"


def _read(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _write(path: Path, entry: dict[str, Any]) -> None:
    import tempfile  # only when writing: a cache hit never needs it

    with contextlib.suppress(OSError):  # a cache that cannot be written is no cache
        path.parent.mkdir(mode=0o700, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".stack-", dir=path.parent)  # 0600
        try:
            with os.fdopen(fd, "w") as f:
                json.dump(entry, f, separators=(",", ":"))
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
