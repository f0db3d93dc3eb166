"""Read the plain-text CSV files of a priors folder, keeping line numbers and comments.

This module only reads and writes text: it knows nothing of what the columns mean.
It accepts a UTF-8 byte-order mark and Windows line endings, skips lines starting
with ``#`` (comments) and blank lines between rows (inside a quoted field they are
text), and reports every problem as a located :class:`~kneebayes._errors.Problem`
instead of raising on the first one. What it reads it writes back byte for byte.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ._errors import Problem


@dataclass(frozen=True)
class Row:
    """One data row: its line number in the file and its fields by column name."""

    line: int
    fields: dict[str, str]
    raw: str = field(default="", compare=False, repr=False)


@dataclass(frozen=True)
class Table:
    """A parsed CSV file: its leading comment block, its header and its rows.

    A table read from a file also keeps what :func:`render_table` needs to write
    it back byte for byte: ``comments`` holds every line outside the header and
    the rows (comment and blank lines, with their line endings) with its line
    number, ``header_line`` and ``header_raw`` the header's, ``bom`` the
    byte-order mark the file started with and ``newline`` its line ending.
    """

    name: str
    header_comment: str
    columns: tuple[str, ...]
    rows: tuple[Row, ...]
    comments: tuple[tuple[int, str], ...] = ()
    header_line: int = 0
    header_raw: str = ""
    bom: str = ""
    newline: str = "\n"


def _physical_lines(text: str) -> list[str]:
    r"""Split a text after each ``\n`` only, keeping the line ends.

    Unlike :meth:`str.splitlines`, characters such as U+2028 or a form feed
    inside a field do not end a line, as they do not for the csv module.
    """
    parts = text.split("\n")
    return [part + "\n" for part in parts[:-1]] + ([parts[-1]] if parts[-1] else [])


class _NumberedLines:
    """Feed a text's lines to :func:`csv.reader`, skipping comments and blank lines between records.

    A line is skipped only when it would start a new record: inside a quoted
    field that spans lines, a blank line or a line starting with ``#`` is part
    of the field. The reader pulls one line at a time until a record is whole,
    so a record is open from the first line it pulls until :meth:`take` is
    called for the row the reader returned. ``line`` is the number of the line
    the current record starts on.
    """

    def __init__(self, text: str) -> None:
        self._lines = _physical_lines(text)
        self.line = 0
        self.skipped: list[tuple[int, str]] = []
        self._taken: list[str] = []
        self._open = False

    def take(self) -> str:
        """Return the lines of the record just read, as written, and close it."""
        text = "".join(self._taken)
        self._taken = []
        self._open = False
        return text

    def __iter__(self) -> Iterator[str]:
        for number, line in enumerate(self._lines, start=1):
            if not self._open:
                stripped = line.strip()
                if not stripped or stripped.startswith("#"):
                    self.skipped.append((number, line))
                    continue
                self.line = number
                self._open = True
            self._taken.append(line)
            yield line


def read_table(path: Path, required: tuple[str, ...], problems: list[Problem]) -> Table | None:
    r"""Read one CSV file.

    Parameters
    ----------
    path : Path
        The file.
    required : tuple of str
        Columns the header must contain (extra columns are kept).
    problems : list of Problem
        Problems found are appended here.

    Returns
    -------
    Table or None
        None when the file cannot be read at all (missing, not UTF-8, no header).

    Examples
    --------
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "findings.csv"
    >>> _ = path.write_text("# a comment\nid,leak\nfever,0.01\n", encoding="utf-8")
    >>> problems: list[Problem] = []
    >>> table = read_table(path, ("id", "leak"), problems)
    >>> [(row.line, row.fields) for row in table.rows], problems
    ([(3, {'id': 'fever', 'leak': '0.01'})], [])
    """
    name = path.name
    try:
        if not path.is_file():
            problems.append(Problem(name, None, None, None, "required file is missing"))
            return None
        raw = path.read_bytes()
    except OSError as err:  # permissions, a folder in the way, an I/O error
        problems.append(Problem(name, None, None, None, f"cannot read file: {err.strerror or err}"))
        return None
    return parse_table(name, raw, required, problems)


def parse_table(name: str, raw: bytes, required: tuple[str, ...], problems: list[Problem]) -> Table | None:
    r"""Parse the bytes of one CSV file.

    Parameters
    ----------
    name : str
        The file's name, used in every problem.
    raw : bytes
        The file's content.
    required : tuple of str
        Columns the header must contain (extra columns are kept).
    problems : list of Problem
        Problems found are appended here.

    Returns
    -------
    Table or None
        None when the text cannot be read at all (not UTF-8, no header, a required column missing).

    Examples
    --------
    >>> problems = []
    >>> table = parse_table("t.csv", b'# a table\nid,message\nx,"two\n\n# lines"\n', ("id",), problems)
    >>> table.rows[0].fields["message"], table.rows[0].line
    ('two\n\n# lines', 3)
    >>> render_table(table) == '# a table\nid,message\nx,"two\n\n# lines"\n'
    True
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        problems.append(
            Problem(name, line, None, None, f"file must be UTF-8 text ({err.reason} at byte {err.start})")
        )
        return None
    bom = "\ufeff" if text.startswith("\ufeff") else ""
    text = text[len(bom):]
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        problems.append(Problem(name, line, None, None, "file must be text; it contains NUL bytes"))
        return None
    first_end = text.find("\n")
    newline = "\r\n" if first_end > 0 and text[first_end - 1] == "\r" else "\n"
    comment = _leading_comment(text)
    lines = _NumberedLines(text)
    reader = csv.reader(lines, strict=True)
    try:
        header = next(reader, None)
    except csv.Error as err:
        problems.append(Problem(name, lines.line, None, None, f"malformed CSV header: {err}"))
        return None
    if header is None:
        problems.append(Problem(name, None, None, None, "file is empty: it needs a header and rows"))
        return None
    header = [h.strip() for h in header]
    header_line = lines.line
    header_raw = lines.take()
    seen: set[str] = set()
    for column in header:
        if column in seen:
            problems.append(Problem(name, header_line, column, column, "column appears twice in the header"))
        seen.add(column)
    missing = [c for c in required if c not in seen]
    separator = _other_separator(header) if len(missing) > 1 else None
    if separator is not None:
        problems.append(Problem(name, header_line, None, None,
                                f"the columns look separated by {separator}; the file must be comma-separated "
                                "(in a spreadsheet, save as 'CSV UTF-8 (comma delimited)')"))
        return None
    for column in missing:
        problems.append(
            Problem(name, header_line, column, None, f"required column is missing from the header {','.join(header)}")
        )
    if missing:
        return None
    rows: list[Row] = []
    try:
        for values in reader:
            row_text = lines.take()
            if len(values) != len(header):
                problems.append(
                    Problem(
                        name,
                        lines.line,
                        None,
                        ",".join(values),
                        f"row has {len(values)} fields; the header has {len(header)}",
                    )
                )
                continue
            fields = {k: v.strip().replace("\r\n", "\n") for k, v in zip(header, values, strict=True)}
            rows.append(Row(lines.line, fields, row_text))
    except csv.Error as err:
        problems.append(
            Problem(name, lines.line, None, None, f"malformed CSV (truncated file or unclosed quote?): {err}")
        )
    return Table(name, comment, tuple(header), tuple(rows), tuple(lines.skipped), header_line, header_raw, bom,
                 newline)


def _other_separator(header: list[str]) -> str | None:
    """Return how to name the separator of a header read as one column holding ';' or a tab, else None."""
    if len(header) != 1:
        return None
    for separator, shown in ((";", "';'"), ("\t", "tab")):
        if separator in header[0]:
            return shown
    return None


def _leading_comment(text: str) -> str:
    """Return the block of ``#`` lines at the top of a file, without the ``#``."""
    out: list[str] = []
    for line in text.split("\n"):
        if not line.startswith("#"):
            break
        out.append(line.rstrip("\r"))
    return "\n".join(out)


def render_table(table: Table) -> str:
    """Render a table as CSV text.

    A table read from a file comes back as it was read, byte-order mark, line
    endings, comment and blank lines included; only rows changed since (those
    without ``raw`` text) are written anew, in the file's line ending. A table
    built in code gets its header comment, header and rows.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=table.newline)
    quoting = csv.writer(buffer, lineterminator=table.newline, quoting=csv.QUOTE_ALL)

    def written(row: Row) -> str:
        if row.raw:  # unchanged since it was read: write it back byte for byte
            return row.raw
        values = [row.fields.get(c, "").replace("\n", table.newline) for c in table.columns]
        for chosen in (writer, quoting):
            buffer.seek(0)
            buffer.truncate()
            chosen.writerow(values)
            text = buffer.getvalue()
            if text.strip() and not text.lstrip().startswith("#"):
                break  # else it would read as a blank or comment line: quote every field
        return text

    if not table.header_raw:
        comment = table.header_comment.rstrip("\n")
        if comment:
            buffer.write("".join(line + table.newline for line in comment.split("\n")))
        writer.writerow(table.columns)
        head = buffer.getvalue()
        return head + "".join(written(row) for row in table.rows)
    parts = [*table.comments, (table.header_line, table.header_raw), *((row.line, written(row)) for row in table.rows)]
    return table.bom + "".join(text for _, text in sorted(parts, key=lambda part: part[0]))
