"""The command line turns every bad input into exit code 2 and one clear line on stderr, never a traceback."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import kneebayes
from cli_helpers import PREFIX, one_line_error, run
from malformed_cases import set_fields


@pytest.fixture
def malformed(tmp_path: Path) -> Path:
    """Return a copy of the shipped priors with two defects in two files."""
    folder = tmp_path / "bad priors"
    shutil.copytree(kneebayes.shipped_priors_path(), folder)
    for name, mutation in (("causes.csv", set_fields("dvt", base_rate="abc")),
                           ("red_flags.csv", set_fields("fever", level="see_doctor"))):
        path = folder / name
        path.write_text(mutation(path.read_text(encoding="utf-8")), encoding="utf-8")  # type: ignore[arg-type]
    return folder


# ---- argparse -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "phrase"),
    [
        (["diagnose", "--bogus"], "--bogus"),
        (["--bogus"], "COMMAND"),
        (["diagnose", "--present", "fever", "--prsent", "stiffness"], "--prsent"),
        (["frobnicate"], "frobnicate"),
        ([], "required"),
        (["diagnose", "--present"], "--present"),
        (["diagnose", "--absent"], "--absent"),
        (["diagnose", "--present", "fever", "--age", "abc"], "abc"),
        (["diagnose", "--present", "fever", "--age"], "--age"),
        (["diagnose", "--present", "fever", "--engine", "torch"], "torch"),
        (["check-priors"], "PATH"),
    ],
    ids=["unknown_flag", "unknown_top_flag", "misspelt_flag", "unknown_command", "no_command", "empty_present",
         "empty_absent", "age_text", "age_missing", "unknown_engine", "check_priors_without_path"],
)
def test_bad_arguments_exit_2_with_one_line(argv: list[str], phrase: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Unknown flags, empty lists and unparsable values exit 2 with one line naming the culprit."""
    line = one_line_error(argv, capsys)
    assert phrase in line


# ---- evidence ---------------------------------------------------------------------------------------


def test_unknown_id_exits_2_with_a_suggestion(capsys: pytest.CaptureFixture[str]) -> None:
    """An unknown id exits 2 with one line suggesting the closest id."""
    line = one_line_error(["diagnose", "--present", "lump_behnd_knee"], capsys)
    assert "did you mean 'lump_behind_knee'" in line


def test_cause_id_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    """A cause id given as a finding exits 2 with one line saying it is a cause."""
    assert "is a cause" in one_line_error(["diagnose", "--absent", "dvt"], capsys)


def test_contradiction_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    """The same id present and absent exits 2 with one line."""
    assert "'fever'" in one_line_error(["diagnose", "--present", "fever", "--absent", "fever"], capsys)


@pytest.mark.parametrize("age", ["-3", "=-3", "nan", "inf", "200"])
def test_bad_age_value_exits_2(age: str, capsys: pytest.CaptureFixture[str]) -> None:
    """A negative, NaN, infinite or too high --age exits 2 with one line about the age."""
    argv = ["diagnose", "--present", "fever", "--age" + age] if age.startswith("=") else [
        "diagnose", "--present", "fever", "--age", age]
    assert "'age'" in one_line_error(argv, capsys)


# ---- priors folders ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", [["diagnose", "--present", "fever", "--priors"], ["findings", "--priors"]])
def test_missing_priors_folder_exits_2_with_one_line(
    command: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A --priors folder that does not exist exits 2 with one line naming it."""
    line = one_line_error([*command, str(tmp_path / "nowhere")], capsys)
    assert "nowhere" in line and "does not exist" in line


@pytest.mark.parametrize("command", [["diagnose", "--present", "fever", "--priors"], ["findings", "--priors"]])
def test_file_as_priors_folder_exits_2_with_one_line(
    command: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A --priors path that is a file exits 2 with one line saying it is not a folder."""
    path = tmp_path / "causes.csv"
    path.write_text("id\n", encoding="utf-8")
    line = one_line_error([*command, str(path)], capsys)
    assert "not a folder" in line


def test_malformed_priors_folder_for_diagnose_exits_2_with_one_line(
    malformed: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A malformed --priors folder exits 2 with one line giving the first problem and the way to list them all."""
    line = one_line_error(["diagnose", "--present", "fever", "--priors", str(malformed)], capsys)
    assert "causes.csv, line " in line and "field 'base_rate'" in line
    assert "check-priors" in line


def check_priors_error(path: Path, capsys: pytest.CaptureFixture[str]) -> list[str]:
    """Run check-priors on ``path``, check exit code 2 and no traceback; return the stderr lines."""
    code, out, err = run(["check-priors", str(path)], capsys)
    assert code == 2, (code, out, err)
    assert out == ""
    assert "Traceback" not in err
    lines = err.splitlines()
    assert lines, "nothing on stderr"
    assert str(path) in lines[0]
    return lines


def test_check_priors_missing_folder_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """check-priors on a missing folder exits 2 and says it does not exist."""
    lines = check_priors_error(tmp_path / "nowhere", capsys)
    assert "does not exist" in "\n".join(lines)
    assert len(lines) <= 2


def test_check_priors_on_a_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """check-priors on a file exits 2 and says it is not a folder."""
    path = tmp_path / "causes.csv"
    path.write_text("id\n", encoding="utf-8")
    lines = check_priors_error(path, capsys)
    assert "not a folder" in "\n".join(lines)
    assert len(lines) <= 2


def test_check_priors_lists_every_problem(malformed: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """check-priors on a malformed folder exits 2 and prints one line per problem after a summary line."""
    with pytest.raises(kneebayes.PriorsError) as info:
        kneebayes.load_priors(malformed)
    problems = info.value.problems
    assert len(problems) == 2
    lines = check_priors_error(malformed, capsys)
    assert "2 problems" in lines[0]
    assert len(lines) == 1 + len(problems)
    for problem, line in zip(problems, lines[1:], strict=True):
        assert str(problem) in line
    assert "field 'base_rate'" in lines[1] and "field 'level'" in lines[2]


def test_check_priors_on_valid_folder_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    """check-priors on the shipped priors exits 0 and prints nothing on stderr (the error paths are not the norm)."""
    code, out, err = run(["check-priors", str(kneebayes.shipped_priors_path())], capsys)
    assert (code, err) == (0, "")
    assert out.startswith(f"{kneebayes.shipped_priors_path()}: valid; ") and "invalid" not in out, out


# ---- a real process -------------------------------------------------------------------------------------


def test_subprocess_unknown_id_exits_2_without_traceback() -> None:
    """``python -m kneebayes.cli`` with an unknown id exits 2 with one stderr line and no traceback."""
    done = subprocess.run(
        [sys.executable, "-m", "kneebayes.cli", "diagnose", "--present", "lump_behnd_knee", "--age", "40"],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode == 2, done
    assert "Traceback" not in done.stdout + done.stderr
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(PREFIX) and "did you mean 'lump_behind_knee'" in lines[0]
