"""Small API items an app needs: reading the prior files with pandas, and diagnose_many with extra columns."""

from __future__ import annotations

import re
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


def test_readme_names_exactly_the_files_pandas_comment_option_misreads() -> None:
    """pandas.read_csv(comment="#") equals read_prior_file except for the files the README names."""
    misread = set()
    for path in SHIPPED:
        try:
            plain = pd.read_csv(path, comment="#", dtype=str, keep_default_na=False)
        except pd.errors.ParserError:
            misread.add(path.name)
            continue
        if not plain.equals(kneebayes.read_prior_file(path)):
            misread.add(path.name)
    readme = README.read_text(encoding="utf-8")
    sentence = re.search(r"reads every file except (.*?), whose", readme)
    assert sentence is not None
    named = set(re.findall(r"`([a-z_]+\.csv)`", sentence.group(1)))
    assert misread == named


def test_diagnose_many_names_every_extra_column_and_can_ignore_them(model: kneebayes.Model) -> None:
    """Columns that are not ids are all named in the error, with the hint; extra="ignore" leaves them out."""
    frame = pd.DataFrame({"name": ["Ann", "Bob"], "record": [1, 2], "fever": [True, False], "age": [40, 50]})
    with pytest.raises(kneebayes.UnknownIdError, match=r"2 column\(s\).*'name'.*'record'.*extra='ignore'"):
        model.diagnose_many(frame)
    out = model.diagnose_many(frame, extra="ignore")
    expected = model.diagnose_many(frame[["fever", "age"]])
    pd.testing.assert_frame_equal(out, expected)
    with pytest.raises(kneebayes.OptionError, match="'extra' parameter"):
        model.diagnose_many(frame, extra="drop")  # type: ignore[arg-type]
