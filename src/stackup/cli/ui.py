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


def attach(obj: Context) -> None:
    """Open the view on the stack of `obj` (also `up --ui`, once the stack is up)."""
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise UsageError("stackup ui needs a terminal (for scripts: `stackup status`, "
                         "`stackup logs -f`)")
    from stackup.app import ui

    click.echo(ui.attach(obj.state_dir, obj.load))
