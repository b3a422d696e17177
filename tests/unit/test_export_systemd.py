"""`stackup export systemd`: units read back with a small parser of systemd's syntax."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from stackup.config import load_stack
from stackup.export import export
from stackup.export.systemd import environment_line, exec_word
from tests.unit.test_export_stacks import RICH_ENVIRON, SPEC_EXAMPLE, rich_stack

_C_ESCAPES = {"\\": "\\", '"': '"', "'": "'", "n": "\n", "t": "\t"}


def sections(unit: str) -> dict[str, list[tuple[str, str]]]:
    out: dict[str, list[tuple[str, str]]] = {}
    current = ""
    for line in unit.splitlines():
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            current = line.strip("[]")
            out[current] = []
        else:
            key, _, value = line.partition("=")
            out[current].append((key, value))
    return out


def values(unit: str, section: str, key: str) -> list[str]:
    return [v for k, v in sections(unit)[section] if k == key]


def one(unit: str, section: str, key: str) -> str:
    (value,) = values(unit, section, key)
    return value


def split_exec(line: str) -> list[str]:
    """ExecStart's words as systemd builds them (quotes, C escapes, `$$`, `%%`),
    leaving `${NAME}` references for systemd to expand."""
    words: list[str] = []
    i, word, in_word, quote = 0, "", False, ""
    while i < len(line):
        c = line[i]
        if c == "\\":
            word += _C_ESCAPES[line[i + 1]]
            i += 2
            in_word = True
            continue
        if quote:
            if c == quote:
                quote = ""
            else:
                word += c
        elif c in "'\"":
            quote, in_word = c, True
        elif c == " ":
            if in_word:
                words.append(word)
            word, in_word = "", False
        else:
            word += c
            in_word = True
        i += 1
    assert not quote, "unbalanced quoting"
    if in_word:
        words.append(word)
    return [w.replace("$$", "$").replace("%%", "%") for w in words]


@pytest.fixture
def spec_units() -> dict[str, str]:
    stack = load_stack(SPEC_EXAMPLE, environ={})
    return export(stack, "systemd", ["db", "migrate", "backend", "backend2", "frontend"])


def test_spec_example_units(spec_units: dict[str, str]) -> None:
    db = spec_units["medcor-db.service"]
    root = SPEC_EXAMPLE.parent
    assert one(db, "Unit", "Description") == "db"
    assert one(db, "Unit", "PartOf") == "medcor.target"
    assert values(db, "Unit", "After") == []
    assert one(db, "Service", "Type") == "simple"
    assert one(db, "Service", "WorkingDirectory") == str(root)
    assert one(db, "Service", "EnvironmentFile") == f"-{root}/.env"
    env = values(db, "Service", "Environment")
    assert '"PORT=5432"' in env and '"DB_PORT=5432"' in env
    assert not any("PASSWORD" in e or "SECRET" in e for e in env)
    assert (
        one(db, "Service", "ExecStart")
        == "/bin/sh -c 'postgres -D .stackup/pgdata -p 5432 -k /tmp'"
    )
    assert one(db, "Service", "Restart") == "no"
    assert one(db, "Service", "KillSignal") == "SIGTERM"
    assert one(db, "Service", "TimeoutStopSec") == "10s"
    assert one(db, "Service", "KillMode") == "control-group"
    assert one(db, "Install", "WantedBy") == "medcor.target"
    assert "orders by start, not health" in db


def test_oneshot_and_dependencies(spec_units: dict[str, str]) -> None:
    migrate = spec_units["medcor-migrate.service"]
    assert one(migrate, "Service", "Type") == "oneshot"
    assert one(migrate, "Service", "RemainAfterExit") == "yes"
    backend2 = spec_units["medcor-backend2.service"]
    deps = "medcor-migrate.service medcor-backend.service"
    assert one(backend2, "Unit", "After") == deps
    assert one(backend2, "Unit", "Requires") == deps
    assert '"CORS_ALLOWED_ORIGINS=http://localhost:5000"' in values(
        backend2, "Service", "Environment"
    )


def test_target_wants_every_unit(spec_units: dict[str, str]) -> None:
    target = spec_units["medcor.target"]
    units = [name for name in spec_units if name.endswith(".service")]
    assert one(target, "Unit", "Wants").split() == units


def test_restart_limits_user_and_escaping(tmp_path: Path) -> None:
    stack = rich_stack(tmp_path)
    units = export(stack, "systemd", list(stack.services))
    db = units["Demo-App-db.service"]
    assert one(db, "Unit", "StartLimitBurst") == "4"  # first start + max_restarts 3
    assert one(db, "Service", "Restart") == "on-failure"
    assert one(db, "Service", "User") == "postgres"
    assert one(db, "Service", "KillSignal") == "SIGINT"
    assert one(db, "Service", "TimeoutStopSec") == "2500ms"
    assert '"PRICE=5$ or 10%%"' in values(db, "Service", "Environment")
    # DATABASE_URL embeds DB_PASSWORD: Environment= cannot refer to it, ExecStart can.
    assert split_exec(one(db, "Service", "ExecStart")) == [
        "/usr/bin/env",
        "DATABASE_URL=postgresql://app:${DB_PASSWORD}@127.0.0.1:5432/app",
        "/bin/sh",
        "-c",
        "postgres --password=${DB_PASSWORD}",
    ]
    task = units["Demo-App-task.service"]
    assert split_exec(one(task, "Service", "ExecStart"))[-3:] == [
        "/bin/sh",
        "-c",
        "echo 100% && printf '%s' \"$HOME\"",
    ]
    worker = units["Demo-App-worker.service"]
    assert split_exec(one(worker, "Service", "ExecStart"))[-1] == (
        'echo start\nrun-worker --db "$DATABASE_URL"\n'
    )


def test_secrets_come_from_env_files(tmp_path: Path) -> None:
    stack = rich_stack(tmp_path)
    web = export(stack, "systemd", ["db", "web"])["Demo-App-web.service"]
    assert values(web, "Service", "EnvironmentFile") == [
        f"-{tmp_path}/.env",
        f"-{tmp_path}/web.env",
    ]
    assert split_exec(one(web, "Service", "ExecStart"))[-3:] == [
        "serve",
        "--token=${GH_TOKEN}",
        "a b",
    ]
    assert one(web, "Unit", "Description") == "The web front"
    assert '"GREETING=it\'s \\"quoted\\" \\\\ back"' in values(web, "Service", "Environment")
    note = next(line for line in web.splitlines() if "Not in any env file" in line)
    assert "SESSION_SECRET" in note and "STRIPE_API_KEY" in note and "LEGACY_URL" in note


def test_env_file_value_that_lost_is_set_in_exec_start(tmp_path: Path) -> None:
    # EnvironmentFile= beats Environment=; .env says DB_PORT=5432 but the offset moved it.
    rich_stack(tmp_path)
    stack = load_stack(tmp_path / "stack.yaml", port_offset=10, environ=RICH_ENVIRON)
    db = export(stack, "systemd", ["db"])["Demo-App-db.service"]
    assert not any(e.startswith('"DB_PORT=') for e in values(db, "Service", "Environment"))
    assert "DB_PORT=5442" in split_exec(one(db, "Service", "ExecStart"))


def test_exec_word_and_environment_line() -> None:
    assert exec_word(["plain"]) == "plain"
    assert exec_word([""]) == "''"
    assert exec_word([";"]) == "';'"
    assert split_exec(exec_word(["it's a \\ $x %i"])) == ["it's a \\ $x %i"]
    assert environment_line("K", 'a "b" \\ 5% $x') == 'Environment="K=a \\"b\\" \\\\ 5%% $x"'


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="needs systemd-analyze")
def test_systemd_analyze_verify_accepts_the_units(tmp_path: Path) -> None:
    stack = rich_stack(tmp_path / "stack")
    out = tmp_path / "units"
    out.mkdir()
    for name, content in export(stack, "systemd", list(stack.services)).items():
        (out / name).write_text(content)
    result = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *sorted(str(p) for p in out.iterdir())],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    # A bad setting is only a warning ("…/x.service:9: Failed to parse …, ignoring").
    assert str(out) not in result.stderr, result.stderr
