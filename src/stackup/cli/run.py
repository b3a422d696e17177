"""`stackup run`: bring the stack up, run a command, take it down."""

from __future__ import annotations

import sys

import click

from stackup.cli.base import Context, handle_errors, offset_option, profile_option


@click.command(name="run", context_settings={"ignore_unknown_options": True})
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
@profile_option
@offset_option
@click.pass_obj
@handle_errors
def command(
    obj: Context, command: tuple[str, ...], profiles: tuple[str, ...], port_offset: int | None
) -> None:
    """Bring the stack up, run COMMAND with its environment, take it down again."""
    from stackup.app import run as run_app

    stack = obj.load(profiles, port_offset)
    sys.exit(run_app.run(stack, list(command), profiles, port_offset))
