"""`stackup timeline`: the last start-up, as text or as an SVG waterfall chart."""

from __future__ import annotations

from pathlib import Path

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
)


@click.command(
    name="timeline", cls=StackupCommand, short_help="Show how the last start-up went.",
    epilog=examples(
        ("stackup timeline", "waiting, starting, ready per service; the critical chain"),
        ("stackup timeline --svg start.svg", "also a waterfall chart for a browser"),
    ),
)
@click.argument("services", nargs=-1, metavar="[SERVICE]...", shell_complete=complete_services)
@click.option(
    "--svg", "svg_file", type=click.Path(path_type=Path, dir_okay=False), default=None,
    help="Also write a waterfall chart to this SVG file.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@global_options()
@click.pass_obj
@handle_errors
def command(obj: Context, services: tuple[str, ...], svg_file: Path | None,
            as_json: bool) -> None:
    """When each service began waiting, was started and became ready, and the critical
    chain (SERVICE…: the chain of each)."""
    import time

    from stackup.app import timeline
    from stackup.diagrams import waterfall

    result = timeline.load(obj.state_dir, check_names(services))
    if svg_file is not None:
        svg_file.write_text(waterfall.render(timeline.chart(result, time.time())))
    if as_json:
        click.echo(render.to_json(result.to_json()))
    else:
        click.echo(render.timeline_text(result), nl=False)
    if svg_file is not None and not as_json:
        click.echo(f"wrote {svg_file}")
