"""The Python or node version a service's project declares, against the one it would
run: `.python-version` (pyenv), `pyproject.toml` `requires-python`, `.nvmrc` /
`.node-version` (nvm, fnm), `package.json` `engines.node`. Looked up from the
service's folder up to the stack's, nearest first, as those tools do."""

from __future__ import annotations

import json
import os
import re
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stackup.app.doctor.findings import Finding, Subject
from stackup.app.doctor.setup import first_program, service_path
from stackup.config.model import Service
from stackup.system import machine

_PYTHON_WORDS = re.compile(
    r"(^|[\s/])(python[0-9.]*|manage\.py|uvicorn|gunicorn|hypercorn|daphne|flask|django-admin"
    r"|celery|uv|poetry|pipenv|pytest)(\s|$)"
)
_NODE_WORDS = re.compile(r"(^|[\s/])(node|npm|npx|yarn|pnpm|vite|next|nuxt|ng|tsx|ts-node)(\s|$)")
_PLAIN_VERSION = re.compile(r"^v?(\d+(?:\.\d+)*)$")


@dataclass(frozen=True)
class Declared:
    file: Path
    setting: str  # what the file says, for the message
    wanted: str  # the version or range


def check(subject: Subject) -> list[Finding]:
    if subject.stack is None:
        return []
    findings: list[Finding] = []
    root = subject.stack.root
    for svc in subject.services():
        if not svc.cwd.is_dir():
            continue
        text = svc.command if isinstance(svc.command, str) else " ".join(svc.command)
        if _PYTHON_WORDS.search(text):
            findings += _python(svc, root)
        if _NODE_WORDS.search(text):
            findings += _node(svc, root)
    return findings


def folders(cwd: Path, root: Path) -> Iterator[Path]:
    """`cwd` and its parents up to the stack's folder (just `cwd` when outside it)."""
    here = cwd
    while True:
        yield here
        if here == root or root not in here.parents:
            return
        here = here.parent


def declared_python(cwd: Path, root: Path) -> list[Declared]:
    found: list[Declared] = []
    for folder in folders(cwd, root):
        pin = folder / ".python-version"
        if pin.is_file() and not any(d.setting == ".python-version" for d in found):
            words = [w for w in pin.read_text(errors="replace").split() if not w.startswith("#")]
            if words and _PLAIN_VERSION.match(words[0].split("/")[0]):
                found.append(Declared(pin, ".python-version", words[0].split("/")[0]))
        project = folder / "pyproject.toml"
        if project.is_file() and not any(d.setting == "requires-python" for d in found):
            try:
                wanted = tomllib.loads(project.read_text())["project"]["requires-python"]
            except (tomllib.TOMLDecodeError, KeyError, TypeError, OSError, UnicodeError):
                wanted = None
            if isinstance(wanted, str):
                found.append(Declared(project, "requires-python", wanted))
    return found


def declared_node(cwd: Path, root: Path) -> list[Declared]:
    found: list[Declared] = []
    for folder in folders(cwd, root):
        for name in (".nvmrc", ".node-version"):
            pin = folder / name
            if pin.is_file() and not any(d.setting in (".nvmrc", ".node-version")
                                         for d in found):
                text = pin.read_text(errors="replace").strip()
                if _PLAIN_VERSION.match(text):  # not `lts/*` or `node`: an alias
                    found.append(Declared(pin, name, text.removeprefix("v")))
        package = folder / "package.json"
        if package.is_file() and not any(d.setting == "engines.node" for d in found):
            try:
                wanted = json.loads(package.read_text()).get("engines", {}).get("node")
            except (ValueError, AttributeError, OSError, UnicodeError):
                wanted = None
            if isinstance(wanted, str) and wanted.strip():
                found.append(Declared(package, "engines.node", wanted.strip()))
    return found


def matches_pin(found: str, pin: str) -> bool:
    """`3.12` accepts 3.12.4; `3.12.1` only 3.12.1."""
    want = pin.removeprefix("v").split(".")
    return found.split(".")[: len(want)] == want


def python_accepts(found: str, declared: Declared) -> bool:
    if declared.setting == ".python-version":
        return matches_pin(found, declared.wanted)
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    try:
        return SpecifierSet(declared.wanted).contains(found, prereleases=True)
    except InvalidSpecifier:
        return True  # not ours to judge


def node_accepts(found: str, declared: Declared) -> bool:
    if declared.setting != "engines.node":
        return matches_pin(found, declared.wanted)
    from nodesemver import satisfies

    try:
        return bool(satisfies(found, declared.wanted, loose=True))
    except (ValueError, TypeError):
        return True


def _python(svc: Service, root: Path) -> list[Finding]:
    return _mismatches(
        svc, declared_python(svc.cwd, root), lambda: _python_program(svc), "Python",
        python_accepts, "install that Python (e.g. `pyenv install`, `uv python install`)",
    )


def _mismatches(
    svc: Service, declared: list[Any], program_of: Callable[[], Path | None], language: str,
    accepts: Callable[[str, Any], bool], install: str,
) -> list[Finding]:
    """The declared versions of `language` the program the service runs does not meet."""
    if not declared:
        return []
    program = program_of()
    if program is None:
        return []
    found = machine.program_version(program, svc.cwd, _env(svc))
    if found is None:
        return []
    return [
        Finding(svc.name, "version",
                f"{d.file} asks for {language} {d.wanted} ({d.setting}), but {program} is {found}",
                f"{install} or change {d.setting}")
        for d in declared if not accepts(found, d)
    ]


def _python_program(svc: Service) -> Path | None:
    """The interpreter the service runs: its command's, when it names a Python; else a
    project venv's; else python3 on its PATH."""
    program = first_program(svc.command)
    if program and re.fullmatch(r"python[0-9.]*", os.path.basename(program)):
        return machine.find_program(program, svc.cwd, service_path(svc))
    for venv in (".venv", "venv"):
        candidate = svc.cwd / venv / "bin" / "python"
        if machine.is_executable(candidate):
            return candidate
    return machine.find_program("python3", svc.cwd, service_path(svc))


def _node(svc: Service, root: Path) -> list[Finding]:
    return _mismatches(
        svc, declared_node(svc.cwd, root),
        lambda: machine.find_program("node", svc.cwd, service_path(svc)), "node",
        node_accepts, "install that node (e.g. `nvm install`, `fnm use`)",
    )


def _env(svc: Service) -> dict[str, str]:
    return {**os.environ, **svc.env}
