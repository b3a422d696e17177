"""`stackup logs`: the services' output from their log files."""

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
    known_services,
)
from stackup.errors import UsageError


@click.command(
    name="logs", cls=StackupCommand, short_help="Show the services' output.",
    epilog=examples(
        ("stackup logs", "everything logged so far, merged in time order"),
        ("stackup logs -f backend", "follow one service (Ctrl-C to stop)"),
        ("stackup logs -n 20 db", "the last 20 lines of db"),
        ("stackup logs --file other.yaml", "another stack file's (-f is --follow here)"),
    ),
)
@click.argument("services", nargs=-1, metavar="[SERVICE]...", shell_complete=complete_services)
@click.option("-f", "--follow", is_flag=True, help="Keep printing new lines (as tail -f).")
@click.option(
    "-n", "--lines", "count", type=click.IntRange(min=0), default=None, metavar="N",
    help="Only the last N lines of each service.",
)
@global_options(short_file=False)
@click.pass_obj
@handle_errors
def command(obj: Context, services: tuple[str, ...], follow: bool, count: int | None) -> None:
    """Print the SERVICEs' output (default: all) from `.stackup/logs/`.

    Lines carry their time and are prefixed with the service's name, as in the
    foreground; lines starting with [stackup] are stackup's own notes. -f keeps
    following, across restarts and log rotation, until Ctrl-C.
    """
    from stackup.app import logs as logs_app

    if follow:
        _refuse_file_as_service(services)
    names = check_known(obj, services) or known_services(obj)
    printer = obj.printer(names)
    log_dir = obj.state_dir / "logs"
    reached = logs_app.sizes(log_dir, names)
    logs_app.show(log_dir, names, printer, count, reached)
    if follow:
        try:
            logs_app.follow(log_dir, names, printer, reached)
        except KeyboardInterrupt:
            return


def _refuse_file_as_service(services: tuple[str, ...]) -> None:
    """`stackup logs -f other.yaml` means "follow the service other.yaml": say how to
    name the stack file instead of "no such service"."""
    for name in services:
        if name.endswith((".yaml", ".yml")) or "/" in name:
            raise UsageError(
                f"-f after `logs` means --follow, so {name!r} was taken for a service; "
                f"name the stack file with `stackup logs --file {name}` "
                f"or `stackup -f {name} logs`"
            )
