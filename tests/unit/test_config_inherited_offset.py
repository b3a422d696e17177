"""STACKUP_PORT_OFFSET: stackup gives its children the offset it runs the stack with,
and a `stackup` run inside the stack (a oneshot running `export nginx`) resolves the
same ports without being told again. The real round trip through a running stack is
in tests/integration/test_nginx_proxy.py."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from stackup.config import load_stack
from stackup.errors import ConfigError

STACK = """
    port_offset: 5
    services:
      db:
        command: postgres
        port: ${DB_PORT:-5432}
      api:
        command: serve
        port: 8000
"""


@pytest.fixture
def file(tmp_path: Path) -> Path:
    path = tmp_path / "stack.yaml"
    path.write_text(textwrap.dedent(STACK))
    return path


def ports(stack) -> dict[str, int | None]:
    return {name: svc.port for name, svc in stack.services.items()}


def test_the_inherited_offset_is_the_default(file: Path) -> None:
    stack = load_stack(file, environ={"STACKUP_PORT_OFFSET": "100"})
    assert stack.port_offset == 100  # over the file's port_offset: the parent chose it
    assert ports(stack) == {"db": 5532, "api": 8100}


def test_an_explicit_offset_beats_the_inherited_one(file: Path) -> None:
    stack = load_stack(file, port_offset=1, environ={"STACKUP_PORT_OFFSET": "100"})
    assert ports(stack) == {"db": 5433, "api": 8001}


def test_the_parents_port_variables_are_not_offset_twice(file: Path) -> None:
    # What a child of `stackup up --port-offset 100` sees: DB_PORT is already final.
    child = {"STACKUP_INSTANCE": "abc", "STACKUP_PORT_OFFSET": "100", "DB_PORT": "5532",
             "API_PORT": "8100"}
    assert ports(load_stack(file, environ=child)) == {"db": 5532, "api": 8100}
    # ...also when the parent's shell had moved the database (DB_PORT=6000 stackup up).
    moved = {**child, "DB_PORT": "6100"}
    assert ports(load_stack(file, environ=moved)) == {"db": 6100, "api": 8100}


def test_a_users_own_variables_are_taken_as_written(file: Path) -> None:
    # Not under a stack (no STACKUP_INSTANCE): DB_PORT is the user's, before any offset,
    # as with an explicit `--port-offset`.
    shell = {"STACKUP_PORT_OFFSET": "100", "DB_PORT": "6000"}
    assert ports(load_stack(file, environ=shell)) == {"db": 6100, "api": 8100}
    assert ports(load_stack(file, port_offset=100, environ={"DB_PORT": "6000"})) == {
        "db": 6100, "api": 8100,
    }


def test_without_it_the_file_decides(file: Path) -> None:
    assert ports(load_stack(file, environ={})) == {"db": 5437, "api": 8005}


def test_a_bad_inherited_offset_names_the_variable(file: Path) -> None:
    with pytest.raises(ConfigError, match="STACKUP_PORT_OFFSET must be a whole number, got 'x'"):
        load_stack(file, environ={"STACKUP_PORT_OFFSET": "x"})
