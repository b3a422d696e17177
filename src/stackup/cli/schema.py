"""`stackup schema`: the JSON Schema of the stack file, for editors."""

from __future__ import annotations

import click

from stackup import render
from stackup.cli.base import handle_errors


@click.command(name="schema")
@handle_errors
def command() -> None:
    """Print the JSON Schema of stack.yaml (save it as stack.schema.json for your editor)."""
    from stackup.config.json_schema import stack_json_schema

    click.echo(render.to_json(stack_json_schema()))
