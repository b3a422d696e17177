"""What every command shares: the context (stack file, state folder), the error
handler that turns a StackupError into one line and its exit code, name checks and
the options several commands take."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from stackup import locations, settings
from stackup.errors import ExitCode, StackupError, UsageError
from stackup.naming import AUTO_OFFSET, SERVICE_NAME

if TYPE_CHECKING:
    from stackup.config.model import Stack
    from stackup.printer import Printer


class Context:
    """The stack file, project and colour choice of one command line. The global
    options may be given before the command or after it; whichever was parsed last
    wins, so the values are read only once the command runs."""

    def __init__(
        self, file: Path | None = None, project: str | None = None, no_color: bool = False
    ) -> None:
        self.file_given = file  # -f / --file / STACKUP_FILE; None: search for stack.yaml
        self.project = project or None  # -p / --project / STACKUP_PROJECT
        self.no_color_given = no_color

    @functools.cached_property
    def file(self) -> Path:
        if self.file_given is not None:
            return self.file_given
        found = locations.find_stack_file(Path.cwd())
        if found is None:
            raise UsageError(
                f"no {locations.DEFAULT_FILE} in {Path.cwd()} or any folder above it; "
                "name the stack file with -f FILE (or STACKUP_FILE)"
            )
        return found

    @property
    def new_file(self) -> Path:
        """The stack file a command is to write (`init`): -f, else stack.yaml here —
        never one found in a folder above."""
        return self.file_given if self.file_given is not None else Path(locations.DEFAULT_FILE)

    @property
    def no_color(self) -> bool:
        """--no-color, or NO_COLOR in the environment."""
        return self.no_color_given or settings.no_color()

    @functools.cached_property
    def state_dir(self) -> Path:
        """The project's state folder (found without loading the stack file), after
        checking that it is not another stack file's."""
        state_dir = locations.state_dir(self.file, self.project)
        _check_owner(state_dir, self.file, locations.project_name(self.file, self.project))
        return state_dir

    def load(self, profiles: tuple[str, ...] = (), port_offset: int | str | None = None,
             starting: bool = False) -> Stack:
        """The stack file, resolved, through the start-up cache (`config/cache.py`:
        pydantic is imported only when something the stack depends on has changed).
        `--port-offset auto` (for the commands that show the stack: `config`, `ports`,
        `export`, …): the offset of the running stack, else the one a start would
        choose now (nothing is claimed)."""
        from stackup.config import cache

        if port_offset == AUTO_OFFSET:
            from stackup.app import offsets

            running = offsets.running_offset(self.state_dir)
            if running is not None:
                return self.load(profiles, running)
            stack = self.load(profiles)
            return offsets.reload(stack, offsets.preview(stack)).stack
        assert not isinstance(port_offset, str)
        make_state_dir = None
        if starting:
            from stackup.server.statedir import ensure_private_dir as make_state_dir
        return cache.load(
            self.file, locations.state_dir(self.file, self.project), profiles=profiles,
            port_offset=port_offset, project=self.project, make_state_dir=make_state_dir,
        )

    def load_to_start(self, profiles: tuple[str, ...], port_offset: int | str | None) -> Stack:
        """The stack for `up` and `run`: with `auto`, at the offset it would otherwise
        run with; the start chooses the block under its locks (`app/offsets.py`)."""
        return self.load(profiles, None if port_offset == AUTO_OFFSET else port_offset,
                         starting=True)

    def offset(self, profiles: tuple[str, ...], port_offset: int | str | None) -> int | None:
        """--port-offset as a number (`auto` resolved as `load` does)."""
        if port_offset == AUTO_OFFSET:
            return self.load(profiles, port_offset).port_offset
        assert not isinstance(port_offset, str)
        return port_offset

    def printer(self, names: list[str]) -> Printer:
        from stackup.printer import Printer, colour_wanted

        return Printer(names, sys.stdout, colour_wanted(sys.stdout, self.no_color))


def _check_owner(state_dir: Path, file: Path, project: str | None) -> None:
    """Two stack files never share a state folder. Derived project names can meet
    (`ci.yaml` and `ci.yml`), and so can explicit ones: refuse rather than show or stop
    the other file's services. A recorded file that no longer exists (renamed) is no
    owner any more."""
    from stackup.server import statefile

    recorded = (statefile.read(state_dir) or {}).get("file")
    if not recorded or not os.path.exists(recorded) or not os.path.exists(file):
        return
    if os.path.samefile(recorded, file):
        return
    who = f"project {project}" if project else "the default project"
    raise UsageError(
        f"{state_dir} holds the state of {recorded} ({who}); "
        "give this stack file a project of its own with -p NAME"
    )


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
    from stackup.server import statefile

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


def validate_project(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value and not locations.PROJECT_NAME.match(value):
        raise click.BadParameter(
            f"{value!r}: use lowercase letters, digits, '-' and '_', "
            "starting with a letter or digit",
            ctx, param,
        )
    return value or None


class GlobalOption(click.Option):
    """A global option given after the command: it sets the same Context value as the
    group's option (listed under its own heading in the command's help)."""

    is_global = True


def _store(attr: str) -> Callable[[click.Context, click.Parameter, Any], Any]:
    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        if attr == "project":
            value = validate_project(ctx, param, value)
        if value is None or value is False:
            return value
        obj = ctx.find_object(Context)
        if obj is None:  # shell completion parses without running the group
            ctx.meta[f"stackup.{attr}"] = value
        else:
            setattr(obj, attr, value)
        return value

    return callback


def global_options(*, short_file: bool = True) -> Callable[[Any], Any]:
    """`-f/--file`, `-p/--project` and `--no-color` accepted after the command too.
    `logs` passes short_file=False: there `-f` is --follow, as in `tail -f`, so the
    stack file is `--file` after `logs` (or `-f` before it)."""
    file_decls = ("-f", "--file") if short_file else ("--file",)

    def decorate(fn: Any) -> Any:
        fn = click.option(
            "--no-color", cls=GlobalOption, is_flag=True, expose_value=False,
            callback=_store("no_color_given"), help="Plain output, no colours ($NO_COLOR).",
        )(fn)
        fn = click.option(
            "-p", "--project", cls=GlobalOption, metavar="NAME", expose_value=False,
            callback=_store("project"),
            help="Which copy of the stack ($STACKUP_PROJECT).",
        )(fn)
        return click.option(
            *file_decls, "file_given", cls=GlobalOption, metavar="FILE", expose_value=False,
            type=click.Path(path_type=Path), callback=_store("file_given"),
            help="The stack file ($STACKUP_FILE; default: stack.yaml here or above).",
        )(fn)

    return decorate


class StackupCommand(click.Command):
    """A verb: its own options first, then the global ones under their own heading."""

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        own: list[tuple[str, str]] = []
        shared: list[tuple[str, str]] = []
        for param in self.get_params(ctx):
            if not isinstance(param, click.Option):
                continue  # arguments are in the usage line and the text
            record = param.get_help_record(ctx)
            if record is not None:
                (shared if getattr(param, "is_global", False) else own).append(record)
        if own:
            with formatter.section("Options"):
                formatter.write_dl(own)
        if shared:
            with formatter.section("Global options (also before the command)"):
                formatter.write_dl(shared)


def examples(*lines: tuple[str, str]) -> str:
    """An `Examples:` epilog: command and what it does, kept as written (`\\b`)."""
    width = max(len(cmd) for cmd, _ in lines)
    body = "\n".join(f"  {cmd.ljust(width)}  {what}" for cmd, what in lines)
    return f"\b\nExamples:\n{body}"


def complete_services(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[str]:
    """Shell completion of service names: those of the running (or last) supervisor,
    else the stack file's keys (read as plain YAML: fast, and a file that does not
    load completes what it can). Never fails: no completion is better than a trace."""
    try:
        names = _service_names(ctx)
    except Exception:  # completion must never print a traceback
        return []
    already = set(ctx.params.get(param.name or "", ()) or ())
    return [n for n in names if n.startswith(incomplete) and n not in already]


def _service_names(ctx: click.Context) -> list[str]:
    root = ctx.find_root()
    file = ctx.meta.get("stackup.file_given") or root.params.get("file")
    project = ctx.meta.get("stackup.project") or root.params.get("project")
    obj = Context(file, project)
    from stackup.server import statefile

    state = statefile.read(locations.state_dir(obj.file, obj.project))
    if state and state.get("services"):
        return list(state["services"])
    import yaml

    data = yaml.safe_load(obj.file.read_text())
    services = data.get("services") if isinstance(data, dict) else None
    return [str(n) for n in services] if isinstance(services, dict) else []


profile_option = click.option(
    "--profile", "profiles", multiple=True, metavar="NAME",
    help="Activate profile NAME (repeatable).",
)
class PortOffsetType(click.ParamType):
    """`--port-offset N` (a whole number, negative too) or `--port-offset auto`."""

    name = "offset"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, int) or value == AUTO_OFFSET:
            return value
        text = str(value).strip()
        if text.lower() == AUTO_OFFSET:
            return AUTO_OFFSET
        try:
            return int(text)
        except ValueError:
            self.fail(f"{value!r}: give a whole number or `auto`", param, ctx)


offset_option = click.option(
    "--port-offset", type=PortOffsetType(), default=None, metavar="N|auto",
    help="Add N to every port of the stack; `auto`: a free block (a running stack's own).",
)
