"""`stackup ports`: the stack's port table."""

from __future__ import annotations

import click

from stackup import render
from stackup.cli.base import Context, handle_errors, offset_option, profile_option


@click.command(name="ports")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--markdown", is_flag=True, help="Print a PORTS.md table.")
@profile_option
@offset_option
@click.pass_obj
@handle_errors
def command(
    obj: Context, as_json: bool, markdown: bool, profiles: tuple[str, ...],
    port_offset: int | None,
) -> None:
    """The stack's port table, with who holds each port now."""
    from stackup.app import portview

    stack = obj.load(profiles, port_offset)
    rows = portview.port_rows(stack)
    if as_json:
        click.echo(render.to_json([r.to_json() for r in rows]))
    elif markdown:
        click.echo(render.ports_markdown(rows, stack.name), nl=False)
    else:
        click.echo(render.ports_table(rows), nl=False)
