"""`stackup config`: the resolved stack, secrets masked."""

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


@click.command(
    name="config", cls=StackupCommand, short_help="Print the resolved stack file.",
    epilog=examples(
        ("stackup config", "the stack as stackup reads it"),
        ("stackup config > resolved.yaml", "a stack file that loads as it is"),
        ("stackup config --explain DB_PORT", "where DB_PORT's value comes from"),
        ("stackup config --json", "for scripts, with every internal detail"),
    ),
)
@click.option("--json", "as_json", is_flag=True, help="Print the machine form as JSON.")
@click.option(
    "--explain", "variable", default=None, metavar="VAR",
    help="Say which source sets VAR, and what it overrides.",
)
@profile_option
@offset_option
@global_options()
@click.pass_obj
@handle_errors
def command(
    obj: Context, as_json: bool, variable: str | None, profiles: tuple[str, ...],
    port_offset: int | str | None,
) -> None:
    """Print the resolved stack: variables interpolated, env files merged, ports
    final (offset added), secrets masked. The output is itself a stack file:
    `stackup -f resolved.yaml config` prints it again unchanged.

    --explain VAR says where a variable's value comes from (a port, the process
    environment, an env file, the stack's env, a default) and exits 1 when the
    stack neither sets nor uses VAR.
    """
    from stackup.config.explain import explain, stack_to_dict
    from stackup.config.stackfile import stack_to_yaml

    stack = obj.load(profiles, port_offset)
    if variable:
        for line in explain(stack, variable):
            click.echo(line)
    elif as_json:
        click.echo(render.to_json(stack_to_dict(stack)))
    else:
        click.echo(stack_to_yaml(stack), nl=False)
