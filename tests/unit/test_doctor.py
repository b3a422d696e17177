"""The pieces of `stackup doctor` that are pure logic: which program a command runs,
declared versions and whether a found one meets them, who calls a port on which
loopback family. (tests/integration/test_doctor.py runs each finding for real.)"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from stackup.app.doctor import network, versions
from stackup.app.doctor.findings import Finding, Subject
from stackup.app.doctor.setup import first_program
from stackup.config import load_stack
from stackup.system import machine


@pytest.mark.parametrize(("command", "program"), [
    ("python manage.py runserver", "python"),
    ("DEBUG=1 PORT=8000 exec ./bin/serve --x", "./bin/serve"),
    ("env -i FOO=1 node server.js", "node"),
    ("nohup uvicorn app:app  # the API", "uvicorn"),
    (["/usr/bin/postgres", "-D", "x"], "/usr/bin/postgres"),
    ("cd backend && python manage.py runserver", None),
    ("$(npm bin)/vite", None),
    ("npm run dev | tee out.log", "npm"),
    ("'unbalanced", None),
    ("{ echo; }", None),
])
def test_the_program_a_command_runs(command: str | list[str], program: str | None) -> None:
    assert first_program(command) == program


@pytest.mark.parametrize(("output", "version"), [
    ("Python 3.11.2", "3.11.2"), ("v20.11.0", "20.11.0"), ("node 18.19", "18.19"),
    ("no version here", None), ("1.2.3.4.5 build", "1.2.3"),
])
def test_the_version_a_program_prints(output: str, version: str | None) -> None:
    match = machine.VERSION.search(output)
    assert (match[1] if match else None) == version


@pytest.mark.parametrize(("found", "pin", "ok"), [
    ("3.12.4", "3.12", True), ("3.12.4", "3.12.4", True), ("3.12.4", "3.12.1", False),
    ("3.11.2", "3.12", False), ("3.1.2", "3.12", False), ("20.11.0", "v20", True),
])
def test_a_pinned_version_is_a_prefix(found: str, pin: str, ok: bool) -> None:
    assert versions.matches_pin(found, pin) is ok


@pytest.mark.parametrize(("found", "spec", "ok"), [
    ("3.11.2", ">=3.11", True), ("3.11.2", ">=3.12", False), ("3.11.2", "~=3.10", True),
    ("3.13.0", ">=3.10,<3.13", False), ("3.11.2", "not a specifier", True),
])
def test_requires_python_follows_pep_440(found: str, spec: str, ok: bool) -> None:
    declared = versions.Declared(Path("pyproject.toml"), "requires-python", spec)
    assert versions.python_accepts(found, declared) is ok


@pytest.mark.parametrize(("found", "spec", "ok"), [
    ("20.11.0", ">=18", True), ("20.11.0", "^18.0.0 || ^22", False),
    ("20.11.0", "18.x || 20.x", True), ("20.11.0", ">=18 <20", False),
    ("20.11.0", "~20.10", False), ("20.11.0", "16 - 20", True), ("20.11.0", "*", True),
])
def test_engines_node_follows_npm_semver(found: str, spec: str, ok: bool) -> None:
    declared = versions.Declared(Path("package.json"), "engines.node", spec)
    assert versions.node_accepts(found, declared) is ok


def test_declarations_are_looked_up_from_the_service_folder_to_the_stacks(
    tmp_path: Path,
) -> None:
    root, app = tmp_path / "repo", tmp_path / "repo" / "apps" / "api"
    app.mkdir(parents=True)
    (tmp_path / ".python-version").write_text("2.7\n")  # above the stack: not read
    (root / ".python-version").write_text("3.12\n")
    (root / "apps" / ".python-version").write_text("3.11.9 # the team's\n")
    (app / "pyproject.toml").write_text('[project]\nrequires-python = ">=3.10"\n')
    (app / "package.json").write_text('{"engines": {"node": ">=20"}}')
    (root / ".nvmrc").write_text("v18.19.0\n")
    found = {(d.setting, d.wanted, d.file) for d in versions.declared_python(app, root)}
    assert found == {(".python-version", "3.11.9", root / "apps" / ".python-version"),
                     ("requires-python", ">=3.10", app / "pyproject.toml")}
    node = {(d.setting, d.wanted) for d in versions.declared_node(app, root)}
    assert node == {("engines.node", ">=20"), (".nvmrc", "18.19.0")}
    (root / ".nvmrc").write_text("lts/iron\n")  # an alias names no version
    assert {d.setting for d in versions.declared_node(app, root)} == {"engines.node"}


def test_a_finding_is_one_line_with_what_to_do_and_where() -> None:
    finding = Finding("api", "cwd", "its working directory /x does not exist",
                      "create it, or fix the service's cwd", "stack.yaml:4: services.api.cwd")
    assert finding.line() == ("api: its working directory /x does not exist → create it, or "
                              "fix the service's cwd (stack.yaml:4: services.api.cwd)")
    assert Finding(None, "config", "bad", "fix it").line() == "bad → fix it"


def subject(tmp_path: Path, text: str) -> Subject:
    file = tmp_path / "stack.yaml"
    file.write_text(textwrap.dedent(text))
    stack = load_stack(file)
    return Subject(file, tmp_path / ".stackup", stack, None, None, False, list(stack.services))


def test_callers_are_found_by_the_address_and_port_in_their_env(tmp_path: Path) -> None:
    s = subject(tmp_path, """\
        env: {SHARED: "postgresql://u@127.0.0.1:5432/db"}
        services:
          db: {command: run, port: 5432}
          api:
            command: run
            port: 8000
            env:
              A: "http://127.0.0.1:5432"
              B: "http://10.127.0.0.1:5432/"
              C: "127.0.0.1:54321"
              D: "http://[::1]:5432/"
              E: "localhost:5432"
        """)
    db = s.stack.services["db"]  # type: ignore[union-attr]
    assert network._users_of(s, db, "127.0.0.1", "127.0.0.1") == [
        "its health check (127.0.0.1; it passes only because stackup tries both)",
        "the stack's env SHARED", "api's A", "api's E"]
    # `localhost` counts for the family it resolves to first
    assert network._users_of(s, db, "::1", "127.0.0.1") == ["api's D"]
    assert network._users_of(s, db, "::1", "::1") == ["api's D", "api's E"]
