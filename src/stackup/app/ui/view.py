"""`stackup ui`: the live view of a running stack, a textual app.

It is a client of the supervisor's `watch` stream and nothing else: a worker thread
reads the stream (`feed.pump`) and hands it over in batches; the table follows the
records the stream sends with each state change, the log pane the output lines;
restart, stop and start are the control socket's own requests, as the CLI sends them.
The only thing it measures itself is CPU and memory (psutil, once a second, on a
worker thread), of the process trees whose pids the stream names.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from rich.highlighter import Highlighter
from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.timer import Timer
from textual.widgets import DataTable, Footer, Input, Log, Static
from textual.worker import get_current_worker

from stackup.app.ui import feed
from stackup.app.ui.model import ALL, NOTE, SCROLLBACK, STATE_STYLES, LogBuffer, Row, StackModel
from stackup.app.ui.usage import TreeUsage
from stackup.errors import NotRunningError, StackupError
from stackup.server import control

SAMPLE_EVERY = 1.0  # seconds between CPU/memory samples (and uptime updates)
FILTER_DELAY = 0.15  # seconds of no typing before the filter applies
# The check's reason, the widest, goes last: a narrow terminal cuts only its end.
COLUMNS = ("SERVICE", "STATE", "PID", "PORT", "URL", "UPTIME", "RESTARTS", "CPU", "MEM",
           "HEALTH")
# rich colours for the merged pane's `name |` prefixes, in the order of the services
# (the terminal printer's palette, by name).
PREFIX_COLOURS = ("cyan", "yellow", "green", "magenta", "blue",
                  "bold cyan", "bold yellow", "bold green", "bold magenta", "bold blue")
QUIT_MESSAGE = "the view closed; the stack keeps running (`stackup down` stops it)"
GONE_MESSAGE = "the supervisor ended (the stack is down); the view closed"

GraphText = Callable[[StackModel], str]


class PrefixHighlighter(Highlighter):
    """Colours each service's name in the merged pane, and stackup's own lines."""

    _prefix = re.compile(r"^\d\d:\d\d:\d\d (\S+)\s* \| ")

    def __init__(self) -> None:
        self.colours: dict[str, str] = {}

    def highlight(self, text: Text) -> None:
        plain = text.plain
        match = self._prefix.match(plain)
        if match:
            text.stylize(self.colours.get(match.group(1), "bold"), *match.span(1))
        start = match.end() if match else 0
        if plain.startswith(NOTE, start):
            text.stylize("bold", start, start + len(NOTE))


class GraphScreen(ModalScreen[None]):
    """The dependency graph (`stackup graph`'s table), over the view."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,g,q", "dismiss", "Close"),
    ]
    DEFAULT_CSS = """
    GraphScreen { align: center middle; }
    GraphScreen > VerticalScroll {
        width: 90%; height: 80%; border: round $primary; background: $surface;
        padding: 0 1;
    }
    """

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def compose(self) -> ComposeResult:
        scroll = VerticalScroll()
        scroll.border_title = "dependency graph (esc closes)"
        with scroll:
            yield Static(Text(self.text), id="graph")

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)


class StackView(App[str]):
    """The table of services over the log pane, a filter line and the keys' footer."""

    TITLE = "stackup"
    CSS = """
    #title { height: 1; padding: 0 1; background: $panel; }
    #services { height: auto; max-height: 45%; }
    #detail { height: 1; padding: 0 1; color: $text-muted; }
    #log { height: 1fr; border: round $primary-darken-2; }
    #filter { height: 3; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "control('restart')", "Restart"),
        Binding("x", "control('stop')", "Stop"),
        Binding("s", "control('start')", "Start"),
        Binding("a", "show_all", "All logs"),
        Binding("slash", "filter", "Filter", priority=True),
        Binding("f", "follow", "Follow"),
        Binding("c", "copy_view", "Copy log"),
        Binding("w", "write_view", "Save log"),
        Binding("g", "graph", "Graph"),
        Binding("q", "quit_view", "Quit"),
    ]

    def __init__(self, state_dir: Path, graph_text: GraphText | None = None,
                 save_dir: Path | None = None) -> None:
        super().__init__()
        self.state_dir = state_dir
        self.graph_text = graph_text
        self.save_dir = save_dir or Path.cwd()
        self.model = StackModel()
        self.buffer = LogBuffer()
        self.usage: dict[str, tuple[float, int]] = {}
        self.highlighter = PrefixHighlighter()
        self.dropped = 0  # lines the supervisor left out because the view fell behind
        self._leaving = threading.Event()
        self._roots: dict[str, tuple[int, float | None]] = {}  # read by the sampler
        self._shown: list[str] = []  # the table's rows, in order
        self._filter_timer: Timer | None = None

    # ---- layout -----------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        # The widgets are kept, not queried: a batch or a sample that arrives while
        # the view closes (its widgets already removed) then still finds them.
        self.title_line = Static("connecting to the supervisor…", id="title")
        self.table: DataTable[Any] = DataTable(id="services", cursor_type="row",
                                               zebra_stripes=True)
        self.detail = Static("", id="detail")
        self.log_pane = Log(id="log", max_lines=SCROLLBACK, highlight=True)
        self.log_pane.highlighter = self.highlighter
        self.filter_field = Input(
            placeholder="filter: type to show only the lines with this text "
            "(enter: back to the log, esc: clear)", id="filter",
        )
        yield from (self.title_line, self.table, self.detail, self.log_pane,
                    self.filter_field, Footer())

    def on_mount(self) -> None:
        for label in COLUMNS:
            self.table.add_column(label, key=label)
        self._describe_pane()
        self._read_stream()
        self._sample_usage()
        self.table.focus()

    def on_unmount(self) -> None:
        self._leaving.set()

    @property
    def selected(self) -> str:
        """The service whose output the pane shows, or ALL."""
        return self.buffer.service

    # ---- the stream -------------------------------------------------------------------

    class Batch(Message):
        """Messages of the stream, from the reading thread; `applied` is set once the
        view has shown them (the thread waits for it: a view that falls behind slows
        the reading, and the supervisor then leaves lines out rather than queue them)."""

        def __init__(self, messages: feed.Batch, applied: threading.Event) -> None:
            super().__init__()
            self.messages = messages
            self.applied = applied

    class Usage(Message):
        def __init__(self, usage: dict[str, tuple[float, int]]) -> None:
            super().__init__()
            self.usage = usage

    class StreamEnded(Message):
        pass

    @work(thread=True, exclusive=True, group="stream")
    def _read_stream(self) -> None:
        worker = get_current_worker()
        applied = threading.Event()
        applied.set()

        def stopped() -> bool:
            return worker.is_cancelled or self._leaving.is_set()

        def deliver(batch: feed.Batch) -> None:
            while not applied.wait(0.1):  # never blocks past the view's end
                if stopped():
                    return
            applied.clear()
            self.post_message(self.Batch(batch, applied))

        if feed.pump(self.state_dir, deliver, stopped):
            self.post_message(self.StreamEnded())

    def on_stack_view_batch(self, message: Batch) -> None:
        try:
            if not self._leaving.is_set():
                self.apply(message.messages)
        finally:
            message.applied.set()

    def on_stack_view_stream_ended(self) -> None:
        self.supervisor_gone()

    def apply(self, batch: feed.Batch) -> None:
        """One batch of the stream: the table's rows that changed, and one write of the
        new lines to the pane."""
        changed: set[str] = set()
        lines: list[str] = []
        backlog = sorted((m for m in batch if m.get("backlog")), key=lambda m: m["time"] or 0)
        for message in backlog + [m for m in batch if not m.get("backlog")]:
            event = message.get("event")
            if event == "snapshot":
                self._snapshot(message["state"])
            elif event == "state":
                changed.add(self.model.update(message))
            elif event == "output":
                lines += self.buffer.add(message["service"], message["lines"], message["time"])
            elif event == "notice":
                lines += self.buffer.note(message["service"], message["message"],
                                          message.get("time"))
            elif event == "dropped":
                self.dropped += int(message.get("lines") or 0)
                lines += self.buffer.note("", f"{message.get('lines')} lines left out: the "
                                          "view fell behind the output")
        if lines:
            self.log_pane.write_lines(lines)
        if changed:
            self._roots = self.model.roots()
            for name in changed:
                self._update_row(name)
            self._describe_selected()

    def _snapshot(self, state: dict[str, Any]) -> None:
        self.model.snapshot(state)
        names = list(self.model.records)
        self.buffer.names(names)
        self.highlighter.colours = {
            n: PREFIX_COLOURS[i % len(PREFIX_COLOURS)] for i, n in enumerate(names)
        }
        self._roots = self.model.roots()
        self.title_line.update(self.model.title())
        table = self.table
        table.clear()
        table.add_row(Text("all services", style="bold"), *[""] * (len(COLUMNS) - 1), key=ALL)
        self._shown = [ALL, *names]
        for name in names:
            table.add_row(*self._cells(self.model.row(name, self.usage)), key=name)
        self._describe_selected()

    def supervisor_gone(self) -> None:
        self._leaving.set()  # from now on nothing more is shown
        self.exit(GONE_MESSAGE)

    # ---- the table ----------------------------------------------------------------------

    @staticmethod
    def _cells(row: Row) -> list[Any]:
        return [
            row.name, Text(row.state, style=STATE_STYLES.get(row.state, "")), row.pid,
            row.port, row.url, row.uptime, row.restarts, row.cpu, row.memory, row.health,
        ]

    def _update_row(self, name: str) -> None:
        table = self.table
        if name not in self._shown:
            return  # not in the snapshot (cannot happen: the stack's services are fixed)
        for label, value in zip(COLUMNS, self._cells(self.model.row(name, self.usage)),
                                strict=True):
            table.update_cell(name, label, value, update_width=label != "HEALTH")

    @work(thread=True, exclusive=True, group="usage")
    def _sample_usage(self) -> None:
        cancelled = get_current_worker().cancelled_event
        sampler = TreeUsage()
        while not (cancelled.is_set() or self._leaving.is_set()):
            self.post_message(self.Usage(sampler.sample(self._roots)))
            cancelled.wait(SAMPLE_EVERY)

    def on_stack_view_usage(self, message: Usage) -> None:
        if self._leaving.is_set():
            return
        self.usage = message.usage
        for name in self._shown[1:]:
            self._update_row(name)

    @on(DataTable.RowHighlighted, "#services")
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        name = str(event.row_key.value)
        if name != self.buffer.service:
            self.buffer.service = name
            self._refill()
        self._describe_selected()

    def _describe_selected(self) -> None:
        name = self.selected
        if name == ALL or name not in self.model.records:
            text = f"{len(self.model.records)} services · output of all, merged"
        else:
            rec = self.model.records[name]
            row = self.model.row(name, self.usage)
            parts = [name, row.state, row.url or "", self.model.health(name)]
            if rec.get("exit_code") is not None:
                parts.append(f"last exit {rec['exit_code']}")
            text = " · ".join(p for p in parts if p)
        self.detail.update(Text(text))

    # ---- the log pane -------------------------------------------------------------------

    def _refill(self) -> None:
        """Show the pane anew: another service, or another filter."""
        log = self.log_pane
        log.clear()
        log.write_lines(self.buffer.visible())
        if log.auto_scroll:
            log.scroll_end(animate=False)
        self._describe_pane()

    def _describe_pane(self) -> None:
        shown = "all services" if self.selected == ALL else self.selected
        parts = [f"output: {shown}", "following" if self.log_pane.auto_scroll else "paused"]
        if self.buffer.filter:
            parts.append(f"filter: {self.buffer.filter!r}")
        self.log_pane.border_title = " · ".join(parts)
        self.log_pane.border_subtitle = (
            "drag to select, ctrl+c copies · c copies the pane, w saves it"
        )

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        # Refilled once typing pauses, not once a key: each refill redraws the pane.
        if self._filter_timer is not None:
            self._filter_timer.stop()
        self._filter_timer = self.set_timer(FILTER_DELAY, self._apply_filter)

    def _apply_filter(self) -> None:
        self._filter_timer = None
        value = self.filter_field.value
        if value != self.buffer.filter:
            self.buffer.filter = value
            self._refill()

    @on(Input.Submitted, "#filter")
    def _filter_done(self) -> None:
        self._apply_filter()
        self.log_pane.focus()

    def on_key(self, event: Any) -> None:
        if event.key == "escape" and self.focused is self.filter_field:
            self.filter_field.value = ""  # Changed refills the pane
            self.table.focus()
            event.stop()

    def action_filter(self) -> None:
        # `/` is a priority binding, and the focus moves at once (not later, as
        # `focus()` does): the keys typed right after it are already queued, and must
        # reach the filter, not the table. In the filter itself `/` is just a slash.
        field = self.filter_field
        if self.focused is field:
            field.insert_text_at_cursor("/")
        else:
            self.screen.set_focus(field)

    def action_show_all(self) -> None:
        self.table.move_cursor(row=0)

    def action_follow(self) -> None:
        log = self.log_pane
        log.auto_scroll = not log.auto_scroll
        if log.auto_scroll:
            log.scroll_end(animate=False)
        self._describe_pane()

    def pane_text(self) -> str:
        return "\n".join(self.log_pane.lines)

    def action_copy_view(self) -> None:
        """Everything the pane holds (after the filter) to the clipboard, through the
        terminal (OSC 52)."""
        lines = self.log_pane.lines
        self.copy_to_clipboard(self.pane_text())
        self.notify(f"copied {len(lines)} lines to the clipboard")

    def action_write_view(self) -> None:
        shown = "all" if self.selected == ALL else self.selected
        path = self.save_dir / f"stackup-{self.model.stack or 'stack'}-{shown}-" \
            f"{time.strftime('%Y%m%d-%H%M%S')}.log"
        try:
            path.write_text(self.pane_text() + "\n")
        except OSError as exc:
            self.notify(f"could not write {path}: {exc.strerror}", severity="error")
            return
        self.notify(f"wrote {len(self.log_pane.lines)} lines to {path}")

    # ---- keys that act on the stack ---------------------------------------------------------

    def action_control(self, cmd: str) -> None:
        name = self.selected
        if name == ALL:
            self.notify(f"select a service to {cmd} (up and down arrows)", severity="warning")
            return
        self.notify(f"{cmd} {name}…")
        self._send(cmd, name)

    @work(group="control")
    async def _send(self, cmd: str, name: str) -> None:
        """The request `stackup restart` (or `down SERVICE`, `up -d SERVICE`) sends; its
        answer comes when the work is done, its progress through the stream meanwhile."""
        try:
            answer = await control.arequest(self.state_dir, {"cmd": cmd, "services": [name]})
            control.raise_for(answer)
        except (NotRunningError, OSError, ValueError) as exc:
            self.notify(f"{cmd} {name}: lost the supervisor ({exc})", severity="error")
        except StackupError as err:
            self.notify(f"{cmd} {name}: {err}", severity="error", timeout=10)
        else:
            done = {"restart": "restarted", "stop": "stopped", "start": "started"}[cmd]
            stopped = answer.get("stopped") or []
            also = [n for n in stopped if n != name]
            extra = f" (and what depends on it: {', '.join(also)})" if also else ""
            self.notify(f"{name} {done}{extra}")

    def action_graph(self) -> None:
        if self.graph_text is None:
            self.notify("no dependency graph here", severity="warning")
            return
        try:
            text = self.graph_text(self.model)
        except StackupError as err:
            self.notify(f"no graph: {err}", severity="error")
            return
        self.push_screen(GraphScreen(text))

    def action_quit_view(self) -> None:
        self._leaving.set()
        self.exit(QUIT_MESSAGE)
