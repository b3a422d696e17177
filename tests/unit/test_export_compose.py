"""`stackup export compose`, loaded back with yaml.safe_load."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from stackup.config import Stack, load_stack
from stackup.export import export
from stackup.export.compose import project_name
from tests.unit.test_export_stacks import SPEC_EXAMPLE, rich_stack


def _compose(stack: Stack, services: list[str] | None = None) -> tuple[str, dict[str, Any]]:
    text = export(stack, "compose", list(services or stack.services))["compose.yaml"]
    return text, yaml.safe_load(text)


def test_spec_example_structure() -> None:
    stack = load_stack(SPEC_EXAMPLE, environ={})
    text, doc = _compose(stack, ["db", "migrate", "backend", "backend2", "frontend"])
    assert text.startswith("# ")
    assert "placeholder" in text.split("name:")[0]
    assert doc["name"] == "medcor"
    services = doc["services"]
    assert list(services) == ["db", "migrate", "backend", "backend2", "frontend"]
    db, migrate, backend, backend2 = (services[n] for n in ("db", "migrate", "backend", "backend2"))
    assert db["build"] == "."
    assert backend["build"] == "medcor_backend"
    assert backend["working_dir"] == str(stack.services["backend"].cwd)
    assert db["command"] == ["/bin/sh", "-c", "postgres -D .stackup/pgdata -p 5432 -k /tmp"]
    assert db["ports"] == ["5432:5432"]
    assert "ports" not in migrate
    assert db["healthcheck"] == {
        "test": ["CMD-SHELL", "pg_isready -h 127.0.0.1 -p 5432"],
        "interval": "2s",
        "timeout": "1s",
        "retries": 3,
        "start_period": "60s",
    }
    assert backend["healthcheck"]["test"] == [
        "CMD-SHELL",
        "curl -fsS http://127.0.0.1:8000/api/health/ >/dev/null || exit 1",
    ]
    assert backend2["healthcheck"]["test"] == ["CMD-SHELL", "nc -z 127.0.0.1 8002 || exit 1"]
    assert backend2["depends_on"] == {
        "migrate": {"condition": "service_completed_successfully"},
        "backend": {"condition": "service_healthy"},
    }
    assert migrate["restart"] == "no"
    assert migrate["x-stackup"] == {"oneshot": True}
    assert backend2["environment"]["CORS_ALLOWED_ORIGINS"] == "http://localhost:5000"
    assert backend2["environment"]["PORT"] == "8002"
    assert backend2["environment"]["DB_PASSWORD"] == "${DB_PASSWORD}"
    assert backend2["environment"]["DJANGO_SECRET_KEY"] == "${DJANGO_SECRET_KEY}"
    assert db["stop_signal"] == "SIGTERM"
    assert db["stop_grace_period"] == "10s"


def test_dependencies_outside_the_selection_are_dropped() -> None:
    stack = load_stack(SPEC_EXAMPLE, environ={})
    _, doc = _compose(stack, ["backend2"])
    assert "depends_on" not in doc["services"]["backend2"]


def test_profiles_user_restart_and_notes(tmp_path: Path) -> None:
    _, doc = _compose(rich_stack(tmp_path))
    assert doc["name"] == "demo-app"
    db, web, worker, task = (doc["services"][n] for n in ("db", "web", "worker", "task"))
    assert db["restart"] == "on-failure:3"
    assert db["user"] == "postgres"
    assert db["stop_signal"] == "SIGINT"
    assert db["stop_grace_period"] == "2500ms"
    assert db["healthcheck"]["test"] == ["CMD", "pg_isready", "--password=${DB_PASSWORD}"]
    assert db["healthcheck"]["interval"] == "500ms"
    assert web["restart"] == "always"
    assert web["build"] == "web"
    assert web["command"] == ["serve", "--token=${GH_TOKEN}", "a b"]
    assert web["x-stackup"]["description"] == "The web front"
    assert any("204" in note for note in web["x-stackup"]["notes"])
    assert worker["profiles"] == ["bg"]
    assert "healthcheck" not in worker  # a log check has no compose equivalent
    assert any("log check" in note for note in worker["x-stackup"]["notes"])
    assert worker["depends_on"] == {"db": {"condition": "service_started"}}
    # compose refuses service_healthy on a service without a healthcheck
    assert task["depends_on"] == {"worker": {"condition": "service_started"}}
    assert task["restart"] == "no"


def test_dollars_are_escaped_and_secrets_referenced(tmp_path: Path) -> None:
    _, doc = _compose(rich_stack(tmp_path))
    env = doc["services"]["web"]["environment"]
    assert env["PRICE"] == "5$$ or 10%"  # compose would interpolate a bare $
    assert env["DATABASE_URL"] == "postgresql://app:${DB_PASSWORD}@127.0.0.1:5432/app"
    assert env["LEGACY_URL"] == "${LEGACY_URL}"
    assert env["SESSION_SECRET"] == "${SESSION_SECRET}"
    assert env["WEB_TOKEN"] == "${WEB_TOKEN}"
    assert env["GREETING"] == 'it\'s "quoted" \\ back'
    task = doc["services"]["task"]["command"]
    assert task == ["/bin/sh", "-c", "echo 100% && printf '%s' \"$$HOME\""]


def test_project_name() -> None:
    assert project_name("medcor") == "medcor"
    assert project_name("My Stack!") == "my-stack-"
    assert project_name("__") == "stack"
