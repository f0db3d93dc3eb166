"""Evidence grades: every number's grade is read from its file, checked against its source, and counted."""

from __future__ import annotations

import csv
import re
import shutil
from pathlib import Path

import pytest

import kneebayes
from kneebayes import PriorsError, load_priors
from kneebayes.cli import main
from malformed_cases import drop_column

GRADES = ("direct", "derived", "qualitative", "expert")
GRADED = ("causes.csv", "risk_factors.csv", "age_bands.csv", "cause_risks.csv", "findings.csv",
          "finding_links.csv", "red_flags.csv", "settings.csv")


def _file_grades(folder: Path) -> dict[tuple[str, int], str]:
    """Read the evidence column of every graded file with the csv module alone: (file, line) -> grade."""
    grades = {}
    for name in GRADED:
        header: list[str] | None = None
        for number, line in enumerate((folder / name).read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip() or line.startswith("#"):
                continue
            values = next(csv.reader([line]))
            if header is None:
                header = values
                continue
            grades[(name, number)] = values[header.index("evidence")]
    return grades


def test_to_frame_shows_the_grade_written_in_each_file() -> None:
    """to_frame's evidence column is the file's evidence field, row by row, and only the four grades occur."""
    frame = load_priors().to_frame()
    written = _file_grades(kneebayes.shipped_priors_path())
    for row in frame.itertuples():
        assert row.evidence == written[(row.file, row.line)], (row.file, row.line)
    assert set(frame["evidence"]) == set(GRADES)


def test_shipped_grades_agree_with_sources_and_notes() -> None:
    """Expert exactly when the source is 'expert estimate'; every derived number has a note."""
    frame = load_priors().to_frame()
    assert ((frame["evidence"] == "expert") == (frame["source"] == "expert estimate")).all()
    derived = frame[frame["evidence"] == "derived"]
    assert (derived["note"].str.len() > 20).all()


def test_qualitative_numbers_cite_only_references_without_numbers() -> None:
    """Every reference cited by a qualitative number says in references.csv that it reports no numbers."""
    priors = load_priors()
    frame = priors.to_frame()
    numbers = priors.references["numbers"]
    for source in frame.loc[frame["evidence"] == "qualitative", "source"]:
        for key in source.split(";"):
            assert str(numbers[key]).lower().startswith("no numbers"), key


def test_folder_without_grades_gets_one_located_error_per_file(tmp_path: Path) -> None:
    """A priors folder written before evidence grades gets one error per graded file, at its header, saying how."""
    folder = tmp_path / "old"
    shutil.copytree(kneebayes.shipped_priors_path(), folder)
    for name in GRADED:
        path = folder / name
        new = drop_column("evidence")(path.read_text(encoding="utf-8"))
        assert isinstance(new, str)
        path.write_text(new, encoding="utf-8")
    with pytest.raises(PriorsError) as info:
        load_priors(folder)
    problems = info.value.problems
    assert sorted(p.file for p in problems) == sorted(GRADED)
    for problem in problems:
        assert problem.field == "evidence" and problem.line is not None
        assert "add it right after 'source'" in problem.rule and "expert" in problem.rule


def test_with_value_checks_a_new_source_against_the_grade() -> None:
    """Citing a reference for an expert estimate without regrading it is refused; with a grade it loads."""
    priors = load_priors()
    with pytest.raises(PriorsError, match="'expert' means no source"):
        priors.with_value("base_rate", "pcl_injury", 0.01, source="schulz2003")
    regraded = priors.with_value("base_rate", "pcl_injury", 0.01, source="schulz2003", evidence="derived")
    frame = regraded.to_frame().set_index(["kind", "target"])
    assert frame.loc[("base_rate", "pcl_injury"), "evidence"] == "derived"


def test_check_priors_counts_each_grade(capsys: pytest.CaptureFixture[str]) -> None:
    """check-priors prints the four grades' totals and a kind-by-grade table that match to_frame."""
    assert main(["check-priors", str(kneebayes.shipped_priors_path())]) == 0
    out = capsys.readouterr().out.splitlines()
    frame = load_priors().to_frame()
    counts = frame["evidence"].value_counts()
    assert ", ".join(f"{int(counts[g])} {g}" for g in GRADES) in out[0]
    rows = {line.split()[0]: [int(v) for v in line.split()[1:]] for line in out[2:]}
    assert rows["all"] == [int(counts[g]) for g in GRADES] + [len(frame)]
    for kind, group in frame.groupby("kind"):
        grades = group["evidence"].value_counts()
        assert rows[str(kind)] == [int(grades.get(g, 0)) for g in GRADES] + [len(group)]
    assert re.match(r"kind\s+direct\s+derived\s+qualitative\s+expert\s+total$", out[1])
