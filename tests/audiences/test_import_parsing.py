"""The importer's two parsing paths: batches built column by column, and the row path that takes
any batch holding a bad line, a repeated id or a character COPY must escape. Whichever path a batch
takes, the chunks (COPY text, row counts, errors with their lines, file order) are the same."""

from __future__ import annotations

import csv
import io

import pytest

from audiences import importer


def _chunks(content: str, *, column_path: bool = True) -> list[tuple[str, int, list, bool]]:
    reader = csv.reader(importer._open_text(io.BytesIO(content.encode())))
    layout = importer._layout(next(reader))
    return [(c.text, c.rows, c.errors, c.follows_previous) for c in importer._chunks(reader, layout)]


def _row_path_only(monkeypatch) -> None:
    monkeypatch.setattr(importer, "_batch_text", lambda layout: lambda rows, seen: None)


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
        return lambda rows, seen: steps.append(len(rows)) or build(rows, seen)

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
