"""Exact posteriors of patients under many parameter sets: the engine's re-parameterisation entry point.

:meth:`kneebayes._engine.ExactEngine.posteriors_under` scores ``N`` patients
under ``V`` parameter sets of one structure (:class:`~kneebayes._variants.Variants`)
by one of two exact methods, as the engine itself does:

* ``"factored"`` (any number of causes; the shipped model's 18):
  :mod:`kneebayes._variant_elimination`, Quickscore over a variable
  elimination whose every factor is gathered per (variant, patient) row, the
  answered roots sliced out.
* ``"enumerate"`` (small models): below. The causes' prior for each distinct
  pattern of risk-factor and age answers is one ``numpy.einsum`` whose every
  operand carries the variant axis, over all ``2**C`` cause configurations;
  each patient's findings add their noisy-OR terms (in logs), computed only for
  the variants that change them, and the result is normalised. Variants are
  scored in blocks that bound memory.

Both hold BLAS to one thread (see :func:`one_blas_thread`).
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import string
from collections.abc import Iterator
from typing import Literal

import numpy as np
import numpy.typing as npt

from . import _variant_elimination
from ._batch import UNKNOWN, EvidenceArrays
from ._contraction import _run
from ._errors import ImpossibleEvidenceError
from ._parameters import FloatArray, Parameters
from ._variants import Variants, _cause_table


def posteriors_under(var: Variants, ev: EvidenceArrays, method: Literal["enumerate", "factored"]) -> FloatArray:
    """Exact P(cause | evidence) per variant, patient and cause, shape (V, N, C).

    Raises
    ------
    ImpossibleEvidenceError
        When a patient's answers have probability zero under some variant.

    Examples
    --------
    >>> from kneebayes import load_model
    >>> from kneebayes._synthetic import sample_evidence
    >>> model = load_model()
    >>> ev = sample_evidence(model.parameters, 4, seed=1)
    >>> own = posteriors_under(Variants.repeat(model.parameters, 1), ev, "factored")[0]
    >>> bool(abs(own - model._engine.posteriors(ev)).max() < 1e-12)
    True
    """
    with one_blas_thread():
        if method == "enumerate":
            return _enumerated(var, ev)
        return _variant_elimination.posteriors(var, ev)


def _letters(params: Parameters) -> tuple[str, list[str], str]:
    pool = iter(ch for ch in string.ascii_letters if ch != "v")
    age = next(pool)
    rfs = [next(pool) for _ in params.risk_factors]
    causes = "".join(next(pool) for _ in params.causes)
    return age, rfs, causes


@functools.lru_cache(maxsize=4)
def configurations(n_causes: int) -> FloatArray:
    """Return every cause configuration as rows of 0/1, the first cause slowest (shape ``(2**C, C)``).

    The array is shared between calls: do not write to it.
    """
    return np.array(list(itertools.product((0.0, 1.0), repeat=n_causes)))


def cause_tables(var: Variants) -> list[tuple[FloatArray, str]]:
    """Every cause's table per variant with its einsum labels (``"v"``, parents, the cause)."""
    p = var.base
    age_letter, rf_letters, cause_letters = _letters(p)
    out = []
    for c in range(len(p.causes)):
        table, (rf_idx, cause_idx) = _cause_table(var, c)
        out.append((table, "v" + age_letter * bool(p.age_parent[c]) + "".join(rf_letters[i] for i in rf_idx)
                    + "".join(cause_letters[i] for i in cause_idx) + cause_letters[c]))
    return out


def log_prior(var: Variants, age_band: int, risk_factors: npt.NDArray[np.int8],
              tables: list[tuple[FloatArray, str]] | None = None) -> FloatArray:
    """``log P(causes = k | root answers)`` per variant for one pattern of answers, up to a constant per variant.

    Shape (V, 2**C); columns follow :func:`configurations`. An answered root is
    not summed: every table is sliced at its answer (the answer's own prior
    probability is the same for every configuration, so it is left out, like
    the roots no cause depends on); the constants cancel in the posteriors.
    ``tables`` are :func:`cause_tables` of ``var`` (computed when None).
    """
    p = var.base
    age_letter, rf_letters, cause_letters = _letters(p)
    fixed: dict[str, int] = {}
    operands: list[FloatArray] = []
    terms: list[str] = []
    if p.age_parent.any():
        operands.append(var.age_prevalence)
        terms.append("v" + age_letter)
        if age_band != UNKNOWN:
            fixed[age_letter] = int(age_band)
    for r in np.flatnonzero(p.rf_parent.any(axis=0)):
        prev = var.rf_prevalence[:, r]
        operands.append(np.stack([1.0 - prev, prev], axis=1))
        terms.append("v" + rf_letters[r])
        if risk_factors[r] != UNKNOWN:
            fixed[rf_letters[r]] = int(risk_factors[r])
    for table, term in tables if tables is not None else cause_tables(var):
        operands.append(table)
        terms.append(term)
    expression = ",".join(terms) + "->v" + cause_letters
    steps = _path(expression, tuple((1, *o.shape[1:]) for o in operands))  # planned for the full tables
    # an answered root keeps its axis with length 1 (the same plan applies); its weight becomes 1
    sliced = []
    for operand, term in zip(operands, terms, strict=True):
        if any(ch in fixed for ch in term):
            if len(term) == 2:
                operand = np.ones((len(operand), 1))
            else:
                operand = operand[tuple(slice(fixed[ch], fixed[ch] + 1) if ch in fixed else slice(None)
                                        for ch in term)]
        sliced.append(operand)
    names, results = _run(list(terms), sliced, steps, "v" + cause_letters)
    name, joint = names[0], results[0]
    joint = joint.transpose([name.index(ch) for ch in "v" + cause_letters]).reshape(len(var), -1)
    with np.errstate(divide="ignore"):
        out: FloatArray = np.log(joint)
    return out


_PATHS: dict[tuple[str, tuple[tuple[int, ...], ...]], list[tuple[int, ...]]] = {}


def _path(expression: str, shapes: tuple[tuple[int, ...], ...]) -> list[tuple[int, ...]]:
    """Return the contraction order of ``numpy.einsum_path`` (greedy), cached by expression and shapes."""
    key = (expression, shapes)
    if key not in _PATHS:
        dummies = [np.empty(s) for s in shapes]
        _PATHS[key] = [tuple(step) for step in np.einsum_path(expression, *dummies, optimize="greedy")[0][1:]]
    return _PATHS[key]


def log_likelihood(var: Variants, findings: npt.NDArray[np.int8], configs: FloatArray,
                   cache: dict[tuple[int, bool], FloatArray] | None = None,
                   rows: npt.NDArray[np.int64] | None = None) -> tuple[FloatArray, list[tuple[npt.NDArray[np.int64],
                                                                                            FloatArray]]]:
    """``log P(finding answers | causes = k)`` for one patient: the model's, and each variant's difference.

    Returns the model's log-likelihood, shape (2**C,), and a list of
    ``(variants, delta)`` pairs: the variants (positions in ``rows``, or in
    ``var`` when ``rows`` is None) whose numbers of one answered finding differ
    from the model's, and what that finding adds to their log-likelihood,
    shape (len(variants), 2**C). The model's term of each finding is computed
    once (kept in ``cache`` between patients when given).
    """
    p = var.base
    cache = {} if cache is None else cache
    picked = np.arange(len(var)) if rows is None else rows
    base_link = np.where(p.q > 0, 1.0 - (1.0 - p.q) * (1.0 - p.leak[None, :]), 0.0)
    total = np.zeros(len(configs))
    deltas: list[tuple[npt.NDArray[np.int64], FloatArray]] = []
    for f in np.flatnonzero(findings != UNKNOWN):
        present = bool(findings[f] == 1)
        key = (int(f), present)
        if key not in cache:
            cache[key] = _finding_term(np.array([p.leak[f]]), base_link[None, :, f], configs, present)[0]
        base = cache[key]
        total += base
        leak, link = var.leak[picked, f], var.link[picked, :, f]
        where = np.flatnonzero((leak != p.leak[f]) | (link != base_link[:, f]).any(axis=1))
        if len(where):
            deltas.append((where, _finding_term(leak[where], link[where], configs, present) - base))
    return total, deltas


def _finding_term(leak: FloatArray, link: FloatArray, configs: FloatArray, present: bool) -> FloatArray:
    """``log P(finding answer | causes = k)`` for rows of (leak, links per cause), shape (rows, 2**C)."""
    q = np.where(link > 0, 1.0 - (1.0 - link) / (1.0 - leak[:, None]), 0.0)
    log_absent: FloatArray = np.log1p(-leak)[:, None] + np.log1p(-q) @ configs.T
    if not present:
        return log_absent
    # log(1 - exp(x)) as log(-expm1(x)): exact to rounding near 0; for very negative x its absolute error
    # (about 1e-16 where the true value is about -exp(x)) is far below what moves a posterior
    out: FloatArray = np.log(-np.expm1(log_absent))
    return out


def _enumerated(var: Variants, ev: EvidenceArrays) -> FloatArray:
    """Exact P(cause | evidence) per variant, patient and cause over all 2**C configurations, shape (V, N, C).

    Raises
    ------
    ImpossibleEvidenceError
        When a patient's answers have probability zero in some variant.
    """
    # every variant holds a (2**C,) prior per answer pattern: score variants in blocks that keep the
    # largest temporary (a block of variants times all cause configurations) near 32 MB of floats
    block = max(1, VARIANT_BLOCK_CELLS >> len(var.base.causes))
    if len(var) <= block:
        return _posteriors(var, ev)
    return np.concatenate([_posteriors(var.take(np.arange(start, min(start + block, len(var)))), ev)
                           for start in range(0, len(var), block)])


#: Variants times cause configurations scored at once (see :func:`_enumerated`).
VARIANT_BLOCK_CELLS = 1 << 22


@contextlib.contextmanager
def one_blas_thread() -> Iterator[None]:
    """Hold BLAS to one thread while the block runs.

    The analyses' matrix products are small and many; BLAS's threads, competing
    for the cores, made them several times slower (4x, measured on a busy
    two-core machine).
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        yield


def _posteriors(var: Variants, ev: EvidenceArrays) -> FloatArray:
    p = var.base
    configs = configurations(len(p.causes))
    with_ones = np.hstack([configs, np.ones((len(configs), 1))])
    out = np.empty((len(var), len(ev), len(p.causes)))
    roots = np.column_stack([ev.age_band, ev.risk_factors.astype(np.int64)])
    patterns, inverse = np.unique(roots, axis=0, return_inverse=True)
    inverse = np.asarray(inverse).reshape(-1)
    # variants that keep the model's prior share one contraction (a finding's numbers change only the likelihood),
    # and for each patient, variants that change neither the prior nor that patient's likelihood share its posteriors
    prior_moved = var.prior_changed()
    moved = np.flatnonzero(prior_moved)
    kept = Variants.repeat(p, 1)
    moved_var = var.take(moved)
    kept_tables, moved_tables = cause_tables(kept), cause_tables(moved_var) if len(moved) else []
    base_link = np.where(p.q > 0, 1.0 - (1.0 - p.q) * (1.0 - p.leak[None, :]), 0.0)
    finding_moved = (var.leak != p.leak) | (var.link != base_link).any(axis=1)  # (V, F)
    position = np.full(len(var), -1)
    position[moved] = np.arange(len(moved))
    cache: dict[tuple[int, bool], FloatArray] = {}
    for u, pattern in enumerate(patterns):
        age_band, answers = int(pattern[0]), pattern[1:].astype(np.int8)
        kept_prior = log_prior(kept, age_band, answers, kept_tables)[0]
        moved_prior = log_prior(moved_var, age_band, answers, moved_tables) if len(moved) else None
        for n in np.flatnonzero(inverse == u):
            answered = ev.findings[n] != UNKNOWN
            rows = np.flatnonzero(prior_moved | finding_moved[:, answered].any(axis=1))
            total, deltas = log_likelihood(var, ev.findings[n], configs, cache, rows)
            # row 0: the model itself; row 1 + i: variant rows[i]
            logits = np.empty((1 + len(rows), len(configs)))
            logits[:] = kept_prior + total
            inside = np.flatnonzero(position[rows] >= 0)
            if moved_prior is not None and len(inside):
                logits[1 + inside] = moved_prior[position[rows[inside]]] + total
            for where, delta in deltas:
                logits[1 + where] += delta
            top = logits.max(axis=1, keepdims=True)
            if not np.isfinite(top).all():
                raise ImpossibleEvidenceError(f"the evidence of row {n} has probability zero under some variant")
            logits -= top
            np.exp(logits, out=logits)
            sums = logits @ with_ones
            result = np.clip(sums[:, :-1] / sums[:, -1:], 0.0, 1.0)
            out[:, n] = result[0]
            out[rows, n] = result[1:]
    return out
