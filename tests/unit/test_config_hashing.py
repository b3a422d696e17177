"""The definition hash: what counts as a change of a service (recreate it) and what
does not, as the README's rules say; `changes` says what, and `config --hash`
prints it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

from stackup.config import load_stack
from stackup.config.hashing import changes, definitions, stack_hashes

BASE = """
services:
  db:
    command: postgres -p ${PORT}
    port: ${DB_PORT:-5432}
  api:
    command: python api.py
    cwd: app
    port: 8000
    env:
      DATABASE_URL: postgresql://127.0.0.1:${DB_PORT}/app
    depends_on: [db]
  web:
    command: npm run dev
    port: 3000
    depends_on: [api]
"""


def write(folder: Path, text: str, name: str = "stack.yaml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "app").mkdir(exist_ok=True)
    path = folder / name
    path.write_text(textwrap.dedent(text))
    return path


def hashes(folder: Path, text: str, environ: dict[str, str] | None = None) -> dict[str, str]:
    return stack_hashes(load_stack(write(folder, text), environ=environ or {}))


def test_description_profiles_routes_and_key_order_do_not_count(tmp_path: Path) -> None:
    before = hashes(tmp_path, BASE)
    edited = BASE.replace(
        "    command: python api.py\n",
        "    description: the API\n    profiles: [core]\n    routes: [/api/]\n"
        "    image: acme/api:1\n    command: python api.py\n",
    ).replace("    cwd: app\n    port: 8000\n", "    port: 8000\n    cwd: app\n")
    assert hashes(tmp_path, edited) == before


def test_a_path_written_differently_but_resolving_the_same_does_not_count(
    tmp_path: Path,
) -> None:
    before = hashes(tmp_path, BASE)
    assert hashes(tmp_path, BASE.replace("cwd: app", "cwd: ./app/")) == before
    assert hashes(tmp_path, BASE.replace("cwd: app", "cwd: app/../app")) == before
    os.symlink(tmp_path / "app", tmp_path / "linked")
    assert hashes(tmp_path, BASE.replace("cwd: app", "cwd: linked")) == before
    (tmp_path / "other").mkdir()
    assert hashes(tmp_path, BASE.replace("cwd: app", "cwd: other"))["api"] != before["api"]


def test_the_same_stack_in_another_folder_hashes_the_same(tmp_path: Path) -> None:
    assert hashes(tmp_path / "one", BASE) == hashes(tmp_path / "elsewhere" / "two", BASE)


def test_what_affects_the_process_counts(tmp_path: Path) -> None:
    before = hashes(tmp_path, BASE)
    edits = {
        "command": BASE.replace("python api.py", "python api.py --debug"),
        "env": BASE.replace("/app\n", "/app\n      NEW_FLAG: '1'\n"),
        "health": BASE.replace("    depends_on: [db]\n", "    depends_on: [db]\n"
                               "    health: {http: /healthz}\n"),
        "stop": BASE.replace("    depends_on: [db]\n", "    depends_on: [db]\n"
                             "    stop_signal: SIGINT\n"),
        "restart": BASE.replace("    depends_on: [db]\n", "    depends_on: [db]\n"
                                "    restart: on-failure\n"),
        "host": BASE.replace("    depends_on: [db]\n", "    depends_on: [db]\n"
                             "    host: localhost\n"),
    }
    for what, text in edits.items():
        after = hashes(tmp_path, text)
        assert after["api"] != before["api"], what
        assert after["db"] == before["db"] and after["web"] == before["web"], what


def test_an_env_file_s_content_counts(tmp_path: Path) -> None:
    text = BASE.replace("    depends_on: [db]\n", "    depends_on: [db]\n    env_file: api.env\n")
    (tmp_path / "api.env").write_text("FLAG=1\n")
    before = hashes(tmp_path, text)
    (tmp_path / "api.env").write_text("FLAG=2\n")
    after = hashes(tmp_path, text)
    assert after["api"] != before["api"] and after["db"] == before["db"]


def test_a_moved_port_counts_where_it_is_interpolated_or_depended_on(tmp_path: Path) -> None:
    before = hashes(tmp_path, BASE)
    moved = hashes(tmp_path, BASE, {"DB_PORT": "15500"})
    assert moved["db"] != before["db"]  # its own port
    assert moved["api"] != before["api"]  # DATABASE_URL interpolates it (and api depends on db)
    # web neither depends on db nor names its port: DB_PORT in its environment does not
    # make it a different process worth a restart
    assert moved["web"] == before["web"]


def test_the_port_variable_of_a_direct_dependency_counts(tmp_path: Path) -> None:
    before = hashes(tmp_path, BASE)
    after = hashes(tmp_path, BASE.replace("port: 8000", "port: 8001"))
    assert after["web"] != before["web"]  # API_PORT: web depends on api
    assert after["db"] == before["db"]


def test_changes_name_what_differs_never_values(tmp_path: Path) -> None:
    old = definitions(load_stack(write(tmp_path, BASE), environ={}))
    edited = BASE.replace("/app\n", "/app\n      SECRET_TOKEN: hunter2\n").replace(
        "port: 8000", "port: 8001").replace("python api.py", "python api2.py")
    new = definitions(load_stack(write(tmp_path, edited), environ={}))
    said = changes(old["api"], new["api"])
    assert said == "env changed (SECRET_TOKEN), command changed, port changed (8000 → 8001)"
    assert "hunter2" not in said
    assert changes(old["web"], new["web"]) == "env changed (API_PORT)"


def test_config_hash_prints_name_and_hash(tmp_path: Path) -> None:
    file = write(tmp_path, BASE)
    run = [sys.executable, "-m", "stackup", "-f", str(file), "config", "--hash"]
    every = subprocess.run(run, capture_output=True, text=True, check=True).stdout
    expected = stack_hashes(load_stack(file, environ={}))
    assert every.splitlines() == [f"{n} {h}" for n, h in expected.items()]
    one = subprocess.run([*run, "api"], capture_output=True, text=True, check=True).stdout
    assert one == f"api {expected['api']}\n"
    copy = tmp_path / "copy"
    shutil.copytree(tmp_path, copy, ignore=shutil.ignore_patterns("copy"))
    again = subprocess.run(
        [sys.executable, "-m", "stackup", "-f", str(copy / "stack.yaml"), "config", "--hash"],
        capture_output=True, text=True, check=True,
    ).stdout
    assert again == every  # stable across folders (and runs)
    bad = subprocess.run([*run, "nosuch"], capture_output=True, text=True)
    assert bad.returncode == 2 and "no such service: nosuch" in bad.stderr
    names_alone = subprocess.run(run[:-1] + ["api"], capture_output=True, text=True)
    assert names_alone.returncode == 2 and "go with --hash" in names_alone.stderr
