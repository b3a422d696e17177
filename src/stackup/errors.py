"""Error types and exit codes shared by every layer (stdlib only).

Lower layers raise these; only the CLI turns them into a message and an exit code.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path


class ExitCode(IntEnum):
    OK = 0
    SERVICE_FAILED = 1
    USAGE = 2  # invalid stack file or bad command line
    PORT_HELD = 3  # a port the stack needs is held by a process stackup did not start
    ALREADY_SUPERVISED = 4


class StackupError(Exception):
    """An error with a one-line message meant for the user."""

    exit_code: ExitCode = ExitCode.SERVICE_FAILED


@dataclass
class ConfigError(StackupError):
    """The stack file is not valid: names the file, the line (when known) and the key path."""

    message: str
    file: Path | None = None
    line: int | None = None
    key: str | None = None

    exit_code = ExitCode.USAGE

    def __str__(self) -> str:
        where = str(self.file) if self.file else "stack file"
        if self.line is not None:
            where += f":{self.line}"
        key = f" {self.key}:" if self.key else ""
        return f"{where}:{key} {self.message}"


class UsageError(StackupError):
    exit_code = ExitCode.USAGE


class PortConflictError(StackupError):
    exit_code = ExitCode.PORT_HELD


class AlreadySupervisedError(StackupError):
    exit_code = ExitCode.ALREADY_SUPERVISED


class NotRunningError(StackupError):
    """No supervisor answers for this stack (exit 1)."""


class StartFailedError(StackupError):
    """`up` could not bring the stack up; the message says which service and why."""

    exit_code = ExitCode.SERVICE_FAILED
