from __future__ import annotations

import re
import signal
from pathlib import Path

import pytest

from stackup.config import load_stack
from stackup.config.fields import parse_duration
from stackup.errors import ConfigError


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (5, 5.0),
        (0.5, 0.5),
        ("250ms", 0.25),
        ("1.5s", 1.5),
        ("2m", 120.0),
        ("1h", 3600.0),
        ("1m30s", 90.0),
        ("3", 3.0),
        (" 10 s ", 10.0),
    ],
)
def test_durations(value: object, seconds: float) -> None:
    assert parse_duration(value) == pytest.approx(seconds)


@pytest.mark.parametrize("value", ["10 parsecs", "", "s", "-1", True, [1], "1.5.2s"])
def test_bad_durations(value: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(value)


def _load(tmp_path: Path, body: str) -> object:
    path = tmp_path / "stack.yaml"
    path.write_text(body)
    return load_stack(path, environ={})


def test_restart_no_unquoted_and_other_fields(tmp_path: Path) -> None:
    stack = _load(
        tmp_path,
        """
services:
  a:
    command: run
    restart: no
    stop_signal: INT
    stop_timeout: 1500ms
  b:
    command: run
    restart: on-failure
    max_restarts: 5
    stop_signal: 9
  c:
    command: run
    restart: always
    stop_signal: SIGHUP
    description: the c service
    user: postgres
    profiles: [extra, debug]
""",
    )
    a, b, c = stack.services["a"], stack.services["b"], stack.services["c"]  # type: ignore[attr-defined]
    assert (a.restart, a.stop_signal, a.stop_timeout) == ("no", signal.SIGINT, 1.5)
    assert (b.restart, b.max_restarts, b.stop_signal) == ("on-failure", 5, signal.SIGKILL)
    assert (c.restart, c.stop_signal, c.description, c.user) == (
        "always",
        signal.SIGHUP,
        "the c service",
        "postgres",
    )
    assert c.profiles == ("extra", "debug")
    assert a.stop_timeout == 1.5 and b.stop_timeout == 10.0


@pytest.mark.parametrize(
    ("service_body", "message"),
    [
        ("restart: yes", "restart must be"),
        ("max_restarts: -1", r"max_restarts: must be at least 0 \(got -1\)$"),
        ("oneshot: maybe", r"oneshot: must be true or false \(got 'maybe'\)$"),
        ("host: [a]", r"host: must be a string \(got a list\)$"),
        ("health: {tcp: true, retries: 0}", r"retries: must be at least 1 \(got 0\)$"),
        ("health: {http: {path: /x, status: 999}}", r"status: must be at most 599 \(got 999\)$"),
        ("health: 5", r"health: must be a mapping with one check .* or false \(got 5\)$"),
        ("depends_on: 5", r"depends_on: must be a list of service names, or a mapping"),
        ("health: {tcp: 5}", r"tcp: must be true, or a mapping \{port, host\} \(got 5\)$"),
        ("env: {A: [1]}", "env value must be"),
    ],
)
def test_wrong_types_are_config_errors(tmp_path: Path, service_body: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        _load(tmp_path, f"services:\n  a:\n    command: run\n    port: 8000\n    {service_body}\n")
    assert info.value.line == 5
    assert info.value.key is not None and info.value.key.startswith("services.a.")


@pytest.mark.parametrize(
    "service_body",
    [
        "depends_on: {b: {condition: ready}}",
        "depends_on: {b: [1]}",
        "depends_on: 5",
        "depends_on: [1]",
        "env: [A=1]",
        "oneshot: maybe",
        "max_restarts: many",
        "profiles: voice",
        "description: [1]",
        "cwd: {a: 1}",
        "health: 5",
        "health: true",
        "health: {tcp: 5}",
        "health: {http: 5}",
        "health: {http: {status: abc}}",
        "health: {http: {path: [x]}}",
        "health: {tcp: {host: [1]}}",
        "user: [x]",
    ],
)
def test_no_pydantic_wording_reaches_the_user(tmp_path: Path, service_body: str) -> None:
    with pytest.raises(ConfigError) as info:
        _load(
            tmp_path,
            "services:\n  b:\n    command: run\n"
            f"  a:\n    command: run\n    port: 8000\n    {service_body}\n",
        )
    message = str(info.value)
    for pydantic_words in ("Input should", "valid dictionary", "Schema", "instance of",
                           "unable to", "literal", "function-before"):
        assert pydantic_words not in message
    assert re.search(r": must be .+ \(got .+\)$", message), message
