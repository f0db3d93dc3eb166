"""Saving survives SIGKILL at any moment and readers never see a mix: tested the way it was broken.

A saver process is killed at random moments many times; after each kill the folder must load as exactly
the old or the new version, with nothing lost, and the next save must leave no hidden entry behind. A
reader loading in a loop while another process saves must only ever see whole versions.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import kneebayes
from kneebayes import Priors, load_priors

WORKER = Path(__file__).with_name("save_worker.py")

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="the kill test forks savers (POSIX only)")


def make_versions(root: Path) -> tuple[Path, Path]:
    """Write two priors folders A and B that differ in every file (numbers, words, references, messages)."""
    first, second = root / "A", root / "B"
    shutil.copytree(kneebayes.shipped_priors_path(), first)
    shutil.copytree(first, second)
    edits = {
        "vocabulary.csv": ("The knee gives way or buckles", "The knee gives way or buckles (version B)"),
        "references.csv": ("The pseudothrombophlebitis syndrome", "The pseudothrombophlebitis syndrome (B)"),
        "red_flags.csv": ("Call emergency services now. Chest pain", "Call an ambulance now. Chest pain"),
        "age_bands.csv": ('"reference band"', '"the reference band"'),
    }
    for name, (old, new) in edits.items():
        text = (second / name).read_text(encoding="utf-8")
        assert old in text, name
        (second / name).write_text(text.replace(old, new, 1), encoding="utf-8")
    edited = load_priors(second)
    frame = edited.to_frame()
    for kind in ("base_rate", "prevalence", "odds_ratio", "leak", "finding_probability",
                 "threshold", "setting"):
        row = frame[frame["kind"] == kind].iloc[0]
        edited = edited.with_value(kind, row["target"], (row["value"] + row["high"]) / 2)
    edited.save(second)
    return first, second


def env(switch: str) -> dict[str, str]:
    """Return the environment for a worker: this checkout's kneebayes first on the path, the switch to use."""
    paths = [str(Path(kneebayes.__file__).parents[1]), os.environ.get("PYTHONPATH", "")]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p), "OPENBLAS_NUM_THREADS": "1",
            "SAVE_WORKER_SWITCH": switch}


#: How saves switch folders: Linux's atomic exchange, or the two renames used where it is missing
#: (fewer kills and loads there, to keep the file's run time down).
SWITCHES = [pytest.param("exchange", 60, 200, id="exchange"), pytest.param("renames", 20, 60, id="renames")]


@pytest.fixture
def versions(tmp_path: Path) -> tuple[Path, Path, Path]:
    """Return a priors folder holding version A (plus a CHANGES.md of its own) and the folders A and B."""
    first, second = make_versions(tmp_path / "versions")
    folder = tmp_path / "run" / "priors"
    shutil.copytree(first, folder)
    (folder / "CHANGES.md").write_text("# my notes\nkept across every save\n", encoding="utf-8")
    return folder, first, second


def test_every_file_of_the_two_versions_differs(versions: tuple[Path, Path, Path]) -> None:
    """A and B differ in every priors file, so a mix of the two cannot pass for either."""
    _, first, second = versions
    for name in kneebayes._priors.FILES:
        assert (first / name).read_bytes() != (second / name).read_bytes(), name


@pytest.mark.parametrize(("switch", "kills", "loads"), SWITCHES)
def test_a_save_killed_at_random_moments_leaves_the_old_or_the_new_version(
    versions: tuple[Path, Path, Path], switch: str, kills: int, loads: int
) -> None:
    """After each SIGKILL of a saver the folder loads as exactly A or B, nothing lost; the next save leaves nothing."""
    folder, first, second = versions
    done = subprocess.run(
        [sys.executable, str(WORKER), "kill", str(folder), str(first), str(second), str(kills), "20261130"],
        capture_output=True, text=True, env=env(switch), timeout=300, check=False,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    outcomes: list[str] = report["outcomes"]
    assert len(outcomes) == kills
    wrong = [(i, o) for i, o in enumerate(outcomes) if o not in ("A", "B")]
    assert wrong == [], wrong
    assert "A" in outcomes and "B" in outcomes, outcomes  # kills landed both before and after a switch
    cut_short = sum(1 for left in report["interrupted"] if left)
    assert cut_short >= kills // 6, f"only {cut_short} kills interrupted a save; the test did not test much"
    debris = [(i, left) for i, left in enumerate(report["leftovers"]) if left]
    assert debris == [], debris


@pytest.mark.parametrize(("switch", "kills", "loads"), SWITCHES)
def test_a_reader_during_saves_sees_only_whole_versions(
    versions: tuple[Path, Path, Path], switch: str, kills: int, loads: int
) -> None:
    """Loads while two processes save A and B into the folder each give exactly A or B, and both appear."""
    folder, first, second = versions
    known = {"A": _Whole(load_priors(first)), "B": _Whole(load_priors(second))}
    savers = [
        subprocess.Popen(
            [sys.executable, str(WORKER), "saver", str(folder), str(one), str(other)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env(switch),
        )
        for one, other in ((first, second), (second, first))
    ]
    try:
        for saver in savers:
            assert saver.stdout is not None
            assert saver.stdout.readline().strip() == "saving", saver.stderr.read() if saver.stderr else ""
        seen = []
        for _ in range(loads):
            loaded = _Whole(load_priors(folder))
            seen.append([name for name, version in known.items() if loaded == version])
        running = [saver.poll() is None for saver in savers]
    finally:
        for saver in savers:
            saver.kill()
            saver.communicate()
    assert running == [True, True]  # neither saver failed (two savers into one folder take turns)
    mixes = [i for i, names in enumerate(seen) if len(names) != 1]
    assert mixes == [], f"{len(mixes)} of {len(seen)} loads were a mix of versions"
    assert {names[0] for names in seen} == {"A", "B"}
    load_priors(first).save(folder)  # the saves killed above are cleaned up by the next one
    assert sorted(p.name for p in folder.parent.iterdir()) == ["priors"]
    assert (folder / "CHANGES.md").read_text(encoding="utf-8") == "# my notes\nkept across every save\n"


class _Whole:
    """What a priors version holds (numbers, rules, words, references), computed once for comparing."""

    def __init__(self, priors: Priors) -> None:
        self.frame = priors.to_frame()
        self.rules = priors.red_flags
        self.vocabulary = priors.vocabulary
        self.references = priors.references

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, _Whole)
            and self.rules == other.rules
            and self.frame.equals(other.frame)
            and self.vocabulary.equals(other.vocabulary)
            and self.references.equals(other.references)
        )

    __hash__ = None  # type: ignore[assignment]
