"""output.LineSplitter: complete, bounded, decoded lines."""

from __future__ import annotations

from stackup.engine.lines import MAX_LINE, LineSplitter

PIPE_CHUNK = 64 * 1024  # what a pipe read returns at most


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
    chunk = b"z" * PIPE_CHUNK
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
