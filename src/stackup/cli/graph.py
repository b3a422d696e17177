"""`stackup graph`: the dependency graph as text, Mermaid or Graphviz dot."""

from __future__ import annotations

import click

from stackup.cli.base import Context, check_names, handle_errors, offset_option


@click.command(name="graph")
@click.argument("services", nargs=-1)
@click.option(
    "--format", "fmt", type=click.Choice(["text", "mermaid", "dot"]), default="text",
    show_default=True, help="text for the terminal, mermaid or dot for a document.",
)
@offset_option
@click.pass_obj
@handle_errors
def command(
    obj: Context, services: tuple[str, ...], fmt: str, port_offset: int | None,
) -> None:
    """The dependency graph with its conditions and profiles (SERVICE…: those and
    what they depend on)."""
    from stackup.app import graph

    stack = obj.load(port_offset=port_offset)
    click.echo(graph.draw(stack, fmt, check_names(services)), nl=False)
