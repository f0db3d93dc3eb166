"""Exact posteriors without enumerating cause configurations: Quickscore over variable elimination.

Under the noisy-OR, ``P(f absent | causes) = (1 - leak_f) * prod_{c present} (1 - q_cf)``
factorises over the causes, so every absent finding becomes one unary factor per
cause. A present finding's ``1 - P(f absent | causes)`` does not factorise, but
the product over the present findings ``P`` expands by inclusion-exclusion
(Quickscore, Heckerman 1989)::

    prod_{f in P} (1 - a_f) = sum over subsets S of P of (-1)^|S| prod_{f in S} a_f

and each term is again an "all of these findings absent" product, unary per
cause. So a patient with ``k`` present findings is ``2**k`` rows, each the sum
over the roots and causes of the prior network times unary cause factors: one
variable elimination (:mod:`kneebayes._elimination`) whose cost grows with the
network's treewidth, not with ``2**C``. All rows of all patients in a chunk go
through one batched elimination, and its backward pass gives every cause's
marginal at once.

Inclusion-exclusion can cancel: the terms alternate in sign and their sum can be
far smaller than the terms. Each term is a sum of non-negative products, so it
carries a relative error of a few hundred ulps at most, and a posterior's
absolute error is at most ``2 * (sum of |terms| / |sum|) * that error``. When the
ratio exceeds :data:`MAX_CANCELLATION` (or a patient has more than
:data:`MAX_QUICKSCORE` present findings) the patient is recomputed by an exact
elimination that keeps each present finding as a full factor over its causes:
no subtraction at all, only slower (its cost grows with the cliques the present
findings create). Before that fallback, a patient that failed the guard is
recomputed by inclusion-exclusion in extended precision (``numpy.longdouble``,
64-bit significand on x86): its terms' error is 2048 times smaller, so the
guard accepts a cancellation 2048 times larger (:data:`MAX_CANCELLATION_EXTENDED`).
Rows whose ``Z`` falls below :data:`TINY` (underflow) are redone by the
fallback elimination in log space (:meth:`EliminationPlan.run_log`). Nothing
here is approximate.
"""

from __future__ import annotations

import itertools
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ._batch import EvidenceArrays
from ._contraction import root_weights
from ._elimination import EliminationPlan
from ._errors import ImpossibleEvidenceError
from ._parameters import FloatArray, Parameters, cause_table

#: Largest ratio of the sum of |terms| to the result accepted from inclusion-exclusion.
#: With a relative error of at most ~200 ulps per term, posteriors are then within 1e-9.
MAX_CANCELLATION = 1e4

#: The same bound for inclusion-exclusion in ``numpy.longdouble`` (as many times larger as its epsilon is smaller).
#: Where longdouble is plain double (some platforms), the extended-precision stage is skipped.
MAX_CANCELLATION_EXTENDED = MAX_CANCELLATION * float(np.finfo(np.float64).eps / np.finfo(np.longdouble).eps)

#: Patients with more present findings than this skip inclusion-exclusion (2**k rows each).
MAX_QUICKSCORE = 12

#: Below this ``Z`` a row's numbers may be subnormal: it is redone in log space.
TINY = 1e-250

#: Plans of the fallback elimination kept per structure (one per set of present findings).
FALLBACK_PLANS = 1024

#: Table entries held at once by one batched elimination (rows x entries per row); bounds memory (~128 MB).
ENTRIES_PER_RUN = 1 << 24

IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Scores:
    """Per patient: ``P(evidence)`` (on the roots in the network and the findings) and posteriors.

    Attributes
    ----------
    evidence : ndarray, shape (N,)
        ``P(root answers, finding answers)``.
    posteriors : ndarray, shape (N, C)
        ``P(cause present | evidence)``.
    fallback : ndarray of bool, shape (N,)
        Patients computed by the elimination with full present-finding factors.
    log_evidence : ndarray, shape (N,)
        ``log P(root answers, finding answers)``, finite even where ``evidence`` underflows to 0.
    extended : ndarray of bool, shape (N,)
        Patients whose inclusion-exclusion was redone in extended precision (and passed the guard).
    log_space : ndarray of bool, shape (N,)
        Patients (among ``fallback``) whose elimination ran in log space because ``Z`` underflowed.
    """

    evidence: FloatArray
    posteriors: FloatArray
    fallback: npt.NDArray[np.bool_]
    log_evidence: FloatArray
    extended: npt.NDArray[np.bool_]
    log_space: npt.NDArray[np.bool_]


class PlanCache:
    """The fallback elimination plans of one structure, keyed by the set of present findings (least recently used out).

    Plans depend only on the structure, so engines of the same structure
    (parameter variants) share one cache; it is safe to use from several threads.
    """

    def __init__(self, size: int = FALLBACK_PLANS) -> None:
        self.size = size
        self._plans: OrderedDict[tuple[int, ...], EliminationPlan] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[int, ...]) -> EliminationPlan | None:
        with self._lock:
            plan = self._plans.get(key)
            if plan is not None:
                self._plans.move_to_end(key)
            return plan

    def put(self, key: tuple[int, ...], plan: EliminationPlan) -> None:
        with self._lock:
            self._plans[key] = plan
            while len(self._plans) > self.size:
                self._plans.popitem(last=False)

    def __len__(self) -> int:
        return len(self._plans)


class FactoredEngine:
    """Quickscore over a batched variable elimination of the root and cause network.

    Parameters
    ----------
    params : Parameters
        Compiled parameters (any number of causes).

    Examples
    --------
    >>> from kneebayes import load_model
    >>> from kneebayes._batch import EvidenceArrays
    >>> import numpy as np
    >>> params = load_model().parameters
    >>> findings = np.full((1, len(params.findings)), -1, dtype=np.int8)
    >>> findings[0, params.findings.index("lump_behind_knee")] = 1
    >>> ev = EvidenceArrays(findings, np.full((1, len(params.risk_factors)), -1, dtype=np.int8),
    ...                     np.array([-1]))
    >>> scores = FactoredEngine(params).score(ev)
    >>> params.causes[int(scores.posteriors[0].argmax())]
    'bakers_cyst'
    """

    def __init__(self, params: Parameters, *, plan: EliminationPlan | None = None,
                 fallback_plans: PlanCache | None = None) -> None:
        self.params = params
        n_c = len(params.causes)
        #: Roots some cause depends on: -1 is the age band, others risk-factor indices.
        self.roots: tuple[int, ...] = ((-1,) if params.age_parent.any() else ()) + tuple(
            int(r) for r in np.flatnonzero(params.rf_parent.any(axis=0)))
        position = {root: i for i, root in enumerate(self.roots)}
        n_roots = len(self.roots)
        self.cards = tuple(len(params.age_bands) if r < 0 else 2 for r in self.roots) + (2,) * n_c
        self.tables: list[FloatArray] = []
        self.table_scopes: list[tuple[int, ...]] = []
        for c in range(n_c):
            table = cause_table(params, c)
            scope = (([position[-1]] if table.age else []) + [position[r] for r in table.risk_factors]
                     + [n_roots + p for p in table.causes] + [n_roots + c])
            self.tables.append(table.table)
            self.table_scopes.append(tuple(scope))
        self._n_roots = n_roots
        scopes = [(i,) for i in range(n_roots)] + self.table_scopes + [(n_roots + c,) for c in range(n_c)]
        batched = [True] * n_roots + [False] * n_c + [True] * n_c
        unary = tuple(range(n_roots + n_c, n_roots + 2 * n_c))
        # a plan depends only on the structure: a model with other numbers can pass its own
        self.plan = plan if plan is not None else EliminationPlan(self.cards, scopes, batched, targets=unary)
        if self.plan.scopes != scopes:
            raise ValueError("the elimination plan given is for another structure")
        with np.errstate(divide="ignore"):  # a link or leak of 1 makes absence impossible: log 0 = -inf
            self._log_off = np.log1p(-params.q).T  # (F, C)
            self._log_keep = np.log1p(-params.leak)  # (F,)
        # the extended-precision stage computes its own logs: a double's rounding would not cancel between terms
        self._extended = np.finfo(np.longdouble).eps < np.finfo(np.float64).eps
        if self._extended:
            with np.errstate(divide="ignore"):
                self._log_off_ext = np.log1p(-params.q.astype(np.longdouble)).T
                self._log_keep_ext = np.log1p(-params.leak.astype(np.longdouble))
        #: Fallback plans by set of present findings (shared with engines of the same structure).
        self.fallback_plans = fallback_plans if fallback_plans is not None else PlanCache()

    # ---- one chunk ------------------------------------------------------------------
    def score(self, ev: EvidenceArrays, first_row: int = 0) -> Scores:
        """Score a batch of patients (``first_row`` numbers them in error messages).

        Raises
        ------
        ImpossibleEvidenceError
            If some patient's evidence has probability zero under the model.
        """
        n, n_c = len(ev), len(self.params.causes)
        log_z = np.full(n, -np.inf)
        posteriors = np.zeros((n, n_c))
        present = ev.findings == 1
        absent = ev.findings == 0
        n_present = present.sum(axis=1)
        log_absent = _absent_logs(absent, self._log_off)  # (N, C)
        weights = [root_weights(self.params, root, ev.age_band, ev.risk_factors) for root in self.roots]
        todo = np.ones(n, dtype=bool)  # rows not scored yet
        extended = np.zeros(n, dtype=bool)
        log_space = np.zeros(n, dtype=bool)
        for rows in self._runs(n_present, n_present > MAX_QUICKSCORE):
            z, marginal, spread = self._quickscore(rows, present, log_absent, weights)
            ok = (z > TINY) & (spread <= MAX_CANCELLATION * z)
            self._accept(rows[ok], z[ok], marginal[ok], log_z, posteriors)
            todo[rows[ok]] = False
        if self._extended and todo.any():  # failed the guard: inclusion-exclusion again in extended precision
            log_absent_ext = _absent_logs(absent, self._log_off_ext)
            left = todo & (n_present <= MAX_QUICKSCORE)
            for rows in self._runs(n_present, ~left):
                z, marginal, spread = self._quickscore(rows, present, log_absent_ext, weights, extended=True)
                ok = (z > TINY) & (spread <= MAX_CANCELLATION_EXTENDED * z)
                self._accept(rows[ok], z[ok].astype(float), marginal[ok].astype(float), log_z, posteriors)
                todo[rows[ok]] = False
                extended[rows[ok]] = True
        fallback = todo.copy()
        for key, rows in _groups(present, np.flatnonzero(todo)):
            z, marginal = self._eliminate_with_present(key, rows, log_absent, weights)
            ok = z > TINY
            self._accept(rows[ok], z[ok], marginal[ok], log_z, posteriors)
            if not ok.all():  # below floating-point range (or impossible): the same elimination in log space
                some = rows[~ok]
                log_space[some] = True
                log_z[some], posteriors[some] = self._eliminate_with_present(key, some, log_absent, weights,
                                                                             log_space=True)
        with np.errstate(invalid="ignore"):  # absent findings' leak terms (-inf for a leak of 1)
            log_evidence = log_z + np.where(absent, self._log_keep, 0.0).sum(axis=1)
        bad = ~np.isfinite(log_evidence) | np.isnan(posteriors).any(axis=1)
        if bad.any():
            where = ", ".join(str(first_row + int(i)) for i in np.flatnonzero(bad)[:10])
            raise ImpossibleEvidenceError(f"the evidence of row(s) {where} has probability zero under this model")
        return Scores(np.exp(log_evidence), np.clip(posteriors, 0.0, 1.0), fallback, log_evidence, extended, log_space)

    @staticmethod
    def _accept(rows: IntArray, z: FloatArray, marginal: FloatArray, log_z: FloatArray,
                posteriors: FloatArray) -> None:
        log_z[rows] = np.log(z)
        posteriors[rows] = marginal / z[:, None]

    def _runs(self, n_present: IntArray, skip: npt.NDArray[np.bool_]) -> Iterator[IntArray]:
        """Patients in groups of equal present count, each group at most ROWS_PER_RUN rows."""
        for k in np.unique(n_present[~skip]):
            rows = np.flatnonzero((n_present == k) & ~skip)
            per_run = max(1, (ENTRIES_PER_RUN // self.plan.entries_per_row) >> int(k))
            for start in range(0, len(rows), per_run):
                yield rows[start:start + per_run]

    def _quickscore(
        self, rows: IntArray, present: npt.NDArray[np.bool_], log_absent: FloatArray, weights: list[FloatArray],
        *, extended: bool = False,
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Inclusion-exclusion for patients with the same number k of present findings.

        Returns, per patient, the signed sum ``Z``, the signed sums of each cause's
        marginal, and the sum of the terms' absolute values. With ``extended``, the
        terms are computed in ``numpy.longdouble`` (``log_absent`` must be too).
        """
        log_off, log_keep = (self._log_off_ext, self._log_keep_ext) if extended else (self._log_off, self._log_keep)
        tables: list[FloatArray] = [t.astype(np.longdouble) for t in self.tables] if extended else self.tables
        m = len(rows)
        listed = np.argsort(~present[rows], axis=1, kind="stable")
        k = int(present[rows[0]].sum())
        which = listed[:, :k]  # (m, k) present finding indices
        bits = ((np.arange(1 << k)[:, None] >> np.arange(k)) & 1).astype(log_off.dtype)  # (S, k)
        # per subset: the log of every cause's absent factor, and the findings' leak terms
        with np.errstate(invalid="ignore"):  # 0 * -inf for a link of 1: that finding is not in the subset
            log_unary = log_absent[rows][:, None, :] + np.where(
                bits[None, :, :, None] > 0, log_off[which][:, None, :, :], 0.0).sum(axis=2)
            log_leak = np.where(bits[None] > 0, log_keep[which][:, None, :], 0.0).sum(axis=2)
        sign = np.where(bits.sum(axis=1) % 2 == 1, -1.0, 1.0)
        s = 1 << k
        unary = np.exp(log_unary.reshape(m * s, -1))  # (m*S, C)
        factors: list[FloatArray] = [np.repeat(w[rows], s, axis=0) for w in weights]
        if extended:
            factors = [f.astype(np.longdouble) for f in factors]
        factors += tables
        factors += [np.stack([np.ones(m * s, dtype=unary.dtype), unary[:, c]], axis=1) for c in range(unary.shape[1])]
        z, grads = self.plan.run(factors)
        marginal = unary * np.stack([g[:, 1] for g in grads], axis=1)  # Z with cause c present, per row
        term = np.exp(log_leak) * z.reshape(m, s)  # non-negative
        signed = sign * np.exp(log_leak)
        return ((term * sign).sum(axis=1), np.einsum("ms,msc->mc", signed, marginal.reshape(m, s, -1)),
                term.sum(axis=1))

    def _eliminate_with_present(
        self, key: tuple[int, ...], rows: IntArray, log_absent: FloatArray, weights: list[FloatArray],
        *, log_space: bool = False,
    ) -> tuple[FloatArray, FloatArray]:
        """Exact elimination with each present finding in ``key`` a full factor over its causes.

        Returns ``Z`` and each cause's unnormalised marginal per row; with ``log_space``,
        ``log Z`` and the posteriors (computed by :meth:`EliminationPlan.run_log`).
        """
        n_c = len(self.params.causes)
        plan = self.fallback_plans.get(key)
        extra_scopes, extra_tables = self._present_factors(key)
        if plan is None:
            base = len(self.roots) + n_c
            scopes = ([(i,) for i in range(self._n_roots)] + self.table_scopes
                      + [(self._n_roots + c,) for c in range(n_c)] + extra_scopes)
            batched = [True] * self._n_roots + [False] * n_c + [True] * n_c + [False] * len(extra_scopes)
            plan = EliminationPlan(self.cards, scopes, batched, targets=tuple(range(base, base + n_c)))
            self.fallback_plans.put(key, plan)
        z = np.empty(len(rows))
        marginal = np.empty((len(rows), n_c))
        per_run = max(1, ENTRIES_PER_RUN // plan.entries_per_row)
        for start in range(0, len(rows), per_run):
            some = rows[start:start + per_run]
            done = slice(start, start + len(some))
            if log_space:
                with np.errstate(divide="ignore"):
                    factors = [np.log(w[some]) for w in weights] + [np.log(t) for t in self.tables]
                    factors += [np.stack([np.zeros(len(some)), log_absent[some, c]], axis=1) for c in range(n_c)]
                    factors += [np.log(t) for t in extra_tables]
                log_z, log_grads = plan.run_log(factors)
                log_marginal = log_absent[some] + np.stack([g[:, 1] for g in log_grads], axis=1)
                z[done] = log_z
                with np.errstate(invalid="ignore"):  # -inf - -inf: impossible evidence, refused by the caller
                    marginal[done] = np.exp(log_marginal - log_z[:, None])
                continue
            unary = np.exp(log_absent[some])
            factors = [w[some] for w in weights] + self.tables
            factors += [np.stack([np.ones(len(some)), unary[:, c]], axis=1) for c in range(n_c)]
            factors += extra_tables
            z[done], grads = plan.run(factors)
            marginal[done] = unary * np.stack([g[:, 1] for g in grads], axis=1)
        return z, marginal

    def _present_factors(self, key: tuple[int, ...]) -> tuple[list[tuple[int, ...]], list[FloatArray]]:
        """``P(f present | its causes)`` as a table over the causes linked to ``f``, for each f in ``key``."""
        scopes: list[tuple[int, ...]] = []
        tables: list[FloatArray] = []
        for f in key:
            linked = [int(c) for c in np.flatnonzero(self.params.q[:, f] > 0)]
            grid = np.array(list(itertools.product((0.0, 1.0), repeat=len(linked))))
            grid = grid.reshape(1 << len(linked), len(linked))
            log_absent = self._log_keep[f] + grid @ self._log_off[f, linked]
            scopes.append(tuple(self._n_roots + c for c in linked))
            tables.append(-np.expm1(log_absent).reshape((2,) * len(linked)))
        return scopes, tables


def _groups(present: npt.NDArray[np.bool_], rows: IntArray) -> Iterator[tuple[tuple[int, ...], IntArray]]:
    """Rows grouped by their set of present findings."""
    by_key: dict[tuple[int, ...], list[int]] = {}
    for r in rows:
        by_key.setdefault(tuple(int(f) for f in np.flatnonzero(present[r])), []).append(int(r))
    for key, members in by_key.items():
        yield key, np.array(members, dtype=np.int64)


def _absent_logs(absent: npt.NDArray[np.bool_], log_off: FloatArray) -> FloatArray:
    """``sum over absent findings f of log(1 - q_cf)`` per patient and cause (``-inf`` kept where a link is 1)."""
    if np.isfinite(log_off).all():
        out: FloatArray = absent.astype(log_off.dtype) @ log_off
        return out
    with np.errstate(invalid="ignore"):  # 0 * -inf would be NaN: sum only the absent findings' rows
        return np.where(absent[:, :, None], log_off[None], 0.0).sum(axis=1)  # type: ignore[no-any-return]
