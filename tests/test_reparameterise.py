"""Many parameter sets at once: batched intercepts, numbers mapped like the priors, plans reused across numbers."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

import kneebayes
from kneebayes._batch import EvidenceArrays
from kneebayes._engine import ExactEngine
from kneebayes._errors import OptionError
from kneebayes._parameters import (
    _solve_intercept,
    compile_parameters,
    draw_parameters,
    parameters_from_numbers,
    solve_intercepts,
)
from kneebayes._synthetic import sample_evidence, symptom_checker_evidence, synthetic_parameters
from kneebayes._variants import Variants


def test_batched_intercepts_equal_one_at_a_time(model: kneebayes.Model) -> None:
    """Intercepts solved for 6 draws together equal each draw solved alone, cause by cause in order."""
    draws = draw_parameters(model.priors, model.parameters, 6, seed=3)
    for draw in draws:
        alone = draw.intercept.copy()
        for c in draw.order:  # the one-at-a-time path of compile_parameters, on the draw's numbers
            alone[c] = _solve_intercept(replace(draw, intercept=alone), c)
        assert np.abs(alone - draw.intercept).max() < 1e-10
    again = solve_intercepts([model.parameters])[0]
    assert np.abs(again.intercept - model.parameters.intercept).max() < 1e-10


def test_numbers_map_like_edited_priors(model: kneebayes.Model) -> None:
    """Changing numbers of every kind through the batch equals compiling priors edited with with_value."""
    frame = model.priors.to_frame()
    edits = [("prevalence", "smoking", 0.3), ("odds_ratio", "dvt|recent_immobility", 5.0),
             ("base_rate", "meniscus_tear", 0.12), ("leak", "fever", 0.02),
             ("finding_probability", "lump_behind_knee|bakers_cyst", 0.6)]
    values = frame["value"].to_numpy(dtype=float).copy()
    priors = model.priors
    for kind, target, value in edits:
        row = int(np.flatnonzero((frame["kind"] == kind) & (frame["target"] == target))[0])
        values[row] = value
        priors = priors.with_value(kind, target, value, low=min(value, frame.loc[row, "low"]),
                                   high=max(value, frame.loc[row, "high"]))
    batched = parameters_from_numbers(model.priors, model.parameters, np.vstack([frame["value"].to_numpy(float),
                                                                                 values]))
    expected = compile_parameters(priors)
    for name in ("rf_prevalence", "w_rf", "w_age", "w_cause", "base_rate", "leak", "q", "intercept"):
        assert np.abs(getattr(batched[1], name) - getattr(expected, name)).max() < 1e-10, name
        assert np.abs(getattr(batched[0], name) - getattr(model.parameters, name)).max() < 1e-10, name
    ev = sample_evidence(model.parameters, 80, seed=2)
    under = ExactEngine(model.parameters).posteriors_under(ev, batched)
    assert np.abs(under[1] - ExactEngine(expected).posteriors(ev)).max() < 1e-9
    assert np.abs(under[0] - ExactEngine(model.parameters).posteriors(ev)).max() < 1e-12


def test_posteriors_under_draws_equal_fresh_engines(model: kneebayes.Model) -> None:
    """Scoring under draws with reused plans equals a fresh engine per draw, small and large batches alike."""
    draws = draw_parameters(model.priors, model.parameters, 3, seed=5)
    engine = ExactEngine(model.parameters)
    for ev in (symptom_checker_evidence(model.parameters, 100, seed=1), sample_evidence(model.parameters, 5, seed=1)):
        under = engine.posteriors_under(ev, draws)
        fresh = np.stack([ExactEngine(draw).posteriors(ev) for draw in draws])
        assert np.abs(under - fresh).max() < 1e-12
        assert np.abs(under[0] - under[1]).max() > 1e-3  # the draws do change the answers


def test_posteriors_under_reuses_the_factored_plan() -> None:
    """A factored engine (24 causes) scores variants all at once, equal to fresh engines."""
    p = synthetic_parameters(n_causes=24, n_risk_factors=20, n_findings=20, seed=2)
    variant = replace(p, leak=p.leak * 0.5, intercept=p.intercept - 0.3)
    ev = symptom_checker_evidence(p, 30, seed=3)
    engine = ExactEngine(p)
    under = engine.posteriors_under(ev, [p, variant])
    assert np.abs(under[1] - ExactEngine(variant).posteriors(ev)).max() < 1e-12
    assert np.abs(under[0] - engine.posteriors(ev)).max() < 1e-12


def test_posteriors_under_refuses_another_structure(model: kneebayes.Model) -> None:
    """A variant with other edges cannot reuse the plans: a clear error, not wrong numbers."""
    p = model.parameters
    q = p.q.copy()
    q[0, np.flatnonzero(q[0] == 0)[0]] = 0.3  # a new link
    with pytest.raises(OptionError, match="variant 0 does not have this engine's structure"):
        ExactEngine(p).posteriors_under(symptom_checker_evidence(p, 2), [replace(p, q=q)])


@pytest.mark.parametrize("mode", ["default", "chains only", "quickscore first"])
def test_variant_elimination_equals_enumeration(enumerable_model: kneebayes.Model, mode: str,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """The factored variant scorer equals enumerating all 2**12 cause configurations, by either present-finding path.

    "chains only" sends every pair to the elimination with each present finding kept whole as a chain (no
    subtraction); "quickscore first" never prefers chains up front (they are then only the guard's fallback).
    The batch holds patients with no, few and many (more than Quickscore takes) present findings.
    """
    import kneebayes._variant_elimination as elimination
    from kneebayes._variant_scoring import posteriors_under

    if mode == "chains only":
        monkeypatch.setattr(elimination, "MAX_CANCELLATION", 0.0)
    elif mode == "quickscore first":
        monkeypatch.setattr(elimination, "CHAIN_FROM", 10**9)
    p = enumerable_model.parameters
    variants = Variants.draw_uniform(enumerable_model.priors, p, 70, seed=4)  # 70 >= CHAIN_FROM: chains considered
    ev = sample_evidence(p, 12, max_present=len(p.findings), answer_rate=0.6, seed=8)
    findings = ev.findings.copy()
    findings[0] = 1  # every finding present: beyond Quickscore
    ev = EvidenceArrays(findings, ev.risk_factors, ev.age_band)
    assert (findings == 1).sum(axis=1).max() > elimination.MAX_QUICKSCORE and (findings == 1).sum(axis=1).min() <= 1
    enumerated = posteriors_under(variants, ev, "enumerate")
    factored = posteriors_under(variants, ev, "factored")
    assert np.abs(factored - enumerated).max() < 1e-9
    assert np.abs(enumerated[0] - enumerated[1]).max() > 1e-3  # the draws do change the answers


def test_variants_of_another_structure_are_refused(model: kneebayes.Model,
                                                   enumerable_model: kneebayes.Model) -> None:
    """Variants built on another model's structure cannot be scored by this engine: a clear error."""
    with pytest.raises(OptionError, match="does not have this engine's structure"):
        ExactEngine(model.parameters).posteriors_under(symptom_checker_evidence(model.parameters, 2),
                                                       Variants.repeat(enumerable_model.parameters, 2))


def test_variants_from_numbers_score_like_rebuilt_models(model: kneebayes.Model) -> None:
    """Numbers of every kind set in Variants, scored on the 18-cause model, equal models rebuilt with with_value."""
    frame = model.priors.to_frame()
    edits = [("age_prevalence", "under_30"), ("prevalence", "pivoting_sport"),
             ("odds_ratio", "meniscus_tear|pivoting_sport"), ("base_rate", "dvt"), ("leak", "swelling"),
             ("finding_probability", "swelling|meniscus_tear")]
    values = np.tile(frame["value"].to_numpy(dtype=float), (len(edits), 1))
    rebuilt = []
    for i, (kind, target) in enumerate(edits):
        row = frame[(frame["kind"] == kind) & (frame["target"] == target)].iloc[0]
        priors = model.priors.with_value(kind, target, (row["value"] + row["high"]) / 2)  # inside its range
        values[i] = priors.to_frame()["value"].to_numpy(dtype=float)  # an age share rescales the others
        rebuilt.append(kneebayes.Model.from_priors(priors))
    variants = Variants.from_numbers(model.priors, model.parameters, values)
    variants.solve()
    ev = sample_evidence(model.parameters, 6, max_present=len(model.parameters.findings), seed=3)
    got = model._engine.posteriors_under(ev, variants)
    for i, other in enumerate(rebuilt):
        assert np.abs(got[i] - other._engine.posteriors(ev)).max() < 1e-9, edits[i]
