"""Read the plain-text CSV files of a priors folder, keeping line numbers and comments.

This module only reads text: it knows nothing of what the columns mean. It accepts
a UTF-8 byte-order mark and Windows line endings, skips lines starting with ``#``
(comments) and blank lines, and reports every problem as a located
:class:`~kneebayes._errors.Problem` instead of raising on the first one.
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

    ``comments`` holds the other comment lines (between rows, at the end) with
    their line numbers, and ``header_line`` the header's, so that
    :func:`render_table` can put them back where they were.
    """

    name: str
    header_comment: str
    columns: tuple[str, ...]
    rows: tuple[Row, ...]
    comments: tuple[tuple[int, str], ...] = ()
    header_line: int = 0
    header_raw: str = ""


class _NumberedLines:
    """Yield the non-comment lines of a text, remembering the number of the last one."""

    def __init__(self, text: str) -> None:
        self._lines = text.splitlines(keepends=True)
        self.line = 0
        self._taken: list[str] = []

    def take(self) -> str:
        r"""Return the lines yielded since the last call, as written (line ends made ``\n``)."""
        text = "".join(line.rstrip("\r\n") + "\n" for line in self._taken)
        self._taken = []
        return text

    def __iter__(self) -> Iterator[str]:
        for number, line in enumerate(self._lines, start=1):
            stripped = line.strip()
            if not stripped or stripped.startswith("#"):
                continue
            self.line = number
            self._taken.append(line)
            yield line


def read_table(
    path: Path, required: tuple[str, ...], problems: list[Problem]
) -> Table | None:
    r"""Read one CSV file of a priors folder.

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
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        problems.append(
            Problem(name, line, None, None, f"file must be UTF-8 text ({err.reason} at byte {err.start})")
        )
        return None
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        problems.append(Problem(name, line, None, None, "file must be text; it contains NUL bytes"))
        return None
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
            row_text = lines.take()
            rows.append(Row(lines.line, {k: v.strip() for k, v in zip(header, values, strict=True)}, row_text))
    except csv.Error as err:
        problems.append(
            Problem(name, lines.line, None, None, f"malformed CSV (truncated file or unclosed quote?): {err}")
        )
    leading = len(comment.splitlines()) if comment else 0
    others = tuple(
        (number, line)
        for number, line in enumerate(text.splitlines(), start=1)
        if number > leading and line.strip().startswith("#")
    )
    return Table(name, comment, tuple(header), tuple(rows), others, header_line, header_raw)


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
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        out.append(line)
    return "\n".join(out)


def render_table(table: Table) -> str:
    """Render a table as CSV text: its comment lines where they were, the header and the rows."""
    buffer = io.StringIO()
    if table.header_comment:
        buffer.write(table.header_comment.rstrip("\n") + "\n")
    writer = csv.writer(buffer, lineterminator="\n")
    pending = sorted(table.comments)

    def comments_before(line: float) -> None:
        while pending and pending[0][0] < line:
            buffer.write(pending.pop(0)[1] + "\n")

    comments_before(table.header_line)
    if table.header_raw:
        buffer.write(table.header_raw)
    else:
        writer.writerow(table.columns)
    for row in table.rows:
        comments_before(row.line)
        if row.raw:  # unchanged since it was read: write it back byte for byte
            buffer.write(row.raw)
        else:
            writer.writerow([row.fields.get(c, "") for c in table.columns])
    comments_before(float("inf"))
    return buffer.getvalue()

