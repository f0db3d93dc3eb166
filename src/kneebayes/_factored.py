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
findings create). Nothing here is approximate.
"""

from __future__ import annotations

import itertools
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

#: Patients with more present findings than this skip inclusion-exclusion (2**k rows each).
MAX_QUICKSCORE = 12

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
    """

    evidence: FloatArray
    posteriors: FloatArray
    fallback: npt.NDArray[np.bool_]


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

    def __init__(self, params: Parameters, *, plan: EliminationPlan | None = None) -> None:
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
        self._log_off = np.log1p(-params.q).T  # (F, C)
        self._log_keep = np.log1p(-params.leak)  # (F,)
        self._fallback_plans: dict[tuple[int, ...], EliminationPlan] = {}

    # ---- one chunk ------------------------------------------------------------------
    def score(self, ev: EvidenceArrays, first_row: int = 0) -> Scores:
        """Score a batch of patients (``first_row`` numbers them in error messages).

        Raises
        ------
        ImpossibleEvidenceError
            If some patient's evidence has probability zero under the model.
        """
        n, n_c = len(ev), len(self.params.causes)
        evidence = np.empty(n)
        posteriors = np.empty((n, n_c))
        present = ev.findings == 1
        n_present = present.sum(axis=1)
        log_absent = (ev.findings == 0).astype(float) @ self._log_off  # (N, C)
        weights = [root_weights(self.params, root, ev.age_band, ev.risk_factors) for root in self.roots]
        fallback = n_present > MAX_QUICKSCORE
        for rows in self._runs(n_present, fallback):
            z, marginal, spread = self._quickscore(rows, present, log_absent, weights)
            ok = (z > 0) & (spread <= MAX_CANCELLATION * z)
            evidence[rows[ok]] = z[ok]
            posteriors[rows[ok]] = marginal[ok] / z[ok, None]
            fallback[rows[~ok]] = True
        for key, rows in _groups(present, np.flatnonzero(fallback)):
            z, marginal = self._eliminate_with_present(key, rows, log_absent, weights)
            evidence[rows] = z
            with np.errstate(invalid="ignore", divide="ignore"):
                posteriors[rows] = marginal / z[:, None]
        evidence *= np.exp((ev.findings == 0).astype(float) @ self._log_keep)  # absent findings' leak terms
        bad = ~(evidence > 0)
        if bad.any():
            where = ", ".join(str(first_row + int(i)) for i in np.flatnonzero(bad)[:10])
            raise ImpossibleEvidenceError(
                f"the evidence of row(s) {where} has probability zero (or below floating-point range) under this model"
            )
        return Scores(evidence, np.clip(posteriors, 0.0, 1.0), fallback)

    def _runs(self, n_present: IntArray, skip: npt.NDArray[np.bool_]) -> Iterator[IntArray]:
        """Patients in groups of equal present count, each group at most ROWS_PER_RUN rows."""
        for k in np.unique(n_present[~skip]):
            rows = np.flatnonzero((n_present == k) & ~skip)
            per_run = max(1, (ENTRIES_PER_RUN // self.plan.entries_per_row) >> int(k))
            for start in range(0, len(rows), per_run):
                yield rows[start:start + per_run]

    def _quickscore(
        self, rows: IntArray, present: npt.NDArray[np.bool_], log_absent: FloatArray, weights: list[FloatArray]
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Inclusion-exclusion for patients with the same number k of present findings.

        Returns, per patient, the signed sum ``Z``, the signed sums of each cause's
        marginal, and the sum of the terms' absolute values.
        """
        m = len(rows)
        listed = np.argsort(~present[rows], axis=1, kind="stable")
        k = int(present[rows[0]].sum())
        which = listed[:, :k]  # (m, k) present finding indices
        bits = ((np.arange(1 << k)[:, None] >> np.arange(k)) & 1).astype(float)  # (S, k)
        # per subset: the log of every cause's absent factor, and the findings' leak terms
        log_unary = log_absent[rows][:, None, :] + np.einsum("sk,mkc->msc", bits, self._log_off[which])
        log_leak = np.einsum("sk,mk->ms", bits, self._log_keep[which])
        sign = np.where(bits.sum(axis=1) % 2 == 1, -1.0, 1.0)
        s = 1 << k
        unary = np.exp(log_unary.reshape(m * s, -1))  # (m*S, C)
        factors: list[FloatArray] = [np.repeat(w[rows], s, axis=0) for w in weights]
        factors += self.tables
        factors += [np.stack([np.ones(m * s), unary[:, c]], axis=1) for c in range(unary.shape[1])]
        z, grads = self.plan.run(factors)
        marginal = unary * np.stack([g[:, 1] for g in grads], axis=1)  # Z with cause c present, per row
        term = np.exp(log_leak) * z.reshape(m, s)  # non-negative
        signed = sign * np.exp(log_leak)
        return ((term * sign).sum(axis=1), np.einsum("ms,msc->mc", signed, marginal.reshape(m, s, -1)),
                term.sum(axis=1))

    def _eliminate_with_present(
        self, key: tuple[int, ...], rows: IntArray, log_absent: FloatArray, weights: list[FloatArray]
    ) -> tuple[FloatArray, FloatArray]:
        """Exact elimination with each present finding in ``key`` a full factor over its causes."""
        n_c = len(self.params.causes)
        plan = self._fallback_plans.get(key)
        extra_scopes, extra_tables = self._present_factors(key)
        if plan is None:
            base = len(self.roots) + n_c
            scopes = ([(i,) for i in range(self._n_roots)] + self.table_scopes
                      + [(self._n_roots + c,) for c in range(n_c)] + extra_scopes)
            batched = [True] * self._n_roots + [False] * n_c + [True] * n_c + [False] * len(extra_scopes)
            plan = EliminationPlan(self.cards, scopes, batched, targets=tuple(range(base, base + n_c)))
            self._fallback_plans[key] = plan
        z = np.empty(len(rows))
        marginal = np.empty((len(rows), n_c))
        per_run = max(1, ENTRIES_PER_RUN // plan.entries_per_row)
        for start in range(0, len(rows), per_run):
            some = rows[start:start + per_run]
            unary = np.exp(log_absent[some])
            factors: list[FloatArray] = [w[some] for w in weights] + self.tables
            factors += [np.stack([np.ones(len(some)), unary[:, c]], axis=1) for c in range(n_c)]
            factors += extra_tables
            z[start:start + len(some)], grads = plan.run(factors)
            marginal[start:start + len(some)] = unary * np.stack([g[:, 1] for g in grads], axis=1)
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
