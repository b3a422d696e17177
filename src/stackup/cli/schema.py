"""`stackup schema`: the JSON Schema of the stack file, for editors."""

from __future__ import annotations

import click

from stackup import render
from stackup.cli.base import (
    StackupCommand,
    examples,
    global_options,
    handle_errors,
)


@click.command(
    name="schema", cls=StackupCommand, short_help="Print the JSON Schema of stack.yaml.",
    epilog=examples(
        ("stackup schema > stack.schema.json", "for editors: see the README's editor setup"),
    ),
)
@global_options()
@handle_errors
def command() -> None:
    """Print the JSON Schema of stack.yaml (save it as stack.schema.json for your editor)."""
    from stackup.config.json_schema import stack_json_schema

    click.echo(render.to_json(stack_json_schema()))
