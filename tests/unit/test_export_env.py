"""`stackup export env`: read back by python-dotenv (and honcho's parser)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from dotenv import dotenv_values
from honcho.environ import parse as honcho_parse

from stackup.config import load_stack
from stackup.export import export
from stackup.export.envfile import quote_value, stack_environment
from tests.unit.test_export_stacks import SPEC_EXAMPLE, rich_stack


def _read(content: str, monkeypatch: pytest.MonkeyPatch, **environ: str) -> dict[str, str | None]:
    for key, value in environ.items():
        monkeypatch.setenv(key, value)
    return dotenv_values(stream=io.StringIO(content))


def test_spec_example(monkeypatch: pytest.MonkeyPatch) -> None:
    stack = load_stack(SPEC_EXAMPLE, environ={})
    content = export(stack, "env", list(stack.services))[".env"]
    lines = [line for line in content.splitlines() if not line.startswith("#")]
    assert lines == sorted(lines, key=lambda line: line.removeprefix("export ").split("=")[0])
    assert "export DB_PASSWORD=${DB_PASSWORD}" in lines
    assert "export DJANGO_SECRET_KEY=${DJANGO_SECRET_KEY}" in lines
    for port_var in ("DB_PORT", "BACKEND_PORT", "BACKEND2_PORT", "FRONTEND_PORT", "MCP_PORT"):
        assert any(line.startswith(port_var + "=") for line in lines)
    values = _read(content, monkeypatch, DB_PASSWORD="hunter22", DJANGO_SECRET_KEY="k-123")
    assert values == {**stack.env, "DJANGO_SECRET_KEY": "k-123", "PYTHONUNBUFFERED": "1"}


def test_round_trip_with_references(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stack = rich_stack(tmp_path)
    content = export(stack, "env", list(stack.services))[".env"]
    assert 'export DATABASE_URL="postgresql://app:${DB_PASSWORD}@127.0.0.1:5432/app"' in content
    assert "export LEGACY_URL=${LEGACY_URL}" in content
    secrets = {
        "DB_PASSWORD": "s3cr3tpw",
        "STRIPE_API_KEY": "sk_live_abcdef",
        "LEGACY_URL": "mysql://root:inlinepw9@10.0.0.1/db",
    }
    values = _read(content, monkeypatch, **secrets)
    assert values == stack_environment(stack)
    assert values["PRICE"] == "5$ or 10%"


def test_unset_secret_reads_as_empty(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stack = rich_stack(tmp_path)
    monkeypatch.delenv("DB_PASSWORD", raising=False)
    values = dotenv_values(stream=io.StringIO(export(stack, "env", [])[".env"]))
    assert values["DB_PASSWORD"] == ""
    assert values["DATABASE_URL"] == "postgresql://app:@127.0.0.1:5432/app"


def test_honcho_reads_plain_lines_and_skips_references(tmp_path: Path) -> None:
    # honcho does not expand ${VAR}: a reference line would override the shell's value
    # with literal text, so those lines are `export` lines, which honcho's parser skips.
    stack = rich_stack(tmp_path)
    parsed = honcho_parse(export(stack, "env", [])[".env"])
    env = stack_environment(stack)
    expected = {k: env[k] for k in ("DB_PORT", "PRICE", "PYTHONUNBUFFERED", "WEB_PORT")}
    assert parsed == expected


@pytest.mark.parametrize(
    "value",
    ["plain", "", "a b", "it's", 'say "hi"', "back\\slash", "two\nlines", "#hash", "x=y", "5$"],
)
def test_quoting_round_trips(value: str) -> None:
    line = f"K={quote_value([value])}\n"
    assert dotenv_values(stream=io.StringIO(line)) == {"K": value}
    assert honcho_parse(line).get("K", "") == value
