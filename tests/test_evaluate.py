"""Evaluation on vignettes: metrics against an independent computation, and file errors."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

import kneebayes
from kneebayes.cli import main

VIGNETTES = """# two comment lines
# like the shipped file
id,split,age,present,absent,diagnosis,alternatives,triage,source_kind,source,note
a1,tune,30,spasm sudden_onset overuse,swelling,cramp,,self_care,article_built,article000,cramp
a2,tune,70,calf_swelling recent_immobility,,dvt,,urgent,article_built,article000,clot
a3,heldout,65,lump_behind_knee stiffness,,bakers_cyst,osteoarthritis,see_doctor,article_built,article004,cyst
a4,heldout,,difficulty_breathing,,dvt,,emergency,article_built,article000,pe
a5,tune,25,pop_sound swelling giving_way,,pcl_injury,,see_doctor,article_built,article004,knee
"""


@pytest.fixture
def vignette_file(tmp_path: Path) -> Path:
    path = tmp_path / "v.csv"
    path.write_text(VIGNETTES, encoding="utf-8")
    return path


def test_metrics_match_single_diagnoses(model: kneebayes.Model, vignette_file: Path) -> None:
    """Top-k, mean rank, Brier, log loss and triage counts equal those computed from diagnose() one case at a time."""
    frame = kneebayes.load_vignettes(vignette_file, model)
    result = kneebayes.evaluate(model, frame)
    top1 = top3 = 0
    ranks, briers, losses, under_urgent, over = [], [], [], 0, 0
    levels = kneebayes.TRIAGE_LEVELS
    for _, case in frame.iterrows():
        d = model.diagnose(list(case["present"]), list(case["absent"]),
                           None if math.isnan(case["age"]) else case["age"])
        ranking = list(d.probabilities.index)
        ok = {case["diagnosis"], *case["alternatives"]}
        top1 += ranking[0] in ok
        top3 += bool(ok & set(ranking[:3]))
        ranks.append(ranking.index(case["diagnosis"]) + 1)
        p = d.probabilities[case["diagnosis"]]
        briers.append((1 - p) ** 2)
        losses.append(-math.log(p))
        got, want = levels.index(d.triage), levels.index(case["triage"])
        under_urgent += got < want and case["triage"] in ("urgent", "emergency")
        over += got > want
    assert result.n == 5
    assert result.top1 == pytest.approx(top1 / 5) and result.top3 == pytest.approx(top3 / 5)
    assert result.mean_rank == pytest.approx(sum(ranks) / 5)
    assert result.brier == pytest.approx(sum(briers) / 5, abs=1e-12)
    assert result.log_loss == pytest.approx(sum(losses) / 5, abs=1e-12)
    assert result.under_triage_urgent == under_urgent and result.over_triage == over
    assert result.confusion.to_numpy().sum() == 5


def test_split_selects_rows(model: kneebayes.Model, vignette_file: Path) -> None:
    """split='heldout' scores only the heldout rows."""
    assert kneebayes.evaluate(model, vignette_file, split="heldout").n == 2
    with pytest.raises(ValueError, match="'split' parameter"):
        kneebayes.evaluate(model, vignette_file, split="test")


def test_bad_vignette_file_lists_every_problem(model: kneebayes.Model, tmp_path: Path) -> None:
    """An unknown id and an unknown triage level are both reported with their line and field."""
    path = tmp_path / "bad.csv"
    bad = VIGNETTES.replace("spasm sudden_onset", "spasmm sudden_onset").replace(
        "see_doctor,article_built,article004,cyst", "soon,article_built,article004,cyst"
    )
    path.write_text(bad, encoding="utf-8")
    with pytest.raises(kneebayes.VignetteError) as info:
        kneebayes.load_vignettes(path, model)
    message = str(info.value)
    assert message.startswith(f"2 problems in vignette file {path}:")
    assert "line 4, field 'present'" in message and "did you mean 'spasm'" in message
    assert "line 6, field 'triage'" in message
    assert [str(p) for p in info.value.problems][0].startswith(f"{path}, line 4, field 'present'")


def test_evaluate_command(capsys: pytest.CaptureFixture[str], vignette_file: Path) -> None:
    """The command kneebayes evaluate prints the tune, heldout and all rows with the published anchors."""
    assert main(["evaluate", str(vignette_file)]) == 0
    out = capsys.readouterr().out
    for word in ("tune", "heldout", "all", "Semigran", "Confusion"):
        assert word in out


def test_shipped_vignettes_load(model: kneebayes.Model) -> None:
    """The shipped validation set uses only valid ids and has tune and heldout parts."""
    path = Path(__file__).resolve().parents[1] / "validation" / "vignettes.csv"
    frame = kneebayes.load_vignettes(path, model)
    assert len(frame) >= 60 and set(frame["split"]) == {"tune", "heldout"}
    assert set(frame["diagnosis"]) == set(model.causes)


def test_scoring_once_per_split_equals_separate_evaluations(model: kneebayes.Model, vignette_file: Path) -> None:
    """evaluate_by_split, which scores each vignette once, reports what evaluate() reports per split."""
    from kneebayes._evaluate import evaluate_by_split

    frame = kneebayes.load_vignettes(vignette_file, model)
    together = evaluate_by_split(model, frame)
    for name, split in (("tune", "tune"), ("heldout", "heldout"), ("all", None)):
        separate = kneebayes.evaluate(model, frame, split=split).summary()
        assert together[name].summary() == pytest.approx(separate, abs=1e-12)
