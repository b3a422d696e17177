"""`${VAR}` interpolation, as in docker compose.

Supported: `${VAR}`, `${VAR:-default}` (unset or empty), `${VAR-default}` (unset),
`${VAR:?message}` / `${VAR?message}` (required), `$$` for a literal `$`. A default may
itself contain `${...}`. A bare `$VAR` is left alone on purpose: commands run through
`/bin/sh -c`, where the shell expands it when the service starts.
"""

from __future__ import annotations

import re
from collections.abc import Callable

Lookup = Callable[[str], str | None]
OnDefault = Callable[[str, str], None]  # (variable, default value used)

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_OPERATORS = (":-", "-", ":?", "?")


class InterpolationError(ValueError):
    """A `${...}` that cannot be expanded; the caller adds file, line and key path."""

    def __init__(self, message: str, variable: str | None = None) -> None:
        super().__init__(message)
        self.variable = variable


def interpolate(text: str, lookup: Lookup, on_default: OnDefault | None = None) -> str:
    """Expand `text` strictly: an undefined variable without a default is an error."""
    return _expand(text, lookup, on_default, strict=True, dollar_escape=True)


def expand_dotenv(text: str, lookup: Lookup) -> str:
    """Expand a value read from a `.env` file the way python-dotenv would.

    python-dotenv expands only `${...}`, makes an undefined variable empty and gives
    `$$` no meaning; a password such as `pa$$word` in a .env file must stay intact.
    We do it ourselves only so that the lookup can use the environ we were given.
    """
    return _expand(text, lookup, None, strict=False, dollar_escape=False)


def _expand(
    text: str, lookup: Lookup, on_default: OnDefault | None, *, strict: bool, dollar_escape: bool
) -> str:
    out: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        following = text[i + 1 : i + 2]
        if char == "$" and following == "$" and dollar_escape:
            out.append("$")
            i += 2
        elif char == "$" and following == "{":
            end = _closing_brace(text, i + 2)
            body = text[i + 2 : end]
            out.append(_substitute(body, lookup, on_default, strict, dollar_escape))
            i = end + 1
        else:
            out.append(char)
            i += 1
    return "".join(out)


def _closing_brace(text: str, start: int) -> int:
    """Index of the `}` closing a `${` whose body starts at `start` (nesting allowed)."""
    depth = 1
    i = start
    while i < len(text):
        if text.startswith("${", i):
            depth += 1
            i += 2
            continue
        if text[i] == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    raise InterpolationError(f"unclosed '${{' in {text!r} (write $$ for a literal $)")


def _substitute(
    body: str, lookup: Lookup, on_default: OnDefault | None, strict: bool, dollar_escape: bool
) -> str:
    match = _NAME.match(body)
    if not match:
        raise InterpolationError(f"invalid variable name in '${{{body}}}'")
    name = match.group(0)
    rest = body[match.end() :]
    value = lookup(name)
    if not rest:
        if value is None:
            if strict:
                raise InterpolationError(
                    f"variable {name} is not defined (set it, or write ${{{name}:-default}})",
                    name,
                )
            return ""
        return value
    operator = next((op for op in _OPERATORS if rest.startswith(op)), None)
    if operator is None:
        raise InterpolationError(f"invalid interpolation '${{{body}}}'")
    word = rest[len(operator) :]
    missing = value is None or (operator.startswith(":") and value == "")
    if not missing:
        return value  # type: ignore[return-value]  # not None here
    if operator in (":?", "?"):
        raise InterpolationError(f"variable {name} is required: {word or 'not set'}", name)
    default = _expand(word, lookup, on_default, strict=strict, dollar_escape=dollar_escape)
    if on_default is not None:
        on_default(name, default)
    return default
