"""The importer's two parsing paths: batches built column by column, and the row path that takes
any batch holding a bad line, a repeated id or a character COPY must escape. Whichever path a batch
takes, the chunks (COPY text, row counts, errors with their lines, file order) are the same."""

from __future__ import annotations

import io

import pytest

from audiences import importer


def _chunks(content: str, *, column_path: bool = True) -> list[tuple[str, int, list, bool]]:
    source = importer._Lines(io.BytesIO(content.encode()))
    layout = importer._layout(next(source.reader))
    return [(c.text, c.rows, c.errors, c.follows_previous) for c in importer._chunks(source, layout)]


def _row_path_only(monkeypatch) -> None:
    monkeypatch.setattr(importer, "_batch_text", lambda layout: lambda batch, seen: None)


MIXED = (
    "\ufeffexternal_id,email,timezone,plan,age,score,vip,note\r\n"
    + "".join(f"a{i},A{i}@Example.com,Europe/Paris,pro,{i},{i}.5,true,plain\r\n" for i in range(7))
    + 'q1,,,"free",-3,0.25,FALSE,"say ""hi"", C:\\dir"\r\n'  # quotes and a backslash in an attribute
    + "b1,not-an-email,,,,,,\r\n"  # a bad line
    + "\r\n"  # a blank line
    + 'm1,,,"multi\r\nline",,,,\r\n'  # one row on two lines
    + "a3,,,team,,,,again\r\n"  # an id of the first chunk
    + "tab\there,,,,,,,\r\n"  # a tab in an id
    + "".join(f"z{i},,,,{i},,,\r\n" for i in range(9))
    + "short,row\r\n"  # a broken row, last
)


@pytest.mark.parametrize("step", [1, 3, 4, 500])
def test_both_paths_make_the_same_chunks(monkeypatch, step):
    monkeypatch.setattr(importer, "READ_STEP", step)
    monkeypatch.setattr(importer, "CHUNK_ROWS", 8)
    columns = _chunks(MIXED)
    _row_path_only(monkeypatch)
    assert columns == _chunks(MIXED)


def test_chunks_hold_what_the_file_says(monkeypatch):
    monkeypatch.setattr(importer, "READ_STEP", 4)
    monkeypatch.setattr(importer, "CHUNK_ROWS", 8)
    chunks = _chunks(MIXED)
    assert sum(rows for _, rows, _, _ in chunks) == 7 + 1 + 1 + 1 + 1 + 9
    errors = [error for _, _, chunk_errors, _ in chunks for error in chunk_errors]
    # Lines as a spreadsheet numbers them: the header is 1, the blank line 11, the two-line row 12-13.
    assert [(line, message.split(" ")[0]) for line, message in errors] == [(10, "malformed"), (25, "broken")]
    text = "".join(t for t, _, _, _ in chunks)
    lines = text.split("\n")[:-1]
    assert lines[0] == 'a0\ta0@example.com\tEurope/Paris\t{"plan":"pro","age":0,"score":0.5,"vip":true,"note":"plain"}'
    assert lines[7] == 'q1\t\t\t{"plan":"free","age":-3,"score":0.25,"vip":false,"note":"say \\\\"hi\\\\", C:\\\\\\\\dir"}'
    assert lines[8] == 'm1\t\t\t{"plan":"multi\\\\r\\\\nline"}'
    assert lines[10] == "tab\\there\t\t\t{}"
    # a3 again: stored only after the chunk holding the first a3 has committed, so it wins.
    (a3_chunk,) = [c for c in chunks if "\na3\t\t\t" in "\n" + c[0]]
    assert a3_chunk[3] is True


def test_an_id_repeated_within_a_chunk_splits_it(monkeypatch):
    monkeypatch.setattr(importer, "READ_STEP", 2)
    content = "external_id,plan\n" + "x1,a\nx2,b\nx3,c\nx2,d\nx4,e\n"
    chunks = _chunks(content)
    assert [(text.split("\n")[:-1], rows, follows) for text, rows, _, follows in chunks] == [
        (['x1\t{"plan":"a"}', 'x2\t{"plan":"b"}', 'x3\t{"plan":"c"}'], 3, False),
        (['x2\t{"plan":"d"}', 'x4\t{"plan":"e"}'], 2, True),
    ]


def test_wide_rows_make_smaller_batches(monkeypatch):
    """Rows stay Python objects until their batch is built: BATCH_CELLS bounds them."""
    monkeypatch.setattr(importer, "BATCH_CELLS", 10)
    steps = []
    real = importer._batch_text

    def spy(layout):
        build = real(layout)
        return lambda batch, seen: steps.append(batch.rows) or build(batch, seen)

    monkeypatch.setattr(importer, "_batch_text", spy)
    content = "external_id,a,b,c,d\n" + "".join(f"w{i},1,2,3,4\n" for i in range(5))
    assert sum(rows for _, rows, _, _ in _chunks(content)) == 5
    assert max(steps) == 2


def test_a_nul_in_an_attribute_alone_refuses_its_line(monkeypatch):
    """No other character in the batch needs the row path: the NUL alone sends it there (jsonb
    cannot hold one), and only that line is refused."""
    content = "external_id,note\n" + "n1,fine\n" + "n2,a\x00b\n" + "n3,also fine\n"
    chunks = _chunks(content)
    assert [(rows, errors) for _, rows, errors, _ in chunks] == [(2, [(3, "a cell contains a NUL character")])]
    assert chunks[0][0] == 'n1\t{"note":"fine"}\nn3\t{"note":"also fine"}\n'
    # A backslash-u sequence typed as text is not a NUL: it is kept, its backslash doubled for COPY.
    (text, rows, errors, _), = _chunks("external_id,note\nt1,C:\\u0000x\n")
    assert (text, rows, errors) == ('t1\t{"note":"C:\\\\\\\\u0000x"}\n', 1, [])


def _csv_chunks(monkeypatch, content: str) -> list[tuple[str, int, list, bool]]:
    """The chunks when every batch is read by csv.reader (never split by string methods)."""
    with monkeypatch.context() as patched:
        patched.setattr(importer, "_split", lambda lines, width: None)
        return _chunks(content)


@pytest.mark.parametrize(
    "content",
    [
        # Windows line ends, a last line without one, a blank line, a row one field short.
        "external_id,plan,age\r\n" + "".join(f"w{i},pro,{i}\r\n" for i in range(6)) + "\r\nshort,row\r\nlast,team,9",
        # A lone carriage return ends a line as universal newlines read it; \u2028 does not.
        "external_id,plan\n" + "a1,pro\rb1,free\n" + "c1,line\u2028sep\n" + "d1,x\x1cy\n",
        # A NUL and a tab in cells; an id repeated across batches; spaces kept around cells.
        "external_id,plan,note\n" + "n1,pro,a\x00b\n" + "t1,pro,a\tb\n" + "n1,team, c \n" + " s1 , free ,x\n",
        # A byte-order mark and a field longer than csv's limit (csv says the row is broken).
        "\ufeffexternal_id,note\n" + "big," + "x" * 140_000 + "\n" + "ok,fine\n",
    ],
)
def test_split_batches_read_as_csv_reads_them(monkeypatch, content):
    """Quote-free batches are split by string methods, the others by csv.reader: the chunks (text,
    rows, errors and their lines) are the same either way, batch sizes aside."""
    for step in (1, 2, 500):
        monkeypatch.setattr(importer, "READ_STEP", step)
        assert _chunks(content) == _csv_chunks(monkeypatch, content), step


def test_bad_bytes_end_the_file_at_their_line_after_the_lines_before_them(monkeypatch):
    monkeypatch.setattr(importer, "CHUNK_ROWS", 10)
    monkeypatch.setattr(importer, "READ_BYTES", 64)  # the bad bytes arrive in a later read
    content = b"external_id,plan\n" + b"".join(b"k%d,free\n" % i for i in range(25)) + b"bad,Jos\xe9\nafter,pro\n"
    source = importer._Lines(io.BytesIO(content))
    layout = importer._layout(next(source.reader))
    chunks = []
    with pytest.raises(importer.FieldError, match="not UTF-8 at line 27"):
        for chunk in importer._chunks(source, layout):
            chunks.append(chunk)
    assert [chunk.rows for chunk in chunks] == [10, 10]
