"""`stackup logs`: the services' output from their log files."""

from __future__ import annotations

import click

from stackup.cli.base import Context, check_known, handle_errors, known_services


@click.command(name="logs")
@click.argument("services", nargs=-1)
@click.option("-f", "--follow", is_flag=True, help="Keep printing new lines.")
@click.option(
    "-n", "--lines", "count", type=click.IntRange(min=0), default=None,
    help="Last N lines of each.",
)
@click.pass_obj
@handle_errors
def command(obj: Context, services: tuple[str, ...], follow: bool, count: int | None) -> None:
    """Print the services' output from their log files."""
    from stackup.app import logs as logs_app

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
