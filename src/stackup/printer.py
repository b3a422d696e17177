"""The only place that formats service output for a terminal: `HH:MM:SS name | line`.

Names are padded to the widest, each service gets a colour (only on a terminal and
when NO_COLOR is not set), and lines of one batch are written with a single write so
concurrent services never splice mid-line.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

from stackup.events import Event, Notice, OutputLines, StateChanged

# honcho's palette: distinguishable on dark and light terminals.
_COLOURS = ["36", "33", "32", "35", "34", "1;36", "1;33", "1;32", "1;35", "1;34"]
SYSTEM = "system"
# Bold in the terminal's own foreground colour: readable on dark and light
# backgrounds alike (bold white vanished on a light one).
SYSTEM_STYLE = "1"


def colour_wanted(stream: TextIO, no_color: bool = False) -> bool:
    if no_color:
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


class Printer:
    def __init__(self, names: list[str], stream: TextIO | None = None, colour: bool = False):
        self.stream = stream or sys.stdout
        self.width = max([len(n) for n in names] + [len(SYSTEM)])
        self.colour = colour
        self._prefixes: dict[str, str] = {}
        for i, name in enumerate([*names, SYSTEM]):
            code = SYSTEM_STYLE if name == SYSTEM else _COLOURS[i % len(_COLOURS)]
            label = f"{name.ljust(self.width)} | "
            self._prefixes[name] = f"\x1b[{code}m{label}\x1b[0m" if colour else label
        self._clock_second = -1
        self._clock = ""

    def prefix(self, name: str, when: float) -> str:
        second = int(when)
        if second != self._clock_second:
            self._clock_second = second
            self._clock = time.strftime("%H:%M:%S ", time.localtime(when))
        if name not in self._prefixes:  # a service added by an edited stack file
            code = _COLOURS[(len(self._prefixes) - 1) % len(_COLOURS)]
            label = f"{name.ljust(self.width)} | "
            self._prefixes[name] = f"\x1b[{code}m{label}\x1b[0m" if self.colour else label
        return self._clock + self._prefixes[name]

    def lines(self, name: str, lines: list[str], when: float) -> None:
        prefix = self.prefix(name, when)
        self._write("".join(f"{prefix}{line}\n" for line in lines))

    def notice(self, message: str, when: float | None = None) -> None:
        self.lines(SYSTEM, [message], time.time() if when is None else when)

    def __call__(self, event: Event) -> None:
        if isinstance(event, OutputLines):
            self.lines(event.service, event.lines, event.time)
        elif isinstance(event, Notice):
            self.lines(SYSTEM, [event.message], event.time)
        elif isinstance(event, StateChanged):
            pass  # state changes worth a line are published as Notices

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except (BrokenPipeError, ValueError):
            pass  # the reader went away (`| head`); keep supervising
