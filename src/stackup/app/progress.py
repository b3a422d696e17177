"""Live start-up progress for `up -d` and `restart`: one line per service with its
state and elapsed time (a rich live view on a terminal, plain lines otherwise)."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path
from typing import Any, TextIO

from stackup.render import plural
from stackup.server import control, statefile
from stackup.states import READY_STATES


class Progress:
    def __init__(self, stream: TextIO | None = None, live: bool | None = None) -> None:
        self.stream = stream or sys.stderr
        self.live = self.stream.isatty() if live is None else live
        self.began = time.time()
        self._seen: dict[str, str] = {}
        self._rows: dict[str, tuple[str, str]] = {}
        self._live: Any = None

    def __enter__(self) -> Progress:
        if self.live:
            from rich.console import Console
            from rich.live import Live

            self._live = Live(
                self._render(), console=Console(file=self.stream), transient=True,
                refresh_per_second=10,
            )
            self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.__exit__(*exc)

    def update(self, selection: list[str], services: dict[str, dict[str, Any]]) -> None:
        now = time.time()
        for name in selection:
            rec = services.get(name)
            if not rec:
                continue
            state = rec.get("state", "?")
            since = rec.get("ready_at") if state in READY_STATES else rec.get("started_at")
            start = rec.get("started_at")
            if state not in READY_STATES and start and start < self.began:
                start = None  # left from an earlier start: this one has not begun yet
            if state in READY_STATES and start and since:
                elapsed = f"{since - start:.2f}s"
            else:
                elapsed = f"{now - (start or self.began):.1f}s"
            self._rows[name] = (state, elapsed)
            if state == "stopped" and name not in self._seen:
                continue  # not queued yet: nothing to say
            if not self.live and self._seen.get(name) != state:
                self._seen[name] = state
                self.stream.write(f"{name}: {state} ({elapsed})\n")
                self.stream.flush()
        if self._live is not None:
            self._live.update(self._render())

    def _render(self) -> Any:
        from rich.table import Table

        table = Table(box=None, show_header=False, pad_edge=False)
        for name, (state, elapsed) in self._rows.items():
            mark = "[green]✔[/]" if state in READY_STATES else "[yellow]…[/]"
            table.add_row(mark, name, state, elapsed)
        return table


def request_with_progress(
    state_dir: Path, payload: dict[str, Any], shown: list[str], progress: Progress
) -> dict[str, Any]:
    """Send a request answered only when the work is done (start, restart) and show
    the services' progress from the state file meanwhile."""
    result: dict[str, Any] = {}

    def ask() -> None:
        try:
            result.update(control.request(state_dir, payload, None))
        except (control.NotRunning, OSError, ValueError) as exc:
            result.update({"ok": False, "error": f"lost the supervisor: {exc}"})
            state = statefile.read(state_dir)
            if state and state.get("failure"):
                result["failure"] = state["failure"]

    worker = threading.Thread(target=ask, daemon=True)
    worker.start()
    with progress:
        while True:
            state = statefile.read(state_dir)
            if state:
                progress.update(shown, state.get("services", {}))
            if not worker.is_alive():
                break
            worker.join(0.05)
    return result


def failure_text(failure: dict[str, Any]) -> str:
    """The one-line reason, then the service's last lines (as the foreground prints them)."""
    service = failure.get("service", "?")
    text = f"{service} {failure.get('reason', 'failed')}"
    tail = failure.get("tail") or []
    if tail:
        text += f"\nstackup: last {plural(len(tail), 'line')} of {service}:\n"
        text += "\n".join(f"  {service} | {line}" for line in tail)
    return text
