from __future__ import annotations

import json
import signal
import textwrap
from pathlib import Path

from stackup.config import Stack, load_stack
from stackup.config.explain import explain, stack_to_dict

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


def test_explain_port_variable_overridden_by_process_env(tmp_path: Path) -> None:
    lines = explain(_stack(tmp_path, {"DB_PORT": "6543"}), "DB_PORT")
    assert lines[0] == "DB_PORT=6543  from a port variable (services.db.port)"
    assert "shadows DB_PORT=6543  from the process environment" in lines[1]


def test_explain_default_used(tmp_path: Path) -> None:
    text = "\n".join(explain(_stack(tmp_path, {}), "DB_PORT"))
    assert "DB_PORT=5432  from a port variable (services.db.port)" in text
    assert "the default DB_PORT=5432 was used at services.db.port" in text


def test_explain_shadowing_and_service_values(tmp_path: Path) -> None:
    stack = _stack(tmp_path, {"LEVEL": "shell"})
    lines = explain(stack, "LEVEL")
    assert lines[0] == "LEVEL=shell  from the process environment"
    assert any("shadows LEVEL=file  from env file" in line for line in lines)
    assert any("shadows LEVEL=stack  from the stack's env (env.LEVEL)" in line for line in lines)
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
    assert explain(stack, "NOPE_NOT_HERE")[0].startswith("NOPE_NOT_HERE is not defined anywhere")


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
        "migrate": {"condition": "completed"},
        "backend": {"condition": "healthy"},
    }
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
