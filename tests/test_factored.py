"""The factored engine (Quickscore over variable elimination): agreement with enumeration, pyAgrum and brute force."""

from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np
import pytest

import kneebayes
from kneebayes import _factored
from kneebayes._batch import UNKNOWN, EvidenceArrays
from kneebayes._elimination import EliminationPlan, min_fill_order
from kneebayes._engine import ExactEngine
from kneebayes._errors import ImpossibleEvidenceError, OptionError
from kneebayes._factored import FactoredEngine
from kneebayes._synthetic import sample_evidence, symptom_checker_evidence, synthetic_parameters

gum = pytest.importorskip("pyagrum")
from kneebayes._pyagrum import pyagrum_posteriors, to_pyagrum  # noqa: E402


def _pyagrum_reference(params: kneebayes._parameters.Parameters, ev: EvidenceArrays) -> np.ndarray:
    inference = gum.LazyPropagation(to_pyagrum(params))
    inference.setTargets(set(params.causes))
    return np.array([pyagrum_posteriors(inference, params, ev, i) for i in range(len(ev))])


def test_elimination_gives_every_marginal_of_a_random_network() -> None:
    """The backward pass of a batched elimination equals brute-force marginals on a random factor graph."""
    rng = np.random.default_rng(0)
    cards = (3, 2, 2, 2, 2, 2)
    scopes = [(0,), (0, 1), (1, 2, 3), (0, 3, 4), (2, 5), (4, 5)]  # shared tables
    scopes += [(v,) for v in range(6)]  # one batched unary factor per variable
    batched = [False] * 6 + [True] * 6
    n = 5
    factors = [rng.random([cards[v] for v in s]) for s in scopes[:6]]
    factors += [rng.random((n, cards[v])) for v in range(6)]
    plan = EliminationPlan(cards, scopes, batched, targets=tuple(range(6, 12)))
    z, grads = plan.run(factors)
    for row in range(n):
        joint = np.ones(cards)
        for s, f, b in zip(scopes, factors, batched, strict=True):
            table = f[row] if b else f
            shape = [cards[v] if v in s else 1 for v in range(6)]
            joint = joint * table.transpose(np.argsort(np.argsort(s))).reshape(shape)
        assert z[row] == pytest.approx(joint.sum(), rel=1e-12)
        for v in range(6):
            marginal = joint.sum(axis=tuple(u for u in range(6) if u != v))
            assert np.allclose(factors[6 + v][row] * grads[v][row], marginal, rtol=1e-12, atol=0)


def test_min_fill_eliminates_a_tree_without_fill_in() -> None:
    """On a star (a tree), min-fill eliminates the leaves before the hub: no clique grows beyond two variables."""
    order = min_fill_order((2,) * 5, [(0, 1), (0, 2), (0, 3), (0, 4)])
    assert order.index(0) >= 3


def _greedy_min_fill(cards: tuple[int, ...], scopes: list[tuple[int, ...]]) -> list[int]:
    """Min-fill recomputed from scratch at every step, on explicit neighbour sets (the reference)."""
    near: dict[int, set[int]] = {v: set() for v in range(len(cards))}
    for scope in scopes:
        for v in scope:
            near[v] |= set(scope) - {v}

    def key(v: int) -> tuple[int, float, int]:
        fill = sum(1 for a, b in itertools.combinations(sorted(near[v]), 2) if b not in near[a])
        return fill, float(np.log2(cards[v]) + sum(np.log2(cards[u]) for u in near[v])), v

    order = []
    while near:
        v = min(near, key=key)
        for a in near[v]:
            near[a] |= near[v] - {a}
            near[a].discard(v)
        del near[v]
        order.append(v)
    return order


def test_min_fill_order_equals_the_plain_greedy_rule() -> None:
    """The incremental min-fill (costs recomputed only where they can change) picks what recomputing all would.

    At every step the smallest (fill-in count, log2 clique size, index) goes next.
    """
    rng = np.random.default_rng(11)
    for _ in range(60):
        n = int(rng.integers(3, 30))
        cards = tuple(int(c) for c in rng.choice([2, 2, 2, 3, 4], size=n))
        scopes = [tuple(int(v) for v in rng.choice(n, size=int(rng.integers(1, min(4, n) + 1)), replace=False))
                  for _ in range(int(rng.integers(1, 2 * n)))]
        assert min_fill_order(cards, scopes) == _greedy_min_fill(cards, scopes)


def test_factored_equals_enumeration_on_the_shipped_model(enumerable_model: kneebayes.Model) -> None:
    """Quickscore (and its fallback) equal enumeration to 1e-10, up to 10 present findings.

    The model is the shipped one without the issue-13 causes: 12 causes, few enough to enumerate.
    """
    p = enumerable_model.parameters
    ev = sample_evidence(p, 300, max_present=10, answer_rate=0.6, seed=4)
    rng = np.random.default_rng(4)
    for row in range(10):  # ten patients with ten present findings each
        ev.findings[row, rng.choice(len(p.findings), size=10, replace=False)] = 1
    factored = ExactEngine(p, method="factored")
    enumerated = ExactEngine(p, method="enumerate")
    scores = factored._factored.score(ev)
    assert scores.fallback.any() and not scores.fallback.all()  # both paths are exercised
    assert int((ev.findings == 1).sum(axis=1).max()) > _factored.MAX_QUICKSCORE
    assert np.abs(factored.posteriors(ev) - enumerated.posteriors(ev)).max() < 1e-10
    assert np.abs(factored.log_evidence(ev) - enumerated.log_evidence(ev)).max() < 1e-10
    checker = symptom_checker_evidence(p, 200, seed=5)
    assert np.abs(factored.posteriors(checker) - enumerated.posteriors(checker)).max() < 1e-10


def test_factored_equals_pyagrum_on_the_shipped_model(model: kneebayes.Model) -> None:
    """The factored engine agrees with pyAgrum's LazyPropagation, an independent exact engine, to 1e-9."""
    p = model.parameters
    ev = sample_evidence(p, 25, max_present=10, answer_rate=0.6, seed=6)
    assert np.abs(ExactEngine(p, method="factored").posteriors(ev) - _pyagrum_reference(p, ev)).max() < 1e-9


def test_24_cause_network_equals_pyagrum(monkeypatch: pytest.MonkeyPatch) -> None:
    """A synthetic network built like the shipped one, 24 causes and 20 roots, runs (no refusal) and equals pyAgrum.

    Findings have up to 12 parents; the patients have 1 to 8 present findings and the guard sends
    some to the exact fallback.
    """
    p = synthetic_parameters(n_causes=24, n_risk_factors=20, n_findings=30, max_finding_parents=12, seed=2)
    assert int(p.rf_parent.any(axis=0).sum()) == 20 and int(p.q.astype(bool).sum(axis=0).max()) > 8
    ev = sample_evidence(p, 12, answer_rate=0.4, seed=2)
    engine = ExactEngine(p)
    assert engine.method == "factored"
    ours = engine.posteriors(ev)
    assert int((ev.findings == 1).sum(axis=1).max()) >= 8
    reference = _pyagrum_reference(p, ev)
    assert np.abs(ours - reference).max() < 1e-9
    monkeypatch.setattr(_factored, "MAX_CANCELLATION", 0.0)  # every subtraction fails the double-precision guard
    if engine._factored._extended:  # extended precision takes those rows
        scores = engine._factored.score(ev)
        assert scores.extended.any()
        assert np.abs(scores.posteriors - reference).max() < 1e-9
    monkeypatch.setattr(_factored, "MAX_CANCELLATION_EXTENDED", 0.0)  # and then the exact fallback
    scores = engine._factored.score(ev)
    assert scores.fallback.any()
    assert np.abs(scores.posteriors - reference).max() < 1e-9


def test_fallback_alone_and_quickscore_alone_agree(model: kneebayes.Model, monkeypatch: pytest.MonkeyPatch) -> None:
    """The guard only chooses between two exact computations: forcing either one gives the same posteriors."""
    p = model.parameters
    ev = sample_evidence(p, 60, max_present=4, seed=7)
    engine = FactoredEngine(p)
    monkeypatch.setattr(_factored, "MAX_CANCELLATION", 0.0)
    monkeypatch.setattr(_factored, "MAX_CANCELLATION_EXTENDED", 0.0)
    forced = engine.score(ev)
    assert forced.fallback[(ev.findings == 1).any(axis=1)].all()
    monkeypatch.setattr(_factored, "MAX_CANCELLATION", np.inf)
    quick = engine.score(ev)
    assert not quick.fallback.any() and not quick.extended.any()
    assert np.abs(forced.posteriors - quick.posteriors).max() < 1e-10
    assert np.abs(forced.evidence / quick.evidence - 1).max() < 1e-10
    if engine._extended:  # inclusion-exclusion in extended precision alone (where longdouble is wider than double)
        monkeypatch.setattr(_factored, "MAX_CANCELLATION", 0.0)
        monkeypatch.setattr(_factored, "MAX_CANCELLATION_EXTENDED", np.inf)
        extended = engine.score(ev)
        assert extended.extended[(ev.findings == 1).any(axis=1)].all() and not extended.fallback.any()
        assert np.abs(forced.posteriors - extended.posteriors).max() < 1e-10
        assert np.abs(forced.log_evidence - extended.log_evidence).max() < 1e-10


def test_guard_trips_on_heavy_evidence(enumerable_model: kneebayes.Model, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ten present findings cancel too much in inclusion-exclusion: the guard sends such patients on.

    First to extended precision (where longdouble is wider than double), then, when that is not
    enough either, to the fallback; each path equals enumeration.
    """
    p = enumerable_model.parameters
    findings = np.full((1, len(p.findings)), UNKNOWN, dtype=np.int8)
    findings[0, :10] = 1
    ev = EvidenceArrays(findings, np.full((1, len(p.risk_factors)), UNKNOWN, dtype=np.int8), np.array([UNKNOWN]))
    expected = ExactEngine(p, method="enumerate").posteriors(ev)
    engine = FactoredEngine(p)
    scores = engine.score(ev)
    assert scores.extended[0] or scores.fallback[0]  # double precision was not enough
    assert np.abs(scores.posteriors - expected).max() < 1e-10
    monkeypatch.setattr(_factored, "MAX_CANCELLATION_EXTENDED", _factored.MAX_CANCELLATION)
    scores = engine.score(ev)
    assert scores.fallback[0]
    assert np.abs(scores.posteriors - expected).max() < 1e-10


def test_factored_impossible_evidence_names_the_row() -> None:
    """A finding with no leak and no possible cause present makes the evidence impossible: a clear error."""
    p = synthetic_parameters(n_causes=4, n_risk_factors=3, n_findings=3, seed=0)
    leak = p.leak.copy()
    leak[0] = 0.0
    q = p.q.copy()
    q[:, 0] = 0.0
    q[0, 0] = 0.5
    params = replace(p, leak=leak, q=q, intercept=np.array([-800.0, -1, -1, -1]))
    findings = np.full((3, 3), UNKNOWN, dtype=np.int8)
    findings[2, 0] = 1
    ev = EvidenceArrays(findings, np.full((3, 3), UNKNOWN, dtype=np.int8), np.full(3, UNKNOWN, dtype=np.int64))
    with pytest.raises(ImpossibleEvidenceError, match=r"row\(s\) 2 "):
        ExactEngine(params, method="factored").posteriors(ev)


def test_enumeration_only_methods_refuse_a_factored_engine() -> None:
    """prior() needs all 2**C configurations: a factored engine says so instead of allocating them."""
    engine = ExactEngine(synthetic_parameters(n_causes=24, seed=3))
    ev = sample_evidence(engine.params, 2, seed=1)
    with pytest.raises(OptionError, match="2\\*\\*C cause configurations"):
        engine.prior(ev)
    with pytest.raises(OptionError, match="method='factored'"):
        ExactEngine(engine.params, method="enumerate")


def test_quickscore_terms_are_inclusion_exclusion() -> None:
    """On a two-cause network by hand: P(f1, f2 present) from the expansion equals direct enumeration."""
    p = synthetic_parameters(n_causes=2, n_risk_factors=1, n_findings=2, max_cause_parents=1, seed=5)
    findings = np.ones((1, 2), dtype=np.int8)
    ev = EvidenceArrays(findings, np.full((1, 1), UNKNOWN, dtype=np.int8), np.array([UNKNOWN]))
    total = 0.0
    for age, r, c0, c1 in itertools.product(range(len(p.age_bands)), (0, 1), (0, 1), (0, 1)):
        weight = p.age_prevalence[age] * (p.rf_prevalence[0] if r else 1 - p.rf_prevalence[0])
        states = np.array([[c0, c1]], dtype=float)
        for c, value in ((0, c0), (1, c1)):
            on = p.cause_probability(c, np.array([age]), np.array([[float(r)]]), states)[0]
            weight *= on if value else 1 - on
        absent = (1 - p.leak) * np.prod(np.where(states.T == 1, 1 - p.q, 1.0), axis=0)
        total += weight * np.prod(1 - absent)
    assert FactoredEngine(p).score(ev).evidence[0] == pytest.approx(total, rel=1e-12)


@pytest.mark.parametrize("pad_from", [1, 10**9])
def test_underflowing_present_findings_are_redone_in_log_space(pad_from: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Present findings so improbable that ``Z`` leaves floating-point range: the fallback reruns in log space.

    Leaks of 1e-50 and links scaled by 1e-25 make 12 or 15 present findings less likely than 1e-250;
    the posteriors and log P(evidence) equal enumeration's (which has its own log-space redo), in the
    padded network (``pad_from`` 1) and in each patient's own.
    """
    monkeypatch.setattr(_factored, "PAD_FROM", pad_from)
    p = synthetic_parameters(n_causes=8, n_risk_factors=3, n_findings=16, seed=3)
    params = replace(p, leak=np.full_like(p.leak, 1e-50), q=p.q * 1e-25)
    findings = np.full((3, 16), UNKNOWN, dtype=np.int8)
    findings[0, :15] = 1
    findings[1, 2:14] = 1
    findings[1, 15] = 0
    findings[2, 0] = 0  # an ordinary row beside them
    ev = EvidenceArrays(findings, np.full((3, 3), UNKNOWN, dtype=np.int8), np.full(3, UNKNOWN, dtype=np.int64))
    factored = ExactEngine(params, method="factored")
    scores = factored._factored.score(ev)
    assert scores.log_space[:2].all() and not scores.log_space[2]
    assert (scores.log_evidence[:2] < np.log(_factored.TINY)).all()
    enumerated = ExactEngine(params, method="enumerate")
    assert np.abs(scores.posteriors - enumerated.posteriors(ev)).max() < 1e-10
    assert np.abs(factored.log_evidence(ev) - enumerated.log_evidence(ev)).max() < 1e-9


def test_each_kind_of_present_finding_equals_enumeration() -> None:
    """Present findings of every kind, alone and together, equal enumeration.

    No parent gives a constant, one a unary factor, two two non-negative terms (these never
    subtract), and three or more inclusion-exclusion.
    """
    p = synthetic_parameters(n_causes=9, n_risk_factors=4, n_findings=6, seed=11)
    q = p.q.copy()
    q[:, 0] = 0.0
    q[:, 1] = 0.0
    q[3, 1] = 0.7
    q[:, 2] = 0.0
    q[[2, 5], 2] = (0.4, 0.9)
    q[:, 3] = 0.0
    q[[0, 4, 6, 8], 3] = (0.3, 0.6, 0.2, 0.8)
    params = replace(p, q=q)
    engine = FactoredEngine(params)
    assert engine._expansion.kind[:4].tolist() == [0, 1, 2, 3]
    rows = [[1, 1, 1, 1, -1, 0], [1, -1, -1, -1, 0, -1], [-1, 1, -1, -1, -1, 1], [-1, -1, 1, -1, 1, 0],
            [-1, 1, 1, -1, 0, -1], [-1, -1, -1, 1, 1, 1], [0, 0, 1, 0, 1, -1]]
    findings = np.array(rows, dtype=np.int8)
    n = len(findings)
    ev = EvidenceArrays(findings, np.full((n, 4), UNKNOWN, dtype=np.int8), np.full(n, UNKNOWN, dtype=np.int64))
    scores = engine.score(ev)
    assert not scores.fallback.any()
    enumerated = ExactEngine(params, method="enumerate")
    assert np.abs(scores.posteriors - enumerated.posteriors(ev)).max() < 1e-12
    assert np.abs(scores.log_evidence - enumerated.log_evidence(ev)).max() < 1e-12


@pytest.mark.parametrize("pad_from", [1, 10**9])
def test_chain_fallback_equals_enumeration_on_random_patients(
    enumerable_model: kneebayes.Model, pad_from: int, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every patient through the chain fallback, in the padded network and in its own, equals enumeration.

    Enumeration sums the full noisy-OR of each present finding over all ``2**12`` cause
    configurations: the independent reference for chains of factors. Patients answer the
    roots at random (the answered ones are sliced out), so groups of several sets of
    answered roots meet in one batch.
    """
    p = enumerable_model.parameters
    monkeypatch.setattr(_factored, "MAX_CANCELLATION", 0.0)  # every Quickscore fails its guard: the fallback
    monkeypatch.setattr(_factored, "MAX_CANCELLATION_EXTENDED", 0.0)
    monkeypatch.setattr(_factored, "MAX_QUICKSCORE", 0)
    monkeypatch.setattr(_factored, "PAD_FROM", pad_from)
    ev = sample_evidence(p, 80, max_present=12, answer_rate=0.7, age_rate=0.5, seed=21)
    factored = ExactEngine(p, method="factored")
    scores = factored._factored.score(ev)
    assert scores.fallback[(ev.findings == 1).any(axis=1)].all()
    assert len(np.unique(ev.risk_factors >= 0, axis=0)) > 3  # several sets of answered roots
    enumerated = ExactEngine(p, method="enumerate")
    assert np.abs(scores.posteriors - enumerated.posteriors(ev)).max() < 1e-10
    assert np.abs(factored.log_evidence(ev) - enumerated.log_evidence(ev)).max() < 1e-10


def test_full_questionnaires_equal_pyagrum(model: kneebayes.Model, monkeypatch: pytest.MonkeyPatch) -> None:
    """Full questionnaires on the shipped 18-cause model (every id and the age answered) equal pyAgrum to 1e-9.

    With many present findings they go to the padded chain network (one plan for the batch);
    with it disabled, each to its own plan, or to inclusion-exclusion of up to
    ``MAX_QUICKSCORE_ALONE`` findings: all equal pyAgrum's LazyPropagation.
    """
    p = model.parameters
    ev = sample_evidence(p, 6, max_present=len(p.findings), answer_rate=1.0, age_rate=1.0, seed=8)
    reference = _pyagrum_reference(p, ev)
    for pad_from, alone, fallback in ((1, 8, True), (10**9, 0, True), (10**9, 8, False)):
        monkeypatch.setattr(_factored, "PAD_FROM", pad_from)
        monkeypatch.setattr(_factored, "MAX_QUICKSCORE_ALONE", alone)
        scores = ExactEngine(p)._factored.score(ev)
        assert scores.fallback.sum() >= 3 if fallback else (~scores.fallback).sum() >= 3
        assert np.abs(scores.posteriors - reference).max() < 1e-9
