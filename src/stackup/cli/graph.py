"""`stackup graph`: the dependency graph as text, Mermaid or Graphviz dot."""

from __future__ import annotations

import click

from stackup.cli.base import (
    Context,
    StackupCommand,
    check_names,
    complete_services,
    examples,
    global_options,
    handle_errors,
    offset_option,
)


@click.command(
    name="graph", cls=StackupCommand, short_help="Show the dependency graph.",
    epilog=examples(
        ("stackup graph", "each service, what it waits for, the start order"),
        ("stackup graph --format mermaid", "a diagram for a README"),
        ("stackup graph --format dot | dot -Tsvg > g.svg", "with Graphviz"),
    ),
)
@click.argument("services", nargs=-1, metavar="[SERVICE]...", shell_complete=complete_services)
@click.option(
    "--format", "fmt", type=click.Choice(["text", "mermaid", "dot"]), default="text",
    show_default=True, help="text for the terminal, mermaid or dot for a document.",
)
@offset_option
@global_options()
@click.pass_obj
@handle_errors
def command(
    obj: Context, services: tuple[str, ...], fmt: str, port_offset: int | str | None,
) -> None:
    """The dependency graph with its conditions and profiles (SERVICE…: those and
    what they depend on)."""
    from stackup.app import graph

    stack = obj.load(port_offset=port_offset)
    click.echo(graph.draw(stack, fmt, check_names(services)), nl=False)
