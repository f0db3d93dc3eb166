"""Priors.save writes a folder that loads back the same, keeps comments and notes, and fails cleanly."""

from __future__ import annotations

import csv
import os
import shutil
from pathlib import Path

import pandas as pd
import pytest

import kneebayes
import kneebayes._priors as priors_module
from kneebayes import load_priors

FILES = list(priors_module.FILES)


def comment_lines(path: Path) -> list[bytes]:
    """Return the comment lines of a file, as bytes without their line ending."""
    return [line for line in path.read_bytes().splitlines() if line.startswith(b"#")]


def notes(path: Path) -> list[tuple[str, ...]]:
    """Return every data row's extra (non-numeric) text columns: note, message, label, question and the like."""
    rows = [r for r in csv.reader(line for line in path.read_text(encoding="utf-8").splitlines()
                                  if line.strip() and not line.startswith("#"))]
    header, *data = rows
    keep = [i for i, c in enumerate(header) if c in {"note", "message", "label", "question", "where_it_comes_from",
                                                      "numbers", "title", "authors"}]
    return [tuple(row[i] for i in keep) for row in data]


def snapshot(folder: Path) -> dict[str, bytes]:
    """Return every file of ``folder`` (hidden ones included) with its bytes."""
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.fixture
def shipped() -> kneebayes.Priors:
    """Return the shipped priors."""
    return load_priors()


def test_save_then_load_gives_the_same_priors(shipped: kneebayes.Priors, tmp_path: Path) -> None:
    """Loading a saved copy gives the same to_frame(), red-flag rules and vocabulary."""
    folder = shipped.save(tmp_path / "copy")
    again = load_priors(folder)
    pd.testing.assert_frame_equal(again.to_frame(), shipped.to_frame())
    assert again.red_flags == shipped.red_flags
    pd.testing.assert_frame_equal(again.vocabulary, shipped.vocabulary)
    assert sorted(p.name for p in folder.iterdir()) == sorted(FILES)


def test_save_keeps_comments_and_notes(shipped: kneebayes.Priors, tmp_path: Path) -> None:
    """Every comment line is kept byte for byte and every note, message and label is kept exactly."""
    folder = shipped.save(tmp_path / "copy")
    source = kneebayes.shipped_priors_path()
    for name in FILES:
        assert comment_lines(folder / name) == comment_lines(source / name), name
        assert notes(folder / name) == notes(source / name), name


def test_second_save_is_byte_identical(shipped: kneebayes.Priors, tmp_path: Path) -> None:
    """Saving what was loaded from a saved folder writes the very same bytes."""
    first = shipped.save(tmp_path / "first")
    second = load_priors(first).save(tmp_path / "second")
    assert snapshot(first) == snapshot(second)


def test_save_keeps_comments_between_rows(tmp_path: Path) -> None:
    """Comment lines after the header, between rows and at the end survive a save, in place."""
    folder = tmp_path / "commented"
    shutil.copytree(kneebayes.shipped_priors_path(), folder)
    path = folder / "causes.csv"
    text = path.read_text(encoding="utf-8")
    text = text.replace("\ndvt,", "\n# DVT: the dangerous one\ndvt,")
    text = text.replace("\nid,base_rate,", "\n# rows follow\nid,base_rate,") + "# the end\n"
    path.write_text(text, encoding="utf-8")
    saved = load_priors(folder).save(tmp_path / "saved")
    assert comment_lines(saved / "causes.csv") == comment_lines(path)
    lines = (saved / "causes.csv").read_text(encoding="utf-8").splitlines()
    assert lines[lines.index("# DVT: the dangerous one") + 1].startswith("dvt,")
    assert lines[lines.index("# rows follow") + 1].startswith("id,base_rate,")
    assert lines[-1] == "# the end"


def test_with_value_then_save_then_load_gives_the_new_value(shipped: kneebayes.Priors, tmp_path: Path) -> None:
    """A number changed with with_value is saved, loads back, and nothing else changes."""
    leak = (shipped.findings.loc["fever", "leak"] + shipped.findings.loc["fever", "low"]) / 2
    changed = shipped.with_value("base_rate", "dvt", 0.0451, low=0.02, high=0.06, source="nice_ng158",
                                 evidence="derived")
    changed = changed.with_value("leak", "fever", leak)
    folder = changed.save(tmp_path / "changed")
    again = load_priors(folder)
    assert float(again.causes.loc["dvt", "base_rate"]) == 0.0451
    assert tuple(again.causes.loc["dvt", ["low", "high", "source"]]) == (0.02, 0.06, "nice_ng158")
    assert float(again.findings.loc["fever", "leak"]) == leak
    before, after = shipped.to_frame().set_index(["kind", "target"]), again.to_frame().set_index(["kind", "target"])
    different = (before[["value", "low", "high", "source"]] != after[["value", "low", "high", "source"]]).any(axis=1)
    assert sorted(different[different].index) == [("base_rate", "dvt"), ("leak", "fever")]
    assert after.loc[("base_rate", "dvt"), "note"] == before.loc[("base_rate", "dvt"), "note"]
    pd.testing.assert_frame_equal(load_priors().to_frame(), shipped.to_frame())  # the shipped folder is untouched


def test_save_overwrites_an_existing_folder(shipped: kneebayes.Priors, tmp_path: Path) -> None:
    """Saving over a folder replaces its files and leaves no temporary file."""
    folder = tmp_path / "priors"
    shipped.save(folder)
    value, high = shipped.risk_factors.loc["smoking", ["prevalence", "high"]]
    shipped.with_value("prevalence", "smoking", (value + high) / 2).save(folder)
    assert float(load_priors(folder).risk_factors.loc["smoking", "prevalence"]) == (value + high) / 2
    assert sorted(p.name for p in folder.iterdir()) == sorted(FILES)


class Boom(OSError):
    """The failure injected in the middle of a save."""


def _fail_on_third(monkeypatch: pytest.MonkeyPatch, where: str) -> list[str]:
    """Make the 3rd call of ``os.replace`` or of the CSV writer raise Boom; return the names seen."""
    seen: list[str] = []
    if where == "os.replace":
        real = os.replace

        def replace(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
            seen.append(Path(dst).name)
            if len(seen) == 3:
                raise Boom("disk full")
            real(src, dst)

        monkeypatch.setattr(os, "replace", replace)
    else:
        real_writer = priors_module.render_table

        def writer(*args: object, **kwargs: object) -> str:
            seen.append("call")
            if len(seen) == 3:
                raise Boom("disk full")
            return real_writer(*args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(priors_module, "render_table", writer)
    return seen


@pytest.mark.parametrize("where", ["os.replace", "writer"])
def test_failed_save_leaves_the_old_folder_intact(
    shipped: kneebayes.Priors, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    """A failure on the 3rd file leaves every old file byte-identical and no temporary file behind."""
    folder = tmp_path / "priors"
    shutil.copytree(kneebayes.shipped_priors_path(), folder)
    for path in folder.iterdir():  # CRLF endings: a save would change every file's bytes
        path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    before = snapshot(folder)
    old = load_priors(folder)
    value, high = old.causes.loc["dvt", ["base_rate", "high"]]
    changed = old.with_value("base_rate", "dvt", (value + high) / 2)
    seen = _fail_on_third(monkeypatch, where)
    with pytest.raises(Boom):
        changed.save(folder)
    assert len(seen) == 3
    monkeypatch.undo()
    assert snapshot(folder) == before
    pd.testing.assert_frame_equal(load_priors(folder).to_frame(), old.to_frame())


@pytest.mark.parametrize("where", ["os.replace", "writer"])
def test_failed_save_into_a_new_folder_leaves_no_file(
    shipped: kneebayes.Priors, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    """A save into a new folder that fails midway leaves no priors file and no temporary file there."""
    folder = tmp_path / "new"
    _fail_on_third(monkeypatch, where)
    with pytest.raises(Boom):
        shipped.save(folder)
    assert list(folder.iterdir()) == []


def test_unchanged_priors_save_byte_for_byte(tmp_path: Path) -> None:
    """Saving unedited shipped priors reproduces every file byte for byte, readable by others (not 0600)."""
    source = kneebayes.shipped_priors_path()
    kneebayes.load_priors().save(tmp_path)
    for path in sorted(source.glob("*.csv")):
        assert (tmp_path / path.name).read_bytes() == path.read_bytes().replace(b"\r\n", b"\n"), path.name
        assert (tmp_path / path.name).stat().st_mode & 0o044, path.name
