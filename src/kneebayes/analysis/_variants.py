"""Exact posteriors of patients under many variants of a model's numbers at once.

The analyses (tornado, robustness, uncertainty) score the same patients under
hundreds or thousands of parameter sets that share the model's structure and
differ in their numbers. Building a :class:`~kneebayes.Model` per set costs tens
of milliseconds (validation, compilation, the engine's plans); here every
number is an array with a leading *variant* axis ``V`` instead:

1. :class:`Variants` holds the numbers of ``V`` parameter sets (prevalences,
   age shares, log odds ratios, base rates, leaks, link probabilities, the
   triage thresholds), copied from the model and then edited with
   :meth:`Variants.set`.
2. :meth:`Variants.solve` recalibrates every cause's logistic intercept so that
   its population average equals its base rate in each variant: the same
   equation as :func:`~kneebayes._parameters.compile_parameters` solves, by a
   safeguarded Newton iteration (bisection whenever a step leaves the bracket),
   vectorised over the variants, to the same tolerance (1e-13 relative).
3. :func:`posteriors` contracts the causes' prior for each distinct pattern of
   risk-factor and age answers with one ``numpy.einsum`` whose every operand
   carries the variant axis, multiplies each patient's findings' likelihood
   (noisy-OR, in logs) and normalises: shape ``(V, N, C)``, exact.

Nothing here is an approximation: the tests compare it with models rebuilt
through :meth:`~kneebayes.Priors.with_value` to 1e-9.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import string
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import cast

import numpy as np
import numpy.typing as npt
import pandas as pd

from .._contraction import _run
from .._engine import UNKNOWN, EvidenceArrays
from .._errors import ImpossibleEvidenceError, OptionError
from .._evidence import Evidence
from .._model import Model
from .._parameters import FloatArray, Parameters, _ancestors
from .._priors import Priors, rescaled_shares
from .._red_flags import fired_matrix
from .._safety import FLOOR_RULES, apply_floor
from .._vocabulary import TRIAGE_LEVELS

#: Kinds of number that change the posteriors (thresholds and settings change only the triage).
POSTERIOR_KINDS = ("base_rate", "prevalence", "age_prevalence", "odds_ratio", "leak", "finding_probability")


@dataclass
class Variants:
    """The numbers of ``V`` parameter sets with the structure of ``base``.

    Arrays are indexed like :class:`~kneebayes._parameters.Parameters`, with a
    leading variant axis. ``link[v, c, f]`` is P(finding f | cause c alone), 0
    where there is no link (the noisy-OR activation is computed from it and the
    leak when scoring). ``at_least[v, j]`` is rule ``j``'s posterior threshold
    (NaN for rules without one). Call :meth:`solve` after editing cause-side or
    root numbers and before scoring.
    """

    base: Parameters
    rf_prevalence: FloatArray
    age_prevalence: FloatArray
    w_rf: FloatArray
    w_age: FloatArray
    w_cause: FloatArray
    base_rate: FloatArray
    intercept: FloatArray
    leak: FloatArray
    link: FloatArray
    care_threshold: FloatArray
    at_least: FloatArray

    @classmethod
    def repeat(cls, params: Parameters, n: int) -> Variants:
        """Return ``n`` copies of the numbers of ``params`` (intercepts already solved)."""
        def rep(a: FloatArray) -> FloatArray:
            return np.repeat(np.asarray(a, dtype=float)[None], n, axis=0)

        link = np.where(params.q > 0, 1.0 - (1.0 - params.q) * (1.0 - params.leak[None, :]), 0.0)
        at_least = np.array([np.nan if r.at_least is None else r.at_least for r in params.rules], dtype=float)
        return cls(
            base=params,
            rf_prevalence=rep(params.rf_prevalence),
            age_prevalence=rep(params.age_prevalence),
            w_rf=rep(params.w_rf),
            w_age=rep(params.w_age),
            w_cause=rep(params.w_cause),
            base_rate=rep(params.base_rate),
            intercept=rep(params.intercept),
            leak=rep(params.leak),
            link=rep(link),
            care_threshold=np.full(n, float(params.care_threshold)),
            at_least=rep(at_least),
        )

    def __len__(self) -> int:
        return len(self.base_rate)

    def take(self, rows: npt.NDArray[np.int64]) -> Variants:
        """Return the variants ``rows`` (copies)."""
        return Variants(self.base, *(getattr(self, name)[rows] for name in _ARRAYS))

    def prior_changed(self) -> npt.NDArray[np.bool_]:
        """Which variants' prior over the causes differs from the model's (their roots' or causes' numbers)."""
        p = self.base
        changed: npt.NDArray[np.bool_] = (
            (self.rf_prevalence != p.rf_prevalence).any(axis=1) | (self.age_prevalence != p.age_prevalence).any(axis=1)
            | (self.intercept != p.intercept).any(axis=1) | (self.w_rf != p.w_rf).any(axis=(1, 2))
            | (self.w_age != p.w_age).any(axis=(1, 2)) | (self.w_cause != p.w_cause).any(axis=(1, 2)))
        return changed

    # ---- editing -------------------------------------------------------------
    def set(self, rows: npt.NDArray[np.int64] | slice, kind: str, target: str, values: FloatArray,
            *, share_low: Sequence[float] | None = None, share_high: Sequence[float] | None = None) -> None:
        """Set one number to ``values`` in the variants ``rows``.

        ``kind`` and ``target`` are as in :meth:`~kneebayes.Priors.to_frame`. An age
        share rescales the other shares as :meth:`~kneebayes.Priors.with_value`
        does (:func:`~kneebayes._priors.rescaled_shares`, bounded by
        ``share_low`` and ``share_high`` when given). The values must be valid
        where the number stands; nothing is checked here.
        """
        p = self.base
        values = np.asarray(values, dtype=float)
        first, _, second = target.partition("|")
        if kind == "base_rate":
            self.base_rate[rows, p.causes.index(first)] = values
        elif kind == "prevalence":
            self.rf_prevalence[rows, p.risk_factors.index(first)] = values
        elif kind == "age_prevalence":
            index = p.age_bands.index(first)
            picked = np.arange(len(self))[rows]
            for v, value in zip(picked, np.broadcast_to(values, picked.shape), strict=True):
                self.age_prevalence[v] = rescaled_shares(
                    list(self.age_prevalence[v]), index, float(value), low=share_low, high=share_high)
        elif kind == "odds_ratio":
            c = p.causes.index(first)
            if second in p.risk_factors:
                self.w_rf[rows, c, p.risk_factors.index(second)] = np.log(values)
            elif second in p.age_bands:
                self.w_age[rows, c, p.age_bands.index(second)] = np.log(values)
            else:
                self.w_cause[rows, c, p.causes.index(second)] = np.log(values)
        elif kind == "leak":
            self.leak[rows, p.findings.index(first)] = values
        elif kind == "finding_probability":
            self.link[rows, p.causes.index(second), p.findings.index(first)] = values
        elif kind == "threshold":
            self.at_least[rows, [r.id for r in p.rules].index(first)] = values
        elif kind == "setting":
            self.care_threshold[rows] = values
        else:
            raise ValueError(f"unknown kind of number: {kind!r}")

    def set_drawn(self, drawn: pd.DataFrame, rows: npt.NDArray[np.int64]) -> None:
        """Set every number of ``drawn`` (one row per variant in ``rows``; columns ``(kind, target)``).

        Age shares are taken as drawn (they must already sum to 1), not rescaled.
        Call :meth:`solve` afterwards.
        """
        p = self.base
        for key, column in drawn.items():
            kind, target = cast("tuple[str, str]", key)
            values = column.to_numpy(dtype=float)
            if kind == "age_prevalence":
                self.age_prevalence[rows, p.age_bands.index(target)] = values
            else:
                self.set(rows, kind, target, values)

    # ---- calibration -----------------------------------------------------------
    def solve(self) -> None:
        """Solve every cause's intercept in every variant so that it reproduces its base rate.

        The equation is that of :func:`~kneebayes._parameters.compile_parameters`:
        the population average of P(cause | parents), over the joint of its
        parents (roots at their prevalences, cause ancestors through their own
        solved tables), equals the base rate. Parents are solved first. Only the
        variants whose numbers of that equation differ from the model's are
        solved; the others keep the model's intercept.
        """
        p = self.base
        for c in p.order:
            ancestors = _ancestors(p, c)
            involved = [c, *ancestors]
            roots = sorted({int(r) for i in involved for r in np.flatnonzero(p.rf_parent[i])})
            changed = (
                (self.base_rate[:, c] != p.base_rate[c])
                | (self.w_rf[:, involved] != p.w_rf[involved]).any(axis=(1, 2))
                | (self.w_age[:, involved] != p.w_age[involved]).any(axis=(1, 2))
                | (self.w_cause[:, involved] != p.w_cause[involved]).any(axis=(1, 2))
                | (self.intercept[:, ancestors] != p.intercept[ancestors]).any(axis=1)
                | (self.rf_prevalence[:, roots] != p.rf_prevalence[roots]).any(axis=1)
                | (self.age_prevalence != p.age_prevalence).any(axis=1)
            )
            rows = np.flatnonzero(changed)
            self.intercept[:, c] = p.intercept[c]
            if len(rows):
                prob, score = self._parent_distribution(c, rows)
                self.intercept[rows, c] = _solve(prob, score, self.base_rate[rows, c], self.intercept[rows, c])

    def _parent_distribution(self, c: int, rows: npt.NDArray[np.int64]) -> tuple[FloatArray, FloatArray]:
        """Return the joint of cause ``c``'s parents in variants ``rows`` (shape (len(rows), M)) and each score."""
        p = self.base
        prevalence, age_prevalence = self.rf_prevalence[rows], self.age_prevalence[rows]
        intercept = self.intercept[rows]
        w_rf, w_age, w_cause = self.w_rf[rows], self.w_age[rows], self.w_cause[rows]
        ancestors = _ancestors(p, c)
        involved = [c, *ancestors]
        roots = sorted({int(r) for i in involved for r in np.flatnonzero(p.rf_parent[i])})
        grid = np.array(list(itertools.product(range(len(p.age_bands)), *[(0, 1)] * len(roots))), dtype=np.int64)
        age = grid[:, 0]
        bits = grid[:, 1:].astype(float)
        prev = prevalence[:, roots]  # (V, r)
        prob = age_prevalence[:, age] * np.prod(
            np.where(bits[None] == 1, prev[:, None, :], 1.0 - prev[:, None, :]), axis=2)
        rf_part = {i: bits @ w_rf[:, i, roots].T for i in involved}  # (M, V) per cause
        states = np.zeros((len(grid), 0))
        listed: list[int] = []
        for a in ancestors:
            score = (intercept[:, a][None] + w_age[:, a, :][:, age].T + rf_part[a]
                     + states @ w_cause[:, a, listed].T)  # (M, V)
            on = _sigmoid(score).T  # (V, M)
            age, rf_part = np.concatenate([age, age]), {i: np.concatenate([x, x]) for i, x in rf_part.items()}
            states = np.vstack([np.hstack([states, np.zeros((len(states), 1))]),
                                np.hstack([states, np.ones((len(states), 1))])])
            listed.append(a)
            prob = np.concatenate([prob * (1.0 - on), prob * on], axis=1)
        score = (w_age[:, c, :][:, age] + rf_part[c].T + (states @ w_cause[:, c, listed].T).T)
        return prob, score

    # ---- outputs -------------------------------------------------------------------
    def q(self) -> FloatArray:
        """Noisy-OR activations, shape (V, C, F), 0 where there is no link."""
        out: FloatArray = np.where(self.link > 0, 1.0 - (1.0 - self.link) / (1.0 - self.leak[:, None, :]), 0.0)
        return out

    def parameters(self, v: int) -> Parameters:
        """Return variant ``v`` as :class:`~kneebayes._parameters.Parameters` (safety floor applied)."""
        return apply_floor(replace(
            self.base,
            rf_prevalence=self.rf_prevalence[v].copy(), age_prevalence=self.age_prevalence[v].copy(),
            intercept=self.intercept[v].copy(), w_rf=self.w_rf[v].copy(), w_age=self.w_age[v].copy(),
            w_cause=self.w_cause[v].copy(), leak=self.leak[v].copy(), q=self.take(np.array([v])).q()[0],
            base_rate=self.base_rate[v].copy(), care_threshold=float(self.care_threshold[v]),
            rules=self._rules(v),
        ))

    def _rules(self, v: int) -> tuple:  # type: ignore[type-arg]
        return tuple(rule if rule.at_least is None else replace(rule, at_least=float(self.at_least[v, j]))
                     for j, rule in enumerate(self.base.rules))

    def triage(self, ev: EvidenceArrays, posteriors: FloatArray) -> npt.NDArray[np.int64]:
        """Triage level index of each variant and patient, shape (V, N), from posteriors (V, N, C).

        As :class:`~kneebayes.Model` does: the safety floor is applied (its rules
        added, levels raised, each floor rule's threshold kept at or below its
        ceiling), then the triage is the highest of the probable causes' care
        (posterior at least the variant's care threshold) and every fired rule's
        level. Rules fire on the answers and, with a cause, when its posterior
        reaches the variant's threshold.
        """
        p = self.base
        floored = apply_floor(p)
        observable = p.findings + p.risk_factors
        present = np.concatenate([ev.findings == 1, ev.risk_factors == 1], axis=1)
        # which rules' answer conditions hold, per patient (cause conditions stripped)
        answered = fired_matrix([replace(r, when_cause=None, at_least=None) for r in floored.rules], observable,
                                present, p.causes, np.zeros((len(present), len(p.causes))))  # (N, J)
        base_ids = [r.id for r in p.rules]
        ceilings = {r.id: r.at_least for r in FLOOR_RULES if r.at_least is not None}
        fired = np.broadcast_to(answered[None], (len(self), *answered.shape)).copy()  # (V, N, J)
        for j, rule in enumerate(floored.rules):
            if rule.when_cause is None or rule.at_least is None:
                continue
            threshold = (self.at_least[:, base_ids.index(rule.id)] if rule.id in base_ids
                         else np.full(len(self), np.nan))
            threshold = np.where(np.isnan(threshold), rule.at_least, threshold)  # the floor gave the threshold
            if rule.id in ceilings:
                threshold = np.minimum(threshold, ceilings[rule.id])
            fired[:, :, j] &= posteriors[:, :, p.causes.index(rule.when_cause)] >= threshold[:, None]
        care_rank = np.array([TRIAGE_LEVELS.index(c) for c in floored.care])
        probable = posteriors >= self.care_threshold[:, None, None]
        level = np.where(probable, care_rank, 0).max(axis=2, initial=0)
        if len(floored.rules):
            rule_rank = np.array([TRIAGE_LEVELS.index(r.level) for r in floored.rules])
            level = np.maximum(level, np.where(fired, rule_rank, 0).max(axis=2))
        out: npt.NDArray[np.int64] = level.astype(np.int64)
        return out


_ARRAYS = ("rf_prevalence", "age_prevalence", "w_rf", "w_age", "w_cause", "base_rate", "intercept", "leak", "link",
           "care_threshold", "at_least")


def _sigmoid(x: FloatArray) -> FloatArray:
    """Return the logistic function, accurate in relative terms in both tails (scipy's ``expit``)."""
    from scipy.special import expit

    out: FloatArray = expit(x)
    return out


def _solve(prob: FloatArray, score: FloatArray, target: FloatArray, start: FloatArray) -> FloatArray:
    """Solve ``sum_m prob[v, m] * sigmoid(b[v] + score[v, m]) = target[v]`` for each ``b[v]``.

    Newton's method from ``start``, kept inside the bracket that
    :func:`~kneebayes._parameters._solve_intercept` uses (a step that leaves it
    bisects instead); stops when every step is below 1e-13 relative.
    """
    logit = np.log(target) - np.log1p(-target)
    live = np.where(prob > 0, score, np.nan)
    low, high = logit - np.nanmax(live, axis=1), logit - np.nanmin(live, axis=1)
    b = np.clip(start, low, high)
    active = np.arange(len(b))  # the variants not yet converged
    for _ in range(200):
        x, sc, pr = b[active], score[active], prob[active]
        s = _sigmoid(x[:, None] + sc)
        f = (pr * s).sum(axis=1) - target[active]
        slope = (pr * s * (1.0 - s)).sum(axis=1)
        lo = np.where(f < 0, x, low[active])
        hi = np.where(f >= 0, x, high[active])
        low[active], high[active] = lo, hi
        with np.errstate(divide="ignore", invalid="ignore"):
            step = x - f / slope
        inside = np.isfinite(step) & (step >= lo) & (step <= hi)
        new = np.where(inside, step, 0.5 * (lo + hi))
        done = np.abs(new - x) <= 1e-13 * np.maximum(1.0, np.abs(x))  # Newton: the error left is far smaller
        b[active] = new
        active = active[~done]
        if not len(active):
            break
    return b


# ---- scoring ---------------------------------------------------------------------------


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


def _cause_table(var: Variants, c: int) -> tuple[FloatArray, tuple[list[int], list[int]]]:
    """P(cause c | parents) per variant: shape (V, [A], 2 per rf parent, 2 per cause parent, 2)."""
    p = var.base
    rf_idx = [int(i) for i in np.flatnonzero(p.rf_parent[c])]
    cause_idx = [int(i) for i in np.flatnonzero(p.cause_parent[c])]
    n = len(var)
    score = var.intercept[:, c].reshape(n, 1)
    shape = [n]
    if p.age_parent[c]:
        shape.append(len(p.age_bands))
        score = score + var.w_age[:, c, :]
    for w in [var.w_rf[:, c, i] for i in rf_idx] + [var.w_cause[:, c, i] for i in cause_idx]:
        shape.append(2)
        score = score.reshape(*score.shape, 1) + np.stack([np.zeros(n), w], axis=1).reshape(
            n, *[1] * (score.ndim - 1), 2)
    score = score.reshape(shape)
    table = np.stack([_sigmoid(-score), _sigmoid(score)], axis=-1)
    return table, (rf_idx, cause_idx)


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


def posteriors(var: Variants, ev: EvidenceArrays) -> FloatArray:
    """Exact P(cause | evidence) per variant, patient and cause, shape (V, N, C).

    BLAS is held to one thread meanwhile (see :func:`one_blas_thread`).

    Raises
    ------
    ImpossibleEvidenceError
        When a patient's answers have probability zero in some variant.
    """
    # every variant holds a (2**C,) prior per answer pattern: score variants in blocks that keep the
    # largest temporary (a block of variants times all cause configurations) near 32 MB of floats
    block = max(1, VARIANT_BLOCK_CELLS >> len(var.base.causes))
    with one_blas_thread():
        if len(var) <= block:
            return _posteriors(var, ev)
        return np.concatenate([_posteriors(var.take(np.arange(start, min(start + block, len(var)))), ev)
                               for start in range(0, len(var), block)])


#: Variants times cause configurations scored at once (see :func:`posteriors`).
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


# ---- inputs shared by the analyses -------------------------------------------------------


def patient_arrays(
    model: Model,
    present: Iterable[str] | None,
    absent: Iterable[str] | None,
    age: float | None,
    patients: pd.DataFrame | None,
) -> tuple[EvidenceArrays, pd.Index, Evidence | None]:
    """Validate one patient (``present``, ``absent``, ``age``) or a table of ``patients``.

    Returns the evidence arrays, the patients' index and, for one patient, the
    validated :class:`~kneebayes._evidence.Evidence`.

    Raises
    ------
    OptionError
        When both a patient and a table are given.
    """
    if patients is not None:
        if present is not None or absent is not None or age is not None:
            raise OptionError("give either one patient (present=, absent=, age=) or patients=, not both")
        if not isinstance(patients, pd.DataFrame) or patients.empty:
            raise OptionError(f"The 'patients' parameter must be a non-empty pandas DataFrame. Got {patients!r}.")
        return model._frame_arrays(patients), patients.index, None
    evidence = model.evidence(present, absent, age)
    return model._arrays([evidence]), pd.RangeIndex(1), evidence


def number_label(kind: str, target: str, labels: dict[str, str]) -> str:
    """Name a prior number in a few words, with the vocabulary's labels.

    Examples
    --------
    >>> number_label("finding_probability", "fever|dvt", {"fever": "Fever", "dvt": "DVT"})
    'P(Fever | DVT alone)'
    >>> number_label("odds_ratio", "dvt|smoking", {"dvt": "DVT", "smoking": "Smoking"})
    'odds ratio of Smoking on DVT'
    """
    first, _, second = target.partition("|")
    a, b = labels.get(first, first), labels.get(second, second)
    return {
        "base_rate": f"base rate of {a}",
        "prevalence": f"prevalence of {a}",
        "age_prevalence": f"share of {a}",
        "odds_ratio": f"odds ratio of {b} on {a}",
        "leak": f"leak of {a}",
        "finding_probability": f"P({a} | {b} alone)",
        "threshold": f"threshold of rule {first}",
        "setting": f"setting {first}",
    }.get(kind, f"{kind} {target}")


def set_numbers(var: Variants, numbers: pd.DataFrame, rows: list[npt.NDArray[np.int64]],
                values: list[FloatArray], priors: Priors) -> None:
    """Set each number ``numbers.iloc[i]`` to ``values[i]`` in variants ``rows[i]``, then solve the intercepts."""
    share_low = priors.age_bands["low"].to_numpy(dtype=float).tolist()
    share_high = priors.age_bands["high"].to_numpy(dtype=float).tolist()
    for (kind, target), where, value in zip(numbers[["kind", "target"]].itertuples(index=False, name=None),
                                            rows, values, strict=True):
        var.set(where, kind, target, value, share_low=share_low, share_high=share_high)
    var.solve()
