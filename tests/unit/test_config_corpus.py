"""Every file in tests/config_corpus/ is an invalid stack; each must fail with one
ConfigError naming the file, the expected line and key path, and a known message."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from stackup.config import load_stack
from stackup.errors import ConfigError

CORPUS = Path(__file__).resolve().parents[1] / "config_corpus"
CASES = sorted(CORPUS.glob("*.yaml"))
_HEADER = re.compile(r"^#\s*(expect|line|key):\s*(.*?)\s*$")


def _expectations(path: Path) -> dict[str, str]:
    found: dict[str, str] = {}
    for line in path.read_text().splitlines():
        match = _HEADER.match(line)
        if not match:
            break
        found[match.group(1)] = match.group(2)
    return found


def test_corpus_is_big_enough() -> None:
    assert len(CASES) >= 20


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_invalid_stack_is_refused(path: Path) -> None:
    expected = _expectations(path)
    assert "expect" in expected, f"{path.name} needs a '# expect:' first line"

    with pytest.raises(ConfigError) as info:
        load_stack(path, environ={})

    err = info.value
    message = str(err)
    assert "\n" not in message
    assert expected["expect"] in message
    assert message.startswith(str(path))
    if "line" in expected:
        assert err.line == int(expected["line"]), message
        assert f"{path}:{expected['line']}:" in message
    if "key" in expected:
        assert err.key == expected["key"], message
        assert f" {expected['key']}: " in message


def test_missing_stack_file_names_it(tmp_path: Path) -> None:
    missing = tmp_path / "nope" / "stack.yaml"
    with pytest.raises(ConfigError) as info:
        load_stack(missing, environ={})
    assert str(info.value) == f"{missing}: stack file not found"


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
@pytest.mark.parametrize("command", [["config"], ["up"], ["ports", "--json"]])
def test_cli_refuses_invalid_stack_with_one_line_and_exit_2(
    path: Path, command: list[str]
) -> None:
    """Through the real CLI: exit 2, one line on stderr naming file and key, nothing
    started (an `up` that got past loading would create .stackup/)."""
    from click.testing import CliRunner

    from stackup.cli import main

    result = CliRunner().invoke(main, ["-f", str(path), *command], env={"DB_PORT": None})
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"stackup: {path}"), result.stderr
    assert _expectations(path)["expect"] in lines[0]
    assert not (CORPUS / ".stackup").exists()
