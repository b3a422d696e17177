"""`stackup down`: stop the stack (or some services), dependents first."""

from __future__ import annotations

import click

from stackup.cli.base import Context, check_known, handle_errors


@click.command(name="down")
@click.argument("services", nargs=-1)
@click.pass_obj
@handle_errors
def command(obj: Context, services: tuple[str, ...]) -> None:
    """Stop the stack (or SERVICES), dependents first; leave nothing behind."""
    from stackup.app import down as down_app

    result = down_app.down(obj.state_dir, check_known(obj, services))
    for report in result.stopped:  # one line per service, as compose does
        click.echo(report.describe())
    for note in result.notes:
        click.echo(f"stackup: {note}", err=True)
