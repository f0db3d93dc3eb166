"""Explanations against leave-one-out diagnoses and hand enumeration; Diagnosis equality and to_dict."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

import kneebayes
from test_interview import _tiny_probability

CASES = [
    (["lump_behind_knee", "stiffness"], ["fever"], 58.0, None),
    (["calf_swelling", "recent_immobility"], ["pop_sound"], 64.0, None),
    (["spasm", "sudden_onset", "running"], ["swelling"], None, "hamstring_strain"),
    (["fever", "swelling", "redness_warmth"], [], 45.0, None),
]


@pytest.mark.parametrize(("present", "absent", "age", "cause"), CASES)
def test_without_is_a_real_leave_one_out_diagnosis(model: kneebayes.Model, present: list[str], absent: list[str],
                                                   age: float | None, cause: str | None) -> None:
    """Each row's `without` and `triage_without` equal diagnose() with that one answer (or the age) removed."""
    why = model.explain(present, absent, age, cause=cause)
    result = model.diagnose(present, absent, age)
    assert why.cause == (cause or result.top)
    assert why.probability == pytest.approx(float(result.probabilities[why.cause]), abs=1e-15)
    expected_rows = set(present) | set(absent) | ({"age"} if age is not None else set())
    assert set(why.table.index) == expected_rows
    for ident, row in why.table.iterrows():
        if ident == "age":
            other = model.diagnose(present, absent, None)
        elif ident in present:
            other = model.diagnose([i for i in present if i != ident], absent, age)
        else:
            other = model.diagnose(present, [i for i in absent if i != ident], age)
        assert row["without"] == pytest.approx(float(other.probabilities[why.cause]), abs=1e-12), ident
        assert row["triage_without"] == other.triage
        p, q = why.probability, row["without"]
        assert row["contribution"] == pytest.approx(10 * math.log10(p / (1 - p) * (1 - q) / q), abs=1e-9)
    assert (why.evidence_for["contribution"] > 0).all() and (why.evidence_against["contribution"] < 0).all()
    assert list(why.table["contribution"]) == sorted(why.table["contribution"], reverse=True)


def test_contribution_is_the_likelihood_ratio_in_decibans(tiny_folder: Path) -> None:
    """On the tiny network, f's contribution to c1 given r is 10 log10 P(f | c1, r) / P(f | not c1, r)."""
    model = kneebayes.load_model(tiny_folder)
    why = model.explain(present=["f", "r"], cause="c1")
    p_f_c1 = _tiny_probability({"f": 1}, {"c1": 1, "r": 1})
    p_f_not = _tiny_probability({"f": 1}, {"c1": 0, "r": 1})
    assert why.table.loc["f", "contribution"] == pytest.approx(10 * math.log10(p_f_c1 / p_f_not), abs=1e-9)
    p_r_c1 = _tiny_probability({"r": 1}, {"c1": 1, "f": 1})
    p_r_not = _tiny_probability({"r": 1}, {"c1": 0, "f": 1})
    assert why.table.loc["r", "contribution"] == pytest.approx(10 * math.log10(p_r_c1 / p_r_not), abs=1e-9)
    # the tiny folder's rule fires on P(c1) >= 0.5; it is named as what set the triage
    assert why.triage == "urgent" and why.triage_reasons[0].startswith("red flag 'c1_likely'")


def test_triage_reasons_name_the_rule_or_the_cause(model: kneebayes.Model) -> None:
    """A fired rule is named when it sets the triage; otherwise the probable causes whose care sets it."""
    fever = model.explain(present=["fever", "swelling", "redness_warmth"], age=45)
    assert fever.triage == "urgent"
    assert any(r.startswith("red flag 'fever'") for r in fever.triage_reasons)
    assert any(r.startswith("red flag 'hot_swollen_knee'") for r in fever.triage_reasons)
    cyst = model.explain(present=["lump_behind_knee", "stiffness"], absent=["fever"], age=58)
    assert cyst.triage == "see_doctor" and cyst.triage_reasons[0].startswith("cause 'bakers_cyst' (P = 0.93")
    calm = model.explain(absent=["fever"])
    assert calm.triage == "self_care" and "no cause needing more" in calm.triage_reasons[0]


def test_explanation_outputs(model: kneebayes.Model) -> None:
    """Text, HTML and dictionary forms carry the cause, the unit, the answers and the disclaimer."""
    why = model.explain(["calf_swelling", "recent_immobility"], ["pop_sound"], 64)
    text = repr(why)
    assert "decibans" in text and "calf_swelling present" in text and kneebayes._display.DISCLAIMER in text
    assert "pop_sound absent" in text
    html = why._repr_html_()
    assert "Deep vein thrombosis" in html and "decibans" in html
    out = json.loads(json.dumps(why.to_dict()))
    assert out["cause"] == "dvt" and out["unit"] == "deciban"
    assert [r["id"] for r in out["evidence_for"]] == list(why.evidence_for.index)
    assert out["triage_reasons"] == list(why.triage_reasons)


def test_explanation_plot_returns_axes(model: kneebayes.Model) -> None:
    """plot() draws one bar per answer on the given Axes and returns it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    why = model.explain(["lump_behind_knee", "stiffness"], ["fever"], 58)
    fig, ax = plt.subplots()
    assert why.plot(ax=ax) is ax and len(ax.patches) == len(why.table)
    plt.close(fig)


def test_explain_refuses_an_unknown_cause(model: kneebayes.Model) -> None:
    """An unknown cause id gets a did-you-mean hint."""
    with pytest.raises(kneebayes.UnknownIdError, match="did you mean 'dvt'"):
        model.explain(present=["spasm"], cause="dvtt")


def test_explain_with_no_answers_has_an_empty_table(model: kneebayes.Model) -> None:
    """With nothing reported, the table is empty and the prior top cause is explained."""
    why = model.explain()
    assert why.table.empty and why.cause == model.diagnose().top and "(none)" in repr(why)


def test_diagnosis_equality_and_hash(model: kneebayes.Model) -> None:
    """Diagnoses of the same answers are equal and hash alike; other answers or engines make them differ."""
    a = model.diagnose(["spasm"], ["fever"], 30)
    b = model.diagnose(["spasm"], ["fever"], 30)
    assert a == b and hash(a) == hash(b) and len({a, b}) == 1
    assert a != model.diagnose(["spasm"], [], 30)
    assert a != model.diagnose(["spasm"], ["fever"], 30, engine="pgmpy")  # another engine is another result
    assert a != "not a diagnosis"


def test_diagnosis_to_dict_carries_labels_care_and_advice(model: kneebayes.Model) -> None:
    """to_dict has the advice sentence, each cause's label and care, and an explanation when given one."""
    result = model.diagnose(["calf_swelling", "recent_immobility"], [], 64)
    out = result.to_dict()
    assert out["advice"] == kneebayes._display.TRIAGE_TEXT["urgent"] and out["top"] == "dvt"
    first = out["causes"][0]
    assert first == {"id": "dvt", "label": result.labels["dvt"], "probability": float(result.probabilities["dvt"]),
                     "care": "urgent"}
    assert [c["id"] for c in out["causes"]] == list(result.probabilities.index)
    why = model.explain(["calf_swelling", "recent_immobility"], [], 64)
    assert result.to_dict(explanation=why)["explanation"] == why.to_dict()
    with pytest.raises(kneebayes.OptionError, match="another diagnosis"):
        model.diagnose(["spasm"]).to_dict(explanation=why)
