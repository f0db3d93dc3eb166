"""The red-flag override at its edges, on hand-built arrays: thresholds, ties and the highest level winning.

These tests call ``fired_matrix`` and ``triage_codes`` directly with posteriors chosen
to land exactly on a rule's ``at_least`` and on the care threshold, so a ``>=`` turned
into ``>`` or a maximum turned into a replacement is caught here and not by chance.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kneebayes import TRIAGE_LEVELS, RedFlagRule
from kneebayes._red_flags import describe, fired_matrix, triage_codes

SELF, DOCTOR, URGENT, EMERGENCY = range(4)
OBSERVABLE = ("fever", "calf_swelling", "recent_immobility", "spasm")
CAUSES = ("cramp", "dvt", "infection")
CARE = ("self_care", "urgent", "emergency")


def rule(ident: str, level: str, present: tuple[str, ...] = (), cause: str | None = None,
         at_least: float | None = None) -> RedFlagRule:
    """Return a rule with a placeholder message and source."""
    return RedFlagRule(ident, level, present, cause, at_least, f"message of {ident}", "test")


def answers(*rows: tuple[str, ...]) -> np.ndarray:
    """Return the boolean present-matrix of patients, each given by the ids reported present."""
    return np.array([[ident in row for ident in OBSERVABLE] for row in rows], dtype=bool).reshape(len(rows), -1)


def test_threshold_rule_fires_exactly_at_its_threshold() -> None:
    """A posterior equal to at_least fires the rule; the next float below does not."""
    at = 0.15
    r = rule("dvt_probable", "urgent", cause="dvt", at_least=at)
    below = float(np.nextafter(at, 0.0))
    posteriors = np.array([[0.0, at, 0.0], [0.0, below, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 0.0]])
    fired = fired_matrix([r], OBSERVABLE, answers((), (), (), ()), CAUSES, posteriors)
    assert fired[:, 0].tolist() == [True, False, True, False]


def test_finding_rule_needs_every_listed_finding() -> None:
    """A rule on two findings fires only when both are reported present."""
    r = rule("clot_signs", "urgent", present=("calf_swelling", "recent_immobility"))
    present = answers(("calf_swelling", "recent_immobility"), ("calf_swelling",), ("recent_immobility",), ())
    fired = fired_matrix([r], OBSERVABLE, present, CAUSES, np.zeros((4, 3)))
    assert fired[:, 0].tolist() == [True, False, False, False]


def test_rule_with_findings_and_cause_needs_both() -> None:
    """A rule with when_present and when_cause fires only when the finding is present AND the posterior reaches it."""
    r = rule("swollen_and_likely", "emergency", present=("calf_swelling",), cause="dvt", at_least=0.4)
    present = answers(("calf_swelling",), ("calf_swelling",), (), ())
    posteriors = np.array([[0, 0.4, 0], [0, 0.39, 0], [0, 0.9, 0], [0, 0.1, 0]], dtype=float)
    fired = fired_matrix([r], OBSERVABLE, present, CAUSES, posteriors)
    assert fired[:, 0].tolist() == [True, False, False, False]


def test_rules_fire_independently_per_patient_and_rule() -> None:
    """Each (patient, rule) cell depends only on that patient's answers and posteriors."""
    rules = [rule("fever", "urgent", present=("fever",)), rule("dvt", "urgent", cause="dvt", at_least=0.2)]
    present = answers(("fever",), (), ("fever", "spasm"))
    posteriors = np.array([[0, 0.1, 0], [0, 0.2, 0], [0, 0.5, 0]], dtype=float)
    fired = fired_matrix(rules, OBSERVABLE, present, CAUSES, posteriors)
    assert fired.tolist() == [[True, False], [False, True], [True, True]]


def test_care_threshold_counts_a_posterior_exactly_at_it() -> None:
    """A cause whose posterior equals the care threshold is probable and sets its care level; just below it does not."""
    threshold = 0.3
    below = float(np.nextafter(threshold, 0.0))
    posteriors = np.array([[0.9, threshold, 0.0], [0.9, below, 0.0]])
    codes = triage_codes([], np.zeros((2, 0), dtype=bool), CARE, posteriors, threshold)
    assert codes.tolist() == [URGENT, SELF]


def test_probable_causes_take_the_highest_care() -> None:
    """With several probable causes, the triage is the highest of their care levels, whatever their order."""
    posteriors = np.array([[0.5, 0.5, 0.5], [0.5, 0.5, 0.0], [0.5, 0.0, 0.0], [0.0, 0.0, 0.0]])
    codes = triage_codes([], np.zeros((4, 0), dtype=bool), CARE, posteriors, 0.3)
    assert codes.tolist() == [EMERGENCY, URGENT, SELF, SELF]


def test_a_lower_fired_rule_does_not_lower_a_probable_cause_care() -> None:
    """A fired rule whose level is below a probable cause's care leaves the triage at the cause's care."""
    r = rule("mild", "see_doctor", present=("spasm",))
    posteriors = np.array([[0.0, 0.0, 0.9], [0.0, 0.8, 0.0], [0.9, 0.0, 0.0]])
    codes = triage_codes([r], np.array([[True], [True], [True]]), CARE, posteriors, 0.3)
    assert codes.tolist() == [EMERGENCY, URGENT, DOCTOR]


def test_several_fired_rules_take_the_highest() -> None:
    """Of several fired rules, the most serious sets the triage, in whatever order the rules are listed."""
    rules = [rule("a", "emergency", ("fever",)), rule("b", "see_doctor", ("spasm",)), rule("c", "urgent", ("fever",))]
    fired = np.array([[True, True, True], [False, True, True], [False, True, False], [False, False, False]])
    posteriors = np.zeros((4, 3))
    assert triage_codes(rules, fired, CARE, posteriors, 0.3).tolist() == [EMERGENCY, URGENT, DOCTOR, SELF]
    reversed_codes = triage_codes(rules[::-1], fired[:, ::-1], CARE, posteriors, 0.3)
    assert reversed_codes.tolist() == [EMERGENCY, URGENT, DOCTOR, SELF]


def test_rule_above_cause_care_raises_the_triage() -> None:
    """A fired rule above every probable cause's care raises the triage to the rule's level."""
    r = rule("fever", "emergency", present=("fever",))
    posteriors = np.array([[0.9, 0.0, 0.0], [0.0, 0.9, 0.0]])
    assert triage_codes([r], np.array([[True], [True]]), CARE, posteriors, 0.3).tolist() == [EMERGENCY, EMERGENCY]
    assert triage_codes([r], np.array([[False], [False]]), CARE, posteriors, 0.3).tolist() == [SELF, URGENT]


@pytest.mark.parametrize("level", TRIAGE_LEVELS)
def test_a_fired_rule_sets_at_least_its_level(level: str) -> None:
    """Whatever the probable causes, a fired rule of a level gives a triage of at least that level."""
    r = rule("x", level, present=("fever",))
    posteriors = np.array([[0.9, 0.0, 0.0], [0.0, 0.9, 0.0], [0.0, 0.0, 0.9], [0.0, 0.0, 0.0]])
    codes = triage_codes([r], np.ones((4, 1), dtype=bool), CARE, posteriors, 0.3)
    want = TRIAGE_LEVELS.index(level)
    assert codes.tolist() == [max(want, SELF), max(want, URGENT), max(want, EMERGENCY), want]


def test_describe_says_why_a_rule_fired() -> None:
    """describe() names the findings and the posterior against the threshold, and keeps the message apart."""
    r = rule("swollen_and_likely", "urgent", present=("calf_swelling",), cause="dvt", at_least=0.15)
    flag = describe(r, {"dvt": 0.25, "cramp": 0.1, "infection": 0.0})
    assert flag.why == "calf_swelling reported present; P(dvt) = 0.25 >= 0.15"
    assert flag.message == "message of swollen_and_likely" and flag.level == "urgent"


def test_fired_flags_are_listed_most_serious_first() -> None:
    """With an emergency and an urgent flag, the emergency comes first in the result, its text and its dict."""
    import kneebayes

    result = kneebayes.diagnose(present=["fever", "difficulty_breathing"])
    levels = [TRIAGE_LEVELS.index(flag.level) for flag in result.red_flags]
    assert len(levels) >= 2 and levels == sorted(levels, reverse=True) and len(set(levels)) >= 2
    assert repr(result).startswith("!! RED FLAG [EMERGENCY]")
    assert [f["level"] for f in result.to_dict()["red_flags"]][0] == "emergency"


# ---- random rules on values that land on the thresholds ---------------------------------------------------------

THRESHOLDS = (0.1, 0.3, 0.5)
#: Posteriors that sit exactly on a threshold, one float below it, or far from every threshold.
EDGE_VALUES = sorted({0.0, 1.0, *THRESHOLDS, *(float(np.nextafter(t, 0.0)) for t in THRESHOLDS)})


@st.composite
def rule_sets(draw: st.DrawFn) -> tuple[list[RedFlagRule], tuple[str, ...]]:
    """Draw up to four rules over the test's findings and causes, and a care level per cause."""
    rules = []
    for j in range(draw(st.integers(0, 4))):
        present = tuple(draw(st.lists(st.sampled_from(OBSERVABLE), unique=True, max_size=2)))
        cause = draw(st.none() | st.sampled_from(CAUSES))
        at_least = None if cause is None else draw(st.sampled_from(THRESHOLDS))
        rules.append(rule(f"r{j}", draw(st.sampled_from(TRIAGE_LEVELS)), present, cause, at_least))
    care = tuple(draw(st.lists(st.sampled_from(TRIAGE_LEVELS), min_size=len(CAUSES), max_size=len(CAUSES))))
    return rules, care


@settings(max_examples=100)
@given(rule_sets(), st.data())
def test_triage_is_the_highest_of_care_and_fired_rules(
    drawn: tuple[list[RedFlagRule], tuple[str, ...]], data: st.DataObject
) -> None:
    """On random rules, care levels and posteriors on the thresholds, triage equals a per-patient loop's answer.

    The loop is written element by element: a rule fires when all its findings are present and its
    cause's posterior is at least its threshold; the triage is the highest level among probable causes
    (posterior at least the care threshold) and fired rules, so a rule below a cause's care never lowers it.
    """
    rules, care = drawn
    n = 6
    present = np.array(data.draw(st.lists(st.lists(st.booleans(), min_size=len(OBSERVABLE), max_size=len(OBSERVABLE)),
                                          min_size=n, max_size=n)), dtype=bool)
    posteriors = np.array(data.draw(st.lists(st.lists(st.sampled_from(EDGE_VALUES), min_size=len(CAUSES),
                                                      max_size=len(CAUSES)), min_size=n, max_size=n)))
    threshold = data.draw(st.sampled_from(THRESHOLDS))
    fired = fired_matrix(rules, OBSERVABLE, present, CAUSES, posteriors)
    codes = triage_codes(rules, fired, care, posteriors, threshold)
    for i in range(n):
        want = 0
        for c, level in enumerate(care):
            if not posteriors[i, c] < threshold:
                want = max(want, TRIAGE_LEVELS.index(level))
        for j, r in enumerate(rules):
            holds = all(present[i, OBSERVABLE.index(f)] for f in r.when_present)
            if r.when_cause is not None:
                holds = holds and not posteriors[i, CAUSES.index(r.when_cause)] < r.at_least  # type: ignore[operator]
            assert fired[i, j] == holds, (i, r)
            if holds:
                want = max(want, TRIAGE_LEVELS.index(r.level))
        assert codes[i] == want, (i, rules, care, posteriors[i])


def test_hand_built_parameters_cannot_lower_a_floor_rule() -> None:
    """Parameters whose floor rules were lowered to self_care get them back at their floor level.

    Model applies the floor to any parameters: a fever with the fever rule set to self_care in
    hand-built parameters still triages urgent, and the rule the model holds keeps its level.
    """
    import dataclasses

    import kneebayes
    from kneebayes._safety import FLOOR_RULES

    shipped = kneebayes.load_model()
    floor = {rule.id: rule for rule in FLOOR_RULES}
    lowered = tuple(dataclasses.replace(r, level="self_care") if r.id in floor else r
                    for r in shipped.parameters.rules)
    model = kneebayes.Model(shipped.priors, dataclasses.replace(shipped.parameters, rules=lowered))
    held = {rule.id: rule for rule in model.parameters.rules}
    for ident, rule in floor.items():
        if ident in held:
            assert TRIAGE_LEVELS.index(held[ident].level) >= TRIAGE_LEVELS.index(rule.level), ident
    result = model.diagnose(present=["fever"], absent=["calf_swelling"], age=30)
    assert "fever" in {flag.id for flag in result.red_flags}
    assert TRIAGE_LEVELS.index(result.triage) >= TRIAGE_LEVELS.index(floor["fever"].level)
