"""The exact numpy inference engine, vectorised over a batch of patients.

It has two exact methods. Models with up to :data:`ENUMERATE_UP_TO` causes (the
shipped model has 12) *enumerate* all ``2**C`` cause configurations, as below;
larger models are *factored* (:mod:`kneebayes._factored`): inclusion-exclusion
over the present findings (Quickscore) on top of a variable elimination of the
root and cause network, whose cost grows with the network's treewidth rather
than doubling with each cause, with a precision guard and an exact fallback.

Enumeration works in five steps:

1. Absent findings factorise over the causes under the noisy-OR, so each patient's
   absent answers become one factor per cause, ``prod_f (1 - q_cf)``.
2. The causes' joint with each patient's risk-factor and age answers, times those
   factors, over all ``K = 2**C`` configurations, is one tensor contraction
   conditioned on the few roots that couple the network most
   (:mod:`kneebayes._contraction`): unanswered roots are summed exactly, answered
   ones cost nothing, and each step is a batched matrix product.
3. Each present finding multiplies its column of ``P(f present | k)``, a ``F x K``
   table computed once per model; unknown findings contribute nothing, which
   sums them out exactly.
4. Posteriors are ``joint @ configs`` over ``joint @ 1`` per patient; a row whose
   joint underflows is recomputed wholly in log space.
5. The batch is sorted by its pattern of risk-factor and age answers and
   processed in chunks so memory stays bounded; chunks run side by side on the
   machine's cores, and the contraction runs once per distinct pattern in a
   chunk. Batches under 64 patients keep each pattern's prior across calls.

Every number is computed from :class:`~kneebayes._parameters.Parameters`; pgmpy
is never imported. The tests check this engine against pgmpy's
VariableElimination to 1e-9.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import cached_property
from typing import TYPE_CHECKING, Literal

import numpy as np
import numpy.typing as npt

from ._batch import UNKNOWN as UNKNOWN
from ._batch import EvidenceArrays as EvidenceArrays
from ._contraction import ConditionedPlan, IntArray, Network, choose_conditioning, network
from ._errors import ImpossibleEvidenceError, OptionError
from ._factored import FactoredEngine
from ._parameters import FloatArray, Parameters, cause_table

if TYPE_CHECKING:  # the re-parameterisation modules load on first use
    from ._variants import Variants

#: Patients per chunk of a cause sweep (each patient has one replica per value of the edited causes' roots).
_SWEEP_CHUNK = 64

#: Patients per chunk; memory per chunk is about 3 * 2**C * 8 bytes per patient.
DEFAULT_CHUNK = 512


#: The most causes the engine can enumerate (2**16 configurations per patient).
MAX_CAUSES = 16

#: With method="auto", models with at most this many causes are enumerated, larger ones factored.
ENUMERATE_UP_TO = 14

Method = Literal["auto", "enumerate", "factored"]

#: Threads that process chunks side by side (numpy releases the GIL in its heavy loops).
_WORKERS = min(4, os.cpu_count() or 1)

#: Below this many patients a chunk uses the plain contraction (choosing what to condition on costs ~0.2 s once).
_CONDITIONED_FROM = 64

#: Root-answer patterns whose prior a small batch keeps (32 kB each for 12 causes).
_PRIOR_CACHE = 256


class ExactEngine:
    """Exact posteriors of every cause for a batch of patients.

    Parameters
    ----------
    params : Parameters
        Compiled model parameters.
    method : {"auto", "enumerate", "factored"}
        ``"enumerate"`` sums over all ``2**C`` cause configurations (up to
        :data:`MAX_CAUSES` causes); ``"factored"`` runs Quickscore over a variable
        elimination (any number of causes; :mod:`kneebayes._factored`). ``"auto"``
        enumerates up to :data:`ENUMERATE_UP_TO` causes. Both are exact. :meth:`prior`,
        :meth:`log_likelihood` and the sweeps need enumeration.

    Examples
    --------
    >>> from kneebayes import load_model
    >>> engine = ExactEngine(load_model().parameters)
    >>> engine.n_configurations, engine.method  # the shipped model has 18 causes: too many to enumerate
    (262144, 'factored')
    """

    _factored: FactoredEngine

    def __init__(self, params: Parameters, *, method: Method = "auto") -> None:
        self.params = params
        n_c = len(params.causes)
        enumerable = n_c <= MAX_CAUSES and 1 + len(params.risk_factors) + n_c <= 51  # 51 einsum labels besides "n"
        if method not in ("auto", "enumerate", "factored"):
            raise OptionError(f"The 'method' parameter must be 'auto', 'enumerate' or 'factored'. Got {method!r}.")
        if method == "enumerate" and not enumerable:
            raise OptionError(
                f"enumeration covers all 2**{n_c} cause configurations and supports at most {MAX_CAUSES} causes "
                f"and 50 roots and causes together; use method='factored' for this model"
            )
        if method == "auto":
            method = "enumerate" if n_c <= ENUMERATE_UP_TO and enumerable else "factored"
        #: ``"enumerate"`` (all ``2**C`` cause configurations) or ``"factored"`` (Quickscore over elimination).
        self.method: Method = method
        self.n_configurations = 1 << n_c
        if method == "factored":
            self._factored = FactoredEngine(params)
            self._roots = self._factored.roots
            return
        self._network = network(params)
        self._roots = self._network.roots
        self._prior_cache: OrderedDict[int, FloatArray] = OrderedDict()
        self._cache_lock = threading.Lock()
        self._log_off = np.ascontiguousarray(np.log1p(-params.q).T)  # (F, C)
        # the tables below are built on first use: a variant scored in a large batch needs none of them

    @cached_property
    def _plain(self) -> _Scoring:
        """The unconditioned plan (small batches, :meth:`prior`)."""
        return _Scoring(ConditionedPlan(self.params, self._network, ()), self.params)

    @property
    def configs(self) -> FloatArray:
        """Row ``k`` holds each cause's state in configuration ``k`` (the columns of :meth:`prior`)."""
        return self._plain.plan.configs

    @property
    def _configs_and_ones(self) -> FloatArray:
        return self._plain.configs_and_ones

    @cached_property
    def log_absent(self) -> FloatArray:
        """``log P(finding f absent | causes = k)``, shape (K, F), columns of :meth:`prior`."""
        return self._plain.log_absent.T

    @cached_property
    def log_present(self) -> FloatArray:
        """``log P(finding f present | causes = k)``, shape (K, F)."""
        with np.errstate(divide="ignore"):  # P(present) is computed without cancellation: its log is accurate
            log_present: FloatArray = np.log(self._plain.present.T)
        return log_present

    @cached_property
    def _log_answer_table(self) -> FloatArray:
        """Rows: each finding absent, then each present, then zeros, shape (2F + 1, K)."""
        return np.ascontiguousarray(np.vstack([self.log_absent.T, self.log_present.T,
                                               np.zeros((1, self.n_configurations))]))

    @cached_property
    def _conditioned(self) -> _Scoring:
        """The plan for batches, conditioned on the roots that cut its cost most (chosen once, on first use)."""
        plan = ConditionedPlan(self.params, self._network, choose_conditioning(self._network))
        return _Scoring(plan, self.params)

    def posteriors_under(self, ev: EvidenceArrays, variants: Variants | Sequence[Parameters]) -> FloatArray:
        """Posteriors of the same patients under many parameter sets of this engine's structure.

        This is the one re-parameterisation entry point, under the uncertainty and
        sensitivity analyses and :meth:`~kneebayes.Model.sweep`. The sets are a
        :class:`~kneebayes._variants.Variants` (numbers with a leading variant
        axis, intercepts solved for all sets at once; see
        :meth:`~kneebayes._variants.Variants.from_numbers`) or compiled parameter
        sets (for example from :func:`~kneebayes._parameters.draw_parameters`).
        All sets and patients are scored together, exactly, by this engine's
        method (:mod:`kneebayes._variant_scoring`): no model or engine is built
        per set, and a set is scored for a patient only when it changes numbers
        that patient's posteriors depend on.

        Parameters
        ----------
        ev : EvidenceArrays
            The patients (N).
        variants : Variants or sequence of Parameters
            D parameter sets with the same causes, roots, findings and edges as this engine's.

        Returns
        -------
        ndarray, shape (D, N, C)

        Raises
        ------
        OptionError
            When a set's edges differ from this engine's.
        ImpossibleEvidenceError
            When a patient's answers have probability zero under some set.

        Examples
        --------
        >>> import numpy as np
        >>> from kneebayes import load_model
        >>> from kneebayes._parameters import draw_parameters
        >>> from kneebayes._synthetic import symptom_checker_evidence
        >>> model = load_model()
        >>> draws = draw_parameters(model.priors, model.parameters, 3, seed=0)
        >>> engine = ExactEngine(model.parameters)
        >>> engine.posteriors_under(symptom_checker_evidence(model.parameters, 5), draws).shape
        (3, 5, 18)
        """
        from ._variant_scoring import posteriors_under
        from ._variants import Variants

        if isinstance(variants, Variants):
            Variants.from_parameters(self.params, [variants.base])  # checks the structure
            if variants.base is not self.params:
                variants = Variants.from_parameters(self.params, []).stack(variants)
        else:
            variants = Variants.from_parameters(self.params, list(variants))
        return posteriors_under(variants, ev, "enumerate" if self.method == "enumerate" else "factored")

    # ---- the causes' prior given risk factors ------------------------------------
    def prior(self, ev: EvidenceArrays) -> FloatArray:
        """``P(causes = k, risk-factor and age evidence)`` for each patient, shape (N, K).

        Column ``k`` is the configuration in row ``k`` of :attr:`configs`. Enumeration only.
        """
        self._require_enumeration("prior")
        joint = self._plain.plan.joint(ev.age_band, ev.risk_factors)
        out = np.empty_like(joint.values)
        out[joint.order] = joint.values
        return out

    # ---- posteriors -------------------------------------------------------------
    def log_likelihood(self, ev: EvidenceArrays) -> FloatArray:
        """``log P(finding evidence | causes = k)`` for each patient, shape (N, K). Enumeration only."""
        self._require_enumeration("log_likelihood")
        n_f = len(self.params.findings)
        # each answer adds its row of the table; the last row (zeros) pads the shorter lists. A matrix
        # product would also do, but 0 * -inf (an impossible state of an unanswered finding) is NaN.
        rows = np.where(ev.findings == 0, np.arange(n_f), np.where(ev.findings == 1, np.arange(n_f) + n_f, 2 * n_f))
        rows.sort(axis=1)
        log_likelihood = np.zeros((len(ev), self._log_answer_table.shape[1]))
        for slot in range(int((rows < 2 * n_f).sum(axis=1).max(initial=0))):
            log_likelihood += self._log_answer_table[rows[:, slot]]
        return log_likelihood

    def log_evidence(self, ev: EvidenceArrays, *, chunk_size: int = DEFAULT_CHUNK) -> FloatArray:
        """``log P(evidence)`` of each patient, shape (N,): how probable the answers are under the model.

        The predictive probability of an unanswered finding ``f`` is
        ``exp(log_evidence(with f present) - log_evidence(without f))``.
        """
        out = np.empty(len(ev))
        for start in range(0, len(ev), chunk_size):
            part = ev.chunk(start, min(start + chunk_size, len(ev)))
            if self.method == "factored":
                out[start:start + len(part)] = self._factored.score(part, start).log_evidence
                continue
            with np.errstate(divide="ignore"):
                logits = np.log(self.prior(part)) + self.log_likelihood(part)
            top = logits.max(axis=1)
            with np.errstate(invalid="ignore"):
                out[start:start + len(part)] = top + np.log(np.exp(logits - top[:, None]).sum(axis=1))
        return out + self._log_unused_roots(ev)

    def finding_predictive(self, ev: EvidenceArrays, *, chunk_size: int = DEFAULT_CHUNK) -> FloatArray:
        """``P(finding f reported present | evidence)`` for each patient and finding, shape (N, F).

        Exact: the posterior over cause configurations times each finding's
        ``P(present | configuration)``, since findings depend only on the causes.
        An answered finding gets its own answer (1 or 0) up to rounding.

        Raises
        ------
        ImpossibleEvidenceError
            If some patient's evidence has probability zero under the model.
        """
        if self.method == "factored":
            return self._finding_predictive_factored(ev, chunk_size=chunk_size)
        out = np.empty((len(ev), len(self.params.findings)))
        present = -np.expm1(self.log_absent)  # (K, F), without cancellation
        for start in range(0, len(ev), chunk_size):
            part = ev.chunk(start, min(start + chunk_size, len(ev)))
            with np.errstate(divide="ignore"):
                logits = np.log(self.prior(part)) + self.log_likelihood(part)
            top = logits.max(axis=1, keepdims=True)
            bad = ~np.isfinite(top[:, 0])
            if bad.any():
                where = ", ".join(str(start + int(i)) for i in np.flatnonzero(bad)[:10])
                raise ImpossibleEvidenceError(f"the evidence of row(s) {where} has probability zero under this model")
            weights = np.exp(logits - top)
            weights /= weights.sum(axis=1, keepdims=True)
            out[start:start + len(part)] = np.clip(weights @ present, 0.0, 1.0)
        return out

    def _finding_predictive_factored(self, ev: EvidenceArrays, *, chunk_size: int) -> FloatArray:
        """``finding_predictive`` without enumeration: ``1 - P(e, f absent) / P(e)`` from ``log_evidence``.

        Each patient becomes ``1 + F`` rows (the evidence, then the evidence with each
        finding answered absent), scored in one batch; an answered finding keeps its answer.
        """
        n, n_f = ev.findings.shape
        findings = np.repeat(ev.findings, n_f + 1, axis=0).reshape(n, n_f + 1, n_f)
        unanswered = ev.findings == UNKNOWN
        idx = np.arange(n_f)
        findings[:, idx + 1, idx] = np.where(unanswered, 0, ev.findings)
        rows = EvidenceArrays(findings.reshape(n * (n_f + 1), n_f), np.repeat(ev.risk_factors, n_f + 1, axis=0),
                              np.repeat(ev.age_band, n_f + 1))
        logs = self.log_evidence(rows, chunk_size=chunk_size).reshape(n, n_f + 1)
        p_present = np.clip(-np.expm1(logs[:, 1:] - logs[:, :1]), 0.0, 1.0)
        return np.where(unanswered, p_present, (ev.findings == 1).astype(float))

    def _log_unused_roots(self, ev: EvidenceArrays) -> FloatArray:
        """Return the log P of answered roots that no cause depends on (they are outside the contraction)."""
        p = self.params
        total = np.zeros(len(ev))
        for r in set(range(len(p.risk_factors))) - set(self._roots):
            state = ev.risk_factors[:, r]
            total += np.where(state == 1, np.log(p.rf_prevalence[r]), 0.0)
            total += np.where(state == 0, np.log1p(-p.rf_prevalence[r]), 0.0)
        if -1 not in self._roots:
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
        if self.method == "factored":
            def run_factored(start: int) -> int:
                stop = min(start + chunk_size, len(ev))
                out[start:stop] = self._factored.score(ev.chunk(start, stop), start).posteriors
                return stop - start

            _run_side_by_side(run_factored, starts, progress)
            return out
        # patients with the same risk-factor and age answers go to the same chunks, where the
        # contraction runs once per distinct pattern: sort the whole batch by pattern first
        order = np.argsort(self._pattern_code(ev), kind="stable") if len(ev) > chunk_size else np.arange(len(ev))
        ordered = ev.take(order)

        def run(start: int) -> int:
            stop = min(start + chunk_size, len(ev))
            out[order[start:stop]] = self._chunk_posteriors(ordered.chunk(start, stop), order[start:stop])
            return stop - start

        try:
            _run_side_by_side(run, starts, progress)
        except ImpossibleEvidenceError:
            if len(ev) <= chunk_size:
                raise
            # name the impossible rows in batch order: score the chunks unsorted to raise the same error
            for start in starts:
                stop = min(start + chunk_size, len(ev))
                self._chunk_posteriors(ev.chunk(start, stop), np.arange(start, stop))
            raise
        return out

    def _pattern_code(self, ev: EvidenceArrays) -> IntArray:
        """One integer per patient that identifies their answers on the roots of the network."""
        code = np.zeros(len(ev), dtype=np.int64)
        for root, card in zip(self._network.roots, self._network.root_cards, strict=True):
            code = code * (card + 1) + (ev.age_band + 1 if root < 0 else ev.risk_factors[:, root] + 1)
        return code

    def _require_enumeration(self, name: str) -> None:
        if self.method != "enumerate":
            raise OptionError(
                f"{name} works on all 2**C cause configurations, which this engine does not enumerate "
                f"({len(self.params.causes)} causes, method={self.method!r})"
            )

    def _absent_factor(self, part: EvidenceArrays) -> FloatArray:
        """Return ``prod over absent findings f of (1 - q_cf)`` per patient and cause, shape (N, C)."""
        factor: FloatArray = np.exp((part.findings == 0).astype(float) @ self._log_off)
        return factor

    def _small_batch(self, part: EvidenceArrays, numbers: IntArray) -> FloatArray:
        """Posteriors of a few patients: each root-answer pattern's prior (kept across calls) times the likelihood.

        The prior of a pattern, ``P(causes = k, risk-factor and age answers)``, depends on
        nothing else, so the last :data:`_PRIOR_CACHE` patterns seen are kept: a
        patient whose pattern was seen before costs one likelihood table and two
        small matrix products.
        """
        code = self._pattern_code(part)
        with self._cache_lock:
            cached = [self._prior_cache.get(int(c)) for c in code]
        missing = [i for i, prior in enumerate(cached) if prior is None]
        if missing:
            rows = np.array(missing)
            joint = self._plain.plan.joint(part.age_band[rows], part.risk_factors[rows])
            fresh = np.empty_like(joint.values)
            fresh[joint.order] = joint.values
            with self._cache_lock:
                for i, prior in zip(missing, fresh, strict=True):
                    cached[i] = prior
                    self._prior_cache[int(code[i])] = prior
                    self._prior_cache.move_to_end(int(code[i]))
                while len(self._prior_cache) > _PRIOR_CACHE:
                    self._prior_cache.popitem(last=False)
        priors = np.stack([prior for prior in cached if prior is not None])
        return _posteriors_from(self.log_likelihood(part), priors, self._configs_and_ones, numbers)

    def _chunk_posteriors(self, part: EvidenceArrays, numbers: IntArray) -> FloatArray:
        """Posteriors of one chunk (``numbers`` are its rows' numbers in the batch, for error messages)."""
        if len(part) < _CONDITIONED_FROM:
            return self._small_batch(part, numbers)
        scoring = self._conditioned
        present = part.findings == 1
        n_present = present.sum(axis=1)
        factor = self._absent_factor(part)
        joint = scoring.plan.joint(part.age_band, part.risk_factors, factor, tiebreak=-n_present)
        values = joint.values
        # each present finding multiplies its column; rows are grouped, most present findings first in a group
        n_sorted = n_present[joint.order]
        listed = np.argsort(~present[joint.order], axis=1, kind="stable")  # present findings first, per row
        for lo, hi in zip(joint.bounds[:-1], joint.bounds[1:], strict=True):
            for slot in range(int(n_sorted[lo]) if hi > lo else 0):
                end = lo + int(np.count_nonzero(n_sorted[lo:hi] > slot))
                values[lo:end] *= scoring.present[listed[lo:end, slot]]
        sums = values @ scoring.configs_and_ones  # numerators and, in the last column, the normaliser
        out = np.empty((len(part), len(self.params.causes)))
        weak = np.flatnonzero(~(sums[:, -1] > 1e-250))
        if len(weak):  # underflow (or impossible evidence): redo those rows in log space
            rows = joint.order[weak]
            redo = part.take(rows)
            sums[weak, :-1] = _posteriors_from(self.log_likelihood(redo), self.prior(redo),
                                               self._configs_and_ones, numbers[rows])
            sums[weak, -1] = 1.0
        # the division can round one ulp above 1 for a certain cause
        out[joint.order] = np.clip(sums[:, :-1] / sums[:, -1:], 0.0, 1.0)
        return out

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
        self._require_enumeration("finding_sweep")
        n_v = len(leaks)
        out = np.empty((n_v, len(ev), len(self.params.causes)))
        log_absent = np.log1p(-leaks)[:, None] + np.log1p(-q) @ self.configs.T  # (V, K)
        log_present = _log1mexp(log_absent)
        for start in range(0, len(ev), chunk_size):
            self._finding_sweep_chunk(ev.chunk(start, min(start + chunk_size, len(ev))), start, f,
                                      log_absent, log_present, out)
        return out

    def cause_sweep(
        self, ev: EvidenceArrays, variants: list[Parameters], changed: tuple[int, ...]
    ) -> FloatArray:
        """Posteriors under variants whose only differences are the tables of the ``changed`` causes.

        The rest of the network is contracted once, with the changed causes'
        tables left out and their parents kept (roots conditioned on, cause
        parents as labels): per patient replica, ``G[kept, :]`` sums the joint of
        everything else times the findings' likelihood. A variant then costs one
        small product per replica, ``sum over kept of T_variant * G``.

        Parameters
        ----------
        ev : EvidenceArrays
            The patients (N).
        variants : list of Parameters
            One per variant, equal to this engine's parameters outside ``changed``.
        changed : tuple of int
            The causes whose tables differ.

        Returns
        -------
        ndarray, shape (V, N, C)
        """
        self._require_enumeration("cause_sweep")
        p, net = self.params, self._network
        kept_causes = sorted({*changed, *[int(i) for d in changed for i in np.flatnonzero(p.cause_parent[d])]})
        kept = "".join(net.cause_letters[i] for i in kept_causes)
        parents = {i for i, root in enumerate(net.roots) for d in changed
                   if (p.age_parent[d] if root < 0 else p.rf_parent[d, root])}
        cavity = Network(net.roots, net.root_letters, net.root_cards, net.cause_letters, net.table_terms,
                         tuple(np.ones_like(t) if c in changed else t for c, t in enumerate(net.tables)))
        conditioned = tuple(sorted(set(choose_conditioning(net)) | parents))
        scoring = _Scoring(ConditionedPlan(p, cavity, conditioned), p)
        out = np.empty((len(variants), len(ev), len(p.causes)))

        def run(start: int) -> int:
            part = ev.chunk(start, min(start + _SWEEP_CHUNK, len(ev)))
            out[:, start:start + len(part)] = self._cause_sweep_chunk(part, scoring, variants, changed, kept)
            return len(part)

        _run_side_by_side(run, range(0, len(ev), _SWEEP_CHUNK))
        return out

    def _cause_sweep_chunk(
        self,
        part: EvidenceArrays,
        scoring: _Scoring,
        variants: list[Parameters],
        changed: tuple[int, ...],
        kept: str,
    ) -> FloatArray:
        """Posteriors of one chunk of :meth:`cause_sweep`, shape (V, n, C)."""
        plan, net = scoring.plan, self._network
        factor = self._absent_factor(part)
        joint = plan.joint(part.age_band, part.risk_factors, factor, per_replica=True)
        assert joint.patient is not None and joint.value is not None  # per_replica returns both
        values, patient = joint.values, joint.patient
        # the present findings' likelihood, once per patient, then onto each of their replicas
        present = part.findings[joint.order] == 1
        n_present = present.sum(axis=1)
        listed = np.argsort(~present, axis=1, kind="stable")
        likelihood = np.ones((len(part), len(values[0])))
        for slot in range(int(n_present.max(initial=0))):
            rows = np.flatnonzero(n_present > slot)
            likelihood[rows] *= scoring.present[listed[rows, slot]]
        values *= likelihood[patient]
        # G[r, kept configuration, :] = sums of numerators and normaliser, the kept causes' states held fixed
        final = plan.final_labels
        axes = [final.index(ch) for ch in kept]
        others = [i for i in range(len(final)) if i not in axes]
        n_kept = 1 << len(kept)
        cube = values.reshape(len(values), *[2] * len(final)).transpose([0, *[1 + i for i in axes + others]])
        table = scoring.configs_and_ones.reshape(*[2] * len(final), -1).transpose([*axes, *others, len(final)])
        g = np.matmul(cube.reshape(len(values), n_kept, 1, -1).transpose(1, 0, 2, 3),
                      table.reshape(n_kept, 1, -1, table.shape[-1]))[:, :, 0, :].transpose(1, 0, 2)
        decoded = np.unravel_index(joint.value, [net.root_cards[i] for i in plan.conditioned])
        root_values = {i: np.asarray(v, dtype=np.int64) for i, v in zip(plan.conditioned, decoded, strict=True)}
        firsts = np.flatnonzero(np.r_[True, patient[1:] != patient[:-1]])
        out = np.empty((len(variants), len(part), len(self.params.causes)))
        for v, variant in enumerate(variants):
            sums = np.add.reduceat(np.einsum("nk,nkj->nj", _cause_factor(variant, net, changed, kept, root_values), g),
                                   firsts, axis=0)
            weak = np.flatnonzero(~(sums[:, -1] > 1e-250))
            if len(weak):  # underflow (or impossible evidence): score those patients with the variant's own engine
                rows = joint.order[weak]
                sums[weak, :-1] = ExactEngine(variant).posteriors(part.take(rows))
                sums[weak, -1] = 1.0
            out[v, joint.order] = np.clip(sums[:, :-1] / sums[:, -1:], 0.0, 1.0)
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
        prior = self.prior(part)
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


class _Scoring:
    """A contraction plan with the tables that score findings in its configuration order."""

    def __init__(self, plan: ConditionedPlan, params: Parameters) -> None:
        self.plan = plan
        # a link or leak of probability 1 gives log(0) = -inf on purpose (such states are impossible);
        # tables may be built lazily in worker threads, which do not inherit the caller's error state
        with np.errstate(divide="ignore", invalid="ignore"):
            #: ``log_absent[f, k] = log P(finding f absent | causes = k)``.
            self.log_absent: FloatArray = np.log1p(-params.leak)[:, None] + np.log1p(-params.q).T @ plan.configs.T
        #: ``present[f, k] = P(finding f present | causes = k)``, without cancellation.
        self.present = np.ascontiguousarray(-np.expm1(self.log_absent))
        self.configs_and_ones: FloatArray = np.hstack([plan.configs, np.ones((len(plan.configs), 1))])


def _cause_factor(
    variant: Parameters, net: Network, changed: tuple[int, ...], kept: str, root_values: dict[int, IntArray]
) -> FloatArray:
    """Per replica, the product of the changed causes' tables over the ``kept`` cause labels.

    ``root_values[i]`` is each replica's value of root ``net.roots[i]`` (all parents of the changed causes).
    """
    operands: list[FloatArray] = []
    terms: list[str] = []
    age_position = net.roots.index(-1) if -1 in net.roots else -1
    for d in changed:
        table = cause_table(variant, d)
        index: list[IntArray] = [root_values[age_position]] if table.age else []
        index += [root_values[net.roots.index(r)] for r in table.risk_factors]
        operands.append(table.table[tuple(index)] if index else np.broadcast_to(
            table.table, (len(next(iter(root_values.values()))), *table.table.shape)))
        terms.append("n" + "".join(net.cause_letters[i] for i in (*table.causes, d)))
    factor: FloatArray = np.einsum(",".join(terms) + "->n" + kept, *operands)
    return factor.reshape(len(factor), -1)


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
    # A row of impossible answers holds only -inf and turns to NaN here; it is caught below.
    with np.errstate(invalid="ignore"):
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


def _log1mexp(x: FloatArray) -> FloatArray:
    """Compute ``log(1 - exp(x))`` accurately for ``x < 0``."""
    return np.where(x > -0.6931471805599453, np.log(-np.expm1(x)), np.log1p(-np.exp(x)))
