"""Random networks built like the shipped model, and random evidence, for tests and benchmarks.

The networks have the shipped model's shape at any size: binary risk factors and
an age band as roots, causes with logistic tables over some roots and earlier
causes, and noisy-OR findings over the causes. Their numbers are random (the
intercepts are drawn, not calibrated to base rates): they exist to check and
time the engines, not to diagnose anyone.
"""

from __future__ import annotations

import numpy as np

from ._batch import UNKNOWN, EvidenceArrays
from ._parameters import Parameters


def synthetic_parameters(
    n_causes: int = 24,
    n_risk_factors: int = 20,
    n_findings: int = 40,
    *,
    n_age_bands: int = 4,
    max_root_parents: int = 3,
    max_cause_parents: int = 2,
    max_finding_parents: int = 12,
    seed: int = 0,
) -> Parameters:
    """Return random :class:`~kneebayes._parameters.Parameters` of a network built like the shipped one.

    Every risk factor feeds at least one cause; each cause has 1 to ``max_root_parents``
    risk-factor parents, the age band with probability 1/2, and up to
    ``max_cause_parents`` earlier causes; each finding has 1 to ``max_finding_parents``
    causes.

    Examples
    --------
    >>> params = synthetic_parameters(n_causes=24, n_risk_factors=20, seed=1)
    >>> len(params.causes), len(params.risk_factors), int(params.rf_parent.any(axis=0).sum())
    (24, 20, 20)
    """
    rng = np.random.default_rng(seed)
    n_c, n_r, n_f, n_a = n_causes, n_risk_factors, n_findings, n_age_bands
    rf_parent = np.zeros((n_c, n_r), dtype=bool)
    for c in range(n_c):
        rf_parent[c, rng.choice(n_r, size=int(rng.integers(1, min(n_r, max_root_parents) + 1)), replace=False)] = True
    for r in np.flatnonzero(~rf_parent.any(axis=0)):  # every root feeds some cause
        rf_parent[int(rng.integers(n_c)), r] = True
    age_parent = rng.random(n_c) < 0.5
    cause_parent = np.zeros((n_c, n_c), dtype=bool)
    for c in range(1, n_c):
        k = int(rng.integers(0, min(c, max_cause_parents) + 1))
        cause_parent[c, rng.choice(c, size=k, replace=False)] = True
    q = np.zeros((n_c, n_f))
    for f in range(n_f):
        linked = rng.choice(n_c, size=int(rng.integers(1, min(n_c, max_finding_parents) + 1)), replace=False)
        q[linked, f] = rng.uniform(0.2, 0.9, size=len(linked))
    w_age = np.where(age_parent[:, None], rng.normal(0.0, 0.8, (n_c, n_a)), 0.0)
    w_age[:, 0] = 0.0  # the first band is the reference
    intercept = rng.uniform(-4.0, -1.0, n_c)
    causes = tuple(f"cause{i}" for i in range(n_c))
    risk_factors = tuple(f"risk{i}" for i in range(n_r))
    findings = tuple(f"finding{i}" for i in range(n_f))
    bands = tuple(f"band{i}" for i in range(n_a))
    return Parameters(
        causes=causes,
        risk_factors=risk_factors,
        findings=findings,
        age_bands=bands,
        age_min=np.arange(n_a, dtype=np.int64) * (120 // n_a),
        rf_prevalence=rng.uniform(0.05, 0.5, n_r),
        age_prevalence=rng.dirichlet(np.full(n_a, 3.0)),
        intercept=intercept,
        w_rf=np.where(rf_parent, rng.normal(0.5, 0.8, (n_c, n_r)), 0.0),
        w_age=w_age,
        w_cause=np.where(cause_parent, rng.normal(0.8, 0.5, (n_c, n_c)), 0.0),
        rf_parent=rf_parent,
        age_parent=age_parent,
        cause_parent=cause_parent,
        order=tuple(range(n_c)),
        leak=rng.uniform(0.005, 0.1, n_f),
        q=q,
        base_rate=1.0 / (1.0 + np.exp(-intercept)),  # not calibrated: the logistic at reference values
        care=("see_doctor",) * n_c,
        care_threshold=0.3,
        rules=(),
        labels={name: name for name in causes + risk_factors + findings + bands},
    )


def sample_evidence(
    params: Parameters,
    n: int,
    *,
    max_present: int = 10,
    answer_rate: float = 0.5,
    age_rate: float = 0.8,
    seed: int = 0,
) -> EvidenceArrays:
    """Forward-sample ``n`` patients and reveal part of their answers.

    Each finding and risk factor is answered with probability ``answer_rate`` (the
    age with ``age_rate``); at most ``max_present`` present findings are kept
    (the others become unknown).

    Examples
    --------
    >>> ev = sample_evidence(synthetic_parameters(seed=1), 50, seed=2)
    >>> int((ev.findings == 1).sum(axis=1).max()) <= 10
    True
    """
    rng = np.random.default_rng(seed)
    age = rng.choice(len(params.age_bands), size=n, p=params.age_prevalence)
    rf = (rng.random((n, len(params.risk_factors))) < params.rf_prevalence).astype(float)
    causes = np.zeros((n, len(params.causes)))
    for c in params.order:
        causes[:, c] = rng.random(n) < params.cause_probability(c, age, rf, causes)
    p_absent = (1 - params.leak) * np.exp(causes @ np.log1p(-params.q))
    findings = (rng.random((n, len(params.findings))) >= p_absent).astype(np.int8)
    findings[rng.random(findings.shape) >= answer_rate] = UNKNOWN
    for i in np.flatnonzero((findings == 1).sum(axis=1) > max_present):
        on = np.flatnonzero(findings[i] == 1)
        findings[i, rng.choice(on, size=len(on) - max_present, replace=False)] = UNKNOWN
    rf_obs = rf.astype(np.int8)
    rf_obs[rng.random(rf_obs.shape) >= answer_rate] = UNKNOWN
    age_obs = np.where(rng.random(n) < age_rate, age, UNKNOWN).astype(np.int64)
    return EvidenceArrays(findings, rf_obs, age_obs)


def symptom_checker_evidence(
    params: Parameters, n: int, *, n_present: int = 3, n_absent: int = 4, seed: int = 0
) -> EvidenceArrays:
    """Patients who each answer a few random ids of all the reportable ones, without their age.

    Each patient reports ``n_present`` random ids (findings or risk factors) present
    and ``n_absent`` others absent; everything else, the age included, is unknown.

    Examples
    --------
    >>> ev = symptom_checker_evidence(synthetic_parameters(seed=1), 5, seed=2)
    >>> int((ev.findings == 1).sum() + (ev.risk_factors == 1).sum())
    15
    """
    rng = np.random.default_rng(seed)
    n_f, n_r = len(params.findings), len(params.risk_factors)
    states = np.full((n, n_f + n_r), UNKNOWN, dtype=np.int8)
    picked = np.argsort(rng.random((n, n_f + n_r)), axis=1)[:, :n_present + n_absent]
    rows = np.arange(n)[:, None]
    states[rows, picked[:, :n_present]] = 1
    states[rows, picked[:, n_present:]] = 0
    return EvidenceArrays(states[:, :n_f].copy(), states[:, n_f:].copy(), np.full(n, UNKNOWN, dtype=np.int64))
