"""`stackup up`: start the stack in the foreground, or detached with -d."""

from __future__ import annotations

import sys

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
from stackup.cli.ui import attach, needs_terminal
from stackup.errors import StackupError, UsageError


@click.command(
    name="up", cls=StackupCommand, short_help="Start the stack (or some services).",
    epilog=examples(
        ("stackup up", "the whole stack in the foreground; Ctrl-C stops it"),
        ("stackup up backend", "backend and what it depends on"),
        ("stackup up -d", "in the background; returns once every service is ready"),
        ("stackup up --ui", "in the background, then the live view (q leaves it running)"),
        ("stackup up --profile voice", "also the services of the profile voice"),
        ("DB_PORT=15500 stackup up", "move a port that the file reads from a variable"),
        ("stackup -p two up -d --port-offset 100", "a second copy beside the first"),
        ("stackup -p ci up -d --port-offset auto", "a copy on a free block of ports"),
        ("stackup up -d", "again after an edit: recreates what changed, starts what is new"),
        ("stackup up -d --force-recreate backend", "stop backend and start it afresh"),
    ),
)
@click.argument("services", nargs=-1, metavar="[SERVICE]...", shell_complete=complete_services)
@click.option("-d", "--detach", is_flag=True, help="Run in the background; return once ready.")
@click.option(
    "--ui", is_flag=True, callback=needs_terminal,
    help="As -d, then open the live view (`stackup ui`).",
)
@click.option(
    "--fresh", is_flag=True,
    help="Stop what a supervisor that died left running instead of adopting it.",
)
@click.option(
    "--force-recreate", is_flag=True,
    help="With -d: recreate every selected service, changed or not.",
)
@click.option(
    "--no-recreate", is_flag=True,
    help="With -d: only start what is not running; leave changed services as they run.",
)
@click.option(
    "--no-watch", is_flag=True, help="Do not restart services when their watch: files change.",
)
@click.option(
    "--no-reload", is_flag=True, help="Foreground: do not apply edits of the stack file.",
)
@profile_option
@offset_option
@global_options()
@click.pass_obj
@handle_errors
def command(
    obj: Context, services: tuple[str, ...], detach: bool, ui: bool, fresh: bool,
    force_recreate: bool, no_recreate: bool, no_watch: bool, no_reload: bool,
    profiles: tuple[str, ...], port_offset: int | str | None,
) -> None:
    """Start the stack, or the SERVICEs and what they depend on, in dependency order.

    Each service starts once what it depends on is ready. In the foreground every
    service's output is shown with its name; Ctrl-C stops everything in reverse
    order (twice: kill at once). With -d a supervisor keeps the stack running in
    the background: `stackup status`, `logs`, `restart` and `down` reach it.

    Run `up -d` again after editing the stack file and the running stack follows
    it: services whose definition changed are recreated, new ones started, removed
    ones stopped; the rest keep running untouched. A foreground `up` applies a
    saved edit by itself (--no-reload: not). Services with `watch:` restart when
    their files change (--no-watch: not).

    Exit codes: 0 stopped cleanly (or, with -d, ready), 1 a service failed,
    2 a bad stack file or option, 3 a port is held by another process,
    4 the stack already runs, 130 -d interrupted while waiting.
    """
    names = check_names(services)
    detach = detach or ui  # the view attaches to a detached stack
    if force_recreate and no_recreate:
        raise UsageError("--force-recreate and --no-recreate exclude each other")
    if (force_recreate or no_recreate) and not detach:
        raise UsageError(
            "--force-recreate and --no-recreate go with -d (a foreground `up` starts"
            " everything itself)"
        )
    if no_reload and detach:
        raise UsageError("--no-reload is for a foreground `up` (`up -d` applies the file when run)")
    recreate = "force" if force_recreate else "never" if no_recreate else "changed"
    obj.state_dir  # noqa: B018  # refuse another stack file's state before loading
    stack = obj.load_to_start(profiles, port_offset)
    if detach:
        from stackup.app import detached, portview
        from stackup.app.progress import Progress

        try:
            started = detached.up_detached(
                stack, names, profiles, port_offset, Progress(), fresh=fresh,
                recreate=recreate, watch=not no_watch,
            )
        except KeyboardInterrupt:
            interrupted = StackupError(
                "interrupted; the supervisor goes on starting the stack in the background"
                " (`stackup status` to watch, `stackup down` to stop it)"
            )
            interrupted.exit_code = 130  # type: ignore[assignment]  # as a shell reports SIGINT
            raise interrupted from None
        table = render.ready_table(
            portview.port_rows(started.stack), started.selection, started.stack.port_offset
        )
        click.echo(table, nl=False)
        if ui:
            attach(obj)
        return
    from stackup.app import foreground
    from stackup.printer import colour_wanted

    colour = colour_wanted(sys.stdout, obj.no_color)
    reload = None if no_reload else (lambda: obj.load(profiles, port_offset))
    sys.exit(int(foreground.up_foreground(
        stack, names, colour=colour, fresh=fresh, port_offset=port_offset,
        watch=not no_watch, reload=reload,
    )))
