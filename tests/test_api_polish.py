"""Small API items an app needs: reading the prior files with pandas, and diagnose_many with extra columns."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import kneebayes
from kneebayes._csvfile import read_table
from kneebayes._errors import Problem

README = Path(__file__).resolve().parents[1] / "README.md"
SHIPPED = sorted(kneebayes.shipped_priors_path().glob("*.csv"))
FILES = [*SHIPPED, README.parent / "validation" / "vignettes.csv"]


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_read_prior_file_reads_what_the_loader_reads(path: Path) -> None:
    """read_prior_file gives the same columns and fields, row by row, as kneebayes' own CSV reader."""
    frame = kneebayes.read_prior_file(path)
    problems: list[Problem] = []
    table = read_table(path, (), problems)
    assert table is not None and not problems
    assert tuple(frame.columns) == table.columns
    assert len(frame) == len(table.rows)
    for (_, row), parsed in zip(frame.iterrows(), table.rows, strict=True):
        assert {k: str(v) for k, v in row.items()} == parsed.fields


def test_pandas_comment_option_reads_every_shipped_file_as_kneebayes_does() -> None:
    """pandas.read_csv(comment="#"), as the README says, equals read_prior_file on every shipped file."""
    readme = README.read_text(encoding="utf-8")
    assert 'pandas.read_csv(path, comment="#", dtype=str, keep_default_na=False)' in readme
    for path in FILES:
        plain = pd.read_csv(path, comment="#", dtype=str, keep_default_na=False)
        pd.testing.assert_frame_equal(plain, kneebayes.read_prior_file(path), obj=path.name)
    assert any("#" in line and not line.lstrip().startswith("#")
               for line in (kneebayes.shipped_priors_path() / "references.csv").read_text().splitlines())


def test_unquoted_hash_breaks_pandas_but_not_read_prior_file(tmp_path: Path) -> None:
    """The README's caveat is true: an unquoted '#' in a field cuts the row for pandas, not for read_prior_file."""
    path = tmp_path / "findings.csv"
    path.write_text("# a comment\nid,leak,note\nfever,0.01,see brief #119 first\n", encoding="utf-8")
    ours = kneebayes.read_prior_file(path)
    assert ours.loc[0, "note"] == "see brief #119 first"
    plain = pd.read_csv(path, comment="#", dtype=str, keep_default_na=False)
    assert plain.loc[0, "note"] != "see brief #119 first"


def test_diagnose_many_names_every_extra_column_and_can_ignore_them(model: kneebayes.Model) -> None:
    """Columns that are not ids are all named in the error, with the hint; extra="ignore" leaves them out."""
    frame = pd.DataFrame({"name": ["Ann", "Bob"], "record": [1, 2], "fever": [True, False], "age": [40, 50]})
    with pytest.raises(kneebayes.UnknownIdError, match=r"2 unknown columns.*'name'.*'record'.*extra='ignore'"):
        model.diagnose_many(frame)
    out = model.diagnose_many(frame, extra="ignore")
    expected = model.diagnose_many(frame[["fever", "age"]])
    pd.testing.assert_frame_equal(out, expected)
    with pytest.raises(kneebayes.OptionError, match="'extra' parameter"):
        model.diagnose_many(frame, extra="drop")  # type: ignore[arg-type]
