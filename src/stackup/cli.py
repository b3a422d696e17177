"""The command line: parse options, call one use case, render its result, exit.

No logic lives here; errors from below are StackupError subclasses that carry their
one-line message and exit code. Imports of the heavier layers happen inside the
commands, so `status` and `down` start fast and never need the stack file to load.
"""

from __future__ import annotations

import functools
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from stackup import __version__, render
from stackup.errors import ExitCode, StackupError, UsageError

if TYPE_CHECKING:
    from stackup.config.model import Stack
    from stackup.printer import Printer

SERVICE_NAME = re.compile(r"^[a-z][a-z0-9_-]*$")


class Context:
    def __init__(self, file: Path, no_color: bool) -> None:
        self.file = file
        self._no_color = no_color

    @property
    def no_color(self) -> bool:
        """--no-color, or NO_COLOR in the environment (read only by commands that print
        service output: `status` must not pay for importing the settings machinery)."""
        from stackup.settings import Settings

        return self._no_color or Settings.from_env().no_color

    @property
    def state_dir(self) -> Path:
        """`.stackup/` beside the stack file: found without loading the file."""
        return self.file.resolve().parent / ".stackup"

    def load(self, profiles: tuple[str, ...] = (), port_offset: int | None = None) -> Stack:
        from stackup.config import load_stack

        return load_stack(self.file, profiles=profiles, port_offset=port_offset)

    def printer(self, names: list[str]) -> Printer:
        from stackup.printer import Printer, colour_wanted

        return Printer(names, sys.stdout, colour_wanted(sys.stdout, self.no_color))


def handle_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn a StackupError into its one-line message and exit code; never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except StackupError as err:
            click.echo(f"stackup: {err}", err=True)
            sys.exit(int(err.exit_code))
        except OSError as err:
            # The runtime folder or a file in it is unusable (a file where a folder
            # should be, no permission, disk full): say which, in one line.
            where = f": {err.filename}" if err.filename else ""
            click.echo(f"stackup: {err.strerror or err}{where}", err=True)
            sys.exit(int(ExitCode.SERVICE_FAILED))
        except KeyboardInterrupt:
            sys.exit(130)

    return wrapper


def check_names(names: tuple[str, ...]) -> list[str]:
    for name in names:
        if not SERVICE_NAME.match(name):
            raise UsageError(f"no such service: {name!r}")
    return list(names)


def known_services(obj: Context) -> list[str]:
    """The services `status`/`down`/`logs`/`restart` can name: those the running (or
    last) supervisor knew — so an edited or broken stack file does not matter — else
    those of the stack file."""
    from stackup import statefile

    state = statefile.read(obj.state_dir)
    if state and state.get("services"):
        return list(state["services"])
    return list(obj.load().services)


def check_known(obj: Context, names: tuple[str, ...]) -> list[str]:
    checked = check_names(names)
    if checked:
        known = known_services(obj)
        for name in checked:
            if name not in known:
                raise UsageError(f"no such service: {name}")
    return checked


profile_option = click.option(
    "--profile", "profiles", multiple=True, help="Activate a profile (repeatable)."
)
offset_option = click.option(
    "--port-offset", type=int, default=None, help="Add this to every port of the stack."
)


class StackupGroup(click.Group):
    """click's usage errors in stackup's style: one `stackup:` line, exit 2."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        kwargs["standalone_mode"] = False
        try:
            code = super().main(*args, **kwargs)
        except click.UsageError as err:
            where = f"stackup {err.ctx.command_path.partition(' ')[2]}".strip() if err.ctx else ""
            hint = f" (see `{where} --help`)" if where else ""
            click.echo(f"stackup: {err.format_message()}{hint}", err=True)
            sys.exit(int(ExitCode.USAGE))
        except click.ClickException as err:
            err.show()
            sys.exit(err.exit_code)
        except click.exceptions.Abort:
            sys.exit(130)
        sys.exit(code if isinstance(code, int) else 0)


@click.group(cls=StackupGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "-f", "--file", "file", type=click.Path(path_type=Path), default=Path("stack.yaml"),
    envvar="STACKUP_FILE", show_default=True, help="The stack file ($STACKUP_FILE).",
)
@click.option("--no-color", is_flag=True, help="Plain output, no colours ($NO_COLOR).")
@click.version_option(__version__, prog_name="stackup")
@click.pass_context
def main(ctx: click.Context, file: Path, no_color: bool) -> None:
    """Bring a development stack up in dependency order, healthy, with one command."""
    ctx.obj = Context(file, no_color)


@main.command()
@click.argument("services", nargs=-1)
@click.option("-d", "--detach", is_flag=True, help="Run in the background; return once ready.")
@profile_option
@offset_option
@click.pass_obj
@handle_errors
def up(
    obj: Context, services: tuple[str, ...], detach: bool, profiles: tuple[str, ...],
    port_offset: int | None,
) -> None:
    """Start the stack (or SERVICES and what they depend on)."""
    names = check_names(services)
    stack = obj.load(profiles, port_offset)
    if detach:
        from stackup.app import detached, portview
        from stackup.app.progress import Progress

        try:
            selection = detached.up_detached(stack, names, profiles, port_offset, Progress())
        except KeyboardInterrupt:
            interrupted = StackupError(
                "interrupted; the supervisor goes on starting the stack in the background"
                " (`stackup status` to watch, `stackup down` to stop it)"
            )
            interrupted.exit_code = 130  # type: ignore[assignment]  # as a shell reports SIGINT
            raise interrupted from None
        click.echo(render.ready_table(portview.port_rows(stack), selection), nl=False)
        return
    from stackup.app import foreground
    from stackup.printer import colour_wanted

    colour = colour_wanted(sys.stdout, obj.no_color)
    sys.exit(int(foreground.up_foreground(stack, names, colour=colour)))


@main.command()
@click.argument("services", nargs=-1)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
@handle_errors
def status(obj: Context, services: tuple[str, ...], as_json: bool) -> None:
    """Show each service's state, pid, port, health, uptime and restarts."""
    from stackup.app import status as status_app

    def defaults() -> dict[str, Any]:
        return status_app.defaults_from_stack(obj.load())

    result = status_app.collect(obj.state_dir, check_names(services), defaults)
    click.echo(render.to_json(result) if as_json else render.status_table(result), nl=False)
    if as_json:
        click.echo()
    sys.exit(ExitCode.OK if status_app.all_ready(result) else ExitCode.SERVICE_FAILED)


@main.command()
@click.argument("services", nargs=-1)
@click.pass_obj
@handle_errors
def down(obj: Context, services: tuple[str, ...]) -> None:
    """Stop the stack (or SERVICES), dependents first; leave nothing behind."""
    from stackup.app import down as down_app

    for note in down_app.down(obj.state_dir, check_known(obj, services)):
        click.echo(f"stackup: {note}", err=True)


@main.command()
@click.argument("services", nargs=-1)
@click.option("-f", "--follow", is_flag=True, help="Keep printing new lines.")
@click.option(
    "-n", "--lines", "count", type=click.IntRange(min=0), default=None,
    help="Last N lines of each.",
)
@click.pass_obj
@handle_errors
def logs(obj: Context, services: tuple[str, ...], follow: bool, count: int | None) -> None:
    """Print the services' output from their log files."""
    from stackup.app import logs as logs_app

    names = check_known(obj, services) or known_services(obj)
    printer = obj.printer(names)
    log_dir = obj.state_dir / "logs"
    reached = logs_app.sizes(log_dir, names)
    logs_app.show(log_dir, names, printer, count, reached)
    if follow:
        try:
            logs_app.follow(log_dir, names, printer, reached)
        except KeyboardInterrupt:
            return


@main.command()
@click.argument("services", nargs=-1, required=True)
@click.pass_obj
@handle_errors
def restart(obj: Context, services: tuple[str, ...]) -> None:
    """Stop SERVICES and start them again, waiting until they are ready."""
    from stackup.app import restart as restart_app
    from stackup.app.progress import Progress

    names = check_known(obj, services)
    restart_app.restart(obj.state_dir, names, Progress())
    click.echo(f"restarted {', '.join(names)}")


@main.command(context_settings={"ignore_unknown_options": True})
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
@profile_option
@offset_option
@click.pass_obj
@handle_errors
def run(
    obj: Context, command: tuple[str, ...], profiles: tuple[str, ...], port_offset: int | None
) -> None:
    """Bring the stack up, run COMMAND with its environment, take it down again."""
    from stackup.app import run as run_app

    stack = obj.load(profiles, port_offset)
    sys.exit(run_app.run(stack, list(command), profiles, port_offset))


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--explain", "variable", default=None, help="Say where VAR's value comes from.")
@profile_option
@offset_option
@click.pass_obj
@handle_errors
def config(
    obj: Context, as_json: bool, variable: str | None, profiles: tuple[str, ...],
    port_offset: int | None,
) -> None:
    """Print the resolved stack (secrets masked)."""
    from stackup.config.explain import explain, stack_to_dict, stack_to_yaml

    stack = obj.load(profiles, port_offset)
    if variable:
        for line in explain(stack, variable):
            click.echo(line)
    elif as_json:
        click.echo(render.to_json(stack_to_dict(stack)))
    else:
        click.echo(stack_to_yaml(stack), nl=False)


@main.command(name="export")
@click.argument("fmt", metavar="FORMAT")
@click.argument("services", nargs=-1)
@click.option(
    "-o", "--output", type=click.Path(path_type=Path, file_okay=False), default=None,
    help="Write the files into this folder instead of printing them.",
)
@click.option("--force", is_flag=True, help="With -o: overwrite existing files.")
@profile_option
@offset_option
@click.pass_obj
@handle_errors
def export_cmd(
    obj: Context, fmt: str, services: tuple[str, ...], output: Path | None, force: bool,
    profiles: tuple[str, ...], port_offset: int | None,
) -> None:
    """Export the stack as FORMAT: procfile, compose, systemd or env (secrets masked)."""
    from stackup import graph
    from stackup.app import exporting
    from stackup.export import export

    stack = obj.load(profiles, port_offset)
    files = export(stack, fmt, graph.select(stack, check_names(services)))
    if output is None:
        click.echo(exporting.as_text(files), nl=False)
        return
    for path in exporting.write(stack, files, output, force):
        click.echo(f"wrote {path}")


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--markdown", is_flag=True, help="Print a PORTS.md table.")
@profile_option
@offset_option
@click.pass_obj
@handle_errors
def ports(
    obj: Context, as_json: bool, markdown: bool, profiles: tuple[str, ...],
    port_offset: int | None,
) -> None:
    """The stack's port table, with who holds each port now."""
    from stackup.app import portview

    stack = obj.load(profiles, port_offset)
    rows = portview.port_rows(stack)
    if as_json:
        click.echo(render.to_json([r.to_json() for r in rows]))
    elif markdown:
        click.echo(render.ports_markdown(rows, stack.name), nl=False)
    else:
        click.echo(render.ports_table(rows), nl=False)
