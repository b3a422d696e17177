"""`stackup config`: the resolved stack, secrets masked."""

from __future__ import annotations

import click

from stackup import render
from stackup.cli.base import Context, handle_errors, offset_option, profile_option


@click.command(name="config")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--explain", "variable", default=None, help="Say where VAR's value comes from.")
@profile_option
@offset_option
@click.pass_obj
@handle_errors
def command(
    obj: Context, as_json: bool, variable: str | None, profiles: tuple[str, ...],
    port_offset: int | None,
) -> None:
    """Print the resolved stack (secrets masked)."""
    from stackup.config.explain import explain, stack_to_dict, stack_to_yaml

    stack = obj.load(profiles, port_offset)
    if variable:
        for line in explain(stack, variable):
            click.echo(line)
    elif as_json:
        click.echo(render.to_json(stack_to_dict(stack)))
    else:
        click.echo(stack_to_yaml(stack), nl=False)
