"""Property tests: posteriors stay probabilities, red flags always win, and evidence order never matters.

Random valid priors are built from the shipped ones with ``Priors.with_value``,
each changed number drawn inside its own plausible range (narrowed where another
rule demands it: a finding's leak stays below the probabilities of its links).
Age-band prevalences are left alone: they must sum to 1, and with_value changes
one number at a time. The examples are deterministic (see the "ci" profile in
conftest.py).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import kneebayes
from kneebayes import TRIAGE_LEVELS, Diagnosis, Model, Priors, RedFlagRule
from kneebayes._priors import MAX_ODDS_RATIO, MIN_ODDS_RATIO
from kneebayes._safety import FLOOR_RULES

TINY = 1e-12
PRIORS = kneebayes.load_priors()
FRAME = PRIORS.to_frame()
#: The numbers a property may change: every kind but the age-band prevalences, which must sum to 1.
CHANGEABLE = FRAME[FRAME["kind"] != "age_prevalence"].reset_index(drop=True)
OBSERVABLE: tuple[str, ...] = PRIORS.ids("finding") + PRIORS.ids("risk_factor")
RED_FLAGS: tuple[str, ...] = PRIORS.ids("red_flag")


@lru_cache(maxsize=1)
def shipped() -> Model:
    """Return the model of the shipped priors, built once."""
    return kneebayes.load_model()


# ---- strategies -------------------------------------------------------------------------------------


@st.composite
def evidences(draw: st.DrawFn) -> tuple[list[str], list[str], float | None]:
    """Draw evidence: some ids present, some absent, the rest unknown, and an age or None."""
    chosen = draw(st.lists(st.sampled_from(OBSERVABLE), unique=True, max_size=len(OBSERVABLE)))
    present_flags = draw(st.lists(st.booleans(), min_size=len(chosen), max_size=len(chosen)))
    present = [i for i, p in zip(chosen, present_flags, strict=True) if p]
    absent = [i for i, p in zip(chosen, present_flags, strict=True) if not p]
    age = draw(st.none() | st.integers(0, 120).map(float) | st.floats(0, 120, allow_nan=False))
    return present, absent, age


#: Changes to the priors: (row of CHANGEABLE, where in its feasible range from 0 to 1).
changes = st.lists(
    st.tuples(st.integers(0, len(CHANGEABLE) - 1), st.floats(0, 1)),
    max_size=8,
    unique_by=lambda change: change[0],
)

#: Extreme changes: (row of CHANGEABLE, True for the top of the widened range, False for the bottom).
extremes = st.lists(
    st.tuples(st.integers(0, len(CHANGEABLE) - 1), st.booleans()),
    min_size=1,
    max_size=12,
    unique_by=lambda change: change[0],
)


# ---- building priors ------------------------------------------------------------------------------------


def feasible(priors: Priors, kind: str, target: str, low: float, high: float) -> tuple[float, float]:
    """Narrow [low, high] so that a finding's leak range stays strictly below each of its links' ranges."""
    if kind == "leak":
        links = priors.finding_links
        linked = links[links.index.get_level_values("finding") == target]["low"]
        if len(linked):
            high = min(high, float(np.nextafter(linked.min(), 0.0)))
    elif kind == "threshold":  # the safety floor caps a floor rule's threshold (kneebayes._safety)
        ceiling = {rule.id: rule.at_least for rule in FLOOR_RULES}.get(target)
        if ceiling is not None:
            high = min(high, ceiling)
    elif kind == "finding_probability":
        finding = target.split("|")[0]
        low = max(low, float(np.nextafter(priors.findings.loc[finding, "high"], 1.0)))
    assert low <= high, (kind, target, low, high)
    return low, high


def widened(kind: str, low: float, high: float) -> tuple[float, float]:
    """Return the extreme range of a kind of number: [1e-12, 1 - 1e-12], or the allowed odds ratios."""
    if kind == "odds_ratio":
        return MIN_ODDS_RATIO, MAX_ODDS_RATIO
    return TINY, 1 - TINY


def with_changes(changes: Sequence[tuple[int, float]]) -> Priors:
    """Return the shipped priors with each chosen number moved to a point of its feasible plausible range."""
    priors = PRIORS
    for row, where in changes:
        kind, target = CHANGEABLE.loc[row, "kind"], CHANGEABLE.loc[row, "target"]
        low, high = feasible(priors, kind, target, CHANGEABLE.loc[row, "low"], CHANGEABLE.loc[row, "high"])
        value = min(max(low + where * (high - low), low), high)
        priors = priors.with_value(kind, target, value)
    return priors


def with_extremes(changes: Sequence[tuple[int, bool]]) -> Priors:
    """Return the shipped priors with each chosen number pushed to an end of its widened range."""
    priors = PRIORS
    for row, top in changes:
        kind, target = CHANGEABLE.loc[row, "kind"], CHANGEABLE.loc[row, "target"]
        low, high = feasible(priors, kind, target, *widened(kind, CHANGEABLE.loc[row, "low"],
                                                             CHANGEABLE.loc[row, "high"]))
        value = high if top else low
        old = priors.to_frame().set_index(["kind", "target"]).loc[(kind, target)]
        priors = priors.with_value(kind, target, value, low=min(value, old["low"]), high=max(value, old["high"]))
    return priors


# ---- checks ----------------------------------------------------------------------------------------------


def assert_probabilities(result: Diagnosis, *, slack: float = 0.0) -> None:
    """Check every posterior is finite and in [0, 1] (give or take ``slack``)."""
    values = result.probabilities.to_numpy()
    assert np.isfinite(values).all(), result.probabilities
    assert ((values >= -slack) & (values <= 1 + slack)).all(), result.probabilities.to_dict()


def assert_red_flags_win(model: Model, result: Diagnosis, present: Sequence[str]) -> None:
    """Check every rule whose condition holds has fired and set the triage to at least its level."""
    rank = TRIAGE_LEVELS.index(result.triage)
    fired = {flag.id for flag in result.red_flags}
    for rule in model.priors.red_flags:
        holds = set(rule.when_present) <= set(present)
        if rule.when_cause is not None:
            holds = holds and result.probabilities[rule.when_cause] >= rule.at_least  # type: ignore[operator]
        if holds:
            assert rule.id in fired, (rule.id, present)
            assert rank >= TRIAGE_LEVELS.index(rule.level), (rule.id, result.triage)


def own_rule(priors: Priors, flag: str) -> RedFlagRule:
    """Return the rule that a red_flag id has on its own."""
    return next(r for r in priors.red_flags if r.when_present == (flag,) and r.when_cause is None)


def assert_own_rule_wins(priors: Priors, result: Diagnosis, flag: str) -> None:
    """Check the red flag's own rule fired and the triage is at least its level."""
    rule = own_rule(priors, flag)
    assert rule.id in {fired.id for fired in result.red_flags}, (flag, result.red_flags)
    assert TRIAGE_LEVELS.index(result.triage) >= TRIAGE_LEVELS.index(rule.level), (flag, result.triage)


def with_flag(evidence: tuple[list[str], list[str], float | None], flag: str) -> tuple[list[str], list[str]]:
    """Return the present and absent lists with ``flag`` made present."""
    present, absent, _ = evidence
    return [*present, flag] if flag not in present else present, [i for i in absent if i != flag]


# ---- properties --------------------------------------------------------------------------------------------


@settings(max_examples=150)
@given(evidences())
def test_shipped_posteriors_are_probabilities(evidence: tuple[list[str], list[str], float | None]) -> None:
    """Any valid evidence gives every cause a finite posterior in [0, 1] on the shipped model."""
    present, absent, age = evidence
    result = shipped().diagnose(present, absent, age)
    assert_probabilities(result)
    assert_red_flags_win(shipped(), result, present)


@settings(max_examples=40)
@given(changes, evidences())
def test_random_priors_posteriors_are_probabilities(
    change: list[tuple[int, float]], evidence: tuple[list[str], list[str], float | None]
) -> None:
    """Random valid priors and any evidence give finite posteriors in [0, 1]."""
    model = Model.from_priors(with_changes(change))
    present, absent, age = evidence
    assert_probabilities(model.diagnose(present, absent, age))


@settings(max_examples=100)
@given(st.sampled_from(RED_FLAGS), evidences())
def test_red_flag_gives_its_level_on_the_shipped_model(
    flag: str, evidence: tuple[list[str], list[str], float | None]
) -> None:
    """A present red-flag finding fires its own rule and sets at least its level, whatever else is reported."""
    present, absent = with_flag(evidence, flag)
    result = shipped().diagnose(present, absent, evidence[2])
    assert_own_rule_wins(PRIORS, result, flag)
    assert_red_flags_win(shipped(), result, present)


@settings(max_examples=40)
@given(st.sampled_from(RED_FLAGS), changes, evidences())
def test_red_flag_gives_its_level_whatever_the_priors(
    flag: str, change: list[tuple[int, float]], evidence: tuple[list[str], list[str], float | None]
) -> None:
    """A present red-flag finding sets at least its rule's level under random valid priors too."""
    priors = with_changes(change)
    model = Model.from_priors(priors)
    present, absent = with_flag(evidence, flag)
    result = model.diagnose(present, absent, evidence[2])
    assert_own_rule_wins(priors, result, flag)
    assert_red_flags_win(model, result, present)


@settings(max_examples=100)
@given(evidences(), st.data())
def test_order_and_repetition_of_evidence_do_not_matter(
    evidence: tuple[list[str], list[str], float | None], data: st.DataObject
) -> None:
    """Shuffling (and repeating ids in) the present and absent lists changes nothing in the result."""
    present, absent, age = evidence
    first = shipped().diagnose(present, absent, age)
    shuffled_present = data.draw(st.permutations(present))
    shuffled_absent = data.draw(st.permutations(absent))
    repeated = data.draw(st.lists(st.sampled_from(present), max_size=3)) if present else []
    second = shipped().diagnose([*shuffled_present, *repeated], shuffled_absent, age)
    assert first.probabilities.to_dict() == second.probabilities.to_dict()
    assert list(first.probabilities.index) == list(second.probabilities.index)
    assert (first.triage, first.red_flags, first.present, first.absent) == (
        second.triage, second.red_flags, second.present, second.absent)


@settings(max_examples=40)
@given(extremes, evidences(), st.sampled_from(RED_FLAGS))
def test_extreme_valid_priors_give_finite_results(
    change: list[tuple[int, bool]], evidence: tuple[list[str], list[str], float | None], flag: str
) -> None:
    """Numbers at 1e-12 and 1 - 1e-12 (odds ratios 1e-12 and 1e12) still give finite posteriors and red flags win."""
    priors = with_extremes(change)
    model = Model.from_priors(priors)
    present, absent, age = evidence
    # the numpy engine may round a certain posterior to 1 + 2.2e-16 (see test_certain_posterior_is_at_most_1)
    assert_probabilities(model.diagnose(present, absent, age), slack=1e-15)
    present, absent = with_flag(evidence, flag)
    result = model.diagnose(present, absent, age)
    assert_probabilities(result, slack=1e-15)
    assert_own_rule_wins(priors, result, flag)
    assert_red_flags_win(model, result, present)


def test_certain_posterior_is_at_most_1() -> None:
    """Every finding present under priors that make findings near-certain gives posteriors of at most 1."""
    rows = FRAME[FRAME["kind"].isin(["leak", "finding_probability", "base_rate"])]
    priors = PRIORS
    for kind, target, low, high in rows[["kind", "target", "low", "high"]].itertuples(index=False):
        value = 1 - TINY if kind == "finding_probability" else TINY
        priors = priors.with_value(kind, target, value, low=min(value, low), high=max(value, high))
    result = Model.from_priors(priors).diagnose(present=list(priors.ids("finding")))
    assert result.probabilities.max() <= 1.0, result.probabilities.max()


@settings(max_examples=8)
@given(evidences())
def test_numpy_engine_equals_pgmpy(evidence: tuple[list[str], list[str], float | None]) -> None:
    """The numpy engine agrees with pgmpy's VariableElimination to 1e-9 on the shipped model."""
    present, absent, age = evidence
    ours = shipped().diagnose(present, absent, age).probabilities
    reference = shipped().diagnose(present, absent, age, engine="pgmpy").probabilities
    assert np.abs(ours - reference[ours.index]).max() <= 1e-9


@settings(max_examples=4)
@given(changes, evidences())
def test_numpy_engine_equals_pgmpy_on_random_priors(
    change: list[tuple[int, float]], evidence: tuple[list[str], list[str], float | None]
) -> None:
    """The numpy engine agrees with pgmpy to 1e-9 under random valid priors."""
    model = Model.from_priors(with_changes(change))
    present, absent, age = evidence
    ours = model.diagnose(present, absent, age).probabilities
    reference = model.diagnose(present, absent, age, engine="pgmpy").probabilities
    assert np.abs(ours - reference[ours.index]).max() <= 1e-9
    assert not math.isnan(float(ours.sum()))
