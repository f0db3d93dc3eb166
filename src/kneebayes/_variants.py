"""The numbers of many parameter sets of one model structure, as arrays with a leading variant axis.

Uncertainty and sensitivity analysis score the same patients under hundreds or
thousands of parameter sets that share the model's structure and differ in their
numbers. Building a :class:`~kneebayes.Model` per set costs tens of milliseconds
(validation, compilation, the engine's plans); here every number is an array
with a leading *variant* axis ``V`` instead:

1. :class:`Variants` holds the numbers of ``V`` parameter sets (prevalences,
   age shares, log odds ratios, base rates, leaks, link probabilities, the
   triage thresholds), copied from the model (:meth:`Variants.repeat`), from
   compiled parameter sets (:meth:`Variants.from_parameters`) or from a table of
   the priors' numbers (:meth:`Variants.from_numbers`), then edited with
   :meth:`Variants.set`.
2. :meth:`Variants.solve` recalibrates every cause's logistic intercept so that
   its population average equals its base rate in each variant: the same
   equation as :func:`~kneebayes._parameters.compile_parameters` solves, by a
   safeguarded Newton iteration (bisection whenever a step leaves the bracket),
   vectorised over the variants, to 1e-13 relative.
3. :meth:`kneebayes._engine.ExactEngine.posteriors_under` scores patients under
   all variants at once (:mod:`kneebayes._variant_scoring`).

This is the one re-parameterisation path: :func:`~kneebayes._parameters.draw_parameters`,
:func:`~kneebayes._parameters.parameters_from_numbers` and
:func:`~kneebayes._parameters.solve_intercepts` build on it, and so do the
analyses of :mod:`kneebayes.analysis` and :meth:`kneebayes.Model.sweep`.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import cast

import numpy as np
import numpy.typing as npt
import pandas as pd

from ._batch import EvidenceArrays
from ._errors import OptionError
from ._parameters import FloatArray, Parameters, _ancestors
from ._priors import Priors, rescaled_shares
from ._red_flags import fired_matrix
from ._safety import FLOOR_RULES, apply_floor
from ._vocabulary import TRIAGE_LEVELS


@dataclass
class Variants:
    """The numbers of ``V`` parameter sets with the structure of ``base``.

    Arrays are indexed like :class:`~kneebayes._parameters.Parameters`, with a
    leading variant axis. ``link[v, c, f]`` is P(finding f | cause c alone), 0
    where there is no link (the noisy-OR activation is computed from it and the
    leak when scoring). ``at_least[v, j]`` is rule ``j``'s posterior threshold
    (NaN for rules without one). Call :meth:`solve` after editing cause-side or
    root numbers and before scoring.

    Examples
    --------
    >>> import numpy as np
    >>> from kneebayes import load_model
    >>> model = load_model()
    >>> variants = Variants.repeat(model.parameters, 3)  # row 0 keeps the model's numbers
    >>> variants.set(np.array([1, 2]), "base_rate", "dvt", np.array([0.01, 0.05]))
    >>> variants.solve()
    >>> ev = model._arrays([model.evidence(["calf_swelling", "recent_immobility"], age=64)])
    >>> dvt = model._engine.posteriors_under(ev, variants)[:, 0, model.causes.index("dvt")]
    >>> bool(dvt[1] < dvt[0] < dvt[2])
    True
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

    @classmethod
    def from_parameters(cls, base: Parameters, variants: Sequence[Parameters]) -> Variants:
        """Return the numbers of compiled parameter sets with the structure of ``base`` (intercepts as given).

        Raises
        ------
        OptionError
            When a set's edges differ from ``base``'s (its numbers cannot be scored with ``base``'s plans).
        """
        for d, variant in enumerate(variants):
            if (variant.rf_parent.shape != base.rf_parent.shape or variant.q.shape != base.q.shape
                    or not np.array_equal(variant.rf_parent, base.rf_parent)
                    or not np.array_equal(variant.age_parent, base.age_parent)
                    or not np.array_equal(variant.cause_parent, base.cause_parent)
                    or not np.array_equal(variant.q > 0, base.q > 0)):
                raise OptionError(f"variant {d} does not have this engine's structure (its edges differ)")
        out = cls.repeat(base, len(variants))
        for d, variant in enumerate(variants):
            for name in ("rf_prevalence", "age_prevalence", "w_rf", "w_age", "w_cause", "base_rate", "intercept",
                         "leak"):
                getattr(out, name)[d] = getattr(variant, name)
            out.link[d] = np.where(variant.q > 0, 1.0 - (1.0 - variant.q) * (1.0 - variant.leak[None, :]), 0.0)
            out.care_threshold[d] = variant.care_threshold
            by_id = {r.id: r.at_least for r in variant.rules}
            out.at_least[d] = [np.nan if by_id.get(r.id) is None else by_id[r.id] for r in base.rules]
        return out

    @classmethod
    def from_numbers(cls, priors: Priors, params: Parameters, values: FloatArray) -> Variants:
        """Return one variant per row of ``values``, the numbers of :meth:`~kneebayes.Priors.to_frame` in its order.

        Base rates, prevalences, age shares, odds ratios, leaks, finding
        probabilities, rule thresholds and the care threshold are set; the age
        shares are divided by their sum, and a finding probability at or below
        its leak is raised to just above it (the noisy-OR needs it). Intercepts
        are not solved: call :meth:`solve`.
        """
        numbers = priors.to_frame()
        drawn = np.asarray(values, dtype=float).reshape(-1, len(numbers))
        out = cls.repeat(params, len(drawn))
        every = np.arange(len(drawn))
        for j, (kind, target) in enumerate(zip(numbers["kind"], numbers["target"], strict=True)):
            if kind == "age_prevalence":
                out.age_prevalence[:, params.age_bands.index(target)] = drawn[:, j]
            else:
                out.set(every, kind, target, drawn[:, j])
        out.age_prevalence /= out.age_prevalence.sum(axis=1, keepdims=True)
        out.link = np.where(params.q[None] > 0, np.maximum(out.link, out.leak[:, None, :] + 1e-6), 0.0)
        return out

    @classmethod
    def draw_uniform(cls, priors: Priors, params: Parameters, n: int, *, seed: int | None = 0) -> Variants:
        """Return ``n`` variants, every number uniform over its ``[low, high]``, intercepts solved.

        The draws of :func:`~kneebayes._parameters.draw_parameters` (numbers drawn in
        the order of :meth:`~kneebayes.Priors.to_frame` from
        ``numpy.random.default_rng(seed)``, then :meth:`from_numbers`). The
        uncertainty bands of :mod:`kneebayes.analysis` draw from other distributions
        (:mod:`kneebayes.analysis._sampling`).
        """
        numbers = priors.to_frame()
        drawn = np.random.default_rng(seed).uniform(numbers["low"].to_numpy(dtype=float),
                                                    numbers["high"].to_numpy(dtype=float), size=(n, len(numbers)))
        out = cls.from_numbers(priors, params, drawn)
        out.solve()
        return out

    def __len__(self) -> int:
        return len(self.base_rate)

    def take(self, rows: npt.NDArray[np.int64]) -> Variants:
        """Return the variants ``rows`` (copies)."""
        return Variants(self.base, *(getattr(self, name)[rows] for name in _ARRAYS))

    def stack(self, other: Variants) -> Variants:
        """Return these variants followed by ``other``'s (same base)."""
        return Variants(self.base, *(np.concatenate([getattr(self, name), getattr(other, name)]) for name in _ARRAYS))

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
    def solve(self, *, every: bool = False) -> None:
        """Solve every cause's intercept in every variant so that it reproduces its base rate.

        The equation is that of :func:`~kneebayes._parameters.compile_parameters`:
        the population average of P(cause | parents), over the joint of its
        parents (roots at their prevalences, cause ancestors through their own
        solved tables), equals the base rate. Parents are solved first. Only the
        variants whose numbers of that equation differ from the model's are
        solved; the others keep the model's intercept (``every=True`` solves all,
        for a base whose intercepts are not solved).
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
                | every
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



def _cause_table(var: Variants, c: int, rows: npt.NDArray[np.int64] | None = None,
                 ) -> tuple[FloatArray, tuple[list[int], list[int]]]:
    """P(cause c | parents) per variant, or per variant in ``rows``.

    Shape (V, [A], 2 per rf parent, 2 per cause parent, 2).
    """
    p = var.base
    rf_idx = [int(i) for i in np.flatnonzero(p.rf_parent[c])]
    cause_idx = [int(i) for i in np.flatnonzero(p.cause_parent[c])]
    picked = np.arange(len(var)) if rows is None else rows
    n = len(picked)
    score = var.intercept[picked, c].reshape(n, 1)
    shape = [n]
    if p.age_parent[c]:
        shape.append(len(p.age_bands))
        score = score + var.w_age[picked, c, :]
    for w in [var.w_rf[picked, c, i] for i in rf_idx] + [var.w_cause[picked, c, i] for i in cause_idx]:
        shape.append(2)
        score = score.reshape(*score.shape, 1) + np.stack([np.zeros(n), w], axis=1).reshape(
            n, *[1] * (score.ndim - 1), 2)
    score = score.reshape(shape)
    table = np.stack([_sigmoid(-score), _sigmoid(score)], axis=-1)
    return table, (rf_idx, cause_idx)
