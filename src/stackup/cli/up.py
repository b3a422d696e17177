"""`stackup up`: start the stack in the foreground, or detached with -d."""

from __future__ import annotations

import sys

import click

from stackup import render
from stackup.cli.base import (
    Context,
    StackupCommand,
    check_names,
    complete_services,
    examples,
    global_options,
    handle_errors,
    offset_option,
    profile_option,
)
from stackup.cli.ui import attach, needs_terminal
from stackup.errors import StackupError


@click.command(
    name="up", cls=StackupCommand, short_help="Start the stack (or some services).",
    epilog=examples(
        ("stackup up", "the whole stack in the foreground; Ctrl-C stops it"),
        ("stackup up backend", "backend and what it depends on"),
        ("stackup up -d", "in the background; returns once every service is ready"),
        ("stackup up --ui", "in the background, then the live view (q leaves it running)"),
        ("stackup up --profile voice", "also the services of the profile voice"),
        ("DB_PORT=15500 stackup up", "move a port that the file reads from a variable"),
        ("stackup -p two up -d --port-offset 100", "a second copy beside the first"),
    ),
)
@click.argument("services", nargs=-1, metavar="[SERVICE]...", shell_complete=complete_services)
@click.option("-d", "--detach", is_flag=True, help="Run in the background; return once ready.")
@click.option(
    "--ui", is_flag=True, callback=needs_terminal,
    help="As -d, then open the live view (`stackup ui`).",
)
@click.option(
    "--fresh", is_flag=True,
    help="Stop what a supervisor that died left running instead of adopting it.",
)
@profile_option
@offset_option
@global_options()
@click.pass_obj
@handle_errors
def command(
    obj: Context, services: tuple[str, ...], detach: bool, ui: bool, fresh: bool,
    profiles: tuple[str, ...], port_offset: int | None,
) -> None:
    """Start the stack, or the SERVICEs and what they depend on, in dependency order.

    Each service starts once what it depends on is ready. In the foreground every
    service's output is shown with its name; Ctrl-C stops everything in reverse
    order (twice: kill at once). With -d a supervisor keeps the stack running in
    the background: `stackup status`, `logs`, `restart` and `down` reach it.

    Exit codes: 0 stopped cleanly (or, with -d, ready), 1 a service failed,
    2 a bad stack file or option, 3 a port is held by another process,
    4 the stack already runs, 130 -d interrupted while waiting.
    """
    names = check_names(services)
    obj.state_dir  # noqa: B018  # refuse another stack file's state before loading
    stack = obj.load(profiles, port_offset)
    if detach or ui:
        from stackup.app import detached, portview
        from stackup.app.progress import Progress

        try:
            selection = detached.up_detached(
                stack, names, profiles, port_offset, Progress(), fresh=fresh
            )
        except KeyboardInterrupt:
            interrupted = StackupError(
                "interrupted; the supervisor goes on starting the stack in the background"
                " (`stackup status` to watch, `stackup down` to stop it)"
            )
            interrupted.exit_code = 130  # type: ignore[assignment]  # as a shell reports SIGINT
            raise interrupted from None
        click.echo(render.ready_table(portview.port_rows(stack), selection), nl=False)
        if ui:
            attach(obj)
        return
    from stackup.app import foreground
    from stackup.printer import colour_wanted

    colour = colour_wanted(sys.stdout, obj.no_color)
    sys.exit(int(foreground.up_foreground(stack, names, colour=colour, fresh=fresh)))
