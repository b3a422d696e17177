"""Turning a service's output, as it arrives in chunks, into complete, bounded lines.

Chunks are split here (never asyncio's `readline`, whose 64 KiB limit raises on long
lines); a line longer than MAX_LINE is cut, with the rest of it discarded up to the
next newline, so memory stays bounded whatever a service writes. Bytes are decoded
as UTF-8 with replacement: a bad byte never kills the relay.
"""

from __future__ import annotations

import re

MAX_LINE = 64 * 1024  # longer than any sane log line; bounds memory per service


class LineSplitter:
    """Turns arbitrary chunks into complete lines, cutting overlong ones."""

    def __init__(self, max_line: int = MAX_LINE) -> None:
        self.max_line = max_line
        self._partial = bytearray()
        self._discarding = 0  # bytes dropped from the current overlong line

    def feed(self, chunk: bytes) -> list[str]:
        lines: list[str] = []
        start = 0
        while True:
            nl = chunk.find(b"\n", start)
            if nl < 0:
                self._keep(chunk[start:], lines)
                return lines
            piece = chunk[start:nl]
            if self._discarding:
                lines.append(self._cut_marker(len(piece)))
            else:
                self._partial += piece
                if len(self._partial) > self.max_line:
                    extra = len(self._partial) - self.max_line
                    del self._partial[self.max_line :]
                    self._discarding = extra
                    lines.append(self._cut_marker(0))
                else:
                    lines.append(_decode(self._partial))
            self._partial.clear()
            self._discarding = 0
            start = nl + 1

    def flush(self) -> list[str]:
        """The unterminated last line, at end of stream."""
        if self._discarding:
            line = self._cut_marker(0)
            self._partial.clear()
            self._discarding = 0
            return [line]
        if self._partial:
            line = _decode(self._partial)
            self._partial.clear()
            return [line]
        return []

    def _keep(self, rest: bytes, lines: list[str]) -> None:
        if self._discarding:
            self._discarding += len(rest)
            return
        self._partial += rest
        if len(self._partial) > self.max_line:
            self._discarding = len(self._partial) - self.max_line
            del self._partial[self.max_line :]

    def _cut_marker(self, more: int) -> str:
        dropped = self._discarding + more
        return _decode(self._partial) + f" [... line cut, {dropped} more bytes]"


# Control characters a service could use to rewrite the user's terminal (clear the
# screen, move the cursor, set the title, hide text). Colour (SGR, `ESC [ … m`) and tabs
# are kept: dev servers colour their output on purpose.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_UNSAFE = re.compile(
    r"\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC: titles, hyperlinks, clipboard
    r"|\x1b\[[0-9;?]*[A-Za-ln-z@`]"  # CSI other than SGR: cursor moves, erase
    r"|\x1b(?!\[[0-9;]*m)"  # any other escape
    r"|[\x00-\x08\x0b-\x1a\x1c-\x1f\x7f]"  # other C0 controls (ESC handled above)
)


def _decode(data: bytes | bytearray) -> str:
    text = data.decode("utf-8", errors="replace").rstrip("\r")
    if _CONTROL.search(text):
        text = _UNSAFE.sub("", text)
    return text
