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

from stackup import __version__, settings
from stackup.cli.base import Context, validate_project
from stackup.errors import ExitCode

# command name -> module under stackup.cli that defines a click command of that name,
# in the order `stackup --help` lists them (the order of a working day).
COMMANDS = {
    "up": "up",
    "status": "status",
    "logs": "logs",
    "ui": "ui",
    "restart": "restart",
    "down": "down",
    "run": "run",
    "config": "config",
    "ports": "ports",
    "port": "port",
    "export": "export",
    "completion": "completion",
    "schema": "schema",
    "init": "init",
    "graph": "graph",
    "timeline": "timeline",
    "doctor": "doctor",
}


class StackupGroup(click.Group):
    """Loads each verb's module on demand, and shows click's usage errors in stackup's
    style: one `stackup:` line, exit 2, saying where a misplaced option belongs."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module = COMMANDS.get(cmd_name)
        if module is None:
            return None
        command = importlib.import_module(f"stackup.cli.{module}").command
        assert isinstance(command, click.Command)
        return command

    def main(self, *args: Any, **kwargs: Any) -> Any:
        kwargs["standalone_mode"] = False
        given = args[0] if args else kwargs.get("args")
        argv = list(given) if given is not None else sys.argv[1:]
        try:
            code = super().main(*args, **kwargs)
        except click.UsageError as err:
            where = f"stackup {err.ctx.command_path.partition(' ')[2]}".strip() if err.ctx else ""
            message, hint = err.format_message(), f" (see `{where} --help`)" if where else ""
            placed = self._misplaced(err, argv) if isinstance(err, click.NoSuchOption) else ""
            if placed:  # instead of click's guess at a similar option
                message, hint = err.message, placed
            click.echo(f"stackup: {message}{hint}", err=True)
            sys.exit(int(ExitCode.USAGE))
        except click.ClickException as err:
            err.show()
            sys.exit(err.exit_code)
        except click.exceptions.Abort:
            sys.exit(130)
        sys.exit(code if isinstance(code, int) else 0)

    def _misplaced(self, err: click.NoSuchOption, argv: list[str]) -> str:
        """Where an unknown option does belong: after the command (`stackup --json
        status`), or to other commands (`stackup status --profile x`)."""
        option = err.option_name
        owners = [
            name for name in COMMANDS
            if any(option in p.opts or option in p.secondary_opts
                   for p in self.get_command(err.ctx, name).params)  # type: ignore[union-attr]
        ] if err.ctx else []
        if not owners:
            return ""
        typed = next((a for a in argv if a in COMMANDS), None)
        if err.ctx is not None and err.ctx.command is self:
            if typed in owners:
                return f" ({option} goes after the command: `stackup {typed} {option} ...`)"
            return f" ({option} is an option of {_and(owners)}: put it after the command)"
        return f" ({option} is an option of {_and(owners)}; see `stackup {typed} --help`)"


def _and(names: list[str]) -> str:
    quoted = [f"`{n}`" for n in names]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]


@click.group(
    cls=StackupGroup, invoke_without_command=True,
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog=(
        "\b\nGlobal options may also follow the command (`stackup down -f other.yaml`);"
        "\nafter `logs`, -f means --follow, so the stack file is `--file` there."
        "\nEach command explains itself: `stackup COMMAND --help`."
    ),
)
@click.option(
    "-f", "--file", "file", type=click.Path(path_type=Path), default=None, metavar="FILE",
    envvar=settings.FILE,
    help="The stack file ($STACKUP_FILE; default: stack.yaml here or in a folder above).",
)
@click.option(
    "-p", "--project", metavar="NAME", default=None, envvar=settings.PROJECT,
    callback=validate_project,
    help="Which copy of the stack: its own state, beside the others ($STACKUP_PROJECT).",
)
@click.option("--no-color", is_flag=True, help="Plain output, no colours ($NO_COLOR).")
@click.version_option(__version__, prog_name="stackup")
@click.pass_context
def main(ctx: click.Context, file: Path | None, project: str | None, no_color: bool) -> None:
    """Bring a development stack up in dependency order, healthy, with one command."""
    ctx.obj = Context(file, project, no_color)
    if ctx.invoked_subcommand is None:
        click.echo(ctx.get_help())
        ctx.exit(0)
