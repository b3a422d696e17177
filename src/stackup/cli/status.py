"""`stackup status`: each service's state, from the state file."""

from __future__ import annotations

import sys
from typing import Any

import click

from stackup import locations, render
from stackup.cli.base import (
    Context,
    StackupCommand,
    check_names,
    complete_services,
    examples,
    global_options,
    handle_errors,
)
from stackup.errors import ExitCode


@click.command(
    name="status", cls=StackupCommand, short_help="Show what runs, and whether it is ready.",
    epilog=examples(
        ("stackup status", "every service of the stack"),
        ("stackup status backend db", "just these"),
        ("stackup status >/dev/null", "a readiness check: exit 0 when all are ready"),
        ("stackup status --json", "the same for scripts"),
    ),
)
@click.argument("services", nargs=-1, metavar="[SERVICE]...", shell_complete=complete_services)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@global_options()
@click.pass_obj
@handle_errors
def command(obj: Context, services: tuple[str, ...], as_json: bool) -> None:
    """Show each service's state, pid, port, health, uptime, restarts and last exit.

    Works from the state the supervisor keeps, so it also tells the truth after the
    supervisor was killed. Exits 0 when every shown service is ready (a completed
    task counts), 1 otherwise.
    """
    from stackup.app import status as status_app

    def defaults() -> dict[str, Any]:
        return status_app.defaults_from_stack(obj.load())

    result = status_app.collect(obj.state_dir, check_names(services), defaults)
    if as_json:
        click.echo(render.to_json(result))
    else:
        project = locations.project_name(obj.file, obj.project)
        click.echo(render.status_table(result, project), nl=False)
    sys.exit(ExitCode.OK if status_app.all_ready(result) else ExitCode.SERVICE_FAILED)
