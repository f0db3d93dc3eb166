"""Any CSV text the reader accepts comes back byte for byte, and every quoted text survives whole."""

from __future__ import annotations

import csv
import io

from hypothesis import given, settings
from hypothesis import strategies as st

from kneebayes._csvfile import Row, Table, parse_table, render_table

# Any text but NUL (refused in a priors file), lone surrogates (not UTF-8) and a lone carriage return.
TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\r"), max_size=30)
COMMENTS = st.lists(st.sampled_from(["", "   ", "# a comment", "  # an indented comment", "#"]), max_size=2)


@st.composite
def csv_files(draw: st.DrawFn) -> tuple[str, list[list[str]]]:
    """Draw a CSV file: BOM or not, LF or CRLF, comment and blank lines between rows, any text in its fields."""
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    bom = draw(st.sampled_from(["", "\ufeff"]))
    rows = draw(st.lists(st.lists(TEXT, min_size=2, max_size=2), max_size=5))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=newline)
    buffer.write("# the header comment" + newline)
    writer.writerow(["id", "message"])
    for row in rows:
        for line in draw(COMMENTS):
            buffer.write(line + newline)
        # a field starting with "#" or blank would read as a comment or blank line: quote every field
        csv.writer(buffer, lineterminator=newline, quoting=csv.QUOTE_ALL).writerow(
            [value.replace("\n", newline) for value in row]
        )
    for line in draw(COMMENTS):
        buffer.write(line + newline)
    return bom + buffer.getvalue(), rows


@settings(max_examples=300)
@given(csv_files())
def test_any_file_reads_its_fields_whole_and_renders_back_byte_for_byte(drawn: tuple[str, list[list[str]]]) -> None:
    """Each field reads as written (ends stripped), each row at its first line, and the text renders back exactly."""
    text, rows = drawn
    problems: list[object] = []
    table = parse_table("t.csv", text.encode("utf-8"), ("id", "message"), problems)  # type: ignore[arg-type]
    assert problems == []
    assert table is not None
    assert [[row.fields["id"], row.fields["message"]] for row in table.rows] == [
        [value.strip() for value in row] for row in rows
    ]
    lines = text.lstrip("\ufeff").split("\n")
    for row in table.rows:
        assert lines[row.line - 1].startswith('"')  # the line a row starts on is where its text starts
    assert render_table(table) == text


@settings(max_examples=200)
@given(csv_files())
def test_rewritten_rows_read_back_the_same(drawn: tuple[str, list[list[str]]]) -> None:
    """Rows written anew (as after an edit) read back with the same fields, comments kept, in the file's line ending."""
    text, _ = drawn
    table = parse_table("t.csv", text.encode("utf-8"), ("id",), [])
    assert table is not None
    edited = Table(table.name, table.header_comment, table.columns,
                   tuple(Row(row.line, row.fields) for row in table.rows), table.comments, table.header_line,
                   table.header_raw, table.bom, table.newline)
    rendered = render_table(edited)
    again = parse_table("t.csv", rendered.encode("utf-8"), ("id",), [])
    assert again is not None
    assert [row.fields for row in again.rows] == [row.fields for row in table.rows]
    assert [line for _, line in again.comments] == [line for _, line in table.comments]
    if table.newline == "\r\n":
        assert "\n" not in rendered.replace("\r\n", "")
