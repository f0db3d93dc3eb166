"""The command line never drops an answer, never ends in a traceback, and speaks of the file it read.

Issue 9, items 1, 8 and 9 (command line side), and issue 12's command-line polish.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

import kneebayes
from cli_helpers import PREFIX, one_line_error, run
from kneebayes import cli


def diagnose_json(argv: list[str], capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    code, out, err = run(["diagnose", *argv, "--json"], capsys)
    assert (code, err) == (0, ""), (code, err)
    data = json.loads(out)
    assert isinstance(data, dict)
    return data


# ---- item 1: repeated flags accumulate ---------------------------------------------------------------


def test_repeated_present_keeps_the_emergency(capsys: pytest.CaptureFixture[str]) -> None:
    """A second --present adds to the first: chest pain and difficulty breathing still give an emergency."""
    data = diagnose_json(["--present", "chest_pain", "difficulty_breathing", "--present", "spasm"], capsys)
    evidence = data["evidence"]
    assert isinstance(evidence, dict)
    assert evidence["present"] == ["chest_pain", "difficulty_breathing", "spasm"]
    assert data["triage"] == "emergency"


def test_repeated_present_equals_one_list(capsys: pytest.CaptureFixture[str]) -> None:
    """Three --present flags give exactly the posteriors of one --present with the three ids."""
    split = diagnose_json(["--present", "calf_swelling", "--present", "recent_immobility", "--present", "swelling",
                           "--age", "64"], capsys)
    joined = diagnose_json(["--present", "calf_swelling", "recent_immobility", "swelling", "--age", "64"], capsys)
    assert split == joined
    assert split["triage"] == "urgent"


def test_repeated_absent_keeps_every_denial(capsys: pytest.CaptureFixture[str]) -> None:
    """A second --absent adds to the first, after or before a --present."""
    data = diagnose_json(["--absent", "fever", "--present", "spasm", "--absent", "swelling", "calf_swelling"], capsys)
    evidence = data["evidence"]
    assert isinstance(evidence, dict)
    assert evidence["absent"] == ["calf_swelling", "fever", "swelling"]
    assert evidence["present"] == ["spasm"]


def test_id_in_a_repeated_present_and_in_absent_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    """An id present in the second --present and absent in --absent still exits 2 naming it."""
    line = one_line_error(["diagnose", "--present", "spasm", "--absent", "fever", "--present", "fever"], capsys)
    assert "'fever'" in line and "both present and absent" in line


# ---- issue 12: no answers, --version, --help ------------------------------------------------------------


def test_diagnose_without_answers_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    """Diagnose with no answer at all does not advise self-care: it says nothing was reported and how to report."""
    line = one_line_error(["diagnose"], capsys)
    assert "nothing was reported" in line
    for flag in ("--present", "--absent", "--age", "kneebayes findings"):
        assert flag in line
    assert "self_care" not in line


@pytest.mark.parametrize("argv", [["--age", "40"], ["--absent", "fever"]], ids=["age_only", "absent_only"])
def test_diagnose_with_one_kind_of_answer_runs(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """An age alone, or denials alone, are answers: diagnose runs."""
    assert diagnose_json(argv, capsys)["triage"] in kneebayes.TRIAGE_LEVELS


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    """The option --version prints the package version and exits 0."""
    code, out, err = run(["--version"], capsys)
    assert code == 0, err
    assert out.strip() == f"kneebayes {kneebayes.__version__}"


@pytest.mark.parametrize("command", ["diagnose", "findings", "check-priors", "evaluate"])
def test_each_command_help_has_a_description_and_an_example(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Each subcommand's --help describes it and shows an example command line, with its line breaks kept."""
    code, out, _ = run([command, "--help"], capsys)
    assert code == 0
    example_lines = [line for line in out.splitlines() if line.strip().startswith(f"kneebayes {command}")]
    assert example_lines, out
    assert "example" in out.lower()
    usage_end = out.index("\n\n")
    description = out[usage_end:].strip().splitlines()[0]
    assert len(description) > 20 and not description.startswith(("options", "positional")), out


# ---- item 8: no tracebacks: unreadable files, full device, Ctrl-C ----------------------------------------


def _deny(path_name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make reading any file called ``path_name`` raise PermissionError, as chmod 000 would for a non-root user."""
    real = Path.read_bytes

    def read_bytes(self: Path) -> bytes:
        if self.name == path_name:
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    real_open = os.open

    def open_(path: object, flags: int, *args: object, **kwargs: object) -> int:  # priors are read by os.open
        if os.path.basename(os.fspath(path)) == path_name:  # type: ignore[arg-type]
            raise PermissionError(errno.EACCES, "Permission denied", os.fspath(path))  # type: ignore[arg-type]
        return real_open(path, flags, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", open_)


def test_unreadable_priors_file_is_a_located_problem(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A priors file that cannot be read is a PriorsError problem naming the file, not a raw PermissionError."""
    folder = tmp_path / "mine"
    shutil.copytree(kneebayes.shipped_priors_path(), folder)
    _deny("causes.csv", monkeypatch)
    with pytest.raises(kneebayes.PriorsError) as info:
        kneebayes.load_priors(folder)
    assert [p.file for p in info.value.problems] == ["causes.csv"]
    assert "cannot read file: Permission denied" in str(info.value.problems[0])


def test_unreadable_priors_file_exits_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    """The command diagnose --priors with an unreadable causes.csv exits 2 with one line naming the file."""
    folder = tmp_path / "mine"
    shutil.copytree(kneebayes.shipped_priors_path(), folder)
    _deny("causes.csv", monkeypatch)
    line = one_line_error(["diagnose", "--present", "spasm", "--priors", str(folder)], capsys)
    assert "causes.csv" in line and "Permission denied" in line


def test_unreadable_vignette_file_exits_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    """The command evaluate on an unreadable vignette file exits 2 with one line naming the file."""
    path = tmp_path / "cases.csv"
    shutil.copy(Path(__file__).resolve().parents[1] / "validation" / "vignettes.csv", path)
    _deny("cases.csv", monkeypatch)
    line = one_line_error(["evaluate", str(path)], capsys)
    assert str(path) in line and "Permission denied" in line


def _raiser(exc: BaseException) -> Callable[..., int]:
    def handler(*_: object, **__: object) -> int:
        raise exc

    return handler


@pytest.mark.parametrize("command", [["diagnose", "--present", "spasm"], ["findings"], ["evaluate", "x.csv"],
                                     ["check-priors", "priors"]])
def test_ctrl_c_exits_130_with_one_line(command: list[str], monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    """Ctrl-C during any command prints 'kneebayes: interrupted' and exits 130, no traceback."""
    name = {"diagnose": "_diagnose", "findings": "_findings", "evaluate": "_evaluate",
            "check-priors": "_check_priors"}[command[0]]
    monkeypatch.setattr(cli, name, _raiser(KeyboardInterrupt()))
    try:
        code, out, err = run(command, capsys)
    except KeyboardInterrupt:  # a regression must fail this test, not stop the whole test session
        pytest.fail("KeyboardInterrupt escaped main()")
    assert code == 130
    assert err == "kneebayes: interrupted\n" and "Traceback" not in out


def test_ctrl_c_in_a_real_process_exits_130(tmp_path: Path) -> None:
    """SIGINT delivered to a real evaluate run (a large vignette file) ends with exit 130 and one line."""
    source = (Path(__file__).resolve().parents[1] / "validation" / "vignettes.csv").read_text(encoding="utf-8")
    code = (
        "import os, signal, sys\n"
        "import kneebayes._evaluate as e\n"
        "real = e.load_vignettes\n"
        "def slow(*a, **k):\n"
        "    os.kill(os.getpid(), signal.SIGINT)\n"
        "    return real(*a, **k)\n"
        "e.load_vignettes = slow\n"
        "from kneebayes.cli import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    path = tmp_path / "v.csv"
    path.write_text(source, encoding="utf-8")
    done = subprocess.run([sys.executable, "-c", code, "evaluate", str(path)], capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 130, done
    assert done.stderr == "kneebayes: interrupted\n"


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
@pytest.mark.parametrize("argv", [["diagnose", "--present", "spasm"], ["diagnose", "--present", "spasm", "--json"],
                                  ["findings"]], ids=["table", "json", "findings"])
def test_full_device_exits_2_with_one_line(argv: list[str]) -> None:
    """Output to a full device (/dev/full) exits 2 with one line about the output, no traceback."""
    with open("/dev/full", "w", encoding="utf-8") as full:
        done = subprocess.run([sys.executable, "-m", "kneebayes.cli", *argv], stdout=full, stderr=subprocess.PIPE,
                              text=True, timeout=300, check=False)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(PREFIX) and "No space left on device" in lines[0] and "output" in lines[0]


def test_closed_stdout_exits_2_with_one_line() -> None:
    """Started with standard output closed (``>&-``), the command exits 2 with one line, no traceback."""
    done = subprocess.run(["sh", "-c", 'exec "$0" -m kneebayes.cli findings >&-', sys.executable],
                          stderr=subprocess.PIPE, text=True, timeout=300, check=False)
    assert done.returncode == 2, done.stderr
    assert done.stderr == f"{PREFIX}cannot write the output: standard output is closed\n"


def test_failed_write_in_process_exits_2(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """An OSError while writing the output (in-process) exits 2 with one line naming the cause."""
    monkeypatch.setattr(cli, "_findings", _raiser(OSError(errno.ENOSPC, "No space left on device")))
    line = one_line_error(["findings"], capsys)
    assert "cannot write the output: No space left on device" in line


# ---- item 9: vignette files talk about themselves --------------------------------------------------------

VIGNETTES = """# comment
id,split,age,present,absent,diagnosis,alternatives,triage
a1,tune,30,spasm sudden_onset,,cramp,,self_care
a2,tune,70,calf_swelling recent_immobility,,dvt,,urgent
"""


def test_missing_vignette_file_speaks_of_the_vignette_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The command evaluate on a missing file names it and says it does not exist, without priors words."""
    path = tmp_path / "nowhere.csv"
    line = one_line_error(["evaluate", str(path)], capsys)
    assert f"vignette file {path}" in line and "does not exist" in line
    assert "priors" not in line and "check-priors" not in line


def test_malformed_vignette_file_names_path_line_and_field(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A malformed vignette gives its path, line and field, counts the other problems and never advises check-priors."""
    path = tmp_path / "cases.csv"
    path.write_text(VIGNETTES.replace("spasm sudden", "spasmm sudden").replace(",urgent", ",soon"), encoding="utf-8")
    line = one_line_error(["evaluate", str(path)], capsys)
    assert f"vignette file {path}, line 3, field 'present'" in line
    assert "did you mean 'spasm'" in line and "1 more" in line
    assert "priors" not in line and "check-priors" not in line


def test_vignette_error_class(tmp_path: Path, model: kneebayes.Model) -> None:
    """load_vignettes raises VignetteError (a KneeBayesError and ValueError, not a PriorsError) with its problems."""
    path = tmp_path / "cases.csv"
    path.write_text(VIGNETTES.replace(",urgent", ",soon"), encoding="utf-8")
    with pytest.raises(kneebayes.VignetteError) as info:
        kneebayes.load_vignettes(path, model)
    err = info.value
    assert isinstance(err, kneebayes.KneeBayesError) and isinstance(err, ValueError)
    assert not isinstance(err, kneebayes.PriorsError)
    assert err.path == str(path)
    assert [(p.line, p.field, p.value) for p in err.problems] == [(4, "triage", "soon")]
    assert f"vignette file {path}" in str(err)


@pytest.mark.parametrize("sep", [";", "\t"], ids=["semicolon", "tab"])
def test_vignettes_with_another_separator_get_one_problem(sep: str, tmp_path: Path, model: kneebayes.Model) -> None:
    """A semicolon- or tab-separated vignette file gets one problem naming the separator, not eight missing columns."""
    path = tmp_path / "cases.csv"
    path.write_text(VIGNETTES.replace(",", sep), encoding="utf-8")
    with pytest.raises(kneebayes.VignetteError) as info:
        kneebayes.load_vignettes(path, model)
    assert len(info.value.problems) == 1
    shown = "tab" if sep == "\t" else repr(sep)
    assert f"separated by {shown}" in str(info.value) and "comma-separated" in str(info.value)


@pytest.mark.parametrize("sep", [";", "\t"], ids=["semicolon", "tab"])
def test_priors_file_with_another_separator_gets_one_problem(sep: str, tmp_path: Path) -> None:
    """A priors file saved with ';' (Excel in many countries) gets one located problem naming the separator."""
    folder = tmp_path / "mine"
    shutil.copytree(kneebayes.shipped_priors_path(), folder)
    path = folder / "causes.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    converted = [line if line.startswith("#") else line.replace(",", sep) for line in lines]
    path.write_text("\n".join(converted) + "\n", encoding="utf-8")
    with pytest.raises(kneebayes.PriorsError) as info:
        kneebayes.load_priors(folder)
    problems = info.value.problems
    assert len(problems) == 1, problems
    assert problems[0].file == "causes.csv" and problems[0].line is not None
    shown = "tab" if sep == "\t" else repr(sep)
    assert f"separated by {shown}" in problems[0].rule and "comma-separated" in problems[0].rule
