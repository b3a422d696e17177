"""`stackup doctor`: why is it not working? One finding a line, with what to do."""

from __future__ import annotations

import sys

import click

from stackup import render
from stackup.cli.base import (
    Context,
    StackupCommand,
    check_names,
    complete_services,
    examples,
    global_options,
    handle_errors,
    offset_option,
    profile_option,
)
from stackup.errors import ConfigError, ExitCode


@click.command(
    name="doctor", cls=StackupCommand, short_help="Say what is wrong, and what to do.",
    epilog=examples(
        ("stackup doctor", "every check; exit 1 when something is wrong"),
        ("stackup doctor backend --json", "one service, for a script"),
    ),
)
@click.argument("services", nargs=-1, metavar="[SERVICE]...", shell_complete=complete_services)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@profile_option
@offset_option
@global_options()
@click.pass_obj
@handle_errors
def command(
    obj: Context, services: tuple[str, ...], as_json: bool, profiles: tuple[str, ...],
    port_offset: int | str | None,
) -> None:
    """Check the stack and say what is wrong and what to do; exit 1 if anything is."""
    from stackup.app import doctor

    try:
        offset = obj.offset(profiles, port_offset)
    except ConfigError:
        offset = None  # a stack file that does not load is one of doctor's findings
    report = doctor.examine(obj.file, obj.state_dir, check_names(services), profiles, offset)
    if as_json:
        click.echo(render.to_json(report.to_json()))
    else:
        click.echo(render.doctor_text(report), nl=False)
    sys.exit(ExitCode.OK if report.ok else ExitCode.SERVICE_FAILED)
