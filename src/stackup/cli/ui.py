"""`stackup ui`: the live view of the running stack."""

from __future__ import annotations

import sys

import click

from stackup.cli.base import Context, StackupCommand, examples, global_options, handle_errors
from stackup.errors import UsageError


@click.command(
    name="ui", cls=StackupCommand, short_help="Watch the running stack live; act on it.",
    epilog=examples(
        ("stackup ui", "the table of services and their output, live"),
        ("stackup up --ui", "start the stack in the background, then watch it"),
        ("stackup -p two ui", "the view of another copy of the stack"),
    ),
)
@global_options()
@click.pass_obj
@handle_errors
def command(obj: Context) -> None:
    """A live view of the running stack (detached or in the foreground elsewhere):
    each service's state, pid, port and URL, health, uptime, restarts, CPU and
    memory; the output of one service or all of them, followed, filtered, selectable
    and copyable; keys to restart, stop and start a service and to show the
    dependency graph. Quitting the view (q) leaves the stack running.
    """
    attach(obj)


NO_TERMINAL = "the live view needs a terminal (for scripts: `stackup status`, `stackup logs -f`)"


def on_terminal() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()


def needs_terminal(ctx: click.Context, param: click.Parameter, wanted: bool) -> bool:
    """`up --ui`: the view draws on a terminal; refuse it elsewhere before anything
    starts."""
    if wanted and not on_terminal():
        raise click.UsageError(NO_TERMINAL, ctx)
    return wanted


def attach(obj: Context) -> None:
    """Open the view on the stack of `obj` (also `up --ui`, once the stack is up)."""
    from stackup.app import ui

    ui.ensure_running(obj.state_dir)
    if not on_terminal():
        raise UsageError(NO_TERMINAL)
    click.echo(ui.attach(obj.state_dir, obj.load))
