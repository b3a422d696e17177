"""The command line: parse options, call one use case, render its result, exit.

No logic lives here; errors from below are StackupError subclasses that carry
their one-line message and exit code.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from stackup import __version__, app, render
from stackup.config import load_stack
from stackup.config.explain import explain, stack_to_dict, stack_to_yaml
from stackup.config.model import Stack
from stackup.errors import StackupError
from stackup.printer import colour_wanted
from stackup.settings import Settings


class Context:
    def __init__(self, file: Path, no_color: bool) -> None:
        self.file = file
        self.no_color = no_color

    def load(self, profiles: tuple[str, ...] = (), port_offset: int | None = None) -> Stack:
        return load_stack(self.file, profiles=profiles, port_offset=port_offset)


def handle_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn a StackupError into its one-line message and exit code; never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except StackupError as err:
            click.echo(f"stackup: {err}", err=True)
            sys.exit(int(err.exit_code))
        except KeyboardInterrupt:
            sys.exit(130)

    return wrapper


profile_option = click.option(
    "--profile", "profiles", multiple=True, help="Activate a profile (repeatable)."
)
offset_option = click.option(
    "--port-offset", type=int, default=None, help="Add this to every port of the stack."
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "-f", "--file", "file", type=click.Path(path_type=Path), default=None,
    help="The stack file (default: stack.yaml here, or $STACKUP_FILE).",
)
@click.option("--no-color", is_flag=True, help="Plain output, no colours.")
@click.version_option(__version__, prog_name="stackup")
@click.pass_context
def main(ctx: click.Context, file: Path | None, no_color: bool) -> None:
    """Bring a development stack up in dependency order, healthy, with one command."""
    settings = Settings.from_env()
    ctx.obj = Context(file or settings.file, no_color or settings.no_color)


@main.command()
@click.argument("services", nargs=-1)
@profile_option
@offset_option
@click.pass_obj
@handle_errors
def up(
    obj: Context, services: tuple[str, ...], profiles: tuple[str, ...], port_offset: int | None
) -> None:
    """Start the stack (or SERVICES and what they depend on) in the foreground."""
    stack = obj.load(profiles, port_offset)
    code = app.up_foreground(
        stack, list(services), colour=colour_wanted(sys.stdout, obj.no_color)
    )
    sys.exit(int(code))


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--explain", "variable", default=None, help="Say where VAR's value comes from.")
@profile_option
@offset_option
@click.pass_obj
@handle_errors
def config(
    obj: Context,
    as_json: bool,
    variable: str | None,
    profiles: tuple[str, ...],
    port_offset: int | None,
) -> None:
    """Print the resolved stack (secrets masked)."""
    stack = obj.load(profiles, port_offset)
    if variable:
        for line in explain(stack, variable):
            click.echo(line)
    elif as_json:
        click.echo(render.to_json(stack_to_dict(stack)))
    else:
        click.echo(stack_to_yaml(stack), nl=False)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--markdown", is_flag=True, help="Print a PORTS.md table.")
@profile_option
@offset_option
@click.pass_obj
@handle_errors
def ports(
    obj: Context, as_json: bool, markdown: bool, profiles: tuple[str, ...], port_offset: int | None
) -> None:
    """The stack's port table, with who holds each port now."""
    stack = obj.load(profiles, port_offset)
    rows = app.port_rows(stack)
    if as_json:
        click.echo(render.to_json([r.to_json() for r in rows]))
    elif markdown:
        click.echo(render.ports_markdown(rows, stack.name), nl=False)
    else:
        render.ports_table(rows, Console(no_color=obj.no_color, highlight=False))
