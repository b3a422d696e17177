"""config.cache: the start-up cache returns exactly what a fresh load would, and
notices every input changing; config.serial: a resolved stack survives JSON."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from stackup.config import cache, load_stack, serial
from stackup.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
REPO_STACKS = [ROOT / "stack.yaml", *sorted(ROOT.glob("examples/*/stack.yaml")),
               *sorted(ROOT.glob("tests/stacks/*/stack.yaml"))]

STACK = """
    env_file: [app.env]
    services:
      db:
        command: postgres -p ${PORT}
        port: ${DB_PORT:-5432}
      api:
        command: serve --db ${DB_PORT} --mode ${MODE:-dev}
        port: 8000
        env: {GREETING: hi}
        depends_on: [db]
"""


@pytest.fixture
def stack_file(tmp_path: Path) -> Path:
    (tmp_path / "app.env").write_text("SHARED=one\n")
    (tmp_path / ".stackup").mkdir(mode=0o700)
    path = tmp_path / "stack.yaml"
    path.write_text(textwrap.dedent(STACK))
    return path


def cached(file: Path, environ: dict[str, str] | None = None, **args):
    return cache.load(file, file.parent / ".stackup", environ=environ or {}, **args)


def entries(file: Path) -> list[Path]:
    return sorted((file.parent / ".stackup" / "cache").glob("stack-*.json"))


@pytest.mark.parametrize("path", REPO_STACKS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_repo_stack_survives_json(path: Path) -> None:
    stack = load_stack(path, profiles=("voice", "proxy"))
    assert serial.load(json.loads(json.dumps(serial.dump(stack)))) == stack


def test_a_hit_equals_a_fresh_load(stack_file: Path) -> None:
    first = cached(stack_file, {"DB_PORT": "6000"}, profiles=("x",), port_offset=5)
    assert len(entries(stack_file)) == 1
    again = cached(stack_file, {"DB_PORT": "6000"}, profiles=("x",), port_offset=5)
    fresh = load_stack(stack_file, environ={"DB_PORT": "6000"}, profiles=("x",),
                       port_offset=5)
    assert first == again == fresh
    assert again.services["db"].port == 6005


def test_a_hit_does_not_import_pydantic(stack_file: Path) -> None:
    cached(stack_file)  # writes the entry
    probe = f"""
import sys
from pathlib import Path
from stackup.config import cache
stack = cache.load(Path({str(stack_file)!r}), Path({str(stack_file.parent / '.stackup')!r}),
                   environ={{}})
assert stack.services["api"].port == 8000
print("pydantic" in sys.modules)
"""
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False", out.stderr


@pytest.mark.parametrize("change", [
    "stack file", "env file content", "a .env appearing", "a referenced variable",
    "a variable that was absent",
])
def test_every_input_invalidates_the_entry(stack_file: Path, change: str) -> None:
    env = {"DB_PORT": "6000"}
    before = cached(stack_file, env)
    if change == "stack file":
        stack_file.write_text(stack_file.read_text().replace("GREETING: hi", "GREETING: ho"))
    elif change == "env file content":
        (stack_file.parent / "app.env").write_text("SHARED=two\n")
    elif change == "a .env appearing":
        # This stack lists its env files, so a .env is not read: no change either way.
        # A stack without env_file reads .env when present: that one must notice.
        stack_file.write_text(stack_file.read_text().replace("env_file: [app.env]\n", ""))
        before = cached(stack_file, env)
        (stack_file.parent / ".env").write_text("SHARED=from-dotenv\n")
    elif change == "a referenced variable":
        env = {"DB_PORT": "6001"}
    elif change == "a variable that was absent":
        env = {**env, "MODE": "prod"}
    after = cached(stack_file, env)
    fresh = load_stack(stack_file, environ=env)
    assert after == fresh
    assert after != before


def test_an_unreferenced_variable_does_not_invalidate(stack_file: Path) -> None:
    cached(stack_file, {"DB_PORT": "6000"})
    entry = entries(stack_file)[0]
    written = entry.stat().st_mtime_ns
    cached(stack_file, {"DB_PORT": "6000", "UNRELATED": "x"})
    assert entry.stat().st_mtime_ns == written  # a hit: not rewritten


def test_a_secret_from_the_shell_is_never_written(tmp_path: Path) -> None:
    (tmp_path / ".stackup").mkdir(mode=0o700)
    path = tmp_path / "stack.yaml"
    path.write_text(
        "services:\n  api:\n    command: serve\n    env: {DB_URL: 'x:${DB_PASSWORD}'}\n"
    )
    stack = cached(path, {"DB_PASSWORD": "hunter2"})
    assert stack.services["api"].env["DB_URL"] == "x:hunter2"
    assert entries(path) == []


def test_nothing_is_written_where_there_is_no_state_folder(tmp_path: Path) -> None:
    path = tmp_path / "stack.yaml"
    path.write_text("services:\n  api:\n    command: serve\n")
    cache.load(path, tmp_path / ".stackup", environ={})
    assert not (tmp_path / ".stackup").exists()  # `stackup config` creates nothing


def test_a_start_in_a_fresh_checkout_leaves_an_entry_for_the_next(tmp_path: Path) -> None:
    # `up` creates the state folder anyway: its first run already saves the next one
    # pydantic (without this, only the third `up` of a fresh clone would hit).
    path = tmp_path / "stack.yaml"
    path.write_text("services:\n  api:\n    command: serve\n")
    made: list[Path] = []

    def make(folder: Path) -> None:
        made.append(folder)
        folder.mkdir(mode=0o700)

    cache.load(path, tmp_path / ".stackup", environ={}, make_state_dir=make)
    assert made == [tmp_path / ".stackup"]
    assert len(entries(path)) == 1


def test_a_start_with_a_broken_file_creates_nothing(tmp_path: Path) -> None:
    path = tmp_path / "stack.yaml"
    path.write_text("services:\n  api:\n    port: 0\n")
    with pytest.raises(ConfigError):
        cache.load(path, tmp_path / ".stackup", environ={}, make_state_dir=lambda f: f.mkdir())
    assert not (tmp_path / ".stackup").exists()


def test_an_entry_is_private(stack_file: Path) -> None:
    cached(stack_file)
    folder = stack_file.parent / ".stackup" / "cache"
    assert folder.stat().st_mode & 0o777 == 0o700
    assert all(e.stat().st_mode & 0o777 == 0o600 for e in entries(stack_file))
