"""Vignettes replayed as interviews: the batched replay follows interview_step, and the README table is true."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import kneebayes
from kneebayes._replay import by_split

ROOT = Path(__file__).resolve().parents[1]
VIGNETTES = ROOT / "validation" / "vignettes.csv"


@pytest.fixture(scope="module")
def replay() -> kneebayes.InterviewReplay:
    """Return every vignette replayed as an interview with the shipped model."""
    return kneebayes.replay_interviews(kneebayes.load_model(), VIGNETTES)


def test_batched_replay_follows_interview_step(model: kneebayes.Model) -> None:
    """For a few vignettes, the replay asks exactly the questions a step-by-step interview asks."""
    vignettes = kneebayes.load_vignettes(VIGNETTES, model)
    some = vignettes.iloc[[0, 5, 40, 70]]
    result = kneebayes.replay_interviews(model, some)
    for ident, case in some.iterrows():
        present: list[str] = []
        absent: list[str] = []
        unknown: list[str] = []
        while True:
            step = model.interview_step(present, absent, case["age"] if case["age"] == case["age"] else None,
                                        unknown=unknown)
            if step["should_stop"]:
                break
            q = step["question"]
            (present if q in case["present"] else absent if q in case["absent"] else unknown).append(q)
        row = result.cases.loc[ident]
        assert row["questions"] == len(present) + len(absent) + len(unknown)
        assert row["answered"] == len(present) + len(absent) and row["reason"] == step["reason"]
        assert row["triage"] == step["diagnosis"]["triage"]


def test_replay_never_under_triages_more_than_asking_everything(replay: kneebayes.InterviewReplay) -> None:
    """Every red-flag question is asked, and no vignette is under-triaged at the stop unless it is with every answer."""
    cases = replay.cases
    assert (cases["red_flags_unasked"] == 0).all()
    assert not (cases["under"] & ~cases["full_under"]).any()
    assert replay.under_triage_urgent <= replay.full_under_triage_urgent
    assert replay.mean_questions < len(kneebayes.load_model().observable)


def test_readme_replay_table_is_what_the_replay_gives(replay: kneebayes.InterviewReplay) -> None:
    """The README's interview table holds the numbers of the replay, split by split."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for label, r in zip(("tuning", "held-out", "all"), by_split(replay).values(), strict=True):
        row = (f"| {label} | {r.n} | {r.mean_questions:.1f} | {r.mean_answered:.1f} | {r.top1:.1%} | "
               f"{r.full_top1:.1%} | {r.top3:.1%} | {r.full_top3:.1%} | {r.under_triage_urgent} | "
               f"{r.full_under_triage_urgent} |")
        assert row in readme, row


def test_evaluate_interview_command(tmp_path: Path) -> None:
    """`kneebayes evaluate FILE --interview` prints the replay table, and --json carries it."""
    lines = VIGNETTES.read_text(encoding="utf-8").splitlines(keepends=True)
    header = next(i for i, line in enumerate(lines) if line.startswith("id,"))
    small = tmp_path / "few.csv"
    small.write_text("".join(lines[header:header + 4]), encoding="utf-8")
    run = subprocess.run([sys.executable, "-m", "kneebayes.cli", "evaluate", str(small), "--interview"],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    assert "replayed as interviews" in run.stdout
    model = kneebayes.load_model()
    r = kneebayes.replay_interviews(model, small)
    assert f"{r.mean_questions:.1f}" in run.stdout and f"{r.top1:.1%} / {r.full_top1:.1%}" in run.stdout
    run = subprocess.run([sys.executable, "-m", "kneebayes.cli", "evaluate", str(small), "--interview", "--json"],
                         capture_output=True, text=True, timeout=600)
    assert json.loads(run.stdout)["interview"]["all"] == json.loads(json.dumps(r.summary()))
