"""Malformed priors folders are refused with located, complete errors; harmless variants load."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

import kneebayes
from kneebayes import PriorsError, Problem, load_priors
from malformed_cases import CASES, Case, Mutation, line_of, set_fields

NUMBERS = ["kind", "target", "value", "low", "high", "source"]

#: The shape of one problem line of a PriorsError: file, line N, field 'x': rule; got 'value'.
PROBLEM_LINE = re.compile(r"^  - [^,:]+(, line \d+)?(, field '[a-z_]+')?: \S.*$")


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """Return a fresh copy of the shipped priors."""
    target = tmp_path / "priors"
    shutil.copytree(kneebayes.shipped_priors_path(), target)
    return target


def apply(folder: Path, case: Case) -> None:
    """Apply one case's mutation to its file in ``folder``."""
    path = folder / case.file
    original = path.read_bytes()
    new = case.mutate(original.decode("utf-8-sig"))
    if new is None:
        path.unlink()
        return
    data = new if isinstance(new, bytes) else new.encode("utf-8")
    assert data != original, f"the mutation of case {case.id} changed nothing"
    path.write_bytes(data)


def edit(folder: Path, name: str, mutation: Mutation) -> None:
    """Apply a text mutation to one file of ``folder``."""
    path = folder / name
    new = mutation(path.read_text(encoding="utf-8"))
    assert isinstance(new, str)
    path.write_text(new, encoding="utf-8")


def refusal(folder: Path) -> PriorsError:
    """Load ``folder`` and return the PriorsError it must raise."""
    with pytest.raises(PriorsError) as info:
        load_priors(folder)
    return info.value


def test_catalogue_is_large_and_well_formed() -> None:
    """The catalogue holds at least 32 cases with unique ids, each expecting its own file name in the error."""
    ids = [case.id for case in CASES]
    assert len(CASES) >= 32
    assert len(set(ids)) == len(ids)
    for case in CASES:
        assert case.file in case.expected, case.id
        assert len(case.expected) >= 2, case.id


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_malformed_folder_is_refused_with_a_located_error(folder: Path, case: Case) -> None:
    """A folder with one defect raises a PriorsError (a ValueError) naming the file, line, field and rule."""
    apply(folder, case)
    err = refusal(folder)
    assert isinstance(err, ValueError)
    assert isinstance(err, kneebayes.KneeBayesError)
    message = str(err)
    missing = [text for text in case.expected if text not in message]
    assert not missing, f"{missing} not in:\n{message}"
    assert len(err.problems) == case.problems, message
    assert any(problem.file == case.file for problem in err.problems)
    assert err.folder == str(folder)
    first, *lines = message.splitlines()
    assert first == f"{len(err.problems)} problem{'s' if len(err.problems) > 1 else ''} in priors folder {folder}:"
    assert len(lines) == len(err.problems)
    for line in lines:
        assert PROBLEM_LINE.match(line), line


def test_two_defects_are_both_reported_in_one_error(folder: Path) -> None:
    """Two defects in two files come back as two located problems of one error, in file order."""
    edit(folder, "causes.csv", set_fields("dvt", base_rate="abc"))
    edit(folder, "findings.csv", set_fields("fever", leak="2"))
    err = refusal(folder)
    assert len(err.problems) == 2
    first, second = err.problems
    assert (first.file, first.line, first.field, first.value) == ("causes.csv", line_of("causes.csv", "dvt"),
                                                                  "base_rate", "abc")
    assert (second.file, second.line, second.field, second.value) == ("findings.csv", line_of("findings.csv", "fever"),
                                                                      "leak", "2")
    assert "must be a number" in first.rule
    assert "strictly between 0 and 1" in second.rule
    assert str(first) in str(err) and str(second) in str(err)


def test_two_defects_in_one_file_are_in_line_order(folder: Path) -> None:
    """Two defects of one file are both reported, the earlier line first."""
    edit(folder, "causes.csv", set_fields("dvt", base_rate="nan"))
    edit(folder, "causes.csv", set_fields("cramp", base_rate="-1"))
    err = refusal(folder)
    assert [(p.line, p.value) for p in err.problems] == [
        (line_of("causes.csv", "cramp"), "-1"),
        (line_of("causes.csv", "dvt"), "nan"),
    ]


def test_problem_renders_file_line_field_rule_and_value() -> None:
    """A Problem renders as "file, line N, field 'x': rule; got 'value'"."""
    problem = Problem("causes.csv", 7, "base_rate", "1.5", "must be a probability strictly between 0 and 1")
    assert str(problem) == (
        "causes.csv, line 7, field 'base_rate': must be a probability strictly between 0 and 1; got '1.5'"
    )
    assert str(Problem("settings.csv", None, None, None, "required file is missing")) == (
        "settings.csv: required file is missing"
    )


def test_missing_folder_is_refused(tmp_path: Path) -> None:
    """A folder that does not exist raises a PriorsError naming it."""
    err = refusal(tmp_path / "nowhere")
    assert "does not exist" in str(err) and "nowhere" in str(err)


def test_file_instead_of_folder_is_refused(tmp_path: Path) -> None:
    """A path to a file raises a PriorsError saying it is not a folder."""
    path = tmp_path / "priors.csv"
    path.write_text("id\n", encoding="utf-8")
    err = refusal(path)
    assert "not a folder" in str(err)


def test_every_missing_file_is_reported(folder: Path) -> None:
    """A folder missing several files reports each of them."""
    for name in ("settings.csv", "findings.csv"):
        (folder / name).unlink()
    err = refusal(folder)
    assert sorted(p.file for p in err.problems) == ["findings.csv", "settings.csv"]


# ---- harmless variants ------------------------------------------------------------------------


def _bom(text: str) -> str:
    return "\ufeff" + text


def _crlf(text: str) -> str:
    return text.replace("\n", "\r\n")


def _blank_and_comment_lines(text: str) -> str:
    lines = text.splitlines(keepends=True)
    out: list[str] = []
    header_seen = False
    for line in lines:
        out.append(line)
        if not line.startswith("#") and line.strip():
            out.append("\n# a comment between rows, with, commas\n   \n")
            header_seen = True
    assert header_seen
    return "\n" + "".join(out) + "\n# a comment at the end\n\n"


VARIANTS = {
    "utf8_bom": _bom,
    "crlf": _crlf,
    "blank_and_comment_lines": _blank_and_comment_lines,
    "all_three": lambda text: _bom(_crlf(_blank_and_comment_lines(text))),
}


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_harmless_variant_loads_with_the_same_numbers(folder: Path, variant: str) -> None:
    """A UTF-8 byte-order mark, CRLF line endings or extra blank and comment lines change no number."""
    change = VARIANTS[variant]
    for path in sorted(folder.glob("*.csv")):
        original = path.read_bytes()
        path.write_bytes(change(original.decode("utf-8")).encode("utf-8"))
        assert path.read_bytes() != original
    loaded = load_priors(folder).to_frame()[NUMBERS]
    shipped = load_priors().to_frame()[NUMBERS]
    pd.testing.assert_frame_equal(loaded, shipped)
    assert load_priors(folder).red_flags == load_priors().red_flags
