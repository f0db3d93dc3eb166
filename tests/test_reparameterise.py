"""Many parameter sets at once: batched intercepts, numbers mapped like the priors, plans reused across numbers."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

import kneebayes
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
    """A factored engine (24 causes) scores variants with its own elimination plan, equal to fresh engines."""
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
