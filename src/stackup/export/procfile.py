"""`stackup export procfile`: one `name: command` line per service, for honcho/foreman.

honcho runs each line with `/bin/sh -c` from the folder it is started in, gives every
process its own PORT (5000, 5100, …) and reads `.env`-style files without expanding
`${VAR}`. So each line carries what the stack's `.env` export cannot: a `cd` into the
service's cwd, its PORT and its own env entries, and the values that refer to a
secret (which the env export writes as `export` lines that honcho skips).
"""

from __future__ import annotations

import os
import shlex

from stackup.config.model import Service, Stack
from stackup.export.common import Ref, Secrets, Segment, has_ref, header, render, service_env
from stackup.export.envfile import stack_environment

_OPERATORS = set("();<>|&")
# A leading assignment cannot precede these: `A=1 if …` is not an `if`.
_KEYWORDS = {"!", "{", "if", "for", "while", "until", "case", "[[", "function", "select"}


def sh_word(segments: list[Segment]) -> str:
    """One shell word: literal pieces quoted, refs left live as "${NAME}"."""
    parts = [f'"${{{s.name}}}"' if isinstance(s, Ref) else shlex.quote(s) for s in segments if s]
    return "".join(parts) or "''"


def is_simple(command: str) -> bool:
    """True when `A=1 command` would set A for the whole command (one simple command)."""
    if "\n" in command:
        return False
    try:
        tokens = list(shlex.shlex(command, posix=True, punctuation_chars=True))
    except ValueError:  # unbalanced quotes: let the shell report it, unchanged
        return False
    if not tokens or tokens[0] in _KEYWORDS:
        return False
    return not any(set(token) <= _OPERATORS for token in tokens)


def one_line(command: str) -> str:
    """A Procfile entry is one line; a multi-line script is replayed through eval."""
    if "\n" not in command:
        return command
    encoded = command.replace("\\", "\\\\").replace("\n", "\\n")
    return f"eval \"$(printf '%b' {shlex.quote(encoded)})\""


def service_line(stack: Stack, svc: Service, secrets: Secrets, shared: dict[str, str]) -> str:
    assigns = []
    for key, value in sorted(service_env(svc).items()):
        if secrets.is_secret(key):
            continue  # from the shell's environment (the header names them)
        segments = secrets.entry(key, value)
        # `shared` is what the .env export gives honcho; lines with a ref are skipped.
        if shared.get(key) != value or has_ref(segments):
            assigns.append(f"{key}={sh_word(segments)}")
    if isinstance(svc.command, list):
        command = " ".join(sh_word(secrets.split(arg)) for arg in svc.command)
        simple = True
    else:
        command = one_line(render(secrets.split(svc.command)))
        simple = is_simple(svc.command)
    if assigns:
        env = " ".join(assigns)
        command = f"{env} {command}" if simple else f"export {env}; {command}"
    rel = os.path.relpath(svc.cwd, stack.root)
    if rel != ".":
        cd = shlex.quote(rel)
        command = f"cd {cd} && {command}" if simple else f"cd {cd} || exit 1; {command}"
    return f"{svc.name}: {command}"


def export_procfile(stack: Stack, services: list[str], secrets: Secrets) -> dict[str, str]:
    shared = stack_environment(stack)
    selected = [svc for name, svc in stack.services.items() if name in services]
    needed = sorted(
        {k for svc in selected for k in service_env(svc) if secrets.is_secret(k)}
        | {r.name for svc in selected for r in _refs(svc, secrets)}
    )
    oneshots = [svc.name for svc in selected if svc.oneshot]
    comments = [
        *header(stack, "procfile"),
        "honcho/foreman start every process at once: stackup's start order, depends_on",
        "and readiness checks are lost"
        + (f", and oneshots ({', '.join(oneshots)}) run alongside the rest." if oneshots else "."),
        "Run it from the stack folder. Variables: `stackup export env > stack.env`, then",
        "`honcho start -e stack.env -f Procfile`.",
    ]
    if needed:
        comments.append(f"Secrets are not in either file: set {', '.join(needed)} in the shell.")
    lines = [f"# {c}" for c in comments]
    lines += [service_line(stack, svc, secrets, shared) for svc in selected]
    return {"Procfile": "\n".join(lines) + "\n"}


def _refs(svc: Service, secrets: Secrets) -> list[Ref]:
    texts = list(svc.command) if isinstance(svc.command, list) else [svc.command]
    texts += [v for k, v in service_env(svc).items() if not secrets.is_secret(k)]
    return [s for t in texts for s in secrets.split(t) if isinstance(s, Ref)]
