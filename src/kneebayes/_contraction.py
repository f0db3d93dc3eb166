"""The causes' joint prior for a batch of patients, as a conditioned tensor contraction.

The prior over all ``K = 2**C`` cause configurations mixes, over every unanswered
root (risk factor or age band), products of the causes' tables. A plain
contraction sums each unanswered root inside the tensor network; its last step
then sums over the roots that both halves of the network share (here the age
band and a few risk factors feeding many causes), which costs ``K`` times the
size of that separator per patient.

A :class:`ConditionedPlan` instead *conditions* on a small set ``S`` of such roots
(cutset conditioning): each patient is split into one replica per value of ``S``
consistent with their answers (one replica when they answered all of ``S``), the
tables are sliced at each value, and the remaining roots are contracted per
replica, which is cheap once ``S`` is fixed. The replicas of a patient are summed
in the last step, a matrix product over the replica axis whose size is the
number of *consistent* values, so answered roots cost nothing. Patients are
grouped by that number so each group is one batched matrix product.

The plan chooses ``S`` greedily from ``numpy.einsum_path``'s flop counts; with
``S`` empty it is the plain contraction (used for single patients).
"""

from __future__ import annotations

import functools
import itertools
import math
import string
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ._parameters import FloatArray, Parameters, cause_table

IntArray = npt.NDArray[np.int64]

#: Assumed share of answered roots when choosing what to condition on.
_ANSWER_RATE = 0.5


@dataclass(frozen=True)
class Network:
    """The prior network as einsum terms: one weight term per root, one table per cause.

    Attributes
    ----------
    roots : tuple of int
        ``-1`` for the age band, else a risk-factor index; only roots some cause depends on.
    root_letters : str
        Einsum label of each root.
    root_cards : tuple of int
        Cardinality of each root.
    cause_letters : str
        Einsum label of each cause, in cause order.
    table_terms : tuple of str
        Labels of each cause's table (parents, then the cause).
    tables : tuple of ndarray
        Each cause's conditional table.
    """

    roots: tuple[int, ...]
    root_letters: str
    root_cards: tuple[int, ...]
    cause_letters: str
    table_terms: tuple[str, ...]
    tables: tuple[FloatArray, ...]


def network(params: Parameters) -> Network:
    """Label the prior network of ``params`` for einsum ("n" is kept for the batch axis)."""
    letters = iter(ch for ch in string.ascii_letters if ch != "n")
    age_letter = next(letters)
    rf_letters = [next(letters) for _ in params.risk_factors]
    cause_letters = "".join(next(letters) for _ in params.causes)
    roots: list[int] = [-1] if params.age_parent.any() else []
    roots += [int(r) for r in np.flatnonzero(params.rf_parent.any(axis=0))]
    terms, tables = [], []
    for c in range(len(params.causes)):
        cpt = cause_table(params, c)
        terms.append(
            (age_letter if cpt.age else "")
            + "".join(rf_letters[i] for i in cpt.risk_factors)
            + "".join(cause_letters[i] for i in cpt.causes)
            + cause_letters[c]
        )
        tables.append(cpt.table)
    return Network(
        roots=tuple(roots),
        root_letters="".join(age_letter if r < 0 else rf_letters[r] for r in roots),
        root_cards=tuple(len(params.age_bands) if r < 0 else 2 for r in roots),
        cause_letters=cause_letters,
        table_terms=tuple(terms),
        tables=tuple(tables),
    )


def root_weights(params: Parameters, root: int, age_band: IntArray, risk_factors: npt.NDArray[np.int8]) -> FloatArray:
    """Weight of each value of one root per patient: its prior, zero where the answer rules it out.

    An answered root keeps its prior weight, so the contraction gives the joint
    probability of the causes and the answers.
    """
    if root < 0:
        weights = np.tile(params.age_prevalence, (len(age_band), 1))
        known = age_band >= 0
        weights[known] *= np.eye(len(params.age_bands))[age_band[known]]
        return weights
    state = risk_factors[:, root]
    prevalence = params.rf_prevalence[root]
    weights = np.empty((len(state), 2))
    weights[:, 0] = np.where(state == 1, 0.0, 1.0 - prevalence)
    weights[:, 1] = np.where(state == 0, 0.0, prevalence)
    return weights


@dataclass(frozen=True)
class Joint:
    """The unnormalised joint of a batch, rows in ``order``, grouped by replica count.

    Attributes
    ----------
    order : ndarray of int, shape (N,)
        Row ``i`` of ``values`` is patient ``order[i]`` of the batch.
    bounds : ndarray of int
        Rows ``bounds[g]`` to ``bounds[g + 1]`` form group ``g``; within a group,
        rows follow the tie-break key given to :meth:`ConditionedPlan.joint`.
    values : ndarray, shape (N, K)
        ``P(causes = k, root answers) * prod_c factor[c, k_c]`` per row.
    patient, value : ndarray of int, optional
        With ``per_replica``, the rows are replicas: ``patient[r]`` is the row
        (in ``order``) of replica ``r``'s patient and ``value[r]`` the index of
        its values of the conditioned roots.
    """

    order: IntArray
    bounds: IntArray
    values: FloatArray
    patient: IntArray | None = None
    value: IntArray | None = None


class ConditionedPlan:
    """A contraction of the prior network conditioned on the roots ``conditioned``.

    Parameters
    ----------
    params : Parameters
        Compiled parameters.
    net : Network
        Their labelled network.
    conditioned : tuple of int
        Positions in ``net.roots`` to condition on (empty: the plain contraction).

    Examples
    --------
    >>> from kneebayes._synthetic import synthetic_parameters
    >>> params = synthetic_parameters(n_causes=12, n_risk_factors=6, n_findings=10, seed=0)
    >>> plan = ConditionedPlan(params, network(params), ())
    >>> plan.configs.shape
    (4096, 12)
    """

    def __init__(self, params: Parameters, net: Network, conditioned: tuple[int, ...]) -> None:
        self.params = params
        self.net = net
        self.conditioned = conditioned
        self._free = tuple(i for i in range(len(net.roots)) if i not in conditioned)
        terms, self._stacks, self._shared = _reduced_terms(net, conditioned)
        # a network no root reaches still needs the batch axis: carry it with a term of ones; so does
        # a network left with a single term (the last step needs two operands)
        self._batch_term = not any("n" in term for term in terms) or len(terms) < 2
        if self._batch_term:
            terms = ["n", *terms]
        self._terms = terms
        self._card = dict(zip(net.root_letters, net.root_cards, strict=True)) | dict.fromkeys(net.cause_letters, 2)
        self._output = "n" + net.cause_letters
        dummy = [np.ones(net.root_cards[i]) for i in self._free] + [s[0] for s in self._stacks] + self._shared
        if self._batch_term:
            dummy.insert(0, np.ones(()))
        path = np.einsum_path(",".join(terms).replace("n", "") + "->" + self._output[1:], *dummy, optimize="greedy")[0]
        # every step but the last runs batched over replicas; the last one sums each patient's replicas
        self._steps = [tuple(int(i) for i in step) for step in path[1:-1]]
        batched = len(terms) - len(self._shared)
        names, _ = self._run([*[d[None] for d in dummy[:batched]], *self._shared])
        a, b = (name if "n" in name else "n" + name for name in names)
        self._z = "".join(ch for ch in a if ch in b and ch != "n" and ch in self._output)
        self._u = "".join(ch for ch in a if ch in b and ch != "n" and ch not in self._output)
        self._x = "".join(ch for ch in a if ch not in b)
        self._y = "".join(ch for ch in b if ch not in a)
        # absent-finding factors: the first operand carries its causes' (shared ones included), the second the rest
        self._factor_a = "".join(ch for ch in self._z + self._x if ch in net.cause_letters)
        self._factor_b = "".join(ch for ch in self._y if ch in net.cause_letters)
        final = self._z + self._x + self._y
        self.final_labels = final
        grid = np.array(list(itertools.product((0.0, 1.0), repeat=len(final))))
        configs = np.empty_like(grid)
        for position, letter in enumerate(final):
            configs[:, net.cause_letters.index(letter)] = grid[:, position]
        #: Row ``k`` holds each cause's state in configuration ``k`` (the order of :meth:`joint`'s columns).
        self.configs = configs

    # ---- one batch ---------------------------------------------------------------
    def joint(
        self,
        age_band: IntArray,
        risk_factors: npt.NDArray[np.int8],
        factor: FloatArray | None = None,
        tiebreak: IntArray | None = None,
        *,
        per_replica: bool = False,
    ) -> Joint:
        """Return the joint of the causes with each patient's root answers, times per-cause factors.

        Parameters
        ----------
        age_band, risk_factors : ndarray
            The batch's age bands (-1 unknown) and risk-factor answers (-1 unknown).
        factor : ndarray, shape (N, C), optional
            ``factor[n, c]`` multiplies configurations where cause ``c`` is present
            (the absent findings' noisy-OR terms); None for none.
        tiebreak : ndarray of int, shape (N,), optional
            Sort key of rows within a group.
        per_replica : bool
            Return one row per replica (each patient's consistent values of the
            conditioned roots, with their prior weight) instead of their sum; the
            result's ``patient`` and ``value`` say whose replica each row is and
            at which value (an index into the conditioned roots' grid).
        """
        p, net = self.params, self.net
        n = len(age_band)
        weights = [root_weights(p, root, age_band, risk_factors) for root in net.roots]
        # one replica per consistent value of the conditioned roots, computed once per distinct pattern
        code = np.zeros(n, dtype=np.int64)
        for i, root in enumerate(net.roots):
            code = code * (net.root_cards[i] + 1) + (age_band + 1 if root < 0 else risk_factors[:, root] + 1)
        _, first, inverse = np.unique(code, return_index=True, return_inverse=True)
        inverse = inverse.reshape(-1)
        s_weight = np.ones((len(first), 1))
        for i in self.conditioned:
            s_weight = (s_weight[:, :, None] * weights[i][first][:, None, :]).reshape(len(first), -1)
        mask = s_weight > 0
        per_pattern = mask.sum(axis=1)
        pattern_of, value_of = np.nonzero(mask)  # unique replicas, pattern-major
        operands = [np.ones(len(pattern_of))] if self._batch_term else []
        operands += [weights[i][first][pattern_of] for i in self._free]
        operands += [stack[value_of] for stack in self._stacks]
        names, results = self._run([*operands, *self._shared])

        count = per_pattern[inverse]
        order = np.lexsort((tiebreak, count)) if tiebreak is not None else np.argsort(count, kind="stable")
        sorted_count = count[order]
        bounds = np.flatnonzero(np.r_[True, sorted_count[1:] != sorted_count[:-1], True]).astype(np.int64)
        # each sorted patient's replica rows among the unique replicas
        starts = (np.cumsum(per_pattern) - per_pattern)[inverse[order]]
        patient = np.repeat(np.arange(n), sorted_count)
        offset = np.arange(len(patient)) - np.repeat(np.cumsum(sorted_count) - sorted_count, sorted_count)
        rows = starts[patient] + offset
        replica_weight = s_weight[pattern_of, value_of][rows]
        sorted_factor = None if factor is None else factor[order]
        if per_replica:  # every replica its own row: one group of count 1
            sorted_count, bounds = np.ones(len(rows), dtype=np.int64), np.array([0, len(rows)], dtype=np.int64)
        values = np.empty((len(sorted_count), len(self.configs)))
        a, b = self._final_operands(names, results, rows, patient, replica_weight, sorted_factor, len(pattern_of))
        zs, xs, ys, us = (math.prod(self._card[ch] for ch in labels)
                          for labels in (self._z, self._x, self._y, self._u))
        first_row = 0
        for g in range(len(bounds) - 1):
            lo, hi = int(bounds[g]), int(bounds[g + 1])
            c, m = int(sorted_count[lo]), hi - lo
            part_a = a[first_row:first_row + m * c].reshape(m, c, zs, xs, us)
            part_b = b[first_row:first_row + m * c].reshape(m, c, zs, us, ys)
            out = values[lo:hi].reshape(m, zs, xs, ys)
            if us == 1:
                np.matmul(part_a[..., 0].transpose(0, 2, 3, 1), part_b[:, :, :, 0, :].transpose(0, 2, 1, 3), out=out)
            else:
                np.matmul(part_a.transpose(0, 2, 3, 1, 4).reshape(m, zs, xs, c * us),
                          part_b.transpose(0, 2, 1, 3, 4).reshape(m, zs, c * us, ys), out=out)
            first_row += m * c
        if per_replica:
            return Joint(order, bounds, values, patient, value_of[rows])
        return Joint(order, bounds, values)

    def _run(self, operands: list[FloatArray]) -> tuple[list[str], list[FloatArray]]:
        """Run every step but the last; fold what remains into the last step's two operands."""
        names, results = _run(list(self._terms), operands, self._steps, self._output)
        while len(names) > 2:  # pragma: no cover - numpy's greedy path ends with a pair
            name_b, b = names.pop(), results.pop()
            name_a, a = names.pop(), results.pop()
            name, result = pair_product(name_a, a, name_b, b, set("".join(names)) | set(self._output))
            names.append(name)
            results.append(result)
        return names, results

    def _final_operands(
        self,
        names: list[str],
        results: list[FloatArray],
        rows: IntArray,
        patient: IntArray,
        replica_weight: FloatArray,
        factor: FloatArray | None,
        n_replicas: int,
    ) -> tuple[FloatArray, FloatArray]:
        """Return the last step's two operands per patient replica, with weights and factors folded in.

        ``a`` is laid out (replica, z, x, u) and ``b`` (replica, z, u, y), flattened after the replica axis.
        """
        out: list[FloatArray] = []
        for (name, tensor), layout, letters in zip(
            zip(names, results, strict=True),
            ("n" + self._z + self._x + self._u, "n" + self._z + self._u + self._y),
            (self._factor_a, self._factor_b),
            strict=True,
        ):
            if "n" not in name:  # a part of the network no root reaches: the same for every replica
                tensor, name = np.broadcast_to(tensor[None], (n_replicas, *tensor.shape)), "n" + name
            flat = tensor.transpose([name.index(ch) for ch in layout]).reshape(n_replicas, -1)[rows]
            multiplier = None
            if factor is not None and letters:
                multiplier = _outer_factors(factor, letters, self.net.cause_letters)[patient]
            by_cause = multiplier is not None
            if not out:  # the replica weights go into the first operand
                multiplier = replica_weight[:, None] if multiplier is None else multiplier * replica_weight[:, None]
            if multiplier is not None:
                # the factors follow the layout's cause letters; other axes (z/u roots) broadcast
                shape = [len(rows)] + [2 if ch in letters else 1 for ch in layout[1:]]
                full = [len(rows)] + [self._card[ch] for ch in layout[1:]]
                view = flat.reshape(full)
                view *= multiplier.reshape(shape if by_cause else [len(rows)] + [1] * len(shape[1:]))
            out.append(flat)
        return out[0], out[1]


def _outer_factors(factor: FloatArray, letters: str, cause_letters: str) -> FloatArray:
    """Per patient, the outer product over ``letters`` of ``[1, factor[:, c]]``, flattened."""
    out = np.ones((len(factor), 1))
    for ch in letters:
        pair = np.ones((len(factor), 2))
        pair[:, 1] = factor[:, cause_letters.index(ch)]
        out = (out[:, :, None] * pair[:, None, :]).reshape(len(factor), -1)
    return out


def _reduced_terms(
    net: Network, conditioned: tuple[int, ...]
) -> tuple[list[str], list[FloatArray], list[FloatArray]]:
    """Terms of the network with the conditioned roots sliced out.

    Returns the terms (free roots' weights, then tables that lose an axis, then
    tables that keep all theirs), the stacks of sliced tables (one slice per
    value of the conditioned roots) and the untouched tables.
    """
    fixed = {net.root_letters[i]: position for position, i in enumerate(conditioned)}
    values = list(itertools.product(*[range(net.root_cards[i]) for i in conditioned]))
    free = [i for i in range(len(net.roots)) if i not in conditioned]
    terms = ["n" + net.root_letters[i] for i in free]
    stacked_terms: list[str] = []
    shared_terms: list[str] = []
    stacks: list[FloatArray] = []
    shared: list[FloatArray] = []
    for term, table in zip(net.table_terms, net.tables, strict=True):
        if not any(ch in fixed for ch in term):
            shared_terms.append(term)
            shared.append(table)
            continue
        slices = [table[tuple(v[fixed[ch]] if ch in fixed else slice(None) for ch in term)] for v in values]
        stacks.append(np.ascontiguousarray(np.stack(slices)))
        stacked_terms.append("n" + "".join(ch for ch in term if ch not in fixed))
    return terms + stacked_terms + shared_terms, stacks, shared


def _run(
    names: list[str], operands: list[FloatArray], steps: list[tuple[int, ...]], output: str
) -> tuple[list[str], list[FloatArray]]:
    """Run contraction steps (as planned by ``numpy.einsum_path``), each pair one batched matrix product."""
    for step in steps:
        group = [(names.pop(i), operands.pop(i)) for i in sorted(step, reverse=True)]
        name, result = group.pop()
        while group:
            other_name, other = group.pop()
            keep = set("".join(names)) | set(output) | set("".join(n for n, _ in group))
            name, result = pair_product(name, result, other_name, other, keep)
        if len(step) == 1:  # a lone operand: sum the labels nothing else needs
            keep = set("".join(names)) | set(output)
            drop = tuple(i for i, ch in enumerate(name) if ch not in keep)
            result, name = result.sum(axis=drop), "".join(ch for ch in name if ch in keep)
        names.append(name)
        operands.append(result)
    return names, operands


def estimated_cost(net: Network, conditioned: tuple[int, ...]) -> float:
    """Estimate a plan's flops per patient: replicas per patient times flops per replica.

    Each root is assumed answered half the time, so a conditioned root of
    cardinality ``k`` gives ``(1 + k) / 2`` replicas on average.
    """
    terms, stacks, shared = _reduced_terms(net, conditioned)
    free = [i for i in range(len(net.roots)) if i not in conditioned]
    dummy = [np.ones(net.root_cards[i]) for i in free] + [s[0] for s in stacks] + shared
    info = np.einsum_path(",".join(terms).replace("n", "") + "->" + net.cause_letters, *dummy, optimize="greedy")[1]
    flops = float(info.split("Optimized FLOP count:")[1].split()[0])
    replicas = float(np.prod([_ANSWER_RATE + (1 - _ANSWER_RATE) * net.root_cards[i] for i in conditioned]))
    return replicas * flops


def choose_conditioning(net: Network, max_roots: int = 8) -> tuple[int, ...]:
    """Pick roots to condition on, greedily, while the estimated cost falls by at least 10%.

    The choice depends only on the network's structure, so it is cached: models
    that differ only in their numbers (a sweep's variants) share it.
    """
    structure = (net.root_letters, net.root_cards, net.cause_letters, net.table_terms,
                 tuple(table.shape for table in net.tables))
    return _choose_conditioning(structure, max_roots)


@functools.lru_cache(maxsize=32)
def _choose_conditioning(structure: tuple[str, tuple[int, ...], str, tuple[str, ...], tuple[tuple[int, ...], ...]],
                         max_roots: int) -> tuple[int, ...]:
    letters, cards, causes, terms, shapes = structure
    net = Network(tuple(range(len(cards))), letters, cards, causes, terms, tuple(np.ones(s) for s in shapes))
    chosen: tuple[int, ...] = ()
    cost = estimated_cost(net, chosen)
    while len(chosen) < max_roots:
        options = [(estimated_cost(net, (*chosen, i)), i) for i in range(len(net.roots)) if i not in chosen]
        if not options:
            break
        best, i = min(options)
        if best > 0.9 * cost:
            break
        chosen, cost = (*chosen, i), best
    return tuple(sorted(chosen))


def pair_product(name_a: str, a: FloatArray, name_b: str, b: FloatArray, keep: set[str]) -> tuple[str, FloatArray]:
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
        return math.prod(size[ch] for ch in labels)

    left = a.transpose([name_a.index(ch) for ch in batch + only_a + summed])
    right = b.transpose([name_b.index(ch) for ch in batch + summed + only_b])
    product = np.matmul(
        left.reshape(block(batch), block(only_a), block(summed)),
        right.reshape(block(batch), block(summed), block(only_b)),
    )
    labels = batch + only_a + only_b
    return "".join(labels), product.reshape([size[ch] for ch in labels])
