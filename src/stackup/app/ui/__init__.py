"""`stackup ui`: a live terminal view of a running stack (textual), attached through
the supervisor's control socket. textual is imported only here, when the view opens:
`status`, `up` and the other verbs never pay for it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from stackup.errors import NotRunningError
from stackup.server import control

if TYPE_CHECKING:
    from stackup.app.ui.model import StackModel
    from stackup.config.model import Stack

Loader = Callable[[tuple[str, ...], int | None], "Stack"]


def ensure_running(state_dir: Path) -> None:
    if control.ping(state_dir) is None:
        raise NotRunningError(
            "the stack is not running (start it with `stackup up -d`, or `stackup up --ui`)"
        )


def attach(state_dir: Path, load: Loader | None = None) -> str:
    """Run the view until the user quits it or the supervisor ends; return the line
    to print then. `load` resolves the stack file (profiles, port offset) for the
    dependency graph."""
    ensure_running(state_dir)
    from stackup.app.ui.view import QUIT_MESSAGE, StackView

    app = StackView(state_dir, graph_text=graph_text(load) if load else None)
    return app.run() or QUIT_MESSAGE


def graph_text(load: Loader) -> Callable[[StackModel], str]:
    """The `g` key's graph: `stackup graph`'s table of the stack file, resolved with the
    profiles and port offset the stack runs with."""

    def draw(model: StackModel) -> str:
        from stackup.app import graph

        stack = load(tuple(model.profiles), model.port_offset)
        return graph.draw(stack, "text")

    return draw
