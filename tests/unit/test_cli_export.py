"""`stackup export` through the CLI: printing, writing, and what it refuses to overwrite."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml
from click.testing import CliRunner

from stackup.cli import main

SPEC_EXAMPLE = Path(__file__).resolve().parents[1] / "stacks" / "spec_example"


def copy_stack(tmp_path: Path) -> Path:
    shutil.copytree(SPEC_EXAMPLE, tmp_path / "stack")
    return tmp_path / "stack" / "stack.yaml"


def invoke(*args: str):
    return CliRunner().invoke(main, list(args), env={"DB_PORT": None})


def test_single_file_formats_print_the_file(tmp_path: Path) -> None:
    stack = copy_stack(tmp_path)
    result = invoke("-f", str(stack), "export", "compose")
    assert result.exit_code == 0, result.output
    compose = yaml.safe_load(result.stdout)
    assert compose["services"]["backend2"]["depends_on"]["migrate"] == {
        "condition": "service_completed_successfully"
    }
    assert "mcp" not in compose["services"]  # profile not active
    voice = yaml.safe_load(invoke("-f", str(stack), "export", "compose", "--profile", "voice")
                           .stdout)
    assert "mcp" in voice["services"]


def test_systemd_prints_every_unit_under_a_header(tmp_path: Path) -> None:
    result = invoke("-f", str(copy_stack(tmp_path)), "export", "systemd", "backend")
    assert result.exit_code == 0, result.output
    headers = [line for line in result.stdout.splitlines() if line.startswith("# ==> ")]
    assert headers == [
        "# ==> medcor-db.service <==", "# ==> medcor-backend.service <==",
        "# ==> medcor.target <==",
    ]


def test_output_folder_is_written_but_env_files_and_existing_files_are_kept(
    tmp_path: Path,
) -> None:
    stack = copy_stack(tmp_path)
    env_before = (stack.parent / ".env").read_text()
    refused = invoke("-f", str(stack), "export", "env", "-o", str(stack.parent))
    assert refused.exit_code == 2 and "is an env file of this stack" in refused.stderr
    assert (stack.parent / ".env").read_text() == env_before
    out = tmp_path / "out"
    assert invoke("-f", str(stack), "export", "procfile", "-o", str(out)).exit_code == 0
    assert (out / "Procfile").read_text().count("\n") > 3
    again = invoke("-f", str(stack), "export", "procfile", "-o", str(out))
    assert again.exit_code == 2 and "--force" in again.stderr
    assert invoke("-f", str(stack), "export", "procfile", "-o", str(out), "--force").exit_code == 0


def test_unknown_format_and_service_are_usage_errors(tmp_path: Path) -> None:
    stack = copy_stack(tmp_path)
    bad = invoke("-f", str(stack), "export", "helm")
    assert bad.exit_code == 2 and "unknown export format 'helm'" in bad.stderr
    assert invoke("-f", str(stack), "export", "env", "nosuch").exit_code == 2
