"""printer.Printer: `HH:MM:SS name | line`, padded names, colour, one write per batch."""

from __future__ import annotations

import io
import re
import time

from stackup.events import Notice, OutputLines, StateChanged
from stackup.printer import Printer, colour_wanted
from stackup.states import State

ESC = "\x1b["


class CountingStream(io.StringIO):
    """A text stream that counts write calls."""

    def __init__(self, tty: bool = False) -> None:
        super().__init__()
        self.writes = 0
        self.tty = tty

    def write(self, text: str) -> int:
        self.writes += 1
        return super().write(text)

    def isatty(self) -> bool:
        return self.tty


def clock(when: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(when))


WHEN = 1_700_000_000.25


def test_prefix_is_time_then_name_padded_to_the_widest() -> None:
    out = CountingStream()
    p = Printer(["db", "frontend"], stream=out)
    p.lines("db", ["hello"], WHEN)
    assert out.getvalue() == f"{clock(WHEN)} db       | hello\n"
    assert re.fullmatch(r"\d\d:\d\d:\d\d db {7}\| hello\n", out.getvalue())


def test_names_shorter_than_system_are_padded_to_system() -> None:
    out = CountingStream()
    p = Printer(["a"], stream=out)
    p.lines("a", ["x"], WHEN)
    p.notice("stopping", WHEN)
    assert out.getvalue().splitlines() == [
        f"{clock(WHEN)} a      | x",
        f"{clock(WHEN)} system | stopping",
    ]


def test_every_line_of_a_batch_is_prefixed_in_one_write() -> None:
    out = CountingStream()
    p = Printer(["web"], stream=out)
    p.lines("web", ["one", "two", "three"], WHEN)
    assert out.writes == 1
    assert [line.split("| ", 1)[1] for line in out.getvalue().splitlines()] == [
        "one", "two", "three",
    ]
    p.lines("web", ["four"], WHEN)
    assert out.writes == 2


def test_no_colour_codes_without_colour() -> None:
    out = CountingStream()
    p = Printer(["web", "db"], stream=out, colour=False)
    p.lines("web", ["x"], WHEN)
    p.notice("n", WHEN)
    assert ESC not in out.getvalue()


def test_colour_wraps_the_label_and_differs_per_service() -> None:
    out = CountingStream()
    p = Printer(["web", "db"], stream=out, colour=True)
    p.lines("web", ["x"], WHEN)
    p.lines("db", ["y"], WHEN)
    web, db = out.getvalue().splitlines()
    code_web = re.search(r"\x1b\[([0-9;]+)mweb +\| \x1b\[0m", web)
    code_db = re.search(r"\x1b\[([0-9;]+)mdb +\| \x1b\[0m", db)
    assert code_web and code_db
    assert code_web.group(1) != code_db.group(1)
    assert web.startswith(clock(WHEN) + " ") and web.endswith("x")


def test_events_are_printed_output_and_notices_but_not_state_changes() -> None:
    out = CountingStream()
    p = Printer(["api"], stream=out)
    p(OutputLines("api", ["out"], WHEN))
    p(Notice("api", "api is healthy", WHEN))
    p(StateChanged("api", State.STARTING, State.HEALTHY, WHEN))
    assert out.getvalue().splitlines() == [
        f"{clock(WHEN)} api    | out",
        f"{clock(WHEN)} system | api is healthy",
    ]


def test_clock_follows_the_event_time() -> None:
    out = CountingStream()
    p = Printer(["a"], stream=out)
    p.lines("a", ["x"], WHEN)
    p.lines("a", ["y"], WHEN + 61)
    first, second = out.getvalue().splitlines()
    assert first.startswith(clock(WHEN)) and second.startswith(clock(WHEN + 61))
    assert clock(WHEN) != clock(WHEN + 61)


def test_a_closed_stream_does_not_raise() -> None:
    out = CountingStream()
    out.close()
    Printer(["a"], stream=out).lines("a", ["x"], WHEN)  # ValueError swallowed


def test_colour_wanted_only_on_a_tty_without_no_color() -> None:
    assert colour_wanted(CountingStream(tty=True)) is True
    assert colour_wanted(CountingStream(tty=True), no_color=True) is False
    assert colour_wanted(CountingStream(tty=False)) is False
    assert colour_wanted(object()) is False  # type: ignore[arg-type]


def test_system_prefix_is_bold_in_the_terminals_own_colour() -> None:
    # Bold white (1;37) vanished on a light background: the system prefix keeps the
    # terminal's foreground colour (no 30-37/90-97 code), made bold.
    out = CountingStream(tty=True)
    p = Printer(["api"], stream=out, colour=True)
    p.notice("stopping", WHEN)
    m = re.search(r"\x1b\[([0-9;]*)msystem \| \x1b\[0m", out.getvalue())
    assert m is not None, out.getvalue()
    codes = m.group(1).split(";")
    assert "1" in codes
    assert not [c for c in codes if c.isdigit() and (30 <= int(c) <= 37 or 90 <= int(c) <= 97)]


def test_plural() -> None:
    from stackup.render import plural

    assert plural(1, "line") == "1 line"
    assert plural(0, "line") == "0 lines"
    assert plural(2, "process", "processes") == "2 processes"
    assert plural(1, "process", "processes") == "1 process"
