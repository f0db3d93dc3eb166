"""Priors.save writes a folder that loads back the same, keeps comments and notes, and fails cleanly."""

from __future__ import annotations

import csv
import io
import os
import shutil
from pathlib import Path

import pandas as pd
import pytest

import kneebayes
import kneebayes._folder
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
    """Make the 3rd call of the CSV writer, of ``os.fsync`` or the switch to the new version raise Boom."""
    seen: list[str] = []
    target, name = {"writer": (priors_module, "render_table"), "fsync": (os, "fsync"),
                    "switch": (kneebayes._folder, "_rename2")}[where]
    real = getattr(target, name)

    def failing(*args: object, **kwargs: object) -> object:
        seen.append(name)
        if len(seen) == (1 if where == "switch" else 3):
            raise Boom("disk full")
        return real(*args, **kwargs)

    monkeypatch.setattr(target, name, failing)
    return seen


STEPS = ["writer", "fsync", "switch"]


@pytest.mark.parametrize("where", STEPS)
def test_failed_save_leaves_the_old_folder_intact(
    shipped: kneebayes.Priors, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    """A failure while rendering, syncing or switching leaves every old file byte-identical and nothing hidden."""
    folder = tmp_path / "priors"
    shutil.copytree(kneebayes.shipped_priors_path(), folder)
    for path in folder.iterdir():  # CRLF endings, which a save keeps
        path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    before = snapshot(folder)
    old = load_priors(folder)
    value, high = old.causes.loc["dvt", ["base_rate", "high"]]
    changed = old.with_value("base_rate", "dvt", (value + high) / 2)
    seen = _fail_on_third(monkeypatch, where)
    with pytest.raises(kneebayes.SaveError, match="disk full") as caught:
        changed.save(folder)
    assert isinstance(caught.value.__cause__, Boom)
    assert len(seen) == (1 if where == "switch" else 3)
    monkeypatch.undo()
    assert snapshot(folder) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["priors"]
    pd.testing.assert_frame_equal(load_priors(folder).to_frame(), old.to_frame())


@pytest.mark.parametrize("where", STEPS)
def test_failed_save_into_a_new_folder_leaves_nothing(
    shipped: kneebayes.Priors, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    """A save into a new folder that fails midway creates no folder and leaves no hidden entry beside it."""
    folder = tmp_path / "new"
    _fail_on_third(monkeypatch, where)
    with pytest.raises(kneebayes.SaveError, match="disk full"):
        shipped.save(folder)
    assert list(tmp_path.iterdir()) == []


def test_unchanged_priors_save_byte_for_byte(tmp_path: Path) -> None:
    """Saving unedited shipped priors reproduces every file byte for byte, readable by others (not 0600)."""
    source = kneebayes.shipped_priors_path()
    kneebayes.load_priors().save(tmp_path)
    for path in sorted(source.glob("*.csv")):
        assert (tmp_path / path.name).read_bytes() == path.read_bytes().replace(b"\r\n", b"\n"), path.name
        assert (tmp_path / path.name).stat().st_mode & 0o044, path.name


# ---- refusals and clear errors (issue 9, item 3 and 4) ----------------------------------------------------------


def test_save_over_the_shipped_priors_is_refused(
    shipped: kneebayes.Priors, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Saving into the shipped priors (here a stand-in copy), or a link to it, raises SaveError and writes nothing."""
    stand_in = tmp_path / "site-packages" / "kneebayes" / "priors"
    shutil.copytree(kneebayes.shipped_priors_path(), stand_in)
    monkeypatch.setattr(priors_module, "shipped_priors_path", lambda: stand_in)
    (tmp_path / "link").symlink_to(stand_in)
    before = snapshot(stand_in)
    changed = shipped.with_value("base_rate", "dvt", float(shipped.causes.loc["dvt", "low"]))
    for target in (stand_in, tmp_path / "link", stand_in / ".." / "priors"):
        with pytest.raises(kneebayes.SaveError, match="shipped with kneebayes") as caught:
            changed.save(target)
        assert str(target) in str(caught.value)
        assert "copy" in str(caught.value)  # says how to start editing instead
    assert snapshot(stand_in) == before
    assert sorted(p.name for p in stand_in.parent.iterdir()) == ["priors"]


def test_the_real_shipped_folders_are_recognised() -> None:
    """The folder shipped_priors_path() returns and, in a checkout, the repository's priors/ count as shipped."""
    shipped = {os.path.realpath(p) for p in priors_module._shipped_folders()}
    assert os.path.realpath(kneebayes.shipped_priors_path()) in shipped
    checkout = Path(priors_module.__file__).resolve().parents[2] / "priors"
    if checkout.is_dir():
        assert os.path.realpath(checkout) in shipped


def test_save_into_a_folder_of_other_files_is_refused(shipped: kneebayes.Priors, tmp_path: Path) -> None:
    """A non-empty folder that lacks the priors files is not overwritten; the error names it and what it lacks."""
    folder = tmp_path / "thesis"
    folder.mkdir()
    (folder / "chapter1.txt").write_text("my work", encoding="utf-8")
    (folder / "causes.csv").write_text("my own table\n", encoding="utf-8")
    before = snapshot(folder)
    with pytest.raises(kneebayes.SaveError, match="not a priors folder") as caught:
        shipped.save(folder)
    message = str(caught.value)
    assert str(folder) in message
    assert "vocabulary.csv" in message and "red_flags.csv" in message  # what is missing
    assert "causes.csv, " not in message.split("lacks")[-1]  # the file it has is not listed as missing
    assert snapshot(folder) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["thesis"]


def test_save_onto_a_file_is_refused(shipped: kneebayes.Priors, tmp_path: Path) -> None:
    """A path that is a file gets a SaveError naming it, and the file is kept."""
    path = tmp_path / "priors.txt"
    path.write_text("keep me", encoding="utf-8")
    with pytest.raises(kneebayes.SaveError, match="not a folder"):
        shipped.save(path)
    assert path.read_text(encoding="utf-8") == "keep me"


def test_save_into_an_empty_or_missing_folder_works(shipped: kneebayes.Priors, tmp_path: Path) -> None:
    """An existing empty folder and a missing one (with missing parents) are both fine."""
    (tmp_path / "empty").mkdir()
    for target in (tmp_path / "empty", tmp_path / "new" / "deeper" / "priors"):
        shipped.save(target)
        assert sorted(p.name for p in target.iterdir()) == sorted(FILES)
        assert [p.name for p in target.parent.iterdir() if p.name.startswith(".")] == []


def test_save_keeps_the_other_files_of_a_priors_folder(shipped: kneebayes.Priors, tmp_path: Path) -> None:
    """Other files of a priors folder (a change log, a read-me, a subfolder, a link) survive a save with their modes."""
    folder = tmp_path / "mine"
    shutil.copytree(kneebayes.shipped_priors_path(), folder)
    (folder / "README.txt").write_text("read me", encoding="utf-8")
    (folder / "run.sh").write_text("#!/bin/sh\n", encoding="utf-8")
    (folder / "run.sh").chmod(0o750)
    (folder / "old").mkdir()
    (folder / "old" / "causes.csv").write_text("an old copy", encoding="utf-8")
    (folder / "latest").symlink_to("old/causes.csv")
    others = {name: (folder / name).read_bytes() for name in ("CHANGES.md", "README.txt", "run.sh")}
    shipped.with_value("base_rate", "dvt", float(shipped.causes.loc["dvt", "high"])).save(folder)
    for name, data in others.items():
        assert (folder / name).read_bytes() == data, name
    assert (folder / "run.sh").stat().st_mode & 0o777 == 0o750
    assert (folder / "old" / "causes.csv").read_text(encoding="utf-8") == "an old copy"
    assert os.readlink(folder / "latest") == "old/causes.csv"
    assert float(load_priors(folder).causes.loc["dvt", "base_rate"]) == float(shipped.causes.loc["dvt", "high"])


@pytest.mark.parametrize("call", ["os.open", "os.mkdir"])
def test_an_os_error_while_saving_is_a_save_error_naming_the_folder(
    shipped: kneebayes.Priors, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, call: str
) -> None:
    """A permission error (simulated: tests may run as root) becomes a SaveError naming the target, no temp name."""
    folder = tmp_path / "priors"
    shipped.save(folder)
    before = snapshot(folder)
    real = getattr(os, call.split(".")[1])

    def refuse(path: str | os.PathLike[str], *args: object, **kwargs: object) -> object:
        flags = args[0] if args else kwargs.get("flags", 0)
        if call == "os.mkdir" or (isinstance(flags, int) and flags & os.O_CREAT):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(os, call.split(".")[1], refuse)
    with pytest.raises(kneebayes.SaveError, match="Permission denied") as caught:
        shipped.with_value("base_rate", "dvt", float(shipped.causes.loc["dvt", "high"])).save(folder)
    monkeypatch.undo()
    message = str(caught.value)
    assert str(folder) in message
    assert ".tmp" not in message and "kneebayes-save" not in message
    assert isinstance(caught.value, OSError) and isinstance(caught.value.__cause__, PermissionError)
    assert snapshot(folder) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["priors"]


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root ignores permission bits")
def test_a_read_only_folder_gets_a_save_error(shipped: kneebayes.Priors, tmp_path: Path) -> None:
    """Saving into a read-only folder, or a folder in a read-only parent, raises a SaveError naming the folder."""
    folder = tmp_path / "parent" / "priors"
    shipped.save(folder)
    for locked in (folder, folder.parent):
        locked.chmod(0o555)
        try:
            with pytest.raises(kneebayes.SaveError) as caught:
                shipped.save(folder)
            assert str(folder) in str(caught.value) and ".tmp" not in str(caught.value)
        finally:
            locked.chmod(0o755)


# ---- lossless text (issue 9, item 5) --------------------------------------------------------------------------

MESSAGE = ("Get medical care today.\n\n# this line starts with a hash\n  # so does this one\n\n"
           "Last line \u2028 with a separator.")


def _with_message(text: str, newline: str) -> str:
    """Put the multi-line MESSAGE (quoted) into the dvt_probable rule, a comment before it and one at the end."""
    lines = text.split("\n")
    at = next(i for i, line in enumerate(lines) if line.startswith("dvt_probable,"))
    fields = next(csv.reader([lines[at]]))
    header = next(next(csv.reader([line])) for line in lines if line.startswith("id,level,"))
    fields[header.index("message")] = MESSAGE
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(fields)
    lines[at:at + 1] = ["# a comment between rows", buffer.getvalue().rstrip("\n")]
    return ("\n".join(lines).rstrip("\n") + "\n# a comment at the end\n").replace("\n", newline)


@pytest.mark.parametrize(("newline", "bom"), [("\n", ""), ("\r\n", ""), ("\r\n", "\ufeff"), ("\n", "\ufeff")])
def test_a_multi_line_message_survives_load_and_save_byte_for_byte(
    tmp_path: Path, newline: str, bom: str
) -> None:
    """A quoted message with blank lines and lines starting with # loads whole, and saves back byte for byte."""
    folder = tmp_path / "priors"
    shutil.copytree(kneebayes.shipped_priors_path(), folder)
    path = folder / "red_flags.csv"
    path.write_bytes((bom + _with_message(path.read_text(encoding="utf-8"), newline)).encode("utf-8"))
    original = path.read_bytes()
    priors = load_priors(folder)
    rule = next(r for r in priors.red_flags if r.id == "dvt_probable")
    assert rule.message == MESSAGE
    saved = priors.save(tmp_path / "saved")
    assert (saved / "red_flags.csv").read_bytes() == original
    assert next(r for r in load_priors(saved).red_flags if r.id == "dvt_probable").message == MESSAGE


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_an_edited_row_with_a_multi_line_message_keeps_it(tmp_path: Path, newline: str) -> None:
    """Editing the threshold of the rule rewrites its row with the message intact and the file's line endings."""
    folder = tmp_path / "priors"
    shutil.copytree(kneebayes.shipped_priors_path(), folder)
    path = folder / "red_flags.csv"
    path.write_bytes(_with_message(path.read_text(encoding="utf-8"), newline).encode("utf-8"))
    priors = load_priors(folder)
    rule = next(r for r in priors.red_flags if r.id == "dvt_probable")
    assert rule.at_least is not None
    edited = priors.with_value("threshold", "dvt_probable", rule.at_least - 0.01)
    saved = edited.save(tmp_path / "saved")
    again = next(r for r in load_priors(saved).red_flags if r.id == "dvt_probable")
    assert (again.message, again.at_least) == (MESSAGE, rule.at_least - 0.01)
    text = (saved / "red_flags.csv").read_bytes().decode("utf-8")
    assert "# a comment between rows" + newline + "dvt_probable," in text
    assert text.endswith("# a comment at the end" + newline)
    if newline == "\r\n":
        assert "\n" not in text.replace("\r\n", "")


def test_rows_after_a_multi_line_field_keep_their_line_numbers(tmp_path: Path) -> None:
    """A problem in a multi-line row is reported at the line the row starts on; rows after it keep theirs."""
    folder = tmp_path / "priors"
    shutil.copytree(kneebayes.shipped_priors_path(), folder)
    path = folder / "red_flags.csv"
    text = _with_message(path.read_text(encoding="utf-8"), "\n")
    lines = text.split("\n")
    start = next(i for i, line in enumerate(lines, start=1) if line.startswith("dvt_probable,"))
    after = start + MESSAGE.count("\n") + 1  # the row after the multi-line one
    text = text.replace("dvt_probable,urgent,", "dvt_probable,urgnet,")
    next_row = lines[after - 1]
    text = text.replace(next_row, next_row.replace(",urgent,", ",soon,", 1).replace(",emergency,", ",soon,", 1))
    path.write_text(text, encoding="utf-8")
    with pytest.raises(kneebayes.PriorsError) as caught:
        load_priors(folder)
    lines_found = sorted(p.line for p in caught.value.problems if p.field == "level")
    assert lines_found == [start, after]


# ---- the best-effort switch (no atomic exchange) and cleaning up after killed saves ----------------------------


def test_without_an_atomic_exchange_two_renames_switch_the_folder(
    shipped: kneebayes.Priors, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without renameat2, a save over a folder still replaces it whole, keeps its other files and leaves nothing."""
    folder = tmp_path / "priors"
    shipped.save(folder)
    (folder / "CHANGES.md").write_text("mine", encoding="utf-8")
    monkeypatch.setattr(kneebayes._folder, "_renameat2", lambda: None)
    high = float(shipped.causes.loc["dvt", "high"])
    shipped.with_value("base_rate", "dvt", high).save(folder)
    assert float(load_priors(folder).causes.loc["dvt", "base_rate"]) == high
    assert (folder / "CHANGES.md").read_text(encoding="utf-8") == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["priors"]


@pytest.mark.parametrize("killed", ["between the renames", "after the renames"])
def test_the_next_save_undoes_what_a_killed_two_rename_switch_left(
    shipped: kneebayes.Priors, tmp_path: Path, killed: str
) -> None:
    """A save killed between (folder gone) or after the two renames is repaired by the next save; nothing is lost."""
    folder = tmp_path / "priors"
    shipped.save(folder)
    (folder / "CHANGES.md").write_text("mine", encoding="utf-8")
    old = tmp_path / ".priors.kneebayes-old-k3j9x2ab"
    staged = tmp_path / ".priors.kneebayes-save-q81z0mmc"
    if killed == "between the renames":
        folder.rename(old)
        staged.mkdir()
        (staged / "causes.csv").write_text("half written", encoding="utf-8")
    else:
        shutil.copytree(folder, old)
    high = float(shipped.causes.loc["dvt", "high"])
    shipped.with_value("base_rate", "dvt", high).save(folder)
    assert float(load_priors(folder).causes.loc["dvt", "base_rate"]) == high
    assert (folder / "CHANGES.md").read_text(encoding="utf-8") == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["priors"]


def test_temporary_files_of_earlier_versions_are_dropped(shipped: kneebayes.Priors, tmp_path: Path) -> None:
    """Hidden .tmp files that older kneebayes versions left inside a priors folder are not carried over."""
    folder = tmp_path / "priors"
    shipped.save(folder)
    (folder / ".causes.csv.k3j_9x2a.tmp").write_text("debris", encoding="utf-8")
    shipped.save(folder)
    assert sorted(p.name for p in folder.iterdir()) == sorted(FILES)


def test_a_folder_without_write_permission_is_refused(
    shipped: kneebayes.Priors, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A folder the user may not write in (simulated: root may write anywhere) is refused, not swapped away."""
    folder = tmp_path / "priors"
    shipped.save(folder)
    before = snapshot(folder)
    real = os.access

    def access(path: str | os.PathLike[str], mode: int, **kwargs: object) -> bool:
        return False if Path(path) == folder else real(path, mode, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "access", access)
    with pytest.raises(kneebayes.SaveError, match="read-only") as caught:
        shipped.with_value("base_rate", "dvt", float(shipped.causes.loc["dvt", "high"])).save(folder)
    assert str(folder) in str(caught.value)
    monkeypatch.undo()
    assert snapshot(folder) == before


@pytest.mark.skipif(os.name != "posix" or os.geteuid() != 0, reason="only root can give files away")
def test_root_saving_a_users_folder_keeps_the_owner(shipped: kneebayes.Priors, tmp_path: Path) -> None:
    """When root saves into a folder someone else owns, the new folder and files keep that owner."""
    folder = tmp_path / "priors"
    shipped.save(folder)
    for path in (folder, *folder.iterdir()):
        os.chown(path, 65534, 65534)
    shipped.save(folder)
    assert {(p.stat().st_uid, p.stat().st_gid) for p in (folder, *folder.iterdir())} == {(65534, 65534)}


def test_a_save_into_the_working_folder_follows_it(
    shipped: kneebayes.Priors, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Saving into "." (the working folder) leaves the process in the new folder, not in the deleted old one."""
    folder = tmp_path / "priors"
    shipped.save(folder)
    monkeypatch.chdir(folder)
    shipped.save(".")
    assert os.path.samefile(".", folder)
    assert sorted(os.listdir(".")) == sorted(FILES)


def test_load_reads_the_hidden_old_version_while_the_folder_is_missing(
    shipped: kneebayes.Priors, tmp_path: Path
) -> None:
    """Between the two renames of the fallback switch (or after a crash there), load_priors reads the old version."""
    folder = tmp_path / "priors"
    shipped.save(folder)
    folder.rename(tmp_path / ".priors.kneebayes-old-k3j9x2ab")
    pd.testing.assert_frame_equal(load_priors(folder).to_frame(), shipped.to_frame())
    shutil.rmtree(tmp_path / ".priors.kneebayes-old-k3j9x2ab")
    with pytest.raises(kneebayes.PriorsError, match="priors folder does not exist"):
        load_priors(folder)
