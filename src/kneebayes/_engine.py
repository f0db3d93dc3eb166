"""The exact numpy inference engine, vectorised over a batch of patients.

How it works, in five steps:

1. The causes' joint prior with each patient's risk factors and age,
   ``W[n, k] = P(causes = k, risk-factor evidence)`` over all ``K = 2**C`` cause
   configurations, is one tensor contraction, its order planned once with
   ``numpy.einsum_path`` and each pairwise step run as a batched matrix product:
   unanswered risk factors and an unknown age enter at their prevalences and are
   summed over exactly.
2. For every configuration ``k`` and finding ``f``, the noisy-OR gives
   ``log P(f absent | k) = log(1 - leak_f) + sum_c k_c log(1 - q_cf)``
   (a ``K x F`` table ``A``, computed once per model) and
   ``log P(f present | k) = log(1 - exp(A))`` (table ``B``).
3. A batch's finding likelihoods are two matrix products:
   ``log L = absent @ A.T + present @ B.T``; unknown findings contribute nothing,
   which sums them out exactly.
4. Posteriors are ``(W * exp(log L - max)) @ configs``, normalised per patient;
   a row whose product underflows is recomputed wholly in log space.
5. Patients are processed in chunks so memory stays bounded, chunks run side by
   side on the machine's cores, and within a chunk ``W`` is computed once per
   distinct pattern of risk-factor and age answers.

Every number is computed from :class:`~kneebayes._parameters.Parameters`; pgmpy
is never imported. The tests check this engine against pgmpy's
VariableElimination to 1e-9.
"""

from __future__ import annotations

import itertools
import os
import string
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ._errors import ImpossibleEvidenceError, OptionError
from ._parameters import FloatArray, Parameters, cause_table

#: Patients per chunk; memory per chunk is about 4 * 2**C * 8 bytes per patient.
DEFAULT_CHUNK = 512

UNKNOWN = -1

#: The most causes the engine enumerates (2**16 configurations per patient).
MAX_CAUSES = 16

#: Threads that process chunks side by side (numpy releases the GIL in its heavy loops).
_WORKERS = min(4, os.cpu_count() or 1)


@dataclass(frozen=True)
class EvidenceArrays:
    """A batch of evidence as arrays (N patients).

    Attributes
    ----------
    findings : ndarray of int8, shape (N, F)
        1 present, 0 absent, -1 unknown.
    risk_factors : ndarray of int8, shape (N, R)
        1 present, 0 absent, -1 unknown.
    age_band : ndarray of int64, shape (N,)
        Age-band index, or -1 when the age is unknown.
    """

    findings: npt.NDArray[np.int8]
    risk_factors: npt.NDArray[np.int8]
    age_band: npt.NDArray[np.int64]

    def __len__(self) -> int:
        return len(self.age_band)

    def chunk(self, start: int, stop: int) -> EvidenceArrays:
        """Rows ``start`` to ``stop``."""
        return EvidenceArrays(self.findings[start:stop], self.risk_factors[start:stop], self.age_band[start:stop])

    def take(self, rows: npt.NDArray[np.int64]) -> EvidenceArrays:
        """Return the given rows."""
        return EvidenceArrays(self.findings[rows], self.risk_factors[rows], self.age_band[rows])


class ExactEngine:
    """Exact posteriors of every cause for a batch of patients.

    Parameters
    ----------
    params : Parameters
        Compiled model parameters.

    Examples
    --------
    >>> from kneebayes import load_model
    >>> engine = ExactEngine(load_model().parameters)
    >>> engine.n_configurations
    4096
    """

    def __init__(self, params: Parameters) -> None:
        self.params = params
        n_c = len(params.causes)
        if n_c > MAX_CAUSES or 1 + len(params.risk_factors) + n_c > 51:  # 51 einsum labels besides "n"
            raise OptionError(
                f"the numpy engine enumerates all 2**{n_c} cause configurations and supports at most "
                f"{MAX_CAUSES} causes and 50 roots and causes together; use engine='pgmpy' for this model"
            )
        self.n_configurations = 1 << n_c
        self._build_prior_contraction()
        # configurations in the order the contraction leaves them (no transpose per batch):
        # row k holds each cause's state in configuration k
        grid = np.array(list(itertools.product((0.0, 1.0), repeat=n_c)))
        self.configs = np.empty_like(grid)
        for position, letter in enumerate(self._final_labels):
            self.configs[:, self._cause_letters.index(letter)] = grid[:, position]
        log_off = np.log1p(-params.q)  # (C, F)
        self._configs_and_ones = np.hstack([self.configs, np.ones((len(self.configs), 1))])
        self.log_absent = np.log1p(-params.leak)[None, :] + self.configs @ log_off  # (K, F)
        self.log_present = _log1mexp(self.log_absent)
        # one matrix product per batch: [absent answers | present answers] @ this (2F, K) table
        self._log_answer_table = np.ascontiguousarray(np.vstack([self.log_absent.T, self.log_present.T]))

    # ---- the causes' prior given risk factors ------------------------------------
    def _build_prior_contraction(self) -> None:
        p = self.params
        letters = iter(ch for ch in string.ascii_letters if ch != "n")
        age_letter = next(letters)
        rf_letters = [next(letters) for _ in p.risk_factors]
        cause_letters = [next(letters) for _ in p.causes]
        self._uses_age = bool(p.age_parent.any())
        self._rf_used = [int(r) for r in np.flatnonzero(p.rf_parent.any(axis=0))]
        terms: list[str] = []
        tensors: list[FloatArray] = []
        if self._uses_age:
            terms.append("n" + age_letter)
        terms += ["n" + rf_letters[r] for r in self._rf_used]
        self._batch_only = not terms  # no cause has a root parent: carry the batch axis with ones
        if self._batch_only:
            terms.append("n")
        for c in range(len(p.causes)):
            cpt = cause_table(p, c)
            tensors.append(cpt.table)
            terms.append(
                (age_letter if cpt.age else "")
                + "".join(rf_letters[i] for i in cpt.risk_factors)
                + "".join(cause_letters[i] for i in cpt.causes)
                + cause_letters[c]
            )
        self._subscripts = ",".join(terms) + "->n" + "".join(cause_letters)
        self._cause_letters = cause_letters
        self._cpts = tensors
        # plan the contraction order once, on a single patient; the same order serves any batch
        single = self._root_weights(
            EvidenceArrays(
                np.full((1, len(p.findings)), UNKNOWN, dtype=np.int8),
                np.full((1, len(p.risk_factors)), UNKNOWN, dtype=np.int8),
                np.full(1, UNKNOWN, dtype=np.int64),
            )
        )
        self._path = np.einsum_path(
            self._subscripts.replace("n", ""), *[w[0] for w in single], *self._cpts, optimize="greedy"
        )[0]
        self._final_labels = self._contract(single)[0][1:]

    def _root_weights(self, ev: EvidenceArrays) -> list[FloatArray]:
        """Per-patient weight vectors of the root nodes (age band, then used risk factors)."""
        p = self.params
        weights: list[FloatArray] = []
        if self._uses_age:
            age = np.tile(p.age_prevalence, (len(ev), 1))
            known = ev.age_band >= 0
            age[known] *= np.eye(len(p.age_bands))[ev.age_band[known]]
            weights.append(age)
        for r in self._rf_used:
            state = ev.risk_factors[:, r]
            prevalence = p.rf_prevalence[r]
            # an answered root keeps its prior weight, so the contraction is the joint with the evidence
            w = np.empty((len(ev), 2))
            w[:, 0] = np.where(state == 1, 0.0, 1.0 - prevalence)
            w[:, 1] = np.where(state == 0, 0.0, prevalence)
            weights.append(w)
        if self._batch_only:
            weights.append(np.ones(len(ev)))
        return weights

    def _contract(self, weights: list[FloatArray]) -> tuple[str, FloatArray]:
        """Run the planned contraction pair by pair, each pair one batched matrix product.

        ``numpy.matmul`` on the batch axis is several times faster than
        ``numpy.einsum`` when every operand carries the batch axis.
        """
        terms, output = self._subscripts.split("->")
        names = terms.split(",")
        operands = [*weights, *self._cpts]
        for step in self._path[1:]:
            # a step may merge more than two operands: fold them pairwise
            group = [(names.pop(i), operands.pop(i)) for i in sorted(step, reverse=True)]
            name, result = group.pop()
            while group:
                other_name, other = group.pop()
                keep = set("".join(names)) | set(output) | set("".join(n for n, _ in group))
                name, result = _pair_product(name, result, other_name, other, keep)
            if len(step) == 1:  # a lone operand: sum the labels nothing else needs
                keep = set("".join(names)) | set(output)
                drop = tuple(i for i, ch in enumerate(name) if ch not in keep)
                result, name = result.sum(axis=drop), "".join(ch for ch in name if ch in keep)
            names.append(name)
            operands.append(result)
        (name,), (joint,) = names, operands
        if name[0] != "n":
            joint, name = np.moveaxis(joint, name.index("n"), 0), "n" + name.replace("n", "")
        return name, joint

    def prior(self, ev: EvidenceArrays) -> FloatArray:
        """``P(causes = k, risk-factor and age evidence)`` for each patient, shape (N, K).

        Column ``k`` is the configuration in row ``k`` of :attr:`configs`.
        """
        name, joint = self._contract(self._root_weights(ev))
        if name[1:] != self._final_labels:  # pragma: no cover - the plan is fixed at build time
            joint = joint.transpose([0, *[name.index(ch) for ch in self._final_labels]])
        return np.ascontiguousarray(joint).reshape(len(ev), self.n_configurations)

    def _prior_deduplicated(self, ev: EvidenceArrays) -> FloatArray:
        """:meth:`prior`, computed once per distinct pattern of risk-factor and age evidence."""
        code = ev.age_band + 1  # one integer per pattern: age in 0..A, each risk factor in 0..2
        for r in self._rf_used:
            code = code * 3 + (ev.risk_factors[:, r].astype(np.int64) + 1)
        unique, first, inverse = np.unique(code, return_index=True, return_inverse=True)
        if len(unique) == len(ev):
            return self.prior(ev)
        return self.prior(ev.take(first))[inverse.reshape(-1)]

    # ---- posteriors -------------------------------------------------------------
    def log_likelihood(self, ev: EvidenceArrays) -> FloatArray:
        """``log P(finding evidence | causes = k)`` for each patient, shape (N, K)."""
        answers = np.concatenate([ev.findings == 0, ev.findings == 1], axis=1).astype(float)
        log_likelihood: FloatArray = answers @ self._log_answer_table
        return log_likelihood

    def log_evidence(self, ev: EvidenceArrays, *, chunk_size: int = DEFAULT_CHUNK) -> FloatArray:
        """``log P(evidence)`` of each patient, shape (N,): how probable the answers are under the model.

        The predictive probability of an unanswered finding ``f`` is
        ``exp(log_evidence(with f present) - log_evidence(without f))``.
        """
        out = np.empty(len(ev))
        for start in range(0, len(ev), chunk_size):
            part = ev.chunk(start, min(start + chunk_size, len(ev)))
            with np.errstate(divide="ignore"):
                logits = np.log(self._prior_deduplicated(part)) + self.log_likelihood(part)
            top = logits.max(axis=1)
            with np.errstate(invalid="ignore"):
                out[start:start + len(part)] = top + np.log(np.exp(logits - top[:, None]).sum(axis=1))
        return out + self._log_unused_roots(ev)

    def _log_unused_roots(self, ev: EvidenceArrays) -> FloatArray:
        """Return the log P of answered roots that no cause depends on (they are outside the contraction)."""
        p = self.params
        total = np.zeros(len(ev))
        for r in set(range(len(p.risk_factors))) - set(self._rf_used):
            state = ev.risk_factors[:, r]
            total += np.where(state == 1, np.log(p.rf_prevalence[r]), 0.0)
            total += np.where(state == 0, np.log1p(-p.rf_prevalence[r]), 0.0)
        if not self._uses_age:
            known = ev.age_band >= 0
            total[known] += np.log(p.age_prevalence[ev.age_band[known]])
        return total

    def posteriors(
        self,
        ev: EvidenceArrays,
        *,
        chunk_size: int = DEFAULT_CHUNK,
        progress: Callable[[int], None] | None = None,
    ) -> FloatArray:
        """P(cause present | evidence) for each patient and cause, shape (N, C).

        Parameters
        ----------
        ev : EvidenceArrays
            The batch.
        chunk_size : int
            Patients per chunk.
        progress : callable, optional
            Called with the number of patients finished after each chunk.

        Raises
        ------
        ImpossibleEvidenceError
            If some patient's evidence has probability zero under the model.
        """
        out = np.empty((len(ev), len(self.params.causes)))
        starts = range(0, len(ev), chunk_size)

        def run(start: int) -> int:
            stop = min(start + chunk_size, len(ev))
            out[start:stop] = self._chunk_posteriors(ev.chunk(start, stop), start)
            return stop - start

        _run_side_by_side(run, starts, progress)
        return out

    def _chunk_posteriors(self, part: EvidenceArrays, start: int) -> FloatArray:
        """Posteriors of one chunk (``start`` is its first row, for error messages)."""
        rows = np.arange(start, start + len(part))
        return _posteriors_from(self.log_likelihood(part), self._prior_deduplicated(part), self._configs_and_ones, rows)

    def finding_sweep(
        self, ev: EvidenceArrays, f: int, leaks: FloatArray, q: FloatArray, *, chunk_size: int = DEFAULT_CHUNK
    ) -> FloatArray:
        """Posteriors under variants of one finding's numbers, reusing everything else.

        Parameters
        ----------
        ev : EvidenceArrays
            The patients (N).
        f : int
            Index of the finding whose numbers vary.
        leaks : ndarray, shape (V,)
            The finding's leak in each variant.
        q : ndarray, shape (V, C)
            The finding's noisy-OR parameters in each variant.

        Returns
        -------
        ndarray, shape (V, N, C)
            Only patients who answered the finding are recomputed per variant: the
            causes' prior and the other findings' likelihoods are computed once.
        """
        n_v = len(leaks)
        out = np.empty((n_v, len(ev), len(self.params.causes)))
        log_absent = np.log1p(-leaks)[:, None] + np.log1p(-q) @ self.configs.T  # (V, K)
        log_present = _log1mexp(log_absent)
        for start in range(0, len(ev), chunk_size):
            self._finding_sweep_chunk(ev.chunk(start, min(start + chunk_size, len(ev))), start, f,
                                      log_absent, log_present, out)
        return out

    def _finding_sweep_chunk(
        self,
        part: EvidenceArrays,
        start: int,
        f: int,
        log_absent: FloatArray,
        log_present: FloatArray,
        out: FloatArray,
    ) -> None:
        """Fill ``out[:, start:start + len(part)]`` for one chunk of :meth:`finding_sweep`."""
        prior = self._prior_deduplicated(part)
        log_l = self.log_likelihood(part)
        state = part.findings[:, f]
        answered = np.flatnonzero(state != UNKNOWN)
        unanswered = np.flatnonzero(state == UNKNOWN)
        if len(unanswered):  # the finding was not answered: every variant gives the same posteriors
            same = _posteriors_from(log_l[unanswered], prior[unanswered], self._configs_and_ones, start + unanswered)
            out[:, start + unanswered] = same[None]
        if not len(answered):
            return
        present = (state[answered] == 1)[:, None]
        # the answered rows without this finding's own term; each variant adds its own back
        rest = log_l[answered] - np.where(present, self.log_present[:, f], self.log_absent[:, f])
        answered_prior = prior[answered]

        def one(v: int) -> int:
            variant = rest + np.where(present, log_present[v], log_absent[v])
            out[v, start + answered] = _posteriors_from(variant, answered_prior, self._configs_and_ones,
                                                        start + answered)
            return len(answered)

        _run_side_by_side(one, range(len(log_absent)))


def _run_side_by_side(
    task: Callable[[int], int], items: range, progress: Callable[[int], None] | None = None
) -> None:
    """Run ``task`` on every item, on all cores when there is more than one item.

    numpy releases the GIL in matrix products and ufuncs, so items run side by side;
    BLAS's own threads would compete with them, so they are held to one meanwhile.
    ``progress`` receives each task's return value (a count) as it finishes.
    """
    if len(items) > 1 and _WORKERS > 1:
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=1, user_api="blas"), ThreadPoolExecutor(max_workers=_WORKERS) as pool:
            for done in pool.map(task, items):
                if progress is not None:
                    progress(done)
        return
    for item in items:
        done = task(item)
        if progress is not None:
            progress(done)


def _posteriors_from(
    log_l: FloatArray, prior: FloatArray, configs_and_ones: FloatArray, rows: npt.NDArray[np.int64]
) -> FloatArray:
    """Normalised posteriors from log-likelihoods and priors of cause configurations.

    ``rows`` are the patients' row numbers in the batch, for error messages.
    """
    # probability space: exp(log L - max) times the prior; rows that underflow are redone in logs.
    # Shifting a row by a constant changes nothing after normalisation, so log_l is shifted in place.
    log_l -= log_l.max(axis=1, keepdims=True)
    weights = np.exp(log_l)
    weights *= prior
    sums = weights @ configs_and_ones  # numerators and, in the last column, the normaliser
    weak = np.flatnonzero(~(sums[:, -1] > 1e-250))
    if len(weak):
        with np.errstate(divide="ignore"):
            logits = np.log(prior[weak]) + log_l[weak]
        top = logits.max(axis=1, keepdims=True)
        bad = ~np.isfinite(top[:, 0])
        if bad.any():
            where = ", ".join(str(int(rows[i])) for i in weak[bad][:10])
            raise ImpossibleEvidenceError(
                f"the evidence of row(s) {where} has probability zero (or below floating-point range) under this model"
            )
        sums[weak] = np.exp(logits - top) @ configs_and_ones
    # the division can round one ulp above 1 for a certain cause
    posteriors: FloatArray = np.clip(sums[:, :-1] / sums[:, -1:], 0.0, 1.0)
    return posteriors


def _pair_product(name_a: str, a: FloatArray, name_b: str, b: FloatArray, keep: set[str]) -> tuple[str, FloatArray]:
    """Contract two labelled tensors with one batched matrix product.

    Labels private to one operand and not in ``keep`` are summed first; labels in
    both and in ``keep`` become batch axes; labels in both and not in ``keep`` are
    contracted. Returns the result's labels (batch, then ``a``'s, then ``b``'s) and
    the result.
    """
    for side in (0, 1):
        name, tensor, other = (name_a, a, name_b) if side == 0 else (name_b, b, name_a)
        drop = tuple(i for i, ch in enumerate(name) if ch not in other and ch not in keep)
        if drop:
            tensor = tensor.sum(axis=drop)
            name = "".join(ch for ch in name if ch in other or ch in keep)
        if side == 0:
            name_a, a = name, tensor
        else:
            name_b, b = name, tensor
    batch = [ch for ch in name_a if ch in name_b and ch in keep]
    summed = [ch for ch in name_a if ch in name_b and ch not in keep]
    only_a = [ch for ch in name_a if ch not in name_b]
    only_b = [ch for ch in name_b if ch not in name_a]
    size = {**dict(zip(name_a, a.shape, strict=True)), **dict(zip(name_b, b.shape, strict=True))}

    def block(labels: list[str]) -> int:
        return int(np.prod([size[ch] for ch in labels], dtype=np.int64))

    left = a.transpose([name_a.index(ch) for ch in batch + only_a + summed])
    right = b.transpose([name_b.index(ch) for ch in batch + summed + only_b])
    product = np.matmul(
        left.reshape(block(batch), block(only_a), block(summed)),
        right.reshape(block(batch), block(summed), block(only_b)),
    )
    labels = batch + only_a + only_b
    return "".join(labels), product.reshape([size[ch] for ch in labels])


def _log1mexp(x: FloatArray) -> FloatArray:
    """Compute ``log(1 - exp(x))`` accurately for ``x < 0``."""
    return np.where(x > -0.6931471805599453, np.log(-np.expm1(x)), np.log1p(-np.exp(x)))
