"""Exact posteriors under many parameter sets at once, without enumerating cause configurations.

The method is that of :mod:`kneebayes._factored` (Quickscore over the present
findings, each term a variable elimination of the root and cause network, a
precision guard and an exact fallback), batched over *pairs* of a variant and a
patient instead of patients alone:

* Every factor of the elimination is per row, a row being (variant, patient,
  Quickscore term): the causes' tables come from the variant's numbers
  (:class:`~kneebayes._variants.Variants`, shape ``(V, ...)``) and are gathered
  per row, so one batched elimination scores all variants and patients together.
* Roots a patient answered are not summed: each table is sliced at the answer
  and the root leaves the network, so the elimination runs on the unanswered
  roots and the causes only. Patients are grouped by which roots they answered,
  one plan per group (cached); with the age and half the risk factors answered
  a row costs about 30 times less than with none.
* A pair is computed only when its variant can change that patient's
  posteriors: when the variant's prior numbers (roots, causes) differ from the
  model's, or the numbers of a finding the patient answered. Every other pair
  takes the model's own posteriors for that patient, computed once.
* A patient whose own Quickscore fails the precision guard, who has more than
  :data:`MAX_QUICKSCORE` present findings, or who is
  scored under many variants and costs less that way, keeps each present
  finding whole as a chain of small factors (see :func:`_plan`): one row per
  pair instead of ``2**k``, and no subtraction at all.

The answered roots' own prior weights are left out: they are the same for every
cause configuration, so they cancel in the posteriors (and in the guard's ratio).
Nothing is approximated: the tests compare the results with rebuilt models to 1e-9.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import numpy.typing as npt

from ._batch import UNKNOWN, EvidenceArrays
from ._chains import Network, Structure, chain_factors, chain_plan, plan_groups
from ._elimination import ENTRIES_PER_RUN
from ._errors import ImpossibleEvidenceError
from ._factored import MAX_CANCELLATION
from ._parameters import FloatArray
from ._variants import Variants, _cause_table

IntArray = npt.NDArray[np.int64]

#: Patients with more present findings than this keep them whole as chains (the value the model's own engine
#: used before its padded fallback; not re-measured for many variants).
MAX_QUICKSCORE = 7

#: Patients scored under at least this many variants may keep their present findings whole (see ``_cheaper_as_chains``).
CHAIN_FROM = 64

#: Variants times patients times causes held at once for the absent findings' factors (patients are chunked).
PAIR_CELLS = 1 << 22


def posteriors(var: Variants, ev: EvidenceArrays) -> FloatArray:
    """Exact ``P(cause | evidence)`` per variant, patient and cause, shape (V, N, C).

    Raises
    ------
    ImpossibleEvidenceError
        When a patient's answers have probability zero under some variant.

    Examples
    --------
    >>> from kneebayes import load_model
    >>> from kneebayes._engine import ExactEngine
    >>> model = load_model()
    >>> variants = Variants.draw_uniform(model.priors, model.parameters, 2, seed=0)
    >>> ev = model._arrays([model.evidence(["lump_behind_knee", "stiffness"], ["fever"], age=58)])
    >>> together = posteriors(variants, ev)
    >>> alone = ExactEngine(variants.parameters(1)).posteriors(ev)  # a whole engine for draw 1
    >>> bool(abs(together[1] - alone).max() < 1e-12)
    True
    """
    p = var.base
    n_v, n_c = len(var), len(p.causes)
    out = np.empty((n_v, len(ev), n_c))
    scorer = _Scorer(var)
    per_chunk = max(1, PAIR_CELLS // ((n_v + 1) * n_c))
    for start in range(0, len(ev), per_chunk):
        stop = min(start + per_chunk, len(ev))
        out[:, start:stop] = scorer.chunk(ev.chunk(start, stop), start)
    return out


class _Scorer:
    """The variants' numbers as the elimination needs them, with the model itself as variant 0."""

    def __init__(self, var: Variants) -> None:
        p = var.base
        self.var = var
        self.structure = Structure.of(p)
        both = Variants.repeat(p, 1).stack(var)  # row 0: the model's own numbers
        self.both = both
        # each cause's table only for the variants whose numbers of that cause differ from the model's (row 0)
        self.tables: list[FloatArray] = []
        self.table_row: list[IntArray] = []
        for c in range(len(p.causes)):
            moved = np.flatnonzero((both.intercept[:, c] != p.intercept[c]) | (both.w_rf[:, c] != p.w_rf[c]).any(axis=1)
                                   | (both.w_age[:, c] != p.w_age[c]).any(axis=1)
                                   | (both.w_cause[:, c] != p.w_cause[c]).any(axis=1))
            self.tables.append(_cause_table(both, c, np.r_[0, moved].astype(np.int64))[0])
            row = np.zeros(len(both), dtype=np.int64)
            row[moved] = 1 + np.arange(len(moved))
            self.table_row.append(row)
        # log P(finding absent | cause alone, no leak) and log(1 - leak); a probability of 1 (log 0) is held at
        # -1e300, whose exponential is 0 all the same, so that a 0 weight times it stays 0 instead of NaN
        with np.errstate(divide="ignore"):
            self.log_off = np.maximum(np.log1p(-both.q()), -1e300)  # (V + 1, C, F)
            self.log_keep = np.maximum(np.log1p(-both.leak), -1e300)  # (V + 1, F)
        base_link = np.where(p.q > 0, 1.0 - (1.0 - p.q) * (1.0 - p.leak[None, :]), 0.0)
        self.prior_moved = var.prior_changed()
        self.finding_moved = (var.leak != p.leak) | (var.link != base_link).any(axis=1)  # (V, F)

    def chunk(self, ev: EvidenceArrays, first_row: int) -> FloatArray:
        """Posteriors of a chunk of patients under every variant, shape (V, n, C)."""
        n_v, n = len(self.var), len(ev)
        answered = ev.findings != UNKNOWN
        # which variants can change which patients' posteriors; the others take the model's (variant 0 of `both`)
        moves = self.prior_moved[:, None] | ((self.finding_moved.astype(float) @ answered.T.astype(float)) > 0)
        v_idx, n_idx = np.nonzero(np.vstack([np.ones((1, n), dtype=bool), moves]))
        result = self._pairs(ev, v_idx.astype(np.int64), n_idx.astype(np.int64), first_row)
        out = np.empty((n_v, n, len(self.var.base.causes)))
        out[:] = result[:n][None]  # the first n pairs are the model's own, patient by patient
        out[v_idx[n:] - 1, n_idx[n:]] = result[n:]
        return out

    def _pairs(self, ev: EvidenceArrays, v_idx: IntArray, n_idx: IntArray, first_row: int) -> FloatArray:
        """Posteriors of each pair (variant ``v_idx[i]`` of ``both``, patient ``n_idx[i]``), shape (P, C)."""
        n_c = len(self.var.base.causes)
        answers = self.structure.answers(ev)
        present = ev.findings == 1
        absent = (ev.findings == 0).astype(float)
        # log of every cause's absent-findings factor, per variant and patient: (V + 1, n, C)
        log_absent = np.einsum("vcf,nf->vnc", self.log_off, absent)
        out = np.empty((len(v_idx), n_c))
        z_all = np.empty(len(v_idx))
        n_present = present.sum(axis=1)[n_idx]
        keys = (answers[n_idx] >= 0)
        chain = (n_present > MAX_QUICKSCORE) | self._cheaper_as_chains(ev, n_idx, answers, present)
        # first the model's own pairs (the first ones); a patient whose own Quickscore fails the precision guard
        # is sent straight to the chain elimination under every variant
        own = np.zeros(len(v_idx), dtype=bool)
        own[np.flatnonzero(v_idx == 0)] = True
        for use in (own, ~own):
            if use is not own:
                failed = np.zeros(len(ev), dtype=bool)
                failed[n_idx[own & chain]] = True
                chain |= failed[n_idx]
            for key, k, rows in _groups(keys, n_present, use & ~chain):
                network = chain_plan(self.structure, key, ())
                per_run = max(1, (ENTRIES_PER_RUN // (network.plan.entries_per_row + self._table_entries(key))) >> k)
                for start in range(0, len(rows), per_run):
                    some = rows[start:start + per_run]
                    z, marginal, spread = self._quickscore(network, key, k, v_idx[some], n_idx[some], answers,
                                                           present, log_absent)
                    ok = (z > 0) & (spread <= MAX_CANCELLATION * z)
                    z_all[some] = z
                    with np.errstate(invalid="ignore", divide="ignore"):
                        out[some] = marginal / z[:, None]
                    chain[some[~ok]] = True
        for key, which, rows in plan_groups(keys, present[n_idx], np.flatnonzero(chain)):
            linked = tuple(tuple(int(c) for c in np.flatnonzero(self.var.base.q[:, f] > 0)) for f in which)
            network = chain_plan(self.structure, key, linked)
            per_run = max(1, ENTRIES_PER_RUN // (network.plan.entries_per_row + self._table_entries(key)))
            for start in range(0, len(rows), per_run):
                some = rows[start:start + per_run]
                z, marginal = self._eliminate_with_present(network, key, which, linked, v_idx[some], n_idx[some],
                                                           answers, log_absent)
                z_all[some] = z
                with np.errstate(invalid="ignore", divide="ignore"):
                    out[some] = marginal / z[:, None]
        bad = ~(z_all > 0)
        if bad.any():
            where = ", ".join(str(first_row + int(i)) for i in np.unique(n_idx[bad])[:10])
            raise ImpossibleEvidenceError(
                f"the evidence of row(s) {where} has probability zero (or below floating-point range) "
                "under some variant of the numbers"
            )
        clipped: FloatArray = np.clip(out, 0.0, 1.0)
        return clipped

    def _cheaper_as_chains(self, ev: EvidenceArrays, n_idx: IntArray, answers: IntArray,
                           present: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
        """Pairs of patients whose present findings cost less as chains than as Quickscore's ``2**k`` terms.

        Only patients scored under at least :data:`CHAIN_FROM` variants are
        considered: comparing needs the chain plan, whose planning then pays off.
        """
        out = np.zeros(len(ev), dtype=bool)
        counts = np.bincount(n_idx, minlength=len(ev))
        for n in np.flatnonzero((counts >= CHAIN_FROM) & present.any(axis=1)):
            key = tuple(bool(a) for a in answers[n] >= 0)
            which = np.flatnonzero(present[n])
            if len(which) > MAX_QUICKSCORE:
                continue
            linked = tuple(tuple(int(c) for c in np.flatnonzero(self.var.base.q[:, f] > 0)) for f in which)
            terms = chain_plan(self.structure, key, ()).plan.entries_per_row << len(which)
            out[n] = chain_plan(self.structure, key, linked).plan.entries_per_row < terms
        chosen: npt.NDArray[np.bool_] = out[n_idx]
        return chosen

    def _table_entries(self, key: tuple[bool, ...]) -> int:
        """Entries of the gathered cause tables and root weights per row (memory of one row)."""
        return self.structure.table_entries(key, [int(np.prod(t.shape[1:])) for t in self.tables])

    def _common_factors(self, network: Network, key: tuple[bool, ...], v: IntArray, n: IntArray,
                        answers: IntArray, repeat: int) -> list[FloatArray]:
        """Root weights of the unanswered roots and every cause's table, one per row (pairs times ``repeat``)."""
        both = self.both
        factors: list[FloatArray] = []
        for i in network.kept:
            root = self.structure.roots[i]
            if root < 0:
                weights = both.age_prevalence[v]
            else:
                prevalence = both.rf_prevalence[v, root]
                weights = np.stack([1.0 - prevalence, prevalence], axis=1)
            factors.append(np.repeat(weights, repeat, axis=0))
        for table, row, (on_roots, _) in zip(self.tables, self.table_row, self.structure.parents, strict=True):
            index: list[IntArray | slice] = [row[v]]
            index += [answers[n, i] if key[i] else slice(None) for i in on_roots]
            factors.append(np.repeat(table[tuple(index)], repeat, axis=0))
        return factors

    def _quickscore(self, network: Network, key: tuple[bool, ...], k: int, v: IntArray, n: IntArray,
                    answers: IntArray, present: npt.NDArray[np.bool_], log_absent: FloatArray,
                    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Inclusion-exclusion over the k present findings of each pair: signed ``Z``, marginals, sum of |terms|."""
        m, s = len(v), 1 << k
        which = np.argsort(~present[n], axis=1, kind="stable")[:, :k]  # (m, k) present findings
        bits = ((np.arange(s)[:, None] >> np.arange(k)) & 1).astype(float)  # (S, k)
        log_off = self.log_off[v[:, None], :, which]  # (m, k, C)
        log_unary = log_absent[v, n][:, None, :] + np.einsum("sk,mkc->msc", bits, log_off)
        log_leak = np.einsum("sk,mk->ms", bits, self.log_keep[v[:, None], which])
        sign = np.where(bits.sum(axis=1) % 2 == 1, -1.0, 1.0)
        unary = np.exp(log_unary.reshape(m * s, -1))
        factors = self._common_factors(network, key, v, n, answers, s)
        factors += [np.stack([np.ones(m * s), unary[:, c]], axis=1) for c in range(unary.shape[1])]
        z, grads = network.plan.run(factors)
        marginal = unary * np.stack([g[:, 1] for g in grads], axis=1)
        weight = np.exp(log_leak)
        term = weight * z.reshape(m, s)
        return ((term * sign).sum(axis=1), np.einsum("ms,msc->mc", sign * weight, marginal.reshape(m, s, -1)),
                term.sum(axis=1))

    def _eliminate_with_present(self, network: Network, key: tuple[bool, ...], which: tuple[int, ...],
                                linked: tuple[tuple[int, ...], ...], v: IntArray, n: IntArray, answers: IntArray,
                                log_absent: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Exact elimination with each present finding a chain of factors over its causes (no subtraction)."""
        m = len(v)
        unary = np.exp(log_absent[v, n])
        factors = self._common_factors(network, key, v, n, answers, 1)
        factors += [np.stack([np.ones(m), unary[:, c]], axis=1) for c in range(unary.shape[1])]
        for f, causes in zip(which, linked, strict=True):
            factors += chain_factors(self.log_keep[v, f], self.log_off[v[:, None], list(causes), f])
        z, grads = network.plan.run(factors)
        return z, unary * np.stack([g[:, 1] for g in grads], axis=1)


def _groups(keys: npt.NDArray[np.bool_], n_present: IntArray, use: npt.NDArray[np.bool_],
            ) -> Iterator[tuple[tuple[bool, ...], int, IntArray]]:
    """Pairs grouped by which roots their patient answered and how many findings they reported present."""
    rows = np.flatnonzero(use)
    if not len(rows):
        return
    code = np.column_stack([keys[rows], n_present[rows]])
    distinct, inverse = np.unique(code, axis=0, return_inverse=True)
    inverse = np.asarray(inverse).reshape(-1)
    for g, row in enumerate(distinct):
        yield tuple(bool(x) for x in row[:-1]), int(row[-1]), rows[inverse == g]
