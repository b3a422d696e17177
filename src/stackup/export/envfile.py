"""`stackup export env`: the stack-wide environment as a `.env` file.

Written for python-dotenv and docker compose (which expand `${VAR}` from the process
environment) and readable by honcho's simpler parser too: every value is quoted so
both parse it the same way, and the lines that refer to a secret start with
`export`, which python-dotenv and compose accept and honcho skips — honcho does not
expand `${VAR}`, so it would otherwise hand the literal text `${DB_PASSWORD}` to the
services instead of letting the shell's value through.
"""

from __future__ import annotations

import re

from stackup.config.model import Stack
from stackup.export.common import Ref, Secrets, Segment, has_ref, header, render
from stackup.naming import port_variable

_BARE = re.compile(r"[A-Za-z0-9_./:@,+-]+")  # needs no quotes for dotenv nor shlex


def quote_value(segments: list[Segment]) -> str:
    """A dotenv value; refs as `${NAME}`, everything else literal."""
    if len(segments) == 1 and isinstance(segments[0], Ref):
        return render(segments)
    if not has_ref(segments):
        text = render(segments)
        if _BARE.fullmatch(text):
            return text
        if not any(c in text for c in "'\\\n"):
            return f"'{text}'"
    # Double quotes: the escapes below mean the same to python-dotenv and to honcho.
    return '"' + render(segments, _escape_double) + '"'


def _escape_double(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def stack_environment(stack: Stack) -> dict[str, str]:
    env = dict(stack.env)
    for name, svc in stack.services.items():
        if svc.port is not None:  # SPEC: every <NAME>_PORT is visible to everything
            env.setdefault(port_variable(name), str(svc.port))
    env.setdefault("PYTHONUNBUFFERED", "1")  # what stackup gives every service
    return env


def env_lines(env: dict[str, str], secrets: Secrets) -> list[str]:
    lines: list[str] = []
    for key in sorted(env):
        segments = secrets.entry(key, env[key])
        if any("${" in s for s in segments if isinstance(s, str)):
            # dotenv has no escape for a literal `${`: readers will expand it.
            lines.append(f"# note: {key} contains a literal '${{', which dotenv expands")
        prefix = "export " if has_ref(segments) else ""
        lines.append(f"{prefix}{key}={quote_value(segments)}")
    return lines


def export_env(stack: Stack, services: list[str], secrets: Secrets) -> dict[str, str]:
    env = stack_environment(stack)
    refs = (s for key, value in env.items() for s in secrets.entry(key, value))
    needed = sorted({s.name for s in refs if isinstance(s, Ref)})
    comments = [
        *header(stack, "env"),
        "The stack-wide environment (port variables, stack env, env files); services'",
        "own `env` entries are in the per-service exports (compose, systemd, procfile).",
    ]
    if needed:
        comments += [
            "Secret values are not written here: the `export` lines refer to",
            f"{', '.join(needed)}, which must be set in the environment that reads this",
            "file (python-dotenv and docker compose expand ${VAR}; honcho skips these lines).",
        ]
    lines = [f"# {c}" for c in comments] + env_lines(env, secrets)
    return {".env": "\n".join(lines) + "\n"}
