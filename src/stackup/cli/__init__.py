"""The command line: parse options, call one use case, render its result, exit.

No logic lives here; errors from below are StackupError subclasses that carry their
one-line message and exit code. Each verb is a module of its own, imported only when
it runs (or when the help lists it), so `status` and `down` start fast and never need
the stack file to load.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any

import click

from stackup import __version__
from stackup.cli.base import Context
from stackup.errors import ExitCode

# command name -> module under stackup.cli that defines a click command of that name
COMMANDS = {
    "up": "up",
    "status": "status",
    "down": "down",
    "logs": "logs",
    "restart": "restart",
    "run": "run",
    "config": "config",
    "export": "export",
    "ports": "ports",
    "graph": "graph",
    "timeline": "timeline",
    "doctor": "doctor",
}


class StackupGroup(click.Group):
    """Loads each verb's module on demand, and shows click's usage errors in stackup's
    style: one `stackup:` line, exit 2."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module = COMMANDS.get(cmd_name)
        if module is None:
            return None
        command = importlib.import_module(f"stackup.cli.{module}").command
        assert isinstance(command, click.Command)
        return command

    def main(self, *args: Any, **kwargs: Any) -> Any:
        kwargs["standalone_mode"] = False
        try:
            code = super().main(*args, **kwargs)
        except click.UsageError as err:
            where = f"stackup {err.ctx.command_path.partition(' ')[2]}".strip() if err.ctx else ""
            hint = f" (see `{where} --help`)" if where else ""
            click.echo(f"stackup: {err.format_message()}{hint}", err=True)
            sys.exit(int(ExitCode.USAGE))
        except click.ClickException as err:
            err.show()
            sys.exit(err.exit_code)
        except click.exceptions.Abort:
            sys.exit(130)
        sys.exit(code if isinstance(code, int) else 0)


@click.group(cls=StackupGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "-f", "--file", "file", type=click.Path(path_type=Path), default=Path("stack.yaml"),
    envvar="STACKUP_FILE", show_default=True, help="The stack file ($STACKUP_FILE).",
)
@click.option("--no-color", is_flag=True, help="Plain output, no colours ($NO_COLOR).")
@click.version_option(__version__, prog_name="stackup")
@click.pass_context
def main(ctx: click.Context, file: Path, no_color: bool) -> None:
    """Bring a development stack up in dependency order, healthy, with one command."""
    ctx.obj = Context(file, no_color)
