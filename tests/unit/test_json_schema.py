"""The JSON Schema for editors: committed, in sync with the models, and agreeing with
the loader on what a stack file may say."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import jsonschema
import pytest
import yaml

from stackup import render
from stackup.config import load_stack
from stackup.config.json_schema import stack_json_schema
from stackup.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "stack.schema.json"
MODELINE = "# yaml-language-server: $schema="


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    schema = stack_json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_committed_schema_is_up_to_date() -> None:
    assert COMMITTED.read_text() == render.to_json(stack_json_schema()) + "\n", (
        "stack.schema.json is out of date: run `make schema`"
    )


def test_stackup_schema_prints_it() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "stackup", "schema"], capture_output=True, text=True, check=True
    ).stdout
    assert json.loads(out) == json.loads(COMMITTED.read_text())


def test_every_key_has_a_description_and_an_example() -> None:
    schema = stack_json_schema()
    models = [schema, *schema["$defs"].values()]
    for model in models:
        for key, prop in model["properties"].items():
            assert prop.get("description"), f"{model.get('title')}.{key} has no description"
            assert prop.get("examples"), f"{model.get('title')}.{key} has no examples"


def _repo_stack_files() -> list[Path]:
    return [
        ROOT / "stack.yaml",
        *sorted((ROOT / "examples").rglob("stack.yaml")),
        ROOT / "tests" / "stacks" / "spec_example" / "stack.yaml",
    ]


@pytest.mark.parametrize("path", _repo_stack_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_repo_stack_files_validate_and_name_the_schema(
    path: Path, validator: jsonschema.Draft202012Validator
) -> None:
    validator.validate(yaml.safe_load(path.read_text()))
    modeline = next(line for line in path.read_text().splitlines() if line.startswith(MODELINE))
    target = (path.parent / modeline.removeprefix(MODELINE).strip()).resolve()
    assert target == COMMITTED


# What the loader accepts beyond the types pydantic would describe: the schema must
# accept each of these too (and the loader really does).
ACCEPTED = {
    "port_variable": "port: ${DB_PORT:-5432}",
    "port_as_text": "port: '8000'",
    "duration_units": "stop_timeout: 1m30s",
    "duration_ms": "health: {tcp: {port: 8000}, interval: 250ms, start_timeout: 2m}",
    "restart_unquoted_no": "restart: no",
    "short_signal": "stop_signal: int",
    "signal_number": "stop_signal: 2",
    "env_numbers_and_booleans": "env: {DEBUG: 1, VERBOSE: true, EMPTY: null}",
    "numeric_user": "user: 999",
    "health_off": "health: false",
    "dependency_without_condition": "depends_on: {other: }",
    "env_file_list": "env_file: [a.env]",
    "image": "image: ghcr.io/acme/web:1.2",
}
REFUSED = {
    "unknown_key": "potr: 5432",
    "port_word": "port: abc",
    "port_float": "port: 80.5",
    "bad_duration": "stop_timeout: 10 parsecs",
    "zero_interval": "health: {tcp: true, interval: 0}",
    "bad_restart": "restart: sometimes",
    "bad_signal": "stop_signal: SIGNOPE",
    "bad_condition": "depends_on: {other: {condition: ready}}",
    "http_status": "health: {http: {path: /, status: 700}}",
    "empty_command_list": "command: []",
    "bad_env_name": "env: {BAD-NAME: x}",
    "negative_restarts": "max_restarts: -1",
}


def _stack(tmp_path: Path, line: str) -> Path:
    (tmp_path / "a.env").write_text("A=1\n")
    key = line.split(":")[0]
    command = "" if key == "command" else "    command: serve\n"
    body = f"services:\n  web:\n{command}    {line}\n  other:\n    command: run\n"
    path = tmp_path / "stack.yaml"
    path.write_text(body)
    return path


@pytest.mark.parametrize("line", ACCEPTED.values(), ids=ACCEPTED.keys())
def test_schema_accepts_what_the_loader_accepts(
    tmp_path: Path, line: str, validator: jsonschema.Draft202012Validator
) -> None:
    path = _stack(tmp_path, line)
    load_stack(path, environ={})
    validator.validate(yaml.safe_load(path.read_text()))


@pytest.mark.parametrize("line", REFUSED.values(), ids=REFUSED.keys())
def test_schema_refuses_what_the_loader_refuses(
    tmp_path: Path, line: str, validator: jsonschema.Draft202012Validator
) -> None:
    path = _stack(tmp_path, line)
    with pytest.raises(ConfigError):
        load_stack(path, environ={})
    assert list(validator.iter_errors(yaml.safe_load(path.read_text())))


CORPUS = ROOT / "tests" / "config_corpus"
# Shape errors of the invalid-stack corpus; the others (cycles, undefined variables,
# two services on one port...) are beyond what a JSON Schema can say.
CORPUS_SHAPE_ERRORS = [
    "03_top_level_list", "04_empty_file", "05_unknown_top_key", "06_unknown_service_key",
    "07_port_not_a_number", "08_port_zero", "09_port_too_big", "15_bad_condition",
    "17_service_name_uppercase", "18_service_name_digit", "22_health_unknown_key",
    "23_empty_services", "24_missing_services", "25_version_2", "27_bad_duration",
    "28_bad_stop_signal", "30_restart_bad", "31_wrong_type_command", "33_empty_services_null",
    "36_env_bad_name", "37_port_float", "39_health_interval_zero",
]


@pytest.mark.parametrize("name", CORPUS_SHAPE_ERRORS)
def test_schema_refuses_the_corpus_shape_errors(
    name: str, validator: jsonschema.Draft202012Validator
) -> None:
    data = yaml.safe_load((CORPUS / f"{name}.yaml").read_text())
    assert list(validator.iter_errors(data))


def test_schema_generation_is_off_the_load_path() -> None:
    code = textwrap.dedent(
        """
        import sys
        from stackup.config import load_stack
        from stackup.cli import main
        assert "stackup.config.json_schema" not in sys.modules, "imported on the load path"
        """
    )
    subprocess.run([sys.executable, "-c", code], check=True)
