"""`stackup export`: the stack in another tool's format."""

from __future__ import annotations

from pathlib import Path

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
    profile_option,
)


def _complete_formats(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    from stackup.export import FORMATS

    return [f for f in FORMATS if f.startswith(incomplete)]


@click.command(
    name="export", cls=StackupCommand, short_help="Write the stack in another tool's format.",
    epilog=examples(
        ("stackup export procfile > Procfile", "for honcho, foreman, overmind"),
        ("stackup export compose -o deploy/", "compose.yaml (and env files) into deploy/"),
        ("stackup export systemd -o units/", "one unit per service, and a target"),
        ("stackup export env backend", "the environment backend gets, as KEY=value"),
    ),
)
@click.argument("fmt", metavar="FORMAT", shell_complete=_complete_formats)
@click.argument("services", nargs=-1, metavar="[SERVICE]...", shell_complete=complete_services)
@click.option(
    "-o", "--output", type=click.Path(path_type=Path, file_okay=False), default=None,
    metavar="DIR", help="Write the files into DIR instead of printing them.",
)
@click.option("--force", is_flag=True, help="With -o: overwrite existing files.")
@click.option(
    "--listen", multiple=True, metavar="[HOST:]PORT",
    help="nginx: where the proxy listens (repeatable; default 80).",
)
@profile_option
@offset_option
@global_options()
@click.pass_obj
@handle_errors
def command(
    obj: Context, fmt: str, services: tuple[str, ...], output: Path | None, force: bool,
    listen: tuple[str, ...], profiles: tuple[str, ...], port_offset: int | str | None,
) -> None:
    """Export the stack (or the SERVICEs) as FORMAT: procfile, compose, systemd, env,
    kubernetes or nginx (a proxy by the services' routes).

    Secret values are never written: each format refers to the variable instead.
    One file goes to stdout, several under `# ==> name <==` headers; -o DIR writes
    them into DIR (never over the stack's own files, nor others without --force).
    """
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
