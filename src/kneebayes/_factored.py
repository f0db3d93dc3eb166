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
ratio exceeds :data:`MAX_CANCELLATION` the patient is recomputed by an exact
elimination that keeps each such present finding whole as a chain of small
non-negative factors, the answered roots sliced out (:mod:`kneebayes._chains`):
no subtraction at all. Patients with more than :data:`MAX_QUICKSCORE` present
findings of two or more parents who answered the same roots, :data:`PAD_FROM` or
more in a batch, go straight to one shared padded network (every such finding
chained, a chain summing to 1 where the finding is not present); the others keep
to inclusion-exclusion up to :data:`MAX_QUICKSCORE_ALONE` such findings, since a
network of their own must first be planned, and beyond that have one.
Before that fallback, a patient with at most :data:`MAX_QUICKSCORE` such findings
that failed the guard is recomputed by inclusion-exclusion in extended precision (``numpy.longdouble``,
64-bit significand on x86): its terms' error is 2048 times smaller, so the
guard accepts a cancellation 2048 times larger (:data:`MAX_CANCELLATION_EXTENDED`).
Rows whose ``Z`` falls below :data:`TINY` (underflow) are redone by the
fallback elimination in log space (:meth:`EliminationPlan.run_log`). Nothing
here is approximate.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from ._batch import EvidenceArrays
from ._chains import Structure, chain_factors, chain_plan, plan_groups
from ._contraction import root_weights
from ._elimination import ENTRIES_PER_RUN, EliminationPlan
from ._errors import ImpossibleEvidenceError
from ._parameters import FloatArray, Parameters, cause_table

#: Largest ratio of the sum of |terms| to the result accepted from inclusion-exclusion.
#: With a relative error of at most ~200 ulps per term, posteriors are then within 1e-9.
MAX_CANCELLATION = 1e4

#: The same bound for inclusion-exclusion in ``numpy.longdouble`` (as many times larger as its epsilon is smaller).
#: Where longdouble is plain double (some platforms), the extended-precision stage is skipped.
MAX_CANCELLATION_EXTENDED = MAX_CANCELLATION * float(np.finfo(np.float64).eps / np.finfo(np.longdouble).eps)

#: Patients with more present findings of two or more parents than this (2**k rows each) go to the padded
#: fallback network when :data:`PAD_FROM` or more of them answered the same roots: with the findings as chains,
#: beyond 4 that costs less than 2**k rows (measured on the 18-cause model with full questionnaires, where every
#: patient answers every root, at batch 1,000: 451 µs a patient; with a limit of 6, 1,189 µs; of 8, 4,808 µs).
MAX_QUICKSCORE = 4

#: The others keep to inclusion-exclusion up to this many (2**k rows each, in the compiled kernel ~30 µs a row)
#: rather than plan a network of their own (5 to 20 ms). Extended precision is tried only up to
#: :data:`MAX_QUICKSCORE`: beyond, a patient failing the guard goes to the fallback (einsum in longdouble over
#: 2**k rows costs more than a plan). ``benchmarks/bench_paths.py`` compares 4, 6 and 8 on the same new patients.
MAX_QUICKSCORE_ALONE = 6

#: Patients beyond :data:`MAX_QUICKSCORE` who answered the same roots share the padded fallback network
#: (one plan for all sets of present findings) when at least this many are scored together; fewer have a
#: plan each, for their own set (its planning costs about as much as 8 rows of the padded network).
PAD_FROM = 16

#: Below this ``Z`` a row's numbers may be subnormal: it is redone in log space.
TINY = 1e-250

#: Expanded rows scored by one elimination of the Quickscore stage (their factors take ~1 KB a row; the
#: elimination itself bounds its own memory, :data:`kneebayes._elimination.ENTRIES_PER_RUN`).
ROWS_PER_RUN = 1 << 13

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
        Patients computed by the exact elimination with present findings as chains (no Quickscore).
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

    def __init__(self, params: Parameters) -> None:
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
        self.plan = EliminationPlan(self.cards, scopes, batched, targets=unary, reused=True)
        with np.errstate(divide="ignore"):  # a link or leak of 1 makes absence impossible: log 0 = -inf
            self._log_off = np.log1p(-params.q).T  # (F, C)
            self._log_keep = np.log1p(-params.leak)  # (F,)
        # the extended-precision stage computes its own logs: a double's rounding would not cancel between terms
        self._extended = np.finfo(np.longdouble).eps < np.finfo(np.float64).eps
        self._expansion = _Expansion(params, np.float64)
        self._expansion_ext: _Expansion | None = None  # built on first use
        #: The roots and each cause's parents: the fallback's plans (:func:`chain_plan`, cached) are keyed by it.
        self.structure = Structure.of(params)
        #: The findings with two or more parent causes (each a chain in the padded network).
        self._chainable = tuple(int(f) for f in np.flatnonzero(self._expansion.kind >= _PAIR))
        if self.structure.roots != self.roots:
            raise AssertionError("the fallback's network orders the roots otherwise")  # pragma: no cover

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
        log_absent = _absent_logs(absent, self._log_off)  # (N, C)
        weights = self._root_weights(ev)
        todo = np.ones(n, dtype=bool)  # rows not scored yet
        extended = np.zeros(n, dtype=bool)
        log_space = np.zeros(n, dtype=bool)
        kinds = np.where(present, 1 + self._expansion.kind[np.newaxis, :], 0)  # 1 + each present finding's kind
        doubling = ((kinds == 1 + _QUICKSCORE) | (kinds == 1 + _PAIR)).sum(axis=1)  # log2 of each patient's rows
        answers = self.structure.answers(ev)
        # beyond MAX_QUICKSCORE, patients who can share the padded network take it; the others keep to
        # inclusion-exclusion up to MAX_QUICKSCORE_ALONE rather than plan a network of their own
        padded = _padded(answers >= 0, doubling > MAX_QUICKSCORE)
        for groups in self._runs(kinds, doubling, padded | (doubling > MAX_QUICKSCORE_ALONE)):
            rows, z, marginal, spread = self._quickscore(groups, doubling, present, log_absent, weights)
            ok = (z > TINY) & (spread <= MAX_CANCELLATION * z)
            self._accept(rows[ok], z[ok], marginal[ok], log_z, posteriors)
            todo[rows[ok]] = False
        if self._extended and todo.any():  # failed the guard: inclusion-exclusion again in extended precision
            if self._expansion_ext is None:
                self._expansion_ext = _Expansion(self.params, np.longdouble)
            log_absent_ext = _absent_logs(absent, self._expansion_ext.log_off)
            left = todo & ~padded & (doubling <= MAX_QUICKSCORE)
            for groups in self._runs(kinds, doubling, ~left):
                rows, z, marginal, spread = self._quickscore(groups, doubling, present, log_absent_ext, weights,
                                                             extended=True)
                ok = (z > TINY) & (spread <= MAX_CANCELLATION_EXTENDED * z)
                self._accept(rows[ok], z[ok].astype(float), marginal[ok].astype(float), log_z, posteriors)
                todo[rows[ok]] = False
                extended[rows[ok]] = True
        fallback = todo.copy()
        if todo.any():
            chained = present & (self._expansion.kind >= _PAIR)
            many = padded | _padded(answers >= 0, todo & (doubling > MAX_QUICKSCORE))  # all in one plan
            chained[many] = False
            for answered, own, group in plan_groups(answers >= 0, chained, np.flatnonzero(todo)):
                for which, rows in ((None, group[many[group]]), (own, group[~many[group]])):
                    if not len(rows):
                        continue
                    z, marginal, log_scale = self._eliminate_with_present(answered, which, rows, answers, present,
                                                                          log_absent, weights)
                    ok = z > TINY
                    self._accept(rows[ok], z[ok], marginal[ok], log_z, posteriors)
                    log_z[rows[ok]] += log_scale[ok]
                    if not ok.all():  # below floating-point range (or impossible): the same elimination in log space
                        some = rows[~ok]
                        log_space[some] = True
                        raw, posteriors[some], _ = self._eliminate_with_present(
                            answered, which, some, answers, present, log_absent, weights, log_space=True)
                        log_z[some] = raw + log_scale[~ok]
        with np.errstate(invalid="ignore"):  # absent findings' leak terms (-inf for a leak of 1)
            log_evidence = log_z + np.where(absent, self._log_keep, 0.0).sum(axis=1)
        bad = ~np.isfinite(log_evidence) | np.isnan(posteriors).any(axis=1)
        if bad.any():
            where = ", ".join(str(first_row + int(i)) for i in np.flatnonzero(bad)[:10])
            raise ImpossibleEvidenceError(f"the evidence of row(s) {where} has probability zero under this model")
        return Scores(np.exp(log_evidence), np.clip(posteriors, 0.0, 1.0), fallback, log_evidence, extended, log_space)

    def _root_weights(self, ev: EvidenceArrays) -> list[FloatArray]:
        """Each root's weights per patient (as :func:`root_weights`), the binary roots in one pass."""
        weights = [root_weights(self.params, -1, ev.age_band, ev.risk_factors)] if self.roots[:1] == (-1,) else []
        binary = [r for r in self.roots if r >= 0]
        state = ev.risk_factors[:, binary]
        prevalence = self.params.rf_prevalence[binary]
        both = np.empty((len(ev), len(binary), 2))
        both[:, :, 0] = np.where(state == 1, 0.0, 1.0 - prevalence)
        both[:, :, 1] = np.where(state == 0, 0.0, prevalence)
        return weights + [both[:, j] for j in range(len(binary))]

    def _table_entries(self, answered: tuple[bool, ...]) -> int:
        """Entries per row of the tables and root weights the fallback gathers (:meth:`Structure.table_entries`)."""
        return self.structure.table_entries(answered, [t.size for t in self.tables])

    @staticmethod
    def _accept(rows: IntArray, z: FloatArray, marginal: FloatArray, log_z: FloatArray,
                posteriors: FloatArray) -> None:
        log_z[rows] = np.log(z)
        posteriors[rows] = marginal / z[:, None]

    def _runs(self, kinds: IntArray, doubling: IntArray, skip: npt.NDArray[np.bool_]) -> Iterator[list[IntArray]]:
        """Patients with the same number of present findings of each kind (one group each), in batches of groups.

        A batch holds at most :data:`ROWS_PER_RUN` expanded rows (more only for one patient's own), so
        one elimination scores all of a chunk's patients however their findings differ.
        """
        counts = np.stack([(kinds == 1 + kind).sum(axis=1) for kind in range(4)], axis=1)
        code = counts @ (MAX_FINDINGS ** np.arange(4))
        batch: list[IntArray] = []
        size = 0
        for value in np.unique(code[~skip]):
            rows = np.flatnonzero((code == value) & ~skip)
            per_run = max(1, ROWS_PER_RUN >> int(doubling[rows[0]]))
            for start in range(0, len(rows), per_run):
                some = rows[start:start + per_run]
                if batch and size + (len(some) << int(doubling[some[0]])) > ROWS_PER_RUN:
                    yield batch
                    batch, size = [], 0
                batch.append(some)
                size += len(some) << int(doubling[some[0]])
        if batch:
            yield batch

    def _quickscore(
        self, groups: list[IntArray], doubling: IntArray, present: npt.NDArray[np.bool_], log_absent: FloatArray,
        weights: list[FloatArray], *, extended: bool = False,
    ) -> tuple[IntArray, FloatArray, FloatArray, FloatArray]:
        """Expand the present findings of the patients of ``groups`` and sum the terms, in one elimination.

        Every patient of a group has as many present findings of each kind. A present
        finding with no parent cause is its leak, a constant; with one parent, a unary
        factor on it; with two, the sum of two terms, one per state of the first parent
        (a unary factor on each); with more, inclusion-exclusion (two terms of opposite
        sign). Returns the patients (the groups in order) and, per patient, the signed sum
        ``Z``, the signed sums of each cause's marginal, and the sum of the terms' absolute
        values. With ``extended``, the terms are computed in ``numpy.longdouble``
        (``log_absent`` must be too).
        """
        ex = self._expansion_ext if extended and self._expansion_ext is not None else self._expansion
        tables: list[FloatArray] = [t.astype(np.longdouble) for t in self.tables] if extended else self.tables
        n_c = len(self.params.causes)
        terms = [self._terms(rows, present, log_absent, ex) for rows in groups]
        rows = np.concatenate(groups)
        log_a = np.concatenate([t[0] for t in terms])
        log_b = np.concatenate([t[1] for t in terms])
        log_leak = np.concatenate([t[2] for t in terms])
        sign = np.concatenate([t[3] for t in terms])
        per_patient = np.left_shift(1, doubling[rows])
        patient = np.repeat(rows, per_patient)  # each row's patient
        a, b = np.exp(log_a), np.exp(log_b)
        factors: list[FloatArray] = [w[patient] for w in weights]
        if extended:
            factors = [f.astype(np.longdouble) for f in factors]
        factors += tables
        both = np.stack([a, b], axis=2)  # (rows, C, 2)
        factors += [both[:, c] for c in range(n_c)]
        z, grads = self.plan.run(factors)
        marginal = b * np.stack([g[:, 1] for g in grads], axis=1)  # Z with cause c present, per row
        scale = np.exp(log_leak)
        term = scale * z  # non-negative
        first = np.concatenate([[0], np.cumsum(per_patient)[:-1]])  # each patient's first row
        return (rows, np.add.reduceat(term * sign, first), np.add.reduceat((sign * scale)[:, None] * marginal, first),
                np.add.reduceat(term, first))

    def _terms(
        self, rows: IntArray, present: npt.NDArray[np.bool_], log_absent: FloatArray, ex: _Expansion,
    ) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
        """Build the inclusion-exclusion rows of patients with as many present findings of each kind.

        Returns, for the ``2**k`` rows of each patient in turn, the logs of the unary factors
        on every cause (absent, present), the log of the constant each row is scaled by, and
        each row's sign.
        """
        m, n_c = len(rows), len(self.params.causes)
        mine = present[rows]
        kind = np.where(mine, ex.kind[None, :], -1)
        # the findings of each kind, per patient (every patient of a group has as many of each)
        listed = [np.argsort(kind != k, axis=1, kind="stable")[:, :int((kind[0] == k).sum())] for k in range(4)]
        constant, single, pair, quick = listed
        log_a = np.zeros((m, n_c), dtype=log_absent.dtype)
        log_b = log_absent[rows].copy()
        log_scale = ex.leak_log[constant].sum(axis=1)
        for j in range(single.shape[1]):
            log_a += ex.single_a[single[:, j]]
            log_b += ex.single_b[single[:, j]]
        k_pair, k_quick = pair.shape[1], quick.shape[1]
        k = k_pair + k_quick
        bits = (np.arange(1 << k)[:, None] >> np.arange(k)) & 1  # (S, k): pairs' first-parent states, then subsets
        s = 1 << k
        log_a = np.repeat(log_a[:, None, :], s, axis=1)  # (m, S, C)
        log_b = np.repeat(log_b[:, None, :], s, axis=1)
        for j in range(k_pair):
            log_a += ex.pair_a[pair[:, j]][:, bits[:, j], :]
            log_b += ex.pair_b[pair[:, j]][:, bits[:, j], :]
        log_leak = np.zeros((m, s), dtype=log_absent.dtype) + log_scale[:, None]
        for j in range(k_quick):
            chosen = bits[:, k_pair + j] > 0
            log_b[:, chosen, :] += ex.log_off[quick[:, j]][:, None, :]
            log_leak[:, chosen] += ex.log_keep[quick[:, j]][:, None]
        sign = np.where(bits[:, k_pair:].sum(axis=1) % 2 == 1, -1.0, 1.0)
        return (log_a.reshape(m * s, n_c), log_b.reshape(m * s, n_c), log_leak.reshape(m * s),
                np.tile(sign, m))

    def _eliminate_with_present(
        self, answered: tuple[bool, ...], which: tuple[int, ...] | None, rows: IntArray, answers: IntArray,
        present: npt.NDArray[np.bool_], log_absent: FloatArray, weights: list[FloatArray],
        *, log_space: bool = False,
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Exact elimination with each present finding in ``which`` (two or more parents) a chain of factors.

        With ``which`` None, every finding of two or more parents has its chain, and
        each row's chain of a finding it did not report present sums to 1 whatever
        the causes: one plan for every set of present findings (no planning per
        patient, all rows in one batch), at the cost of the largest network.

        Roots marked ``answered`` are sliced out of the causes' tables (their weights
        become a constant per row); present findings with one parent are unary factors
        on it, with none their leak. Returns ``Z`` of the elimination, each cause's
        unnormalised marginal and the log of the constant left out (``log P(evidence)
        = log Z + that``); with ``log_space``, ``log Z`` and the posteriors (computed by
        :meth:`EliminationPlan.run_log`).
        """
        ex, n_c = self._expansion, len(self.params.causes)
        padded = which is None
        chained = self._chainable if which is None else which
        linked = tuple(tuple(int(c) for c in np.flatnonzero(self.params.q[:, f] > 0)) for f in chained)
        network = chain_plan(self.structure, answered, linked)
        mine = present[rows]
        lone = mine & (ex.kind == _SINGLE)[None, :]
        log_a = _absent_logs(lone, ex.single_a)  # (rows, C): the sum of the chosen findings' rows, -inf kept
        log_b = log_absent[rows] + _absent_logs(lone, ex.single_b)
        with np.errstate(invalid="ignore"):  # a leak of 0 (log -inf) on a finding absent here: 0 * -inf
            log_scale = np.where(mine & (ex.kind == _CONSTANT)[None, :], ex.leak_log[None, :], 0.0).sum(axis=1)
        for i, a in enumerate(answered):
            if a:
                log_scale = log_scale + np.log(weights[i][rows, answers[rows, i]])
        z = np.empty(len(rows))
        marginal = np.empty((len(rows), n_c))
        per_run = max(1, ENTRIES_PER_RUN // (network.plan.entries_per_row + self._table_entries(answered)))
        for start in range(0, len(rows), per_run):
            some = rows[start:start + per_run]
            done = slice(start, start + len(some))
            m = len(some)
            head = [weights[i][some] for i in network.kept]
            for table, (on_roots, _) in zip(self.tables, self.structure.parents, strict=True):
                if any(answered[i] for i in on_roots):  # a leading row index keeps the row axis first
                    index = [np.zeros(m, dtype=np.int64)] + [answers[some, i] if answered[i] else slice(None)
                                                             for i in on_roots]
                    head.append(table[None][tuple(index)])
                else:
                    head.append(np.broadcast_to(table, (m, *table.shape)))
            chains: list[FloatArray] = []
            for f, causes in zip(chained, linked, strict=True):
                links = chain_factors(np.full(m, self._log_keep[f]),
                                      np.broadcast_to(self._log_off[f, list(causes)], (m, len(causes))))
                if padded:  # where f is not present, factors whose chain sums to 1 (y stays 0; the last is all 1)
                    off = ~present[some, f]
                    for j, factor in enumerate(links):
                        factor[off] = 0.0
                        if j == len(links) - 1:
                            factor[off] = 1.0
                        elif j == 0:
                            factor[off, :, 0] = 1.0
                        else:
                            factor[off, 0, :, 0] = 1.0
                chains += links
            log_unary = np.stack([log_a[done], log_b[done]], axis=2)  # (m, C, 2)
            if log_space:
                with np.errstate(divide="ignore"):
                    logs = ([np.log(f) for f in head] + [log_unary[:, c] for c in range(n_c)]
                            + [np.log(f) for f in chains])
                log_z, log_grads = network.plan.run_log(logs)
                log_marginal = log_b[done] + np.stack([g[:, 1] for g in log_grads], axis=1)
                z[done] = log_z
                with np.errstate(invalid="ignore"):  # -inf - -inf: impossible evidence, refused by the caller
                    marginal[done] = np.exp(log_marginal - log_z[:, None])
                continue
            unary = np.exp(log_unary)
            z[done], grads = network.plan.run(head + [unary[:, c] for c in range(n_c)] + chains)
            marginal[done] = unary[:, :, 1] * np.stack([g[:, 1] for g in grads], axis=1)
        return z, marginal, log_scale


#: Kinds of present finding, by their number of parent causes: none, one, two, more.
_CONSTANT, _SINGLE, _PAIR, _QUICKSCORE = 0, 1, 2, 3

#: Bound on the count of present findings of one kind (a run's grouping code).
MAX_FINDINGS = 1 << 12


class _Expansion:
    """Per finding, the logs of the factors its presence contributes, in one floating-point type.

    ``kind[f]`` is :data:`_CONSTANT`, :data:`_SINGLE`, :data:`_PAIR` or :data:`_QUICKSCORE`.
    ``P(f present | causes)`` is ``leak`` for no parent; ``[P(f | c absent), P(f | c present)]``
    on its parent ``c`` (``single_a``, ``single_b``) for one; for two parents ``c1 < c2``,
    the sum over ``c1``'s state ``j`` of an indicator on ``c1`` times ``[P(f | c1=j, c2 absent),
    P(f | c1=j, c2 present)]`` on ``c2`` (``pair_a[f, j]``, ``pair_b[f, j]``, over all causes).
    Every term is non-negative; only :data:`_QUICKSCORE` findings (three or more parents)
    subtract, through ``log_off`` and ``log_keep``.
    """

    def __init__(self, params: Parameters, dtype: type) -> None:
        q: FloatArray = params.q.astype(dtype)  # (C, F)
        leak: FloatArray = params.leak.astype(dtype)
        n_c, n_f = q.shape
        with np.errstate(divide="ignore"):
            self.log_off: FloatArray = np.log1p(-q).T  # (F, C)
            self.log_keep: FloatArray = np.log1p(-leak)
            self.leak_log: FloatArray = np.log(leak)
        parents = [np.flatnonzero(params.q[:, f] > 0) for f in range(n_f)]
        self.kind = np.array([min(len(linked), _QUICKSCORE) for linked in parents], dtype=np.int64)
        self.single_a: FloatArray = np.zeros((n_f, n_c), dtype=dtype)
        self.single_b: FloatArray = np.zeros((n_f, n_c), dtype=dtype)
        self.pair_a: FloatArray = np.zeros((n_f, 2, n_c), dtype=dtype)
        self.pair_b: FloatArray = np.zeros((n_f, 2, n_c), dtype=dtype)

        def log_present(f: int, on: list[int]) -> Any:
            """Return log P(f present | exactly the causes ``on`` of its parents present), without cancellation."""
            with np.errstate(divide="ignore"):
                return np.log(-np.expm1(self.log_keep[f] + sum((self.log_off[f, c] for c in on), dtype(0))))

        for f, found in enumerate(parents):
            linked = [int(c) for c in found]
            if len(linked) == 1:
                (c,) = linked
                self.single_a[f, c], self.single_b[f, c] = log_present(f, []), log_present(f, [c])
            elif len(linked) == 2:
                c1, c2 = linked
                for j in (0, 1):
                    self.pair_a[f, j, c1], self.pair_b[f, j, c1] = (-np.inf, 0.0) if j else (0.0, -np.inf)
                    first = [c1] if j else []
                    self.pair_a[f, j, c2] = log_present(f, first)
                    self.pair_b[f, j, c2] = log_present(f, [*first, c2])


def _padded(answered: npt.NDArray[np.bool_], candidates: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
    """Select the ``candidates`` who answered the same roots as :data:`PAD_FROM` or more candidates (one network)."""
    out = candidates.copy()
    if not candidates.any():
        return out
    _, group, count = np.unique(answered[candidates], axis=0, return_inverse=True, return_counts=True)
    out[np.flatnonzero(candidates)[count[np.asarray(group).reshape(-1)] < PAD_FROM]] = False
    return out


def _absent_logs(absent: npt.NDArray[np.bool_], log_off: FloatArray) -> FloatArray:
    """``sum over absent findings f of log(1 - q_cf)`` per patient and cause (``-inf`` kept where a link is 1)."""
    if np.isfinite(log_off).all():
        out: FloatArray = absent.astype(log_off.dtype) @ log_off
        return out
    with np.errstate(invalid="ignore"):  # 0 * -inf would be NaN: sum only the absent findings' rows
        return np.where(absent[:, :, None], log_off[None], 0.0).sum(axis=1)  # type: ignore[no-any-return]
