from __future__ import annotations

import json
import signal
import textwrap
from pathlib import Path

import pytest

from stackup.config import Stack, load_stack
from stackup.config.explain import explain, stack_to_dict
from stackup.errors import StackupError

SPEC_EXAMPLE = Path(__file__).resolve().parents[1] / "stacks" / "spec_example" / "stack.yaml"


def _stack(tmp_path: Path, environ: dict[str, str]) -> Stack:
    (tmp_path / ".env").write_text("LEVEL=file\nAPI_TOKEN=tok-from-file\n")
    (tmp_path / "stack.yaml").write_text(
        textwrap.dedent(
            """
            env:
              LEVEL: stack
            services:
              db:
                command: postgres
                port: ${DB_PORT:-5432}
              web:
                command: serve ${LEVEL}
                env: {LEVEL: web-own}
              job:
                command: run
            """
        )
    )
    return load_stack(tmp_path / "stack.yaml", environ=environ)


def test_explain_port_that_follows_the_process_env(tmp_path: Path) -> None:
    # `port: ${DB_PORT:-5432}` took DB_PORT from the environment: the environment
    # decided, and nothing was overridden.
    lines = explain(_stack(tmp_path, {"DB_PORT": "6543"}), "DB_PORT")
    assert lines == [
        "DB_PORT=6543  from the process environment; "
        "the port of service db (services.db.port) follows it"
    ]


def test_explain_port_from_its_default(tmp_path: Path) -> None:
    lines = explain(_stack(tmp_path, {}), "DB_PORT")
    assert lines == ["DB_PORT=5432  from the default in services.db.port, as nothing else sets it"]


def test_explain_port_overrides_an_unread_process_variable(tmp_path: Path) -> None:
    (tmp_path / "stack.yaml").write_text("services:\n  api:\n    command: x\n    port: 8000\n")
    stack = load_stack(tmp_path / "stack.yaml", environ={"API_PORT": "1"})
    assert explain(stack, "API_PORT") == [
        "API_PORT=8000  from the port of service api (services.api.port)",
        "  overrides API_PORT=1  from the process environment",
    ]


def test_explain_port_from_an_env_file(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("API_PORT=9100\n")
    (tmp_path / "stack.yaml").write_text(
        "services:\n  api:\n    command: x\n    port: ${API_PORT:-8000}\n"
    )
    stack = load_stack(tmp_path / "stack.yaml", environ={})
    assert explain(stack, "API_PORT")[0] == (
        f"API_PORT=9100  from env file {tmp_path / '.env'}; "
        "the port of service api (services.api.port) follows it"
    )


def test_explain_shadowing_and_service_values(tmp_path: Path) -> None:
    stack = _stack(tmp_path, {"LEVEL": "shell"})
    lines = explain(stack, "LEVEL")
    assert lines[0] == "LEVEL=shell  from the process environment"
    assert any("overrides LEVEL=file  from env file" in line for line in lines)
    assert any("overrides LEVEL=stack  from the stack's env (env.LEVEL)" in line for line in lines)
    # the file beats the shell in a service's environment
    assert any(
        "environment of services db, job: LEVEL=stack  from the stack's env" in line
        for line in lines
    )
    assert any("environment of service web: LEVEL=web-own" in line for line in lines)
    assert stack.services["web"].command == "serve shell"


def test_explain_masks_secrets_and_unknown_vars(tmp_path: Path) -> None:
    stack = _stack(tmp_path, {})
    lines = explain(stack, "API_TOKEN")
    assert lines[0].startswith("API_TOKEN=****  from env file ")
    assert "tok-from-file" not in "\n".join(lines)
    with pytest.raises(StackupError, match=r"^NOPE_NOT_HERE is not defined in this stack") as info:
        explain(stack, "NOPE_NOT_HERE")
    assert info.value.exit_code == 1


def test_explain_port_per_service(tmp_path: Path) -> None:
    lines = explain(_stack(tmp_path, {}), "PORT")
    assert lines[0] == "PORT is not set for the whole stack"
    assert "environment of service db: PORT=5432" in lines[1]


def test_stack_to_dict_is_json_and_complete() -> None:
    stack = load_stack(SPEC_EXAMPLE, environ={})
    data = json.loads(json.dumps(stack_to_dict(stack)))
    assert data["name"] == "medcor" and data["port_offset"] == 0
    assert data["active_profiles"] == []
    assert list(data["services"]) == list(stack.services)
    backend2 = data["services"]["backend2"]
    assert backend2["depends_on"] == {
        "migrate": {"condition": "completed", "restart": False},
        "backend": {"condition": "healthy", "restart": False},
    }
    assert backend2["external"] is False and backend2["watch"] is None
    assert backend2["stop_signal"] == signal.SIGTERM.name
    assert backend2["health"]["kind"] == "tcp" and backend2["health"]["port"] == 8002
    assert backend2["env"]["PORT"] == "8002"
    assert data["services"]["mcp"]["default"] is False
    assert data["services"]["db"]["env"]["DB_PASSWORD"] == "****"
    for key in (
        "command",
        "cwd",
        "port",
        "host",
        "env",
        "health",
        "oneshot",
        "restart",
        "max_restarts",
        "stop_timeout",
        "profiles",
        "description",
        "user",
    ):
        assert key in backend2
