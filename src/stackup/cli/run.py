"""`stackup run`: bring the stack up, run a command, take it down."""

from __future__ import annotations

import sys

import click

from stackup.cli.base import (
    Context,
    StackupCommand,
    examples,
    global_options,
    handle_errors,
    offset_option,
    profile_option,
)


@click.command(
    name="run", cls=StackupCommand, short_help="Bring the stack up, run a command, take it down.",
    # Options end at the first word of CMD: `stackup run pytest -p no:cacheprovider`
    # passes -p to pytest, never to stackup.
    context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False},
    epilog=examples(
        ("stackup run -- pytest -x", "the tests against a ready stack (CI)"),
        ("stackup run --profile voice -- ./e2e.sh", "with a profile's services too"),
        ("stackup run -- sh -c 'curl localhost:$API_PORT/'", "a shell line, its ports"),
        ("stackup -p job1 run --port-offset auto -- pytest", "beside other jobs, free ports"),
    ),
)
@click.argument("command", nargs=-1, type=click.UNPROCESSED, metavar="[--] CMD [ARG]...")
@profile_option
@offset_option
@global_options()
@click.pass_obj
@handle_errors
def command(
    obj: Context, command: tuple[str, ...], profiles: tuple[str, ...],
    port_offset: int | str | None,
) -> None:
    """Bring the stack up in the background, run CMD with the stack's environment
    (every <NAME>_PORT and the stack's env), take the stack down again and exit with
    CMD's exit code. A stack that was already running (`up -d`) is used and left up.

    Everything after `--` (or from the first word that is not an option of `run`)
    is CMD and its arguments, never stackup's options. CMD is looked up (PATH, or
    the file) before the stack starts.

    Exit codes: CMD's own; 125 the stack did not become ready, 126 CMD cannot be
    run, 127 CMD not found (as `docker run`); 2 a bad stack file or option.
    """
    from stackup.app import run as run_app

    obj.state_dir  # noqa: B018  # refuse another stack file's state before loading
    stack = obj.load_to_start(profiles, port_offset)
    sys.exit(run_app.run(stack, list(command), profiles, port_offset))
