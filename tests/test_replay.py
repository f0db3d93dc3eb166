"""Vignettes replayed as interviews: the batched replay follows interview_step, and the README table is true."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import kneebayes
from cli_helpers import run
from kneebayes._replay import by_split

ROOT = Path(__file__).resolve().parents[1]
VIGNETTES = ROOT / "validation" / "vignettes.csv"


@pytest.fixture(scope="module")
def replay(model: kneebayes.Model) -> kneebayes.InterviewReplay:
    """Return every vignette replayed as an interview with the shipped model, once for the tests that read it."""
    return kneebayes.replay_interviews(model, VIGNETTES)


def _step_by_step(model: kneebayes.Model, case: pd.Series) -> tuple[list[str], list[str], list[str], dict[str, Any]]:
    """Interview by public interview_step calls, answered from the vignette; return the answers and the last step."""
    present: list[str] = []
    absent: list[str] = []
    unknown: list[str] = []
    age = None if pd.isna(case["age"]) else float(case["age"])
    sex = case["sex"] or None
    while True:
        step = model.interview_step(present, absent, age, sex=sex, unknown=unknown)
        if step["should_stop"]:
            return present, absent, unknown, step
        q = step["question"]
        (present if q in case["present"] else absent if q in case["absent"] else unknown).append(q)


def test_batched_replay_follows_interview_step(model: kneebayes.Model, replay: kneebayes.InterviewReplay) -> None:
    """For seeded vignettes (one without a sex), the replay asks exactly the questions step-by-step calls ask.

    The replay scores all interviews in one batch per round, asks only the red-flag questions' rows
    while any is left, and rescored nothing after a "don't know"; the stateless public steps do none
    of that, so agreeing question for question checks all three.
    """
    vignettes = kneebayes.load_vignettes(VIGNETTES, model)
    rng = random.Random(20261130)  # seeded: the same vignettes on every run
    with_sex = sorted(vignettes.index[vignettes["sex"] != ""])
    some = [*rng.sample(with_sex, 2), rng.choice(sorted(vignettes.index[vignettes["sex"] == ""]))]
    for ident in some:
        present, absent, unknown, step = _step_by_step(model, vignettes.loc[ident])
        row = replay.cases.loc[ident]
        assert row["sex"] == vignettes.loc[ident, "sex"], ident
        assert row["questions"] == len(present) + len(absent) + len(unknown), ident
        assert row["answered"] == len(present) + len(absent) and row["reason"] == step["reason"], ident
        assert row["triage"] == step["diagnosis"]["triage"] and row["top"] == step["diagnosis"]["top"], ident


def test_replay_never_under_triages_more_than_asking_everything(replay: kneebayes.InterviewReplay,
                                                                model: kneebayes.Model) -> None:
    """Every red-flag question is asked, and no vignette is under-triaged at the stop unless it is with every answer."""
    cases = replay.cases
    assert (cases["red_flags_unasked"] == 0).all()
    assert not (cases["under"] & ~cases["full_under"]).any()
    assert replay.under_triage_urgent <= replay.full_under_triage_urgent
    assert replay.mean_questions < len(model.observable)


def test_readme_replay_table_is_what_the_replay_gives(replay: kneebayes.InterviewReplay) -> None:
    """The README's interview table holds the numbers of the replay, split by split."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for label, r in zip(("tuning", "held-out", "all"), by_split(replay).values(), strict=True):
        row = (f"| {label} | {r.n} | {r.mean_questions:.1f} | {r.mean_answered:.1f} | {r.top1:.1%} | "
               f"{r.full_top1:.1%} | {r.top3:.1%} | {r.full_top3:.1%} | {r.under_triage_urgent} | "
               f"{r.full_under_triage_urgent} |")
        assert row in readme, row


def test_evaluate_interview_command(tmp_path: Path, model: kneebayes.Model,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    """`kneebayes evaluate FILE --interview` prints the replay table, and --json carries it (run in-process)."""
    lines = VIGNETTES.read_text(encoding="utf-8").splitlines(keepends=True)
    header = next(i for i, line in enumerate(lines) if line.startswith("id,"))
    small = tmp_path / "few.csv"
    small.write_text("".join(lines[header:header + 4]), encoding="utf-8")
    code, out, err = run(["evaluate", str(small), "--interview"], capsys)
    assert code == 0, err
    assert "replayed as interviews" in out
    r = kneebayes.replay_interviews(model, small)
    assert f"{r.mean_questions:.1f}" in out and f"{r.top1:.1%} / {r.full_top1:.1%}" in out
    code, out, err = run(["evaluate", str(small), "--interview", "--json"], capsys)
    assert code == 0, err
    assert json.loads(out)["interview"]["all"] == json.loads(json.dumps(r.summary()))
