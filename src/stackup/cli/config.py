"""`stackup config`: the resolved stack, secrets masked."""

from __future__ import annotations

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
from stackup.errors import UsageError


@click.command(
    name="config", cls=StackupCommand, short_help="Print the resolved stack file.",
    epilog=examples(
        ("stackup config", "the stack as stackup reads it"),
        ("stackup config > resolved.yaml", "a stack file that loads as it is"),
        ("stackup config --explain DB_PORT", "where DB_PORT's value comes from"),
        ("stackup config --json", "for scripts, with every internal detail"),
        ("stackup config --hash backend", "the definition hash `up -d` compares"),
    ),
)
@click.argument("services", nargs=-1, metavar="[SERVICE]...", shell_complete=complete_services)
@click.option("--json", "as_json", is_flag=True, help="Print the machine form as JSON.")
@click.option(
    "--hash", "as_hash", is_flag=True,
    help="Print `name hash` per service: what `up -d` compares to recreate a service.",
)
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
    obj: Context, services: tuple[str, ...], as_json: bool, as_hash: bool,
    variable: str | None, profiles: tuple[str, ...], port_offset: int | str | None,
) -> None:
    """Print the resolved stack: variables interpolated, env files merged, ports
    final (offset added), secrets masked. The output is itself a stack file:
    `stackup -f resolved.yaml config` prints it again unchanged.

    --explain VAR says where a variable's value comes from (a port, the process
    environment, an env file, the stack's env, a default) and exits 1 when the
    stack neither sets nor uses VAR.

    --hash [SERVICE]... prints each service's definition hash (every service, or
    the named ones): what `up -d` compares to decide what to recreate.
    """
    from stackup.config.explain import explain, stack_to_dict
    from stackup.config.stackfile import stack_to_yaml

    names = check_names(services)
    if names and not as_hash:
        raise UsageError("service names go with --hash (`stackup config --hash SERVICE...`)")
    stack = obj.load(profiles, port_offset)
    if as_hash:
        from stackup.config.hashing import stack_hashes

        hashes = stack_hashes(stack)
        for name in names:
            if name not in hashes:
                raise UsageError(f"no such service: {name}")
        for name in names or list(hashes):
            click.echo(f"{name} {hashes[name]}")
        return
    if variable:
        for line in explain(stack, variable):
            click.echo(line)
    elif as_json:
        click.echo(render.to_json(stack_to_dict(stack)))
    else:
        click.echo(stack_to_yaml(stack), nl=False)
