"""`stackup down`: stop the stack (or some services), dependents first."""

from __future__ import annotations

import click

from stackup.cli.base import (
    Context,
    StackupCommand,
    check_known,
    complete_services,
    examples,
    global_options,
    handle_errors,
)


@click.command(
    name="down", cls=StackupCommand, short_help="Stop the stack (or some services).",
    epilog=examples(
        ("stackup down", "stop everything; the supervisor exits too"),
        ("stackup down backend", "backend and what depends on it; the rest stays up"),
        ("stackup down -f other.yaml", "the stack of another file"),
    ),
)
@click.argument("services", nargs=-1, metavar="[SERVICE]...", shell_complete=complete_services)
@global_options()
@click.pass_obj
@handle_errors
def command(obj: Context, services: tuple[str, ...]) -> None:
    """Stop the stack, or the SERVICEs and what depends on them, dependents first.

    Returns once every process of the stopped services (children included) is gone;
    also when the supervisor was killed. With nothing running it does nothing.
    """
    from stackup.app import down as down_app

    result = down_app.down(obj.state_dir, check_known(obj, services))
    for report in result.stopped:  # one line per service, as compose does
        click.echo(report.describe())
    for note in result.notes:
        click.echo(f"stackup: {note}", err=True)
