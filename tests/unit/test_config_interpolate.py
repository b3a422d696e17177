from __future__ import annotations

import pytest

from stackup.config.interpolate import InterpolationError, expand_dotenv, interpolate

VARS = {"HOST": "db.local", "EMPTY": "", "PORT": "5432"}


def lookup(name: str) -> str | None:
    return VARS.get(name)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plain", "plain"),
        ("${HOST}:${PORT}", "db.local:5432"),
        ("${MISSING:-fallback}", "fallback"),
        ("${EMPTY:-fallback}", "fallback"),  # `:-` also covers empty
        ("${EMPTY-fallback}", ""),  # `-` only covers unset
        ("${MISSING-fallback}", "fallback"),
        ("${HOST:-fallback}", "db.local"),
        ("${MISSING:-${HOST}:${PORT}}", "db.local:5432"),  # nested default
        ("cost: $$5", "cost: $5"),
        ("$${HOST}", "${HOST}"),  # an escaped `$` starts no variable
        ("echo $HOME", "echo $HOME"),  # bare $VAR is left for the shell
        ("trailing $", "trailing $"),
    ],
)
def test_interpolate(text: str, expected: str) -> None:
    assert interpolate(text, lookup) == expected


def test_undefined_variable_is_an_error_naming_it() -> None:
    with pytest.raises(InterpolationError) as info:
        interpolate("x ${NOPE} y", lookup)
    assert info.value.variable == "NOPE"
    assert "NOPE is not defined" in str(info.value)


@pytest.mark.parametrize("text", ["${HOST", "${}", "${1ABC}", "${HOST:x}"])
def test_malformed_references_are_errors(text: str) -> None:
    with pytest.raises(InterpolationError):
        interpolate(text, lookup)


def test_required_variable_message() -> None:
    with pytest.raises(InterpolationError, match="NOPE is required: set NOPE first"):
        interpolate("${NOPE:?set NOPE first}", lookup)


def test_on_default_reports_defaults_used() -> None:
    used: list[tuple[str, str]] = []
    interpolate("${HOST:-a} ${MISSING:-b}", lookup, lambda name, value: used.append((name, value)))
    assert used == [("MISSING", "b")]


def test_dotenv_expansion_is_lenient_and_keeps_double_dollar() -> None:
    assert expand_dotenv("pa$$word", lookup) == "pa$$word"
    assert expand_dotenv("${NOPE}/x", lookup) == "/x"
    assert expand_dotenv("${HOST}", lookup) == "db.local"
