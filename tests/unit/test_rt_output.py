"""output.LineSplitter and output.pump: complete, bounded, decoded lines."""

from __future__ import annotations

import asyncio

from stackup import output
from stackup.output import MAX_LINE, LineSplitter


def feed_all(splitter: LineSplitter, chunks: list[bytes]) -> list[str]:
    lines: list[str] = []
    for chunk in chunks:
        lines += splitter.feed(chunk)
    return lines


def test_lines_split_across_chunks_are_joined() -> None:
    s = LineSplitter()
    assert s.feed(b"hel") == []
    assert s.feed(b"lo\nwor") == ["hello"]
    assert s.feed(b"ld\n\nlast") == ["world", ""]
    assert s.flush() == ["last"]
    assert s.flush() == []


def test_one_chunk_with_many_lines() -> None:
    assert LineSplitter().feed(b"a\nb\nc\n") == ["a", "b", "c"]


def test_crlf_line_endings_lose_the_carriage_return() -> None:
    s = LineSplitter()
    assert s.feed(b"one\r\ntwo\r") == ["one"]
    assert s.feed(b"\n") == ["two"]


def test_invalid_utf8_is_replaced_not_fatal() -> None:
    assert LineSplitter().feed(b"ok \xff\xfe end\n") == ["ok \ufffd\ufffd end"]


def test_multibyte_character_split_across_chunks_is_decoded_whole() -> None:
    euro = "€".encode()
    s = LineSplitter()
    assert s.feed(b"price " + euro[:1]) == []
    assert s.feed(euro[1:] + b"\n") == ["price €"]


def test_line_of_exactly_max_line_is_kept_whole() -> None:
    s = LineSplitter(max_line=10)
    assert s.feed(b"x" * 10 + b"\n") == ["x" * 10]


def test_overlong_line_in_one_chunk_is_cut_with_marker() -> None:
    s = LineSplitter(max_line=10)
    lines = s.feed(b"a" * 15 + b"\nnext\n")
    assert lines == ["a" * 10 + " [... line cut, 5 more bytes]", "next"]


def test_overlong_line_across_chunks_counts_every_dropped_byte() -> None:
    s = LineSplitter(max_line=10)
    assert feed_all(s, [b"b" * 8, b"b" * 8, b"b" * 8]) == []
    assert s.feed(b"bb\nafter\n") == ["b" * 10 + " [... line cut, 16 more bytes]", "after"]


def test_flush_of_an_unterminated_overlong_line_gives_the_marker() -> None:
    s = LineSplitter(max_line=4)
    assert s.feed(b"abcdefg") == []
    assert s.flush() == ["abcd [... line cut, 3 more bytes]"]


def test_ten_megabytes_without_newline_keep_memory_bounded() -> None:
    s = LineSplitter()
    chunk = b"z" * output.CHUNK
    total = 10 * 1024 * 1024
    for _ in range(total // len(chunk)):
        assert s.feed(chunk) == []
        # The kept part of the line never grows past MAX_LINE, whatever is written.
        assert len(s._partial) <= MAX_LINE
    assert s.feed(b"\nok\n") == [
        "z" * MAX_LINE + f" [... line cut, {total - MAX_LINE} more bytes]",
        "ok",
    ]
    assert len(s._partial) == 0
    assert s.flush() == []


def run_pump(chunks: list[bytes]) -> list[tuple[list[str], float]]:
    batches: list[tuple[list[str], float]] = []

    async def main() -> None:
        reader = asyncio.StreamReader()
        for chunk in chunks:
            reader.feed_data(chunk)
        reader.feed_eof()
        await asyncio.wait_for(
            output.pump(reader, lambda lines, when: batches.append((lines, when))), 5
        )

    asyncio.run(main())
    return batches


def test_pump_emits_complete_lines_and_the_unterminated_tail() -> None:
    batches = run_pump([b"first\nsec", b"ond\r\n", b"tail without newline"])
    lines = [line for batch, _ in batches for line in batch]
    assert lines == ["first", "second", "tail without newline"]
    assert all(when > 0 for _, when in batches)


def test_pump_never_emits_empty_batches() -> None:
    batches = run_pump([b"par", b"tial", b"\n"])
    assert [b for b, _ in batches] == [["partial"]]


def test_pump_cuts_a_huge_line_instead_of_failing() -> None:
    # readline() would raise on a line past the 64 KiB stream limit; pump must not.
    huge = b"y" * (3 * output.CHUNK) + b"\nafter\n"
    lines = [line for batch, _ in run_pump([huge]) for line in batch]
    assert lines[0].startswith("y" * MAX_LINE + " [... line cut, ")
    assert lines[0].endswith(f"{3 * output.CHUNK - MAX_LINE} more bytes]")
    assert lines[1:] == ["after"]


def test_pump_of_an_empty_stream_emits_nothing() -> None:
    assert run_pump([]) == []
