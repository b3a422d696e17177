"""Checks that need nothing running: the command each service runs is there, its
folder exists, its user exists."""

from __future__ import annotations

import os
import shlex

from stackup.app.doctor.findings import Finding, Subject
from stackup.config.model import Service
from stackup.system import machine

# Words a shell command may start with before the program it runs.
_PREFIXES = {"exec", "command", "nohup", "time", "env"}
# Shell syntax or builtins: what follows is not one program we can look up.
_SHELL_WORDS = {"cd", ".", "source", "export", "set", "unset", "eval", "if", "for", "while",
                "case", "until", "{", "(", "[", "[[", "test", "true", "false", ":", "trap",
                "ulimit", "umask", "wait", "echo", "printf", "read", "shift", "alias"}


def first_program(command: str | list[str]) -> str | None:
    """The program a command runs, when it can be told without running a shell: argv's
    first word, or a shell line's first word after `VAR=value` assignments and
    `exec`/`env`/`nohup`. None for shell syntax (`cd x && …`, `$(…)`, builtins)."""
    if isinstance(command, list):
        return command[0] if command else None
    try:
        words = shlex.split(command, comments=True)
    except ValueError:
        return None
    for word in words:
        if word in _PREFIXES or ("=" in word and word.split("=", 1)[0].isidentifier()):
            continue
        if word.startswith("-") and words[0] == "env":
            continue
        if word in _SHELL_WORDS or any(c in word for c in "$`(){};|&<>*?"):
            return None
        return word
    return None


def service_path(svc: Service) -> str | None:
    return svc.env.get("PATH", os.environ.get("PATH"))


def check(subject: Subject) -> list[Finding]:
    findings: list[Finding] = []
    for svc in subject.services():
        findings += _cwd(subject, svc)
        if svc.cwd.is_dir() and not svc.external:  # an external one has no command
            findings += _program(subject, svc, svc.command, ("services", svc.name, "command"),
                                 "command")
            if svc.health.kind == "command" and svc.health.command is not None:
                findings += _program(subject, svc, svc.health.command,
                                     ("services", svc.name, "health", "command"),
                                     "health check command")
        findings += _user(subject, svc)
    return findings


def _cwd(subject: Subject, svc: Service) -> list[Finding]:
    if svc.cwd.is_dir():
        return []
    what = "is not a folder" if svc.cwd.exists() else "does not exist"
    return [Finding(svc.name, "cwd", f"its working directory {svc.cwd} {what}",
                    "create it, or fix the service's cwd",
                    subject.where(("services", svc.name, "cwd")))]


def _program(
    subject: Subject, svc: Service, command: str | list[str], key: tuple[str, ...], what: str,
) -> list[Finding]:
    program = first_program(command)
    if program is None:
        return []
    found = machine.find_program(program, svc.cwd, service_path(svc))
    where = subject.where(key) or subject.where(("services", svc.name))
    if found is None:
        place = f"in {svc.cwd}" if "/" in program else "on PATH"
        return [Finding(svc.name, "command", f"its {what} `{program}` is not found {place}",
                        f"install it, or fix the {what}", where)]
    if not machine.is_executable(found):
        return [Finding(svc.name, "command", f"its {what} `{program}` ({found}) is not "
                        "an executable file", f"chmod +x {found}, or fix the {what}", where)]
    return []


def _user(subject: Subject, svc: Service) -> list[Finding]:
    if svc.user is None or machine.user_exists(svc.user):
        return []
    return [Finding(svc.name, "user", f"user `{svc.user}` does not exist on this machine",
                    f"create it (useradd {svc.user}), or fix the service's user",
                    subject.where(("services", svc.name, "user")))]
