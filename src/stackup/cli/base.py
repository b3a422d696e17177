"""What every command shares: the context (stack file, state folder), the error
handler that turns a StackupError into one line and its exit code, name checks and
the options several commands take."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from stackup.errors import ExitCode, StackupError, UsageError
from stackup.naming import SERVICE_NAME

if TYPE_CHECKING:
    from stackup.config.model import Stack
    from stackup.printer import Printer


class Context:
    def __init__(self, file: Path, no_color: bool) -> None:
        self.file = file
        self._no_color = no_color

    @property
    def no_color(self) -> bool:
        """--no-color, or NO_COLOR in the environment (read only by commands that print
        service output: `status` must not pay for importing the settings machinery)."""
        from stackup.settings import Settings

        return self._no_color or Settings.from_env().no_color

    @property
    def state_dir(self) -> Path:
        """`.stackup/` beside the stack file: found without loading the file."""
        return self.file.resolve().parent / ".stackup"

    def load(self, profiles: tuple[str, ...] = (), port_offset: int | None = None) -> Stack:
        from stackup.config import load_stack

        return load_stack(self.file, profiles=profiles, port_offset=port_offset)

    def printer(self, names: list[str]) -> Printer:
        from stackup.printer import Printer, colour_wanted

        return Printer(names, sys.stdout, colour_wanted(sys.stdout, self.no_color))


def handle_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn a StackupError into its one-line message and exit code; never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except StackupError as err:
            click.echo(f"stackup: {err}", err=True)
            sys.exit(int(err.exit_code))
        except OSError as err:
            # The runtime folder or a file in it is unusable (a file where a folder
            # should be, no permission, disk full): say which, in one line.
            where = f": {err.filename}" if err.filename else ""
            click.echo(f"stackup: {err.strerror or err}{where}", err=True)
            sys.exit(int(ExitCode.SERVICE_FAILED))
        except KeyboardInterrupt:
            sys.exit(130)

    return wrapper


def check_names(names: tuple[str, ...]) -> list[str]:
    for name in names:
        if not SERVICE_NAME.match(name):
            raise UsageError(f"no such service: {name!r}")
    return list(names)


def known_services(obj: Context) -> list[str]:
    """The services `status`/`down`/`logs`/`restart` can name: those the running (or
    last) supervisor knew — so an edited or broken stack file does not matter — else
    those of the stack file."""
    from stackup.server import statefile

    state = statefile.read(obj.state_dir)
    if state and state.get("services"):
        return list(state["services"])
    return list(obj.load().services)


def check_known(obj: Context, names: tuple[str, ...]) -> list[str]:
    checked = check_names(names)
    if checked:
        known = known_services(obj)
        for name in checked:
            if name not in known:
                raise UsageError(f"no such service: {name}")
    return checked


profile_option = click.option(
    "--profile", "profiles", multiple=True, help="Activate a profile (repeatable)."
)
offset_option = click.option(
    "--port-offset", type=int, default=None, help="Add this to every port of the stack."
)
