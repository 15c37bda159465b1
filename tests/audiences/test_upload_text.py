"""The UTF-8 check of an upload as its pieces arrive (audiences/upload_text.py)."""

from __future__ import annotations

import pytest

from audiences.upload_text import Utf8Lines


def _check(pieces: list[bytes]) -> tuple[str | None, int]:
    text = Utf8Lines()
    for piece in pieces:
        text.feed(piece)
    return text.finish(), text.breaks


def _split_every(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def test_characters_cut_between_pieces_are_utf8():
    data = "external_id,name\nc1,José\nc2,김민수\nc3,🙂\n".encode()
    for size in range(1, 8):  # every cut of every multi-byte character
        assert _check(_split_every(data, size)) == (None, 4), size


@pytest.mark.parametrize("size", [1, 2, 3, 5, 64])
def test_bad_bytes_name_their_line_wherever_the_pieces_end(size):
    data = b"external_id,name\n" + b"".join(b"c%d,Ana\n" % i for i in range(20)) + b"bad,Jos\xe9\nafter,x\n"
    problem, _ = _check(_split_every(data, size))
    assert problem is not None and "not UTF-8 at line 22" in problem, (size, problem)


def test_a_character_cut_off_at_the_end_of_the_file_is_refused():
    problem, _ = _check([b"external_id,name\nc1,Ana\nc2,Jos", "é".encode()[:1]])
    assert problem is not None and "line 3" in problem


@pytest.mark.parametrize(
    "content, line",
    [
        ("external_id,name\nc1,José\n".encode("cp1252"), 2),  # Excel's "CSV" on Windows
        ("external_id,name\nc1,김민수\n".encode("cp949"), 2),  # a Korean spreadsheet's
        ("external_id,name\n".encode("utf-16"), 1),  # a byte-order mark of UTF-16
    ],
)
def test_other_encodings_are_refused_at_their_first_non_ascii_line(content, line):
    problem, _ = _check([content])
    assert problem is not None and f"at line {line}:" in problem
