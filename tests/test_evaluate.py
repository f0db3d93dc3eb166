"""Evaluation on vignettes: metrics against an independent computation, and file errors."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
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


def test_evaluate_command(capsys: pytest.CaptureFixture[str], vignette_file: Path, model: kneebayes.Model) -> None:
    """The command kneebayes evaluate prints the tune, heldout and all rows with their figures, and the anchors."""
    assert main(["evaluate", str(vignette_file)]) == 0
    lines = capsys.readouterr().out.splitlines()
    frame = kneebayes.load_vignettes(vignette_file, model)
    for name, split in (("tune", "tune"), ("heldout", "heldout"), ("all", None)):
        r = kneebayes.evaluate(model, frame, split=split)
        row = next(line for line in lines if line.split()[:1] == [name])
        assert row.split() == [name, str(r.n), f"{r.top1:.1%}", f"{r.top3:.1%}", f"{r.mean_rank:.2f}", f"{r.brier:.3f}",
                               f"{r.log_loss:.3f}", f"{r.urgent_triaged:.1%}", str(r.under_triage_urgent),
                               str(r.under_triage), str(r.over_triage)], row
    assert any(line.startswith("  symptom checkers (Semigran et al., BMJ 2015): top-1 34%") for line in lines)
    assert any(line.startswith("Confusion (rows: final diagnosis") for line in lines)


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


# ---- hand-made cases with hand-computed metrics -------------------------------------------------------------

HAND_CAUSES = ("a", "b", "c", "d", "e")
#: (posteriors of a..e, diagnosis, alternatives, right triage, triage the model gave)
HAND_CASES = [
    ((0.9, 0.5, 0.3, 0.2, 0.1), "a", (), "see_doctor", "see_doctor"),  # rank 1
    ((0.8, 0.7, 0.6, 0.5, 0.1), "d", (), "urgent", "see_doctor"),  # rank 4: not in the top 3; urgent under-triaged
    ((0.1, 0.9, 0.8, 0.2, 0.3), "c", ("b",), "emergency", "emergency"),  # rank 2, top-1 through its alternative
    ((0.9, 0.8, 0.1, 0.7, 0.05), "e", ("d",), "self_care", "urgent"),  # rank 5, top-3 through its alternative; over
    ((0.7, 0.4, 0.5, 0.1, 0.2), "b", (), "see_doctor", "self_care"),  # rank 3; under-triaged, not urgent
    ((0.6, 0.3, 0.2, 0.1, 0.0), "e", (), "urgent", "emergency"),  # rank 5, P = 0 (log loss clipped); over
]


def _hand_frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    ids = pd.Index([f"h{i}" for i in range(len(HAND_CASES))], name="id")
    frame = pd.DataFrame({"diagnosis": [c[1] for c in HAND_CASES], "alternatives": [c[2] for c in HAND_CASES],
                          "triage": [c[3] for c in HAND_CASES], "split": "tune"}, index=ids)
    scored = pd.DataFrame([c[0] for c in HAND_CASES], index=ids, columns=list(HAND_CAUSES))
    scored["triage"] = [c[4] for c in HAND_CASES]
    scored["red_flags"] = ""
    return frame, scored


def test_metrics_of_hand_made_cases() -> None:
    """Every figure of the evaluation equals its value worked out by hand on six cases.

    A diagnosis ranked 4th does not count in the top 3; an urgent case given a lower level is
    under-triaged (urgent), a see-doctor case given self-care is under-triaged but not urgent,
    and two cases given a higher level are over-triaged.
    """
    from kneebayes._evaluate import _score

    frame, scored = _hand_frames()
    r = _score(frame, scored, HAND_CAUSES)
    assert r.n == 6
    assert r.top1 == 2 / 6  # cases 0 and 2 (through the alternative b)
    assert r.top3 == 4 / 6  # not case 1 (rank 4) nor case 5 (rank 5)
    assert r.cases["rank"].tolist() == [1, 4, 2, 5, 3, 5]
    assert r.mean_rank == pytest.approx(20 / 6, abs=1e-15)
    assert r.brier == pytest.approx((0.01 + 0.25 + 0.04 + 0.9025 + 0.36 + 1.0) / 6, abs=1e-15)
    losses = [-math.log(p) for p in (0.9, 0.5, 0.8, 0.05, 0.4)] + [-math.log(1e-15)]
    assert r.log_loss == pytest.approx(sum(losses) / 6, abs=1e-12)
    # urgent or worse: cases 1, 2 and 5; only case 1 got less than it needs
    assert r.under_triage_urgent == 1 and r.urgent_triaged == pytest.approx(2 / 3, abs=1e-15)
    assert r.under_triage == 2 and r.over_triage == 2
    assert r.cases["top"].tolist() == ["a", "a", "b", "a", "a", "a"]
    assert r.confusion.loc["d", "a"] == 1 and r.confusion.loc["c", "b"] == 1 and r.confusion.to_numpy().sum() == 6


def test_urgent_share_counts_only_urgent_and_emergency_cases() -> None:
    """urgent_triaged is taken over urgent and emergency vignettes only, and is NaN when there are none."""
    from kneebayes._evaluate import _score

    frame, scored = _hand_frames()
    calm = frame["triage"].isin(["self_care", "see_doctor"]).to_numpy()
    r = _score(frame[calm], scored[calm], HAND_CAUSES)
    assert r.under_triage_urgent == 0 and math.isnan(r.urgent_triaged)
    assert r.under_triage == 1  # case 4, see_doctor given self_care
    emergencies = (frame["triage"] == "emergency").to_numpy()
    assert _score(frame[emergencies], scored[emergencies], HAND_CAUSES).urgent_triaged == 1.0


EXTRA = VIGNETTES + """b1,tune,65,lump_behind_knee stiffness,,cramp,,see_doctor,article_built,article000,rank 4
b2,tune,50,pain_worse_standing,,dvt,,urgent,article_built,article000,under-triaged clot
b3,tune,40,calf_swelling,,bakers_cyst,,self_care,article_built,article000,over-triaged cyst
"""


def test_metrics_match_single_diagnoses_on_hard_cases(model: kneebayes.Model, tmp_path: Path) -> None:
    """With cases ranked 4th, under-triaged and over-triaged, evaluate() equals a diagnose()-by-diagnose() count."""
    path = tmp_path / "extra.csv"
    path.write_text(EXTRA, encoding="utf-8")
    frame = kneebayes.load_vignettes(path, model)
    result = kneebayes.evaluate(model, frame)
    levels = kneebayes.TRIAGE_LEVELS
    rank4 = top3 = under_urgent = urgent = over = 0
    ranks = []
    for _, case in frame.iterrows():
        d = model.diagnose(list(case["present"]), list(case["absent"]),
                           None if math.isnan(case["age"]) else case["age"])
        ranking = list(d.probabilities.index)
        rank = ranking.index(case["diagnosis"]) + 1
        ranks.append(rank)
        rank4 += rank == 4
        top3 += bool({case["diagnosis"], *case["alternatives"]} & set(ranking[:3]))
        got, want = levels.index(d.triage), levels.index(case["triage"])
        urgent += case["triage"] in ("urgent", "emergency")
        under_urgent += got < want and case["triage"] in ("urgent", "emergency")
        over += got > want
    assert rank4 >= 1 and under_urgent >= 1 and over >= 1  # the hard cases are what they claim to be
    assert result.top3 == pytest.approx(top3 / len(frame), abs=1e-15)
    assert result.mean_rank == pytest.approx(sum(ranks) / len(frame), abs=1e-12)
    assert result.under_triage_urgent == under_urgent and result.over_triage == over
    assert result.urgent_triaged == pytest.approx((urgent - under_urgent) / urgent, abs=1e-15)
