"""`stackup up`: start the stack in the foreground, or detached with -d."""

from __future__ import annotations

import sys

import click

from stackup import render
from stackup.cli.base import Context, check_names, handle_errors, offset_option, profile_option
from stackup.errors import StackupError


@click.command(name="up")
@click.argument("services", nargs=-1)
@click.option("-d", "--detach", is_flag=True, help="Run in the background; return once ready.")
@click.option(
    "--fresh", is_flag=True,
    help="Stop what a supervisor that died left running instead of adopting it.",
)
@profile_option
@offset_option
@click.pass_obj
@handle_errors
def command(
    obj: Context, services: tuple[str, ...], detach: bool, fresh: bool,
    profiles: tuple[str, ...], port_offset: int | None,
) -> None:
    """Start the stack (or SERVICES and what they depend on)."""
    names = check_names(services)
    stack = obj.load(profiles, port_offset)
    if detach:
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
        return
    from stackup.app import foreground
    from stackup.printer import colour_wanted

    colour = colour_wanted(sys.stdout, obj.no_color)
    sys.exit(int(foreground.up_foreground(stack, names, colour=colour, fresh=fresh)))
