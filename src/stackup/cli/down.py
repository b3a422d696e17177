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

    for note in down_app.down(obj.state_dir, check_known(obj, services)):
        click.echo(f"stackup: {note}", err=True)
