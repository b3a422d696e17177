"""`stackup init`: a starting stack.yaml from a Procfile, a compose file, a
process-compose file, or what the folder holds."""

from __future__ import annotations

from pathlib import Path

import click

from stackup.cli.base import (
    Context,
    StackupCommand,
    examples,
    global_options,
    handle_errors,
)


@click.command(
    name="init", cls=StackupCommand, short_help="Write a starting stack file.",
    epilog=examples(
        ("stackup init", "propose a stack from what the folder holds"),
        ("stackup init --from compose.yaml", "from a docker compose file"),
        ("stackup init --from Procfile --force", "from a Procfile, over stack.yaml"),
    ),
)
@click.option(
    "--from", "source", type=click.Path(path_type=Path, dir_okay=False), default=None,
    help="Read this Procfile, compose.yaml or process-compose.yaml.",
)
@click.option("--force", is_flag=True, help="Overwrite an existing stack file.")
@global_options()
@click.pass_obj
@handle_errors
def command(obj: Context, source: Path | None, force: bool) -> None:
    """Write a starting stack file (-f, default stack.yaml), from --from FILE or from
    what the folder holds (manage.py, package.json, a Procfile, a compose file)."""
    from stackup.app.init import init

    target = obj.new_file
    result = init(target, source, force)
    names = ", ".join(result.services)
    click.echo(f"wrote {target}: {len(result.services)} services ({names}) from {result.source}")
    if result.notes:
        click.echo(f"  {result.notes} notes on what did not map are comments in {target}")
    for path in result.written[1:]:
        click.echo(f"wrote {path} (the JSON Schema your editor reads)")
    for path in result.kept:
        click.echo(f"kept {path} as it was (`stackup schema > {path}` refreshes it)")
    if result.problem:
        click.echo(f"stackup: note: the new stack does not load yet: {result.problem}", err=True)
    else:
        click.echo("next: check it, then `stackup up`")
