"""The command line as a person meets it: bare `stackup`, options where people type
them, misplaced options named, help that teaches, the stack file found from a
subfolder. Nothing here starts a process (tests/integration does)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from stackup import locations
from stackup.cli import COMMANDS, main

ENV = {"STACKUP_FILE": None, "STACKUP_PROJECT": None, "NO_COLOR": None, "COLUMNS": "80"}


def invoke(*args: str, env: dict[str, str | None] | None = None):
    return CliRunner().invoke(main, list(args), env={**ENV, **(env or {})}, prog_name="stackup")


@pytest.fixture
def stack_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "stack.yaml").write_text("name: here\nservices:\n  api: {command: run}\n")
    (tmp_path / "other.yaml").write_text("name: there\nservices:\n  worker: {command: run}\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_bare_stackup_prints_help_and_exits_0() -> None:
    result = invoke()
    assert result.exit_code == 0
    assert result.stdout.startswith("Usage: stackup")
    assert "Commands:" in result.stdout


def test_command_summaries_are_not_cut_off() -> None:
    listing = invoke("--help").stdout.split("Commands:")[1].split("\n\n")[0]
    lines = [line for line in listing.splitlines() if re.match(r"  [a-z]", line)]
    assert [line.split()[0] for line in lines] == list(COMMANDS)
    assert not [line for line in lines if line.rstrip().endswith("...")]


@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_command_has_examples(command: str) -> None:
    result = invoke(command, "--help")
    assert result.exit_code == 0
    assert "Examples:" in result.stdout
    assert f"stackup {command}" in result.stdout.split("Examples:")[1] or command == "completion"


def test_placeholders_say_what_they_take() -> None:
    assert "--explain VAR" in invoke("config", "--help").stdout
    up = invoke("up", "--help").stdout
    assert "--profile NAME" in up and "--port-offset N" in up and "[SERVICE]..." in up
    assert "-n, --lines N" in invoke("logs", "--help").stdout
    assert "-o, --output DIR" in invoke("export", "--help").stdout
    top = invoke("--help").stdout
    assert "-f, --file FILE" in top and "-p, --project NAME" in top


def test_run_help_explains_the_double_dash_and_its_exit_codes() -> None:
    text = " ".join(invoke("run", "--help").stdout.split())
    assert "after `--`" in text
    for meaning in ("125 the stack did not become ready", "126 CMD cannot be run",
                    "127 CMD not found"):
        assert meaning in text


def test_global_options_are_listed_in_each_commands_help() -> None:
    text = invoke("down", "--help").stdout
    assert "Global options (also before the command):" in text
    assert "-f, --file FILE" in text.split("Global options")[1]
    logs = invoke("logs", "--help").stdout
    assert "-f, --follow" in logs
    assert "  --file FILE" in logs.split("Global options")[1]  # -f is --follow here


def test_file_after_the_command(stack_dir: Path) -> None:
    before = invoke("-f", "other.yaml", "config")
    after = invoke("config", "-f", "other.yaml")
    assert after.exit_code == 0, after.output
    assert after.stdout == before.stdout and "worker:" in after.stdout


def test_logs_takes_follow_as_f_and_the_file_as_file(stack_dir: Path) -> None:
    result = invoke("logs", "--file", "other.yaml", "--no-color")
    assert result.exit_code == 0, result.output  # nothing logged yet, and no error
    misplaced = invoke("logs", "-f", "other.yaml")
    assert misplaced.exit_code == 2
    assert "-f after `logs` means --follow" in misplaced.stderr
    assert "`stackup logs --file other.yaml`" in misplaced.stderr
    assert len(misplaced.stderr.strip().splitlines()) == 1


def test_an_option_before_the_command_names_its_place(stack_dir: Path) -> None:
    result = invoke("--json", "status")
    assert result.exit_code == 2
    assert "--json goes after the command: `stackup status --json ...`" in result.stderr
    unknown_here = invoke("status", "--profile", "voice")
    assert unknown_here.exit_code == 2
    assert "--profile is an option of `up`, `run`, `config`, `ports`, `export` and `doctor`" in (
        unknown_here.stderr
    )
    assert len(unknown_here.stderr.strip().splitlines()) == 1


def test_project_names_are_checked(stack_dir: Path) -> None:
    for args in (["-p", "../x", "config"], ["config", "-p", "Two"]):
        result = invoke(*args)
        assert result.exit_code == 2
        assert "use lowercase letters, digits, '-' and '_'" in result.stderr


def test_stack_file_found_from_a_subfolder(stack_dir: Path, monkeypatch) -> None:
    sub = stack_dir / "src" / "app"
    sub.mkdir(parents=True)
    monkeypatch.chdir(sub)
    result = invoke("config")
    assert result.exit_code == 0, result.output
    assert "name: here" in result.stdout
    assert f"cwd: {stack_dir}" in result.stdout  # relative paths stay the file's


def test_no_stack_file_names_the_folder_and_the_ways_to_point_at_one(
    tmp_path: Path, monkeypatch
) -> None:
    if locations.find_stack_file(tmp_path) is not None:
        pytest.skip("a stack.yaml above the temp folder would be found")
    monkeypatch.chdir(tmp_path)
    result = invoke("status")
    assert result.exit_code == 2
    assert result.stderr == (
        f"stackup: no stack.yaml in {tmp_path} or any folder above it; "
        "name the stack file with -f FILE (or STACKUP_FILE)\n"
    )


def test_a_missing_explicit_file_says_where_it_was_looked_for(stack_dir: Path) -> None:
    result = invoke("-f", "nope.yaml", "config")
    assert result.exit_code == 2
    assert f"stackup: nope.yaml: stack file not found (no {stack_dir / 'nope.yaml'})" in (
        result.stderr
    )


def test_explain_of_an_undefined_variable_exits_1_with_one_line(stack_dir: Path) -> None:
    result = invoke("config", "--explain", "NOT_IN_THIS_STACK")
    assert result.exit_code == 1
    assert result.stderr.startswith("stackup: NOT_IN_THIS_STACK is not defined in this stack")
    assert len(result.stderr.strip().splitlines()) == 1 and result.stdout == ""


@pytest.mark.parametrize(
    ("shell", "marker"),
    [
        ("bash", "_stackup_completion"),
        ("zsh", "#compdef stackup"),
        ("fish", "complete --no-files --command stackup"),
    ],
)
def test_completion_prints_the_shells_script(shell: str, marker: str) -> None:
    result = invoke("completion", shell)
    assert result.exit_code == 0
    assert marker in result.stdout and "_STACKUP_COMPLETE" in result.stdout


def test_completion_of_an_unknown_shell_is_a_usage_error() -> None:
    result = invoke("completion", "tcsh")
    assert result.exit_code == 2 and "'tcsh' is not one of" in result.stderr


def test_the_demo_stack_round_trips_through_config(tmp_path: Path) -> None:
    demo = Path(__file__).resolve().parents[2] / "stack.yaml"
    first = invoke("-f", str(demo), "config")
    assert first.exit_code == 0, first.output
    resolved = tmp_path / "resolved.yaml"
    resolved.write_text(first.stdout)
    again = invoke("-f", str(resolved), "config")
    assert again.exit_code == 0, again.output
    assert again.stdout == first.stdout
    assert "kind:" not in first.stdout and "default:" not in first.stdout
    machine = invoke("-f", str(demo), "config", "--json")
    assert '"kind"' in machine.stdout  # --json keeps the machine form
