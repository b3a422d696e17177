"""`stackup export procfile`, read back with honcho's own Procfile parser."""

from __future__ import annotations

import shlex
from pathlib import Path

from honcho.environ import parse_procfile

from stackup.config import Stack, load_stack
from stackup.export import export
from stackup.export.procfile import is_simple, one_line
from tests.unit.test_export_stacks import SPEC_EXAMPLE, rich_stack


def _procfile(stack: Stack, services: list[str] | None = None) -> str:
    return export(stack, "procfile", list(services or stack.services))["Procfile"]


def test_spec_example_round_trips_through_honcho() -> None:
    stack = load_stack(SPEC_EXAMPLE, environ={})
    content = _procfile(stack)
    processes = parse_procfile(content).processes
    assert list(processes) == list(stack.services)  # file order, oneshots included
    assert processes["db"] == "PORT=5432 postgres -D .stackup/pgdata -p 5432 -k /tmp"
    assert processes["migrate"] == "cd medcor_backend2 && python manage.py migrate"
    assert processes["backend2"] == (
        "cd medcor_backend2 && CORS_ALLOWED_ORIGINS=http://localhost:5000 PORT=8002 "
        "python manage.py runserver 127.0.0.1:8002"
    )
    header = [line for line in content.splitlines() if line.startswith("#")]
    text = " ".join(header)
    assert "order" in text and "readiness" in text and "migrate" in text
    assert "stackup export env" in text
    assert "DB_PASSWORD, DJANGO_SECRET_KEY" in text  # the secrets the shell must provide


def test_argv_commands_keep_their_words(tmp_path: Path) -> None:
    stack = rich_stack(tmp_path)
    processes = parse_procfile(_procfile(stack)).processes
    web = processes["web"]
    assert web.startswith("cd web && ")
    words = shlex.split(web.removeprefix("cd web && "))
    # honcho's shell would expand the ${…}; shlex shows the words it would build.
    assert words[-3:] == ["serve", "--token=${GH_TOKEN}", "a b"]
    assert 'GREETING=it\'s "quoted" \\ back' in words
    assert "PORT=8080" in words
    # DATABASE_URL embeds a secret: the env export's `export` line is skipped by honcho,
    # so the Procfile line builds it from the shell's DB_PASSWORD.
    assert "DATABASE_URL=postgresql://app:${DB_PASSWORD}@127.0.0.1:5432/app" in words
    assert not any(w.startswith(("SESSION_SECRET=", "DB_PASSWORD=")) for w in words)


def test_secrets_in_shell_commands_become_references(tmp_path: Path) -> None:
    processes = parse_procfile(_procfile(rich_stack(tmp_path))).processes
    assert processes["db"].endswith("postgres --password=${DB_PASSWORD}")


def test_compound_and_multiline_commands(tmp_path: Path) -> None:
    processes = parse_procfile(_procfile(rich_stack(tmp_path))).processes
    # `A=1 x && y` would set A for x only, so compound commands export first.
    assert processes["task"].startswith("export DATABASE_URL=")
    assert processes["task"].endswith("; echo 100% && printf '%s' \"$HOME\"")
    assert "eval \"$(printf '%b' 'echo start\\nrun-worker" in processes["worker"]


def test_is_simple() -> None:
    assert is_simple("python manage.py runserver 127.0.0.1:8000")
    assert is_simple("npm run dev -- --port 5000 'a && b'")
    assert not is_simple("a && b")
    assert not is_simple("a; b")
    assert not is_simple("a | b")
    assert not is_simple("a > log")
    assert not is_simple("if true; then x; fi")
    assert not is_simple("a\nb")
    assert not is_simple("echo 'unbalanced")


def test_one_line() -> None:
    assert one_line("echo hi") == "echo hi"
    assert one_line("echo a\\b\necho 'c'") == (
        "eval \"$(printf '%b' 'echo a\\\\b\\necho '\"'\"'c'\"'\"'')\""
    )
