"""`stackup init`: each format's mappings on fixtures in the formats' documented shapes
(tests/init_fixtures/), the files it writes, and what it refuses."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from stackup.config import load_stack
from stackup.export import export
from stackup.importers import format_of

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "init_fixtures"


def stackup(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "stackup", *args], cwd=cwd, capture_output=True, text=True,
        timeout=30,
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    shutil.copytree(FIXTURES, tmp_path, dirs_exist_ok=True)
    return tmp_path


def init(project: Path, *args: str, name: str = "stack.yaml") -> tuple[str, dict[str, Any]]:
    done = stackup(project, "-f", name, "init", *args)
    assert done.returncode == 0, done.stderr
    assert "does not load" not in done.stderr
    text = (project / name).read_text()
    return text, yaml.safe_load(text)


def test_procfile_names_commands_and_port_use(project: Path) -> None:
    text, doc = init(project, "--from", "Procfile")
    assert text.startswith("# yaml-language-server: $schema=./stack.schema.json\n")
    services = doc["services"]
    assert list(services) == ["web", "worker", "clock_2"]
    # $PORT becomes ${PORT} (the service's own port); every other $ is kept for the shell
    assert services["web"] == {
        "command": "gunicorn shop.wsgi --bind 0.0.0.0:${PORT} --log-file -",
        "port": 5000,
    }
    assert services["worker"] == {"command": "celery -A shop worker --loglevel=info"}
    assert services["clock_2"]["command"] == 'python clock.py --every 5 "$$HOME" ${PORT}'
    assert services["clock_2"]["port"] == 5200  # honcho's 5000 + 100 × its index
    assert "renamed from 'Clock_2'" in text
    stack = load_stack(project / "stack.yaml", environ={})
    assert stack.services["clock_2"].command == 'python clock.py --every 5 "$HOME" 5200'


def test_compose_mappings(project: Path) -> None:
    text, doc = init(project, "--from", "compose.yaml")
    assert doc["name"] == "shop"
    services = doc["services"]
    # db has only an image: not a process, said at the top; the dependency on it dropped
    assert list(services) == ["migrate", "api", "web", "docs"]
    assert "service 'db' (image postgres:15) has neither command nor build" in text
    assert "depends on 'db', which is not mapped: dropped" in text
    assert services["migrate"] == {
        "command": "python manage.py migrate", "cwd": "api", "oneshot": True,
    }  # others wait for it to complete: a oneshot
    api = services["api"]
    assert api["command"] == ["gunicorn", "shop.wsgi", "--bind", "0.0.0.0:8000"]  # Dockerfile
    assert api["image"] == "ghcr.io/acme/shop-api:dev"
    assert api["port"] == 8080
    assert "compose published container port 8000 on 8080" in text
    assert "port '9090:9090': a stackup service has one port" in text
    assert api["env"] == {"DJANGO_DEBUG": "1"}
    assert "SHELL_ONLY: from the shell" in text
    assert api["env_file"] == ".env"
    assert "optional env_file ./missing.env does not exist: left out" in text
    assert api["depends_on"] == {"migrate": {"condition": "completed"}}
    assert api["health"] == {
        "command": ["curl", "-f", "http://localhost:8000/health/"],
        "interval": "90s",
        "timeout": "10s",
        "retries": 3,
        "start_timeout": "310s",  # start_period 40s + 3 retries × 90s
    }
    assert (api["restart"], api["max_restarts"]) == ("on-failure", 3)
    assert (api["stop_signal"], api["stop_timeout"]) == ("SIGINT", "1500ms")
    assert "compose keys volumes" in text
    web = services["web"]
    assert web["command"] == ["npm", "run", "dev", "--", "--host", "0.0.0.0"]
    assert web["port"] == 5173
    assert web["depends_on"] == {"api": {"condition": "started"}}  # the short form's meaning
    assert web["health"] == {"command": "curl -fsS http://localhost:5173/"}
    assert (web["restart"], web["profiles"]) == ("always", ["ui"])
    docs = services["docs"]
    assert docs["health"] is False and docs["port"] == 4000
    assert "give the command that runs it on this machine" in text
    assert "top-level 'volumes'" in text and "top-level 'networks'" in text
    load_stack(project / "stack.yaml", environ={})


def test_compose_round_trip_keeps_services_ports_dependencies_and_checks(project: Path) -> None:
    init(project, "--from", "compose.yaml")
    stack = load_stack(project / "stack.yaml", environ={}, profiles=("ui",))
    out = yaml.safe_load(export(stack, "compose", list(stack.services))["compose.yaml"])
    original = yaml.safe_load((project / "compose.yaml").read_text())["services"]
    services = out["services"]
    assert set(services) == set(original) - {"db"}
    assert services["api"]["ports"] == ["8080:8080"]
    assert services["web"]["ports"] == ["5173:5173"]
    assert services["docs"]["ports"] == ["4000:4000"]
    assert services["api"]["image"] == original["api"]["image"]
    assert services["api"]["depends_on"] == {
        "migrate": {"condition": "service_completed_successfully"}
    }
    assert services["web"]["depends_on"] == {"api": {"condition": "service_started"}}
    assert services["api"]["healthcheck"]["test"] == original["api"]["healthcheck"]["test"]
    assert services["api"]["healthcheck"]["interval"] == "90s"
    assert services["web"]["healthcheck"]["test"] == [
        "CMD-SHELL", original["web"]["healthcheck"]["test"]
    ]
    assert services["web"]["profiles"] == ["ui"]
    assert services["api"]["restart"] == "on-failure:3"


def test_process_compose_mappings(project: Path) -> None:
    text, doc = init(project, "--from", "process-compose.yaml")
    assert doc["env"] == {"LOG_LEVEL": "debug"}
    services = doc["services"]
    assert services["migrate"] == {
        "command": "python manage.py migrate", "cwd": "api", "oneshot": True,
    }
    api = services["api"]
    assert api["port"] == 8000  # from the http probe
    assert api["env"] == {"DJANGO_DEBUG": "1"}
    assert api["depends_on"] == {"migrate": {"condition": "completed"}}
    assert api["health"] == {"http": "/health/", "interval": "5s", "timeout": "2s", "retries": 3}
    assert (api["restart"], api["max_restarts"]) == ("on-failure", 5)
    assert (api["stop_signal"], api["stop_timeout"]) == ("SIGINT", "5s")
    assert "probe initial_delay_seconds, success_threshold" in text
    assert "availability backoff_seconds" in text
    worker = services["worker"]
    assert worker["health"] == {"command": "celery -A shop inspect ping"}
    assert worker["depends_on"] == {"api": {"condition": "healthy"}}
    assert worker["restart"] == "always"
    web = services["web"]
    assert web["health"] == {"log": "Local:"}
    assert web["depends_on"] == {"api": {"condition": "started"}}
    assert web["profiles"] == ["disabled"]
    assert "process-compose keys is_daemon" in text
    assert "top-level 'log_level'" in text
    load_stack(project / "stack.yaml", environ={})


def test_folder_detection_proposes_django_and_vite(tmp_path: Path) -> None:
    (tmp_path / "backend").mkdir()
    (tmp_path / "backend" / "manage.py").write_text("# django\n")
    (tmp_path / "frontend").mkdir()
    (tmp_path / "frontend" / "package.json").write_text(
        json.dumps({"scripts": {"dev": "vite", "build": "vite build"}})
    )
    (tmp_path / "node_modules").mkdir()
    (tmp_path / "node_modules" / "package.json").write_text('{"scripts": {"dev": "x"}}')
    text, doc = init(tmp_path)
    assert "Written by `stackup init` from the folder" in text
    assert doc["services"] == {
        "backend-migrate": {
            "command": "python manage.py migrate", "cwd": "backend", "oneshot": True,
        },
        "backend": {
            "command": "python manage.py runserver 127.0.0.1:${PORT}",
            "cwd": "backend",
            "port": 8000,
            "depends_on": ["backend-migrate"],
        },
        "frontend": {
            "command": "npm run dev -- --port ${PORT} --strictPort",
            "cwd": "frontend",
            "port": 5173,
            "depends_on": ["backend"],
        },
    }
    load_stack(tmp_path / "stack.yaml", environ={})


def test_folder_with_a_procfile_or_compose_file_uses_it(project: Path) -> None:
    (project / "compose.yaml").unlink()
    (project / "process-compose.yaml").unlink()
    text, doc = init(project)
    assert list(doc["services"]) == ["web", "worker", "clock_2"]
    assert "Written by `stackup init` from Procfile" in text


def test_next_js_and_plain_start_scripts(tmp_path: Path) -> None:
    (tmp_path / "package.json").write_text(json.dumps({"scripts": {"start": "node server.js"}}))
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "package.json").write_text(json.dumps({"scripts": {"dev": "next dev"}}))
    text, doc = init(tmp_path)
    assert doc["services"]["frontend"] == {"command": "npm start"}
    assert "its port is not known" in text
    assert doc["services"]["site"] == {
        "command": "npm run dev -- --port ${PORT}", "cwd": "site", "port": 3001,
    }


def test_an_empty_folder_is_a_usage_error(tmp_path: Path) -> None:
    done = stackup(tmp_path, "init")
    assert done.returncode == 2
    assert done.stderr.startswith("stackup: nothing to propose in ")
    assert not (tmp_path / "stack.yaml").exists()


def test_never_overwrites_without_force(project: Path) -> None:
    (project / "stack.yaml").write_text("mine\n")
    done = stackup(project, "init", "--from", "Procfile")
    assert done.returncode == 2
    assert done.stderr == "stackup: stack.yaml exists; use --force to overwrite it\n"
    assert (project / "stack.yaml").read_text() == "mine\n"
    assert stackup(project, "init", "--from", "Procfile", "--force").returncode == 0
    assert "web:" in (project / "stack.yaml").read_text()


def test_writes_the_schema_beside_it_and_keeps_one_that_differs(project: Path) -> None:
    done = stackup(project, "init", "--from", "Procfile")
    assert "wrote stack.schema.json" in done.stdout
    schema = project / "stack.schema.json"
    assert schema.read_text() == (ROOT / "stack.schema.json").read_text()
    schema.write_text("{}\n")
    done = stackup(project, "-f", "other.yaml", "init", "--from", "Procfile")
    assert "kept stack.schema.json as it was" in done.stdout
    assert schema.read_text() == "{}\n"


def test_bad_source_files_are_one_line_errors(project: Path) -> None:
    (project / "bad-compose.yaml").write_text("services:\n  web:\n    command: {a: 1}\n")
    done = stackup(project, "init", "--from", "bad-compose.yaml")
    assert done.returncode == 2
    assert done.stderr == (
        "stackup: bad-compose.yaml:3: services.web.command: command must be a string or a list\n"
    )
    (project / "broken.yaml").write_text("processes: [\n")
    done = stackup(project, "init", "--from", "broken.yaml")
    assert done.returncode == 2 and done.stderr.startswith("stackup: broken.yaml:")
    assert "invalid YAML" in done.stderr
    done = stackup(project, "init", "--from", "nope.yaml")
    assert done.returncode == 2 and done.stderr == "stackup: nope.yaml: no such file\n"
    assert not (project / "stack.yaml").exists()


def test_format_of_names_and_contents(tmp_path: Path) -> None:
    assert format_of(Path("docker-compose.yml")) == "compose"
    assert format_of(Path("process-compose.yaml")) == "process-compose"
    assert format_of(Path("Procfile.dev")) == "procfile"
    other = tmp_path / "dev.yaml"
    other.write_text("processes:\n  a: {command: x}\n")
    assert format_of(other) == "process-compose"
    other.write_text("services:\n  a: {command: x}\n")
    assert format_of(other) == "compose"
