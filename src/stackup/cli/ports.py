"""`stackup ports`: the stack's port table."""

from __future__ import annotations

import click

from stackup import render
from stackup.cli.base import (
    Context,
    StackupCommand,
    examples,
    global_options,
    handle_errors,
    offset_option,
    profile_option,
)
from stackup.naming import AUTO_OFFSET


@click.command(
    name="ports", cls=StackupCommand, short_help="Show the ports, and who holds each.",
    epilog=examples(
        ("stackup ports", "service, port, URL, who holds it, description"),
        ("stackup ports --markdown > PORTS.md", "the table a team keeps by hand"),
        ("stackup ports --port-offset 100", "where a copy at +100 would run"),
        ("stackup ports --port-offset auto", "where `up --port-offset auto` would run now"),
    ),
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--markdown", is_flag=True, help="Print a PORTS.md table.")
@profile_option
@offset_option
@global_options()
@click.pass_obj
@handle_errors
def command(
    obj: Context, as_json: bool, markdown: bool, profiles: tuple[str, ...],
    port_offset: int | str | None,
) -> None:
    """The stack's port table: each service with a port, its URL, its description
    and who holds the port now (the service itself, another process, or nobody).

    While the stack runs it shows the ports it runs on (after an offset or a moved
    port variable); otherwise the stack file's, with --profile and --port-offset.
    """
    from stackup.app import portview

    stack = obj.load(profiles, port_offset)
    rows, running = portview.port_rows_now(stack, obj.state_dir)
    if running and (profiles or port_offset not in (None, AUTO_OFFSET)):
        click.echo(
            "stackup: the stack is running; showing the ports it runs on "
            "(--profile and --port-offset apply when it is not)", err=True,
        )
    if as_json:
        click.echo(render.to_json([r.to_json() for r in rows]))
    elif markdown:
        click.echo(render.ports_markdown(rows, stack.name), nl=False)
    else:
        click.echo(render.ports_table(rows), nl=False)
