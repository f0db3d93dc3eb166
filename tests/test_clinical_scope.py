"""Issue 13: the dangerous look-alikes, their ids and numbers, and sex as an optional input like age."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import kneebayes
from kneebayes import InvalidSexError, Model
from kneebayes.cli import main

ISSUE13 = {
    "cause": ["gastrocnemius_tear", "popliteal_aneurysm", "septic_arthritis", "crystal_arthritis",
              "lumbar_radiculopathy", "superficial_thrombophlebitis"],
    "symptom": ["calf_pain", "pulsating_lump", "tender_cord", "back_pain", "radiating_pain", "morning_stiffness",
                "rapid_swelling"],
    "red_flag": ["cold_pale_foot"],
    "risk_factor": ["previous_dvt", "active_cancer", "recent_joint_procedure", "diabetes", "previous_gout"],
}


# ---- the ids, as the issue names them ---------------------------------------------------------------


@pytest.mark.parametrize(("kind", "ident"), [(k, i) for k, ids in ISSUE13.items() for i in ids])
def test_issue13_ids_have_their_kind_label_and_question(model: Model, kind: str, ident: str) -> None:
    row = model.priors.vocabulary.loc[ident]
    assert row["kind"] == kind and row["label"]
    if kind != "cause":
        assert str(row["question"]).endswith("?")


@pytest.mark.parametrize("cause", ISSUE13["cause"])
def test_every_new_cause_has_sourced_numbers_and_vignettes(model: Model, cause: str) -> None:
    """Each new cause has a base rate, links to findings, and at least two vignettes, one of them held out."""
    frame = model.priors.to_frame()
    assert (frame["target"] == cause).any()
    assert (model.priors.finding_links.index.get_level_values("cause") == cause).sum() >= 3
    vignettes = kneebayes.load_vignettes(Path(__file__).resolve().parents[1] / "validation" / "vignettes.csv", model)
    mine = vignettes[vignettes["diagnosis"] == cause]
    assert len(mine) >= 2 and set(mine["split"]) == {"tune", "heldout"}


# ---- done when ------------------------------------------------------------------------------------


def test_cold_pale_foot_with_a_pulsating_lump_is_an_emergency_naming_the_blocked_artery(
        capsys: pytest.CaptureFixture[str]) -> None:
    """`kneebayes diagnose --present pulsating_lump cold_pale_foot --age 72 --sex male`: emergency, blocked artery."""
    assert main(["diagnose", "--present", "pulsating_lump", "cold_pale_foot", "--age", "72", "--sex", "male"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("!! RED FLAG [EMERGENCY]") and "artery behind the knee is blocked" in out
    assert "Triage: emergency" in out and "sex male" in out
    assert main(["diagnose", "--present", "pulsating_lump", "cold_pale_foot", "--age", "72", "--sex", "male",
                 "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["triage"] == "emergency" and data["red_flags"][0]["id"] == "cold_pale_foot"
    assert max(data["probabilities"], key=data["probabilities"].get) == "popliteal_aneurysm"


@pytest.mark.parametrize("age", [66, 72, 80])
def test_a_throbbing_lump_in_an_older_man_puts_popliteal_aneurysm_in_the_top_three(model: Model, age: int) -> None:
    result = model.diagnose(present=["pulsating_lump"], age=age, sex="male")
    assert "popliteal_aneurysm" in list(result.probabilities.index[:3])
    if result.probabilities["popliteal_aneurysm"] >= model.parameters.care_threshold:
        assert result.triage in ("urgent", "emergency")  # a probable aneurysm needs care today (floor care)


def test_a_throbbing_lump_weighs_more_for_an_older_man_than_a_young_woman(model: Model) -> None:
    old_man = model.diagnose(present=["pulsating_lump"], age=72, sex="male").probabilities["popliteal_aneurysm"]
    young_woman = model.diagnose(present=["pulsating_lump"], age=25, sex="female").probabilities["popliteal_aneurysm"]
    assert old_man > 10 * young_woman


def test_hot_swollen_knee_after_an_injection_lands_on_septic_arthritis(model: Model) -> None:
    result = model.diagnose(present=["swelling", "redness_warmth", "fever", "recent_joint_procedure"], age=60)
    assert result.top == "septic_arthritis" and result.triage == "urgent"


def test_tender_cord_lands_on_superficial_thrombophlebitis_and_is_urgent(model: Model) -> None:
    result = model.diagnose(present=["tender_cord", "redness_warmth", "visible_veins"], age=60, sex="female")
    assert result.top == "superficial_thrombophlebitis" and result.triage == "urgent"


def test_back_pain_shooting_down_the_leg_lands_on_radiculopathy(model: Model) -> None:
    result = model.diagnose(present=["back_pain", "radiating_pain", "tingling_numbness"], age=45)
    assert result.top == "lumbar_radiculopathy"


@pytest.mark.parametrize(("cause", "finding"), [("dvt", "previous_dvt"), ("dvt", "active_cancer"),
                                                ("septic_arthritis", "recent_joint_procedure"),
                                                ("crystal_arthritis", "previous_gout"),
                                                ("septic_arthritis", "diabetes")])
def test_each_new_risk_factor_raises_its_cause(model: Model, cause: str, finding: str) -> None:
    base = ["swelling", "calf_swelling"]
    with_it = model.diagnose(present=[*base, finding]).probabilities[cause]
    without = model.diagnose(present=base, absent=[finding]).probabilities[cause]
    assert with_it > without


# ---- sex: an optional input like age --------------------------------------------------------------


def test_unknown_sex_is_the_mixture_of_the_two(model: Model) -> None:
    """P(c | e) with sex unknown = sum over sex of P(sex | e) P(c | e, sex), with P(sex | e) from the evidence."""
    present, absent, age = ["pulsating_lump", "swelling"], ["fever"], 68
    engine = model._engine
    logs, posts = [], []
    for sex in ("female", "male"):
        arrays = model._arrays([model.evidence(present, absent, age, sex=sex)])
        logs.append(float(engine.log_evidence(arrays)[0]))
        posts.append(model.diagnose(present, absent, age, sex=sex).probabilities)
    weights = np.exp(np.array(logs) - np.logaddexp(*logs))
    unknown = model.diagnose(present, absent, age).probabilities
    mixed = weights[0] * posts[0] + weights[1] * posts[1].loc[posts[0].index]
    assert np.abs(unknown - mixed.loc[unknown.index]).max() < 1e-12
    prior = model.priors.risk_factors.loc["female", "prevalence"]
    nothing = [float(np.exp(engine.log_evidence(model._arrays([model.evidence(sex=s)]))[0]))
               for s in ("female", "male")]
    assert nothing[0] == pytest.approx(prior, rel=1e-12) and nothing[1] == pytest.approx(1 - prior, rel=1e-12)


@pytest.mark.parametrize("sex", [None, "female", "male"])
@pytest.mark.parametrize(("present", "absent", "age"), [
    (["pulsating_lump"], [], 72),
    (["swelling", "redness_warmth", "previous_gout"], ["fever"], 55),
    (["pop_sound", "rapid_swelling", "pivoting_sport"], [], 19),
    (["morning_stiffness", "other_joints", "swelling"], [], 40),
])
def test_numpy_equals_pgmpy_with_sex(model: Model, present: list[str], absent: list[str], age: int,
                                     sex: str | None) -> None:
    ours = model.diagnose(present, absent, age, sex=sex).probabilities
    reference = model.diagnose(present, absent, age, sex=sex, engine="pgmpy").probabilities
    assert np.abs(ours - reference.loc[ours.index]).max() < 1e-9


@pytest.mark.parametrize(("cause", "more_likely_in"), [("inflammatory_arthritis", "female"),
                                                       ("popliteal_aneurysm", "male"),
                                                       ("crystal_arthritis", "male"),
                                                       ("acl_injury", "female")])
def test_sex_odds_ratios_point_the_published_way(model: Model, cause: str, more_likely_in: str) -> None:
    other = "male" if more_likely_in == "female" else "female"
    evidence = (["swelling"], [], 50)
    high = model.diagnose(*evidence, sex=more_likely_in).probabilities[cause]
    low = model.diagnose(*evidence, sex=other).probabilities[cause]
    assert high > low


@pytest.mark.parametrize(("value", "hint"), [("femal", "did you mean 'female'?"), ("Male", "did you mean 'male'?"),
                                             ("f", "'female' or 'male'"), (1, "(int)"), (True, "(bool)")])
def test_bad_sex_is_refused_with_a_clear_error(model: Model, value: object, hint: str) -> None:
    with pytest.raises(InvalidSexError) as info:
        model.diagnose(present=["swelling"], sex=value)  # type: ignore[arg-type]
    assert isinstance(info.value, kneebayes.EvidenceError) and hint in str(info.value)


def test_female_is_not_a_finding(model: Model) -> None:
    assert "female" not in model.observable and "female" not in model.findings().index
    with pytest.raises(InvalidSexError, match="sex='female'"):
        model.diagnose(present=["female"])


def test_a_pregnant_man_is_contradictory(model: Model) -> None:
    with pytest.raises(kneebayes.ContradictoryEvidenceError, match="pregnancy"):
        model.diagnose(present=["pregnancy"], sex="male")
    assert model.diagnose(present=["pregnancy"], sex="female").probabilities["cramp"] > 0


def test_sex_given_to_a_model_without_a_sex_node_is_refused(tiny_folder: Path) -> None:
    tiny = kneebayes.load_model(tiny_folder)
    assert tiny.parameters.sex is None
    tiny.diagnose(present=["f"])  # unknown sex is fine
    with pytest.raises(InvalidSexError, match="does not model sex"):
        tiny.diagnose(present=["f"], sex="female")
    with pytest.raises(InvalidSexError, match="does not model sex"):
        tiny.diagnose_many(pd.DataFrame({"f": [True], "sex": ["male"]}))


def test_diagnose_many_sex_column_equals_diagnose(model: Model) -> None:
    frame = pd.DataFrame({"pulsating_lump": [True, True, True, None], "swelling": [None, False, True, True],
                          "age": [72, 72, np.nan, 30], "sex": ["male", "female", None, "female"]})
    out = model.diagnose_many(frame)
    for i, row in frame.iterrows():
        present = [c for c in ("pulsating_lump", "swelling") if row[c] is True]
        absent = [c for c in ("pulsating_lump", "swelling") if row[c] is False]
        age = None if np.isnan(row["age"]) else row["age"]
        one = model.diagnose(present, absent, age, sex=row["sex"] if isinstance(row["sex"], str) else None)
        one = one.probabilities
        assert np.abs(out.loc[i, list(model.causes)].to_numpy(dtype=float) - one.loc[list(model.causes)]).max() < 1e-12
    with pytest.raises(InvalidSexError, match="column 'sex', row 1"):
        model.diagnose_many(pd.DataFrame({"swelling": [True, True], "sex": ["male", "man"]}))


def test_cli_sex_errors_and_the_diagnosis_records_sex(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diagnose", "--present", "swelling", "--sex", "femal"]) == 2
    err = capsys.readouterr().err
    assert "did you mean 'female'?" in err and "Traceback" not in err
    assert main(["diagnose", "--sex", "female", "--json"]) == 0  # sex alone is an answer
    assert json.loads(capsys.readouterr().out)["evidence"]["sex"] == "female"


def test_pgmpy_network_has_the_sex_node_at_its_prevalence(model: Model) -> None:
    from pgmpy.inference import VariableElimination

    network = model.to_pgmpy()
    marginal = VariableElimination(network).query(["female"], show_progress=False)
    prevalence = float(model.priors.risk_factors.loc["female", "prevalence"])
    assert float(marginal.get_value(female="present")) == pytest.approx(prevalence, abs=1e-12)
