"""`stackup export`: the stack in another tool's format."""

from __future__ import annotations

from pathlib import Path

import click

from stackup.cli.base import Context, check_names, handle_errors, offset_option, profile_option


@click.command(name="export")
@click.argument("fmt", metavar="FORMAT")
@click.argument("services", nargs=-1)
@click.option(
    "-o", "--output", type=click.Path(path_type=Path, file_okay=False), default=None,
    help="Write the files into this folder instead of printing them.",
)
@click.option("--force", is_flag=True, help="With -o: overwrite existing files.")
@click.option(
    "--listen", multiple=True, metavar="[HOST:]PORT",
    help="nginx: where the proxy listens (repeatable; default 80).",
)
@profile_option
@offset_option
@click.pass_obj
@handle_errors
def command(
    obj: Context, fmt: str, services: tuple[str, ...], output: Path | None, force: bool,
    listen: tuple[str, ...], profiles: tuple[str, ...], port_offset: int | None,
) -> None:
    """Export the stack as FORMAT: procfile, compose, systemd, env (secrets masked) or
    nginx (a proxy by the services' routes)."""
    from stackup.app import exporting
    from stackup.config import graph
    from stackup.export import export

    stack = obj.load(profiles, port_offset)
    files = export(stack, fmt, graph.select(stack, check_names(services)), listen=listen)
    if output is None:
        click.echo(exporting.as_text(files), nl=False)
        return
    for path in exporting.write(stack, files, output, force):
        click.echo(f"wrote {path}")
