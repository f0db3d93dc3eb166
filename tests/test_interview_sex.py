"""Sex in the interview layer: every entry point takes sex= and agrees with diagnose(..., sex=...)."""

from __future__ import annotations

import io
import json
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest

import kneebayes
from cli_helpers import one_line_error, run
from conftest import assert_same_step
from kneebayes.widgets import Explorer

#: A throbbing lump in a 72-year-old: see a doctor with the sex unknown, urgent for a man (popliteal aneurysm).
LUMP = (["pulsating_lump"], ["fever"], 72.0)


@pytest.mark.parametrize("sex", ["female", "male"])
def test_predict_findings_with_sex_is_the_predictive_of_diagnose(enumerable_model: kneebayes.Model,
                                                                 sex: str) -> None:
    """With sex given, P(yes) mixes diagnose(sex=)'s two answers into diagnose(sex=)'s posteriors, and moves."""
    model = enumerable_model
    present, absent, age = LUMP
    predicted = model.predict_findings(present, absent, age, sex=sex)
    unsexed = model.predict_findings(present, absent, age)
    before = model.diagnose(present, absent, age, sex=sex).probabilities
    for ident in ["lump_behind_knee", "cold_pale_foot", "smoking", "stiffness"]:
        p = float(predicted[ident])
        yes = model.diagnose(present + [ident], absent, age, sex=sex).probabilities.reindex(before.index)
        no = model.diagnose(present, absent + [ident], age, sex=sex).probabilities.reindex(before.index)
        np.testing.assert_allclose(before.to_numpy(), p * yes.to_numpy() + (1 - p) * no.to_numpy(), atol=1e-12)
    assert not np.allclose(predicted.to_numpy(), unsexed.to_numpy(), atol=1e-6)  # the sex was used


@pytest.mark.parametrize("sex", ["female", "male"])
def test_next_questions_with_sex_reads_diagnose_with_sex(model: kneebayes.Model, sex: str) -> None:
    """Gain, p_present, the triage and top after each answer equal separate diagnose(..., sex=) calls."""
    present, absent, age = LUMP
    table = model.next_questions(present, absent, age, sex=sex)
    predicted = model.predict_findings(present, absent, age, sex=sex)
    before = model.diagnose(present, absent, age, sex=sex).probabilities

    def entropy(p: np.ndarray) -> float:
        p = np.clip(p, 1e-300, 1 - 1e-16)
        return float(-(p * np.log2(p) + (1 - p) * np.log2(1 - p)).sum())

    for ident in ["lump_behind_knee", "cold_pale_foot", "smoking"]:
        yes = model.diagnose(present + [ident], absent, age, sex=sex)
        no = model.diagnose(present, absent + [ident], age, sex=sex)
        p = float(predicted[ident])
        gain = (entropy(before.to_numpy()) - p * entropy(yes.probabilities.reindex(before.index).to_numpy())
                - (1 - p) * entropy(no.probabilities.reindex(before.index).to_numpy()))
        assert table.loc[ident, "p_present"] == pytest.approx(p, abs=1e-12)
        assert table.loc[ident, "gain"] == pytest.approx(gain, abs=1e-9)
        assert (table.loc[ident, "triage_if_present"], table.loc[ident, "top_if_present"]) == (yes.triage, yes.top)
        assert (table.loc[ident, "triage_if_absent"], table.loc[ident, "top_if_absent"]) == (no.triage, no.top)
    assert "female" not in table.index  # the sex is an input, never a ranked question


def test_interview_step_with_sex_carries_diagnose_with_sex(model: kneebayes.Model) -> None:
    """The step's diagnosis is diagnose(..., sex=)'s, its state carries the sex, and the sex changes the triage."""
    present, absent, age = LUMP
    for sex in (None, "female", "male"):
        step = model.interview_step(present, absent, age, sex=sex, explain=True)
        assert_same_step(step["diagnosis"], model.diagnose(present, absent, age, sex=sex).to_dict())
        assert step["asked"]["sex"] == sex and step["diagnosis"]["evidence"]["sex"] == sex
        assert step == json.loads(json.dumps(step))
        assert_same_step(step["explanation"], model.explain(present, absent, age, sex=sex).to_dict())
    unknown, man = model.interview_step(present, absent, age), model.interview_step(present, absent, age, sex="male")
    assert (unknown["diagnosis"]["triage"], man["diagnosis"]["triage"]) == ("see_doctor", "urgent")


@pytest.mark.parametrize("sex", ["female", "male"])
def test_explain_weighs_the_sex_by_leaving_it_out(model: kneebayes.Model, sex: str) -> None:
    """The sex row is the leave-one-out change in log-odds, in decibans; the other rows keep the sex given."""
    present, absent, age = LUMP
    why = model.explain(present, absent, age, cause="popliteal_aneurysm", sex=sex)
    assert why.probability == float(model.diagnose(present, absent, age, sex=sex).probabilities["popliteal_aneurysm"])
    row = why.table.loc["sex"]
    assert (row["answer"], row["kind"], row["label"]) == (sex, "sex", "Sex")
    without = model.diagnose(present, absent, age)
    assert row["without"] == pytest.approx(float(without.probabilities["popliteal_aneurysm"]), abs=1e-12)
    assert row["triage_without"] == without.triage
    p, q = why.probability, float(row["without"])
    assert row["contribution"] == pytest.approx(10 * math.log10(p / (1 - p) * (1 - q) / q), abs=1e-9)
    assert (row["contribution"] > 0) == (sex == "male")  # popliteal aneurysm is a disease of men
    age_row = why.table.loc["age"]
    no_age = model.diagnose(present, absent, None, sex=sex)
    assert age_row["without"] == pytest.approx(float(no_age.probabilities["popliteal_aneurysm"]), abs=1e-12)
    assert set(why.table.index) == {"pulsating_lump", "fever", "age", "sex"}
    assert f"sex {sex}" in repr(why) and "Sex: " + sex in why._repr_html_()
    assert "sex" not in model.explain(present, absent, age).table.index


def test_top_level_functions_pass_the_sex(model: kneebayes.Model) -> None:
    """kneebayes.predict_findings, explain, next_questions and interview_step with sex= equal the model's."""
    args: tuple[Any, ...] = LUMP
    assert kneebayes.predict_findings(*args, sex="male").equals(model.predict_findings(*args, sex="male"))
    assert kneebayes.next_questions(*args, sex="male").equals(model.next_questions(*args, sex="male"))
    assert_same_step(kneebayes.interview_step(*args, sex="male"), model.interview_step(*args, sex="male"))
    assert kneebayes.explain(*args, sex="male").table.equals(model.explain(*args, sex="male").table)


ENTRY_POINTS: dict[str, Callable[[str], object]] = {
    "Model.predict_findings": lambda s: kneebayes.load_model().predict_findings(["spasm"], sex=s),
    "Model.explain": lambda s: kneebayes.load_model().explain(["spasm"], sex=s),
    "Model.next_questions": lambda s: kneebayes.load_model().next_questions(["spasm"], sex=s),
    "Model.interview_step": lambda s: kneebayes.load_model().interview_step(["spasm"], sex=s),
    "predict_findings": lambda s: kneebayes.predict_findings(["spasm"], sex=s),
    "explain": lambda s: kneebayes.explain(["spasm"], sex=s),
    "next_questions": lambda s: kneebayes.next_questions(["spasm"], sex=s),
    "interview_step": lambda s: kneebayes.interview_step(["spasm"], sex=s),
}


@pytest.mark.parametrize("entry", sorted(ENTRY_POINTS))
def test_bad_sex_is_refused_with_did_you_mean_everywhere(entry: str) -> None:
    """A misspelt sex raises InvalidSexError with the closest value; a number names its type."""
    with pytest.raises(kneebayes.InvalidSexError, match="did you mean 'male'"):
        ENTRY_POINTS[entry]("mael")
    with pytest.raises(kneebayes.InvalidSexError, match=r"Got 1 \(int\)"):
        ENTRY_POINTS[entry](1)  # type: ignore[arg-type]


def test_explorer_sex_control(model: kneebayes.Model) -> None:
    """The sex control feeds diagnose, explain and interview_step; a bad sex in set() changes nothing."""
    explorer = Explorer(model)
    assert tuple(explorer.sex.options) == ("unknown", "female", "male") and explorer.sex.value == "unknown"
    explorer.set(present=["pulsating_lump"], absent=["fever"], age=72)
    assert explorer.diagnosis.triage == "see_doctor"
    explorer.sex.value = "male"
    assert explorer.diagnosis == model.diagnose(*LUMP, sex="male") and explorer.diagnosis.triage == "urgent"
    assert explorer.why.table.equals(model.explain(*LUMP, sex="male").table)
    assert explorer.step == model.interview_step(*LUMP, sex="male")
    assert explorer.evidence() == (["pulsating_lump"], ["fever"], 72.0, "male")
    with pytest.raises(kneebayes.InvalidSexError, match="did you mean 'female'"):
        explorer.set(present=["spasm"], sex="femal")
    assert explorer.sex.value == "male" and explorer.toggles["pulsating_lump"].value == "present"
    explorer.set(present=["spasm"], sex="female")
    assert explorer.diagnosis == model.diagnose(["spasm"], sex="female")


def test_explorer_shows_a_contradiction_instead_of_failing(model: kneebayes.Model) -> None:
    """Pregnancy with sex male shows the error in the panel with the buttons off, until one is changed."""
    explorer = Explorer(model)
    explorer.set(present=["pregnancy"], sex="female")
    explorer.sex.value = "male"
    assert "give one or the other" in explorer.result.value
    assert all(button.disabled for button in explorer.answer_buttons.values())
    explorer.sex.value = "unknown"
    assert explorer.diagnosis == model.diagnose(["pregnancy"]) and "give one or the other" not in explorer.result.value


# ---- the command line -----------------------------------------------------------------------------


def test_cli_json_step_takes_sex(model: kneebayes.Model, capsys: pytest.CaptureFixture[str]) -> None:
    """`kneebayes interview --sex male --json` prints interview_step(..., sex="male"), with sex in its state."""
    code, out, err = run(["interview", "--present", "pulsating_lump", "--absent", "fever", "--age", "72",
                          "--sex", "male", "--json"], capsys)
    assert code == 0, err
    step = json.loads(out)
    assert_same_step(step, json.loads(json.dumps(model.interview_step(*LUMP, sex="male"))))
    assert step["asked"]["sex"] == "male" and step["diagnosis"]["triage"] == "urgent"


@pytest.mark.parametrize("extra", [[], ["--json"]])
def test_cli_bad_sex_is_one_line_exit_2(extra: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """A misspelt --sex exits 2 with one line and a did-you-mean, before any question."""
    line = one_line_error(["interview", "--age", "40", "--sex", "femal", *extra], capsys)
    assert "did you mean 'female'" in line


def test_cli_asks_the_sex_after_the_age(model: kneebayes.Model, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    """Without --sex the interview asks it after the age, re-asks a bad answer, and uses it to the end."""
    monkeypatch.setattr("sys.stdin", io.StringIO("72\nx\nm\nq\n"))
    code, out, err = run(["interview", "--present", "pulsating_lump", "--absent", "fever"], capsys)
    assert code == 0, err
    assert out.count("What is your sex") == 2 and "please answer f (female) or m (male)" in out
    assert "ended early, after 0 question(s)" in out
    expected = model.diagnose(*LUMP, sex="male")
    assert "sex male" in out and f"Triage: {expected.triage}" in out
    assert f"{float(expected.probabilities[expected.top]):.3f}" in out


# ---- the replay -----------------------------------------------------------------------------------


def _case(sex: str) -> pd.DataFrame:
    return pd.DataFrame({"present": [("pulsating_lump",)], "absent": [("fever",)], "age": [72.0], "sex": [sex],
                         "diagnosis": ["popliteal_aneurysm"], "alternatives": [()], "triage": ["urgent"]},
                        index=pd.Index(["lump"], name="id"))


def test_replay_gives_the_vignettes_sex(model: kneebayes.Model) -> None:
    """The replay gives the vignette's sex up front, so a man's throbbing lump is urgent at the stop and in full.

    That the replay follows interview_step question by question, sex included, is checked on seeded
    vignettes in test_replay.py.
    """
    man, unknown = kneebayes.replay_interviews(model, _case("male")), kneebayes.replay_interviews(model, _case(""))
    assert man.cases.loc["lump", "sex"] == "male" and unknown.cases.loc["lump", "sex"] == ""
    with_sex, without = model.diagnose(*LUMP, sex="male"), model.diagnose(*LUMP)
    assert with_sex.triage != without.triage  # the sex matters here: popliteal aneurysm is a disease of men
    assert man.cases.loc["lump", "full_triage"] == man.cases.loc["lump", "triage"] == with_sex.triage
    assert unknown.cases.loc["lump", "full_triage"] == without.triage
    with pytest.raises(kneebayes.InvalidSexError, match="did you mean 'male'"):
        kneebayes.replay_interviews(model, _case("mael"))


def test_cli_re_asks_an_age_that_is_not_a_number_of_years(model: kneebayes.Model, monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    """Text and an age above 120 are asked again; the age finally given is the one used."""
    monkeypatch.setattr("sys.stdin", io.StringIO("old\n130\n72\nm\nq\n"))
    code, out, err = run(["interview", "--present", "pulsating_lump", "--absent", "fever"], capsys)
    assert code == 0, err
    assert out.count("How old are you") == 3
    assert out.count("please give a number of years between 0 and 120") == 2
    expected = model.diagnose(*LUMP, sex="male")
    assert f"Triage: {expected.triage}" in out and f"{float(expected.probabilities[expected.top]):.3f}" in out
