"""Predictive probabilities, next questions and the stopping rule, against independent computations."""

from __future__ import annotations

import itertools
import json
import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kneebayes
from conftest import assert_same_step
from kneebayes._interview import red_flag_questions
from test_tiny_network import BASE_C2, LEAK, OR_R, PREV_R, S1, S2, _intercept_c1

EVIDENCE = [
    ([], [], None),
    (["calf_swelling"], ["fever"], 60),
    (["lump_behind_knee", "stiffness", "overweight"], ["pop_sound"], 58),
    (["spasm", "running"], ["swelling", "recent_immobility"], 31),
]


def _pgmpy_p_present(model: kneebayes.Model, present: list[str], absent: list[str], age: float | None,
                     ids: list[str]) -> dict[str, float]:
    from pgmpy.inference import VariableElimination

    from kneebayes._pgmpy_model import pgmpy_evidence

    evidence = pgmpy_evidence(model.evidence(present, absent, age))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        inference = VariableElimination(model.to_pgmpy())
        # one variable per query: with joint=False pgmpy still builds the joint of all queried variables
        return {i: float(inference.query([i], evidence=evidence, show_progress=False).get_value(**{i: "present"}))
                for i in ids}


@pytest.mark.parametrize(("present", "absent", "age"), EVIDENCE)
def test_predict_findings_matches_pgmpy(model: kneebayes.Model, present: list[str], absent: list[str],
                                        age: float | None) -> None:
    """P(id present | evidence) for every unanswered id equals pgmpy's VariableElimination to 1e-9."""
    predicted = model.predict_findings(present, absent, age)
    expected_ids = [i for i in model.observable if i not in present and i not in absent]
    assert list(predicted.index) == expected_ids
    reference = _pgmpy_p_present(model, present, absent, age, expected_ids)
    for ident in expected_ids:
        assert predicted[ident] == pytest.approx(reference[ident], abs=1e-9), ident


def _tiny_joint(r: int, c1: int, c2: int, f: int) -> float:
    p_r = PREV_R if r else 1 - PREV_R
    p1 = 1 / (1 + math.exp(-(_intercept_c1() + r * math.log(OR_R))))
    q1, q2 = 1 - (1 - S1) / (1 - LEAK), 1 - (1 - S2) / (1 - LEAK)
    off = (1 - LEAK) * (1 - q1) ** c1 * (1 - q2) ** c2
    return p_r * (p1 if c1 else 1 - p1) * (BASE_C2 if c2 else 1 - BASE_C2) * ((1 - off) if f else off)


def _tiny_probability(event: dict[str, int], given: dict[str, int]) -> float:
    names = ("r", "c1", "c2", "f")
    num = den = 0.0
    for values in itertools.product((0, 1), repeat=4):
        state = dict(zip(names, values, strict=True))
        if any(state[k] != v for k, v in given.items()):
            continue
        p = _tiny_joint(*values)
        den += p
        if all(state[k] == v for k, v in event.items()):
            num += p
    return num / den


@pytest.mark.parametrize(("present", "absent"), [([], []), (["r"], []), ([], ["r"]), (["f"], []), ([], ["f"])])
def test_predict_findings_matches_enumeration_on_tiny_network(tiny_folder: Path, present: list[str],
                                                              absent: list[str]) -> None:
    """On the four-node network, predictive probabilities equal brute-force enumeration of the joint."""
    model = kneebayes.load_model(tiny_folder)
    given = {**{i: 1 for i in present}, **{i: 0 for i in absent}}
    predicted = model.predict_findings(present, absent)
    for ident in predicted.index:
        assert predicted[ident] == pytest.approx(_tiny_probability({ident: 1}, given), abs=1e-12)


def test_next_questions_gain_is_the_summed_mutual_information(model: kneebayes.Model) -> None:
    """Gain and p_present of a few ids equal a computation from separate diagnose calls."""
    present, absent, age = ["calf_swelling"], ["fever"], 60.0
    table = model.next_questions(present, absent, age)
    predicted = model.predict_findings(present, absent, age)

    def entropy(p: np.ndarray) -> float:
        p = np.clip(p, 1e-300, 1 - 1e-16)
        return float(-(p * np.log2(p) + (1 - p) * np.log2(1 - p)).sum())

    before = model.diagnose(present, absent, age).probabilities
    for ident in ["swelling", "recent_immobility", "lump_behind_knee", "chest_pain"]:
        p = predicted[ident]
        assert table.loc[ident, "p_present"] == pytest.approx(p, abs=1e-12)
        yes = model.diagnose(present + [ident], absent, age).probabilities.reindex(before.index)
        no = model.diagnose(present, absent + [ident], age).probabilities.reindex(before.index)
        # the posterior before the answer is the predictive mix of the two answers' posteriors
        np.testing.assert_allclose(before.to_numpy(), p * yes.to_numpy() + (1 - p) * no.to_numpy(), atol=1e-12)
        gain = entropy(before.to_numpy()) - p * entropy(yes.to_numpy()) - (1 - p) * entropy(no.to_numpy())
        assert table.loc[ident, "gain"] == pytest.approx(gain, abs=1e-9)
        assert table.loc[ident, "triage_if_present"] == model.diagnose(present + [ident], absent, age).triage
        assert table.loc[ident, "top_if_absent"] == model.diagnose(present, absent + [ident], age).top
    assert (table["gain"] >= 0).all()
    # every id's p_present (findings from the engine's finding predictive, risk factors from log evidence)
    np.testing.assert_allclose(table["p_present"], predicted[table.index], atol=1e-12)


def test_red_flag_questions_come_first_most_serious_first(model: kneebayes.Model) -> None:
    """Unasked red-flag questions lead the ranking, emergency-level ones before urgent ones."""
    table = model.next_questions(present=["calf_swelling"], absent=["fever"], age=60)
    flags = table["red_flag"].to_numpy()
    n = int(flags.sum())
    assert flags[:n].all() and not flags[n:].any()
    assert set(table.index[:n]) >= {"difficulty_breathing", "chest_pain", "cannot_bear_weight", "sudden_leg_swelling"}
    assert "fever" not in table.index  # already answered
    assert set(table.index[:2]) == {"difficulty_breathing", "chest_pain"}
    levels = [kneebayes.TRIAGE_LEVELS.index(v) for v in table["flag_level"].iloc[:n]]
    assert levels == sorted(levels, reverse=True)


def test_a_rule_of_two_findings_is_asked_until_settled(model: kneebayes.Model) -> None:
    """The hot-swollen-knee rule asks swelling first, then redness only if swelling is present."""
    first = red_flag_questions(model, model.evidence(), ())
    assert "swelling" in first and "redness_warmth" not in first
    after_yes = red_flag_questions(model, model.evidence(present=["swelling"]), ())
    assert "redness_warmth" in after_yes
    after_no = red_flag_questions(model, model.evidence(absent=["swelling"]), ())
    assert "redness_warmth" not in after_no
    dont_know = red_flag_questions(model, model.evidence(), ("swelling",))
    assert "redness_warmth" not in dont_know and "swelling" not in dont_know


def test_costs_rank_by_gain_per_cost(model: kneebayes.Model) -> None:
    """A costly question drops below cheaper ones with less gain; red-flag questions stay first."""
    asked = ["fever", "difficulty_breathing", "chest_pain", "cannot_bear_weight", "sudden_leg_swelling",
             "swelling", "locking"]
    plain = model.next_questions(["stiffness"], asked, 60)
    best = str(plain.index[~plain["red_flag"]][0])  # red-flag questions (the Wells items too) stay first
    costly = model.next_questions(["stiffness"], asked, 60, costs={best: 1000.0})
    assert costly.index[~costly["red_flag"]][0] != best
    assert costly.loc[best, "gain_per_cost"] == pytest.approx(plain.loc[best, "gain"] / 1000.0)
    flagged = model.next_questions(["stiffness"], [], 60, costs={"chest_pain": 1000.0})
    assert bool(flagged.loc["chest_pain", "red_flag"]) and "chest_pain" in flagged.index[:6]


def test_bad_costs_and_unknown_ids_are_refused(model: kneebayes.Model) -> None:
    """Costs must be positive and name real ids; "don't know" ids must be real and not answered."""
    with pytest.raises(kneebayes.OptionError, match="positive"):
        model.next_questions(costs={"fever": 0})
    with pytest.raises(kneebayes.UnknownIdError, match="did you mean 'fever'"):
        model.next_questions(costs={"fevr": 1.0})
    with pytest.raises(kneebayes.UnknownIdError, match="did you mean 'fever'"):
        model.interview_step(unknown=["fevr"])
    with pytest.raises(kneebayes.OptionError, match="both answered"):
        model.interview_step(present=["fever"], unknown=["fever"])
    with pytest.raises(kneebayes.OptionError, match="min_gain"):
        model.interview_step(min_gain=-1)


def test_unknown_ids_are_not_asked_again(model: kneebayes.Model) -> None:
    """Ids answered "don't know" leave the ranking, and the evidence treats them as unknown."""
    table = model.next_questions(present=["stiffness"], unknown=["fever", "grinding"])
    assert "fever" not in table.index and "grinding" not in table.index
    step = model.interview_step(present=["stiffness"], unknown=["fever"])
    assert step["asked"]["unknown"] == ["fever"] and step["question"] != "fever"


ALL_FLAGS = ["fever", "difficulty_breathing", "chest_pain", "cannot_bear_weight", "sudden_leg_swelling", "swelling",
             "locking"]


def _no_answer_changes(model: kneebayes.Model, present: list[str], absent: list[str], age: float | None,
                       unknown: list[str]) -> bool:
    base = model.diagnose(present, absent, age)
    for ident in model.observable:
        if ident in present or ident in absent or ident in unknown:
            continue
        for answer in (model.diagnose(present + [ident], absent, age), model.diagnose(present, absent + [ident], age)):
            if answer.triage != base.triage or answer.top != base.top:
                return False
    return True


def test_interview_continues_when_one_answer_would_flip_the_triage(model: kneebayes.Model) -> None:
    """With a Baker's cyst just below the care threshold, the interview goes on: some answers raise the triage."""
    present, absent, age = ["calf_swelling"], [*ALL_FLAGS[:5], "redness_warmth", "locking"], 40
    base = model.diagnose(present, absent + ["recent_immobility"], age)
    step = model.interview_step(present, absent + ["recent_immobility"], age, min_gain=1e9)
    table = model.next_questions(present, absent + ["recent_immobility"], age)
    assert base.triage == "self_care" and not step["should_stop"]
    flips = table.index[table["raises_triage"]]
    assert len(flips) > 0
    for ident in flips:
        moved = model.diagnose(present + [ident], absent + ["recent_immobility"], age)
        if moved.triage == base.triage:
            moved = model.diagnose(present, absent + ["recent_immobility", ident], age)
        assert kneebayes.TRIAGE_LEVELS.index(moved.triage) > kneebayes.TRIAGE_LEVELS.index(base.triage)


def test_interview_stops_only_when_no_single_answer_changes_anything(model: kneebayes.Model) -> None:
    """Stopping for the rule "no answer changes the triage or the top cause" is checked by brute force."""
    present = ["lump_behind_knee", "stiffness", "grinding", "overweight"]
    absent: list[str] = []
    for _ in range(len(model.observable)):
        step = model.interview_step(present, absent, 70.0, min_gain=0.0)  # only the rule can stop it
        if step["should_stop"]:
            break
        absent.append(str(step["question"]))  # a person who says no to everything else
    assert step["should_stop"] and "no single remaining answer" in step["reason"]
    assert _no_answer_changes(model, present, absent, 70.0, [])
    # one question earlier, some single answer did change the triage or the top cause
    assert not _no_answer_changes(model, present, absent[:-1], 70.0, [])


def test_tiny_network_stopping_rule_follows_the_triage(tiny_folder: Path) -> None:
    """On the tiny network, with r present the answer to f would fire the urgent rule, so the interview asks it."""
    model = kneebayes.load_model(tiny_folder)
    assert model.diagnose(present=["f", "r"]).triage == "urgent"
    assert model.diagnose(present=["r"]).triage != "urgent"
    step = model.interview_step(present=["r"], min_gain=1e9)
    assert step == {**step, "question": "f", "should_stop": False}
    done = model.interview_step(present=["r", "f"])
    assert done["should_stop"] and done["reason"] == "every question has been asked"
    assert done["diagnosis"]["triage"] == "urgent"


def test_never_stops_with_a_red_flag_question_unasked(model: kneebayes.Model) -> None:
    """Even with a huge min_gain and a clear result, a red-flag question is asked first."""
    step = model.interview_step(present=["spasm", "sudden_onset", "running"], age=30, min_gain=1e9)
    assert not step["should_stop"] and step["red_flag"]
    assert step["question"] in red_flag_questions(model, model.evidence(["spasm", "sudden_onset", "running"]), ())


def test_min_gain_stops_only_when_no_answer_raises_the_triage(model: kneebayes.Model) -> None:
    """A high min_gain ends the interview after the red flags unless an answer could still raise the triage."""
    present, absent = ["spasm", "sudden_onset"], list(ALL_FLAGS)
    step = model.interview_step(present, absent, 30, min_gain=1e9)
    table = model.next_questions(present, absent, 30)
    assert step["should_stop"] == (not table["raises_triage"].any())
    if step["should_stop"]:
        assert "min_gain" in step["reason"] or "no single remaining answer" in step["reason"]


def test_interview_step_is_json_ready(model: kneebayes.Model) -> None:
    """The step dictionary round-trips through JSON and carries the diagnosis and, when asked, the explanation."""
    step = model.interview_step(present=["calf_swelling"], age=60, explain=True)
    again = json.loads(json.dumps(step))
    assert again["question"] == step["question"] and again["diagnosis"]["triage"] == "urgent"
    assert {"question", "should_stop", "reason", "diagnosis"} <= set(again)
    assert again["explanation"]["cause"] == step["diagnosis"]["top"]


def test_top_level_functions_use_the_shipped_model(model: kneebayes.Model) -> None:
    """kneebayes.predict_findings, explain, next_questions and interview_step equal the shipped model's methods."""
    args = (["stiffness"], ["fever"], 50)
    assert kneebayes.predict_findings(*args).equals(model.predict_findings(*args))
    assert kneebayes.next_questions(*args).equals(model.next_questions(*args))
    assert_same_step(kneebayes.interview_step(*args), model.interview_step(*args))
    assert kneebayes.explain(*args).table.equals(model.explain(*args).table)


@settings(max_examples=15, deadline=None)
@given(st.data())
def test_any_step_asks_red_flags_before_anything_else(model: kneebayes.Model, data: st.DataObject) -> None:
    """For any answers, a step stops only when no red-flag question is left, and otherwise asks one first."""
    ids = list(model.observable)
    chosen = data.draw(st.lists(st.sampled_from(ids), unique=True, max_size=10))
    cut = data.draw(st.integers(0, len(chosen)))
    skipped = data.draw(st.lists(st.sampled_from([i for i in ids if i not in chosen] or ["fever"]), unique=True,
                                 max_size=3).filter(lambda xs: not set(xs) & set(chosen)))
    present, absent = chosen[:cut], chosen[cut:]
    age = data.draw(st.one_of(st.none(), st.integers(0, 120)))
    sex = data.draw(st.sampled_from([None, "female"] if "pregnancy" in present else [None, "female", "male"]))
    step = model.interview_step(present, absent, age, sex=sex, unknown=skipped,
                                min_gain=data.draw(st.sampled_from([0, 1e9])))
    must = red_flag_questions(model, model.evidence(present, absent, age, sex=sex), skipped)
    if must:
        assert not step["should_stop"] and step["question"] in must
    if step["should_stop"]:
        assert not must


def _no_red_flags_left(model: kneebayes.Model, present: list[str]) -> list[str]:
    """Return the ids to answer absent (after ``present``) until no red-flag question is left."""
    absent: list[str] = []
    while must := red_flag_questions(model, model.evidence(present, absent), ()):
        absent += list(must)
    return absent


@pytest.mark.parametrize("phase", ["red flags left", "no red flag left"])
def test_step_asks_the_first_question_of_the_full_ranking(model: kneebayes.Model, phase: str) -> None:
    """interview_step scores only red-flag rows while one is left, yet asks next_questions' first, with its numbers."""
    present = ["calf_swelling"]
    absent = ["fever"] if phase == "red flags left" else _no_red_flags_left(model, present)
    table = model.next_questions(present, absent, 50, sex="female", unknown=["smoking"])
    step = model.interview_step(present, absent, 50, sex="female", unknown=["smoking"], min_gain=0)
    assert bool(table["red_flag"].iloc[0]) == (phase == "red flags left") == step["red_flag"]
    assert not step["should_stop"] and step["question"] == table.index[0]
    first = table.iloc[0]
    assert step["gain"] == pytest.approx(float(first["gain"]), abs=1e-12)
    assert step["p_present"] == pytest.approx(float(first["p_present"]), abs=1e-12)
    assert step["question_text"] == first["question"] and step["kind"] == first["kind"]


def test_a_dont_know_rescored_nothing(enumerable_model: kneebayes.Model, monkeypatch: pytest.MonkeyPatch) -> None:
    """With a store, a "don't know" (same evidence) scores no row again, and the ranking equals a fresh one's."""
    from kneebayes._interview import ScoreStore, next_questions_many

    model = enumerable_model
    evidence = model.evidence(["calf_swelling"], ["fever"], 50, sex="male")
    store: ScoreStore = {}
    first = next_questions_many(model, [evidence], [()], store=store)[0][0]
    skipped = (str(first.index[0]),)
    fresh = next_questions_many(model, [evidence], [skipped])[0][0]
    scored: list[int] = []
    real = type(model).diagnose_many
    monkeypatch.setattr(type(model), "diagnose_many", lambda self, frame, **kw: scored.append(len(frame))
                        or real(self, frame, **kw))
    again = next_questions_many(model, [evidence], [skipped], store=store)[0][0]
    assert scored == [] and skipped[0] not in again.index
    pd.testing.assert_frame_equal(again, fresh, check_exact=False, rtol=0, atol=1e-12)
    answered = model.evidence(["calf_swelling"], ["fever", skipped[0]], 50, sex="male")
    next_questions_many(model, [answered], [()], store=store)  # a yes or no is new evidence: scored
    assert scored == [1 + 2 * (len(first) - 1)]
