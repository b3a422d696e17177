"""`stackup status`: each service's state, from the state file."""

from __future__ import annotations

import sys
from typing import Any

import click

from stackup import render
from stackup.cli.base import Context, check_names, handle_errors
from stackup.errors import ExitCode


@click.command(name="status")
@click.argument("services", nargs=-1)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
@handle_errors
def command(obj: Context, services: tuple[str, ...], as_json: bool) -> None:
    """Show each service's state, pid, port, health, uptime and restarts."""
    from stackup.app import status as status_app

    def defaults() -> dict[str, Any]:
        return status_app.defaults_from_stack(obj.load())

    result = status_app.collect(obj.state_dir, check_names(services), defaults)
    click.echo(render.to_json(result) if as_json else render.status_table(result), nl=False)
    if as_json:
        click.echo()
    sys.exit(ExitCode.OK if status_app.all_ready(result) else ExitCode.SERVICE_FAILED)
