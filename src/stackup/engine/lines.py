"""Turning a service's output, as it arrives in chunks, into complete, bounded lines.

Chunks are split here (never asyncio's `readline`, whose 64 KiB limit raises on long
lines); a line longer than MAX_LINE is cut, with the rest of it discarded up to the
next newline, so memory stays bounded whatever a service writes. Bytes are decoded
as UTF-8 with replacement: a bad byte never kills the relay. Terminal control
sequences are removed, colours kept.

The work is done a chunk at a time: the complete part of a chunk is decoded, checked
and split by single calls into C (`decode`, `re.search`, `split`), and only a chunk
that holds a control character or a line over the cap takes the per-line path. A
flood of plain lines (the common case) therefore costs a few passes over the bytes,
not a Python loop per line; this is what lets the output keeper relay a million
lines a second. Splitting the decoded text at "\n" is the same as splitting the
bytes first: in UTF-8 the byte 0x0A is never part of a multi-byte character.
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
        """The complete lines this chunk ends (none when it ends no line)."""
        text = self.feed_text(chunk)
        return [] if text is None else text.split("\n")

    def feed_text(self, chunk: bytes) -> str | None:
        """The same lines joined by "\\n" (what the keeper writes, without splitting
        and joining them again), or None when the chunk ends no line."""
        lines: list[str] = []
        if self._discarding:
            nl = chunk.find(b"\n")
            if nl < 0:
                self._discarding += len(chunk)
                return None
            lines.append(self._cut_marker(nl))
            self._partial.clear()
            self._discarding = 0
            chunk = chunk[nl + 1 :]
        end = chunk.rfind(b"\n")
        if end < 0:
            self._keep(chunk)
            return "\n".join(lines) if lines else None
        if self._partial:
            data = bytes(self._partial) + chunk[:end]
            self._partial.clear()
        else:
            data = chunk[:end]
        self._keep(chunk[end + 1 :])
        if len(data) > self.max_line:
            lines += self._bounded(data)
        elif not lines:
            return _clean_text(data)
        else:
            lines.append(_clean_text(data))
        return "\n".join(lines)

    def flush(self) -> list[str]:
        """The unterminated last line, at end of stream."""
        if self._discarding:
            line = self._cut_marker(0)
            self._partial.clear()
            self._discarding = 0
            return [line]
        if self._partial:
            line = _clean_text(bytes(self._partial))
            self._partial.clear()
            return [line]
        return []

    def _keep(self, rest: bytes) -> None:
        self._partial += rest
        if len(self._partial) > self.max_line:
            self._discarding = len(self._partial) - self.max_line
            del self._partial[self.max_line :]

    def _bounded(self, data: bytes) -> list[str]:
        """Complete lines of which some may be over the cap: cut those."""
        lines: list[str] = []
        run: list[bytes] = []  # consecutive lines within the cap, cleaned together
        for raw in data.split(b"\n"):
            if len(raw) <= self.max_line:
                run.append(raw)
                continue
            if run:
                lines.append(_clean_text(b"\n".join(run)))
                run = []
            self._partial[:] = raw[: self.max_line]
            self._discarding = len(raw) - self.max_line
            lines.append(self._cut_marker(0))
            self._partial.clear()
            self._discarding = 0
        if run:
            lines.append(_clean_text(b"\n".join(run)))
        return lines

    def _cut_marker(self, more: int) -> str:
        dropped = self._discarding + more
        return _clean_text(bytes(self._partial)) + f" [... line cut, {dropped} more bytes]"


# Control characters a service could use to rewrite the user's terminal (clear the
# screen, move the cursor, set the title, hide text). Colour (SGR, `ESC [ … m`) and tabs
# are kept: dev servers colour their output on purpose. "\n" is never in a line.
# Whether a chunk holds any is asked of `bytes.translate` (delete them, compare the
# length): eight times faster than a regex scan of the same bytes.
_CONTROL_BYTES = bytes([*range(0x00, 0x09), *range(0x0B, 0x20), 0x7F])
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_UNSAFE = re.compile(
    r"\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC: titles, hyperlinks, clipboard
    r"|\x1b\[[0-9;?]*[A-Za-ln-z@`]"  # CSI other than SGR: cursor moves, erase
    r"|\x1b(?!\[[0-9;]*m)"  # any other escape
    r"|[\x00-\x08\x0b-\x1a\x1c-\x1f\x7f]"  # other C0 controls (ESC handled above)
)


def _clean_text(data: bytes) -> str:
    """Lines joined by "\\n" → the same lines decoded and made safe, still joined."""
    text = data.decode("utf-8", errors="replace")
    if len(data.translate(None, _CONTROL_BYTES)) == len(data):
        return text
    return "\n".join(_clean_line(line) for line in text.split("\n"))


def _clean_line(line: str) -> str:
    line = line.rstrip("\r")
    return _UNSAFE.sub("", line) if _CONTROL.search(line) else line
