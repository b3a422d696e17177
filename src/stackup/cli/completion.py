"""`stackup completion SHELL`: the script that makes a shell complete stackup's
commands, options and the stack's service names (click's own mechanism)."""

from __future__ import annotations

import click
from click.shell_completion import get_completion_class

from stackup.cli.base import StackupCommand, examples

SHELLS = ("bash", "zsh", "fish")
COMPLETE_VAR = "_STACKUP_COMPLETE"  # what the script sets when it asks for completions


@click.command(
    name="completion", cls=StackupCommand, short_help="Print a shell completion script.",
    epilog=examples(
        ('eval "$(stackup completion bash)"', "in ~/.bashrc"),
        ('eval "$(stackup completion zsh)"', "in ~/.zshrc"),
        ("stackup completion fish | source", "in ~/.config/fish/config.fish"),
    ),
)
@click.argument("shell", type=click.Choice(SHELLS))
def command(shell: str) -> None:
    """Print the completion script for SHELL (bash, zsh or fish).

    Load it from your shell's start-up file (below); then Tab completes commands,
    options and the service names of the stack in the current folder.
    """
    from stackup.cli import main

    complete = get_completion_class(shell)
    assert complete is not None  # every name in SHELLS is one of click's
    click.echo(complete(main, {}, "stackup", COMPLETE_VAR).source())
