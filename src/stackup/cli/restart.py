"""`stackup restart`: stop services and start them again."""

from __future__ import annotations

import click

from stackup.cli.base import Context, check_known, handle_errors


@click.command(name="restart")
@click.argument("services", nargs=-1, required=True)
@click.pass_obj
@handle_errors
def command(obj: Context, services: tuple[str, ...]) -> None:
    """Stop SERVICES and start them again, waiting until they are ready."""
    from stackup.app import restart as restart_app
    from stackup.app.progress import Progress

    names = check_known(obj, services)
    restart_app.restart(obj.state_dir, names, Progress())
    click.echo(f"restarted {', '.join(names)}")
