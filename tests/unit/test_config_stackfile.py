"""`stackup config` prints a stack file: it loads as it is and resolves to the same
stack, so printing it again gives the same text."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import yaml

from stackup.config import load_stack
from stackup.config.explain import stack_to_dict
from stackup.config.stackfile import escape, stack_to_yaml

SPEC_EXAMPLE = Path(__file__).resolve().parents[1] / "stacks" / "spec_example"

TRICKY = """
    name: tricky
    env_file: [base.env]
    env:
      DB_PASSWORD: hunter22
      DATABASE_URL: postgresql://app:${DB_PASSWORD}@127.0.0.1:${DB_PORT}/app
      PRICE: "costs $$5, not $${PRICE}"
      SHELL_VAR: "echo $HOME"
    port_offset: 3
    services:
      db:
        command: postgres -p ${PORT}
        port: ${DB_PORT:-5432}
        user: postgres
        health: {command: "pg_isready -p ${PORT}", interval: 250ms, retries: 5}
        stop_signal: SIGINT
        stop_timeout: 1.5s
      migrate:
        command: [python, manage.py, migrate]
        oneshot: true
        depends_on: [db]
      api:
        command: serve --port ${PORT} --db ${DATABASE_URL}
        port: 8000
        host: 0.0.0.0
        env: {LEVEL: api-own, DB_PASSWORD: other-secret}
        depends_on:
          migrate: {condition: completed}
          db: {condition: started}
        health: {http: {path: /health, status: 204}, start_timeout: 2m}
        restart: on-failure
        max_restarts: 2
      logger:
        command: tail -f x
        health: {log: "ready \\\\d+"}
        restart: always
      quiet:
        command: sleep 1000
        port: 9000
        health: false
        profiles: [extra]
        description: no check at all
      plain:
        command: run
        port: 9100
        health: {tcp: {host: localhost}}
        depends_on:
          shared: {restart: true}
        watch: {paths: [app/, "app/*.toml"], ignore: ["*.log"], debounce: 150ms}
      shared:
        external: true
        port: 5433
        health: {start_timeout: 5s}
    """


def write(folder: Path, text: str = TRICKY) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "base.env").write_text("LEVEL=file\nFROM_FILE=yes\n")
    (folder / "app").mkdir(exist_ok=True)
    path = folder / "stack.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def round_trip(original: Path, tmp_path: Path, environ: dict[str, str]) -> tuple[str, str]:
    first = stack_to_yaml(load_stack(original, environ=environ))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    # A .env beside the written file must not be read on top of the merged env.
    (elsewhere / ".env").write_text("LEVEL=stray\n")
    written = elsewhere / "resolved.yaml"
    written.write_text(first)
    return first, stack_to_yaml(load_stack(written, environ=environ))


def test_config_output_loads_and_prints_the_same(tmp_path: Path) -> None:
    first, second = round_trip(write(tmp_path / "src"), tmp_path, {"DB_PORT": "6000"})
    assert second == first


def test_the_written_stack_resolves_to_the_same_stack(tmp_path: Path) -> None:
    environ = {"DB_PORT": "6000"}
    original = load_stack(write(tmp_path / "src"), environ=environ)
    written = tmp_path / "resolved.yaml"
    written.write_text(stack_to_yaml(original))
    again = load_stack(written, environ=environ)
    ignore = {"file", "port_offset"}  # the offset is already in the ports
    first = {k: v for k, v in stack_to_dict(original).items() if k not in ignore}
    second = {k: v for k, v in stack_to_dict(again).items() if k not in ignore}
    assert second == first
    assert again.services["db"].port == 6003 and again.port_offset == 0
    # `$$5` and a literal `${PRICE}` survive as text, `$HOME` is left for the shell
    assert again.services["api"].env["PRICE"] == "costs $5, not ${PRICE}"
    assert again.services["api"].env["SHELL_VAR"] == "echo $HOME"


def test_only_stack_file_keys_and_no_secrets(tmp_path: Path) -> None:
    text = stack_to_yaml(load_stack(write(tmp_path / "src"), environ={}))
    data = yaml.safe_load(text)
    assert set(data) <= {"version", "name", "env_file", "env", "services"}
    for line in text.splitlines():
        assert not line.strip().startswith(("kind:", "default:", "file:", "active_profiles:"))
    assert "hunter22" not in text and "other-secret" not in text
    api = data["services"]["api"]
    assert data["env"]["DB_PASSWORD"] == "****" and api["env"] == {"LEVEL": "api-own"}
    assert "PORT" not in api.get("env", {}) and "DB_PORT" not in data["env"]
    assert api["depends_on"] == {"migrate": {"condition": "completed"},
                                 "db": {"condition": "started"}}
    assert data["services"]["quiet"]["health"] is False
    plain, shared = data["services"]["plain"], data["services"]["shared"]
    assert plain["depends_on"] == {"shared": {"condition": "healthy", "restart": True}}
    assert plain["watch"]["debounce"] == "0.15s" and plain["watch"]["ignore"] == ["*.log"]
    assert shared["external"] is True
    assert not {"command", "restart", "stop_signal", "stop_timeout"} & set(shared)
    assert data["services"]["db"]["health"]["interval"] == "0.25s"


def test_the_spec_example_round_trips(tmp_path: Path) -> None:
    shutil.copytree(SPEC_EXAMPLE, tmp_path / "spec")
    first, second = round_trip(tmp_path / "spec" / "stack.yaml", tmp_path, {})
    assert second == first


def test_escape_writes_dollars_interpolation_would_read() -> None:
    assert escape("a $HOME b") == "a $HOME b"
    assert escape("${X}") == "$${X}"
    assert escape("$$") == "$$$"  # `$$` reads as `$`, then the lone `$` stays
    assert escape("end$") == "end$"
