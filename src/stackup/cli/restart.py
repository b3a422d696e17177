"""`stackup restart`: stop services and start them again."""

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
    name="restart", cls=StackupCommand, short_help="Restart services, wait until ready.",
    epilog=examples(
        ("stackup restart backend", "stop backend, start it, wait until it is ready"),
        ("stackup restart backend frontend", "several at once"),
    ),
)
@click.argument("services", nargs=-1, required=True, metavar="SERVICE...",
                shell_complete=complete_services)
@global_options()
@click.pass_obj
@handle_errors
def command(obj: Context, services: tuple[str, ...]) -> None:
    """Stop the SERVICEs and start them again, returning once they are ready.

    What depends on them stays up. Needs a running stack (`up -d`, or a foreground
    `up` in another terminal). Exits 1 when a service fails to come back, or when
    the stack is not running.
    """
    from stackup.app import restart as restart_app
    from stackup.app.progress import Progress

    names = check_known(obj, services)
    restart_app.restart(obj.state_dir, names, Progress())
    click.echo(f"restarted {', '.join(names)}")
