"""Batched variable elimination with every variable's marginal, by a backward pass.

A network here is a list of factors over discrete variables; some factors are
shared by every row of a batch (the causes' conditional tables), others hold
one array per row (root weights, per-cause evidence factors). An
:class:`EliminationPlan` sums the variables out one at a time in a min-fill
order, each step one ``numpy.einsum`` over the factors that mention the
variable, so the cost grows with the size of the largest clique the order
creates (the treewidth), not with the number of variables.

The sum ``Z`` is multilinear in each factor, so the derivative of ``Z`` with
respect to a unary factor ``phi`` gives the unnormalised marginal of its
variable: ``Z(x = s) = phi[s] * dZ/dphi[s]``. One backward pass through the
elimination steps (reverse-mode differentiation, the second pass of a junction
tree) yields every such derivative at about twice the forward cost.

:meth:`EliminationPlan.run_log` runs the same steps on the logs of the factors
(each sum a log-sum-exp), for rows whose ``Z`` lies below floating-point range.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ._parameters import FloatArray

if TYPE_CHECKING:
    from . import _kernel

#: A plan runs in the compiled kernel (when numba is installed) for batches of at least this many rows,
#: or for any batch when it was made with ``reused=True`` (the engine's own network, run again and
#: again). Compiling a plan into index arrays costs 2 ms on the shipped model's Quickscore network and
#: more on a large chain network; a plan made for one patient (the fallback's own plans) runs once, on
#: a row or two, where einsum costs less. Once compiled, every batch gains (one patient's four rows:
#: 0.6 ms against einsum's 1.5 ms; 1,000 rows, 30 µs a row against 80 µs). The choice depends on the
#: plan and the batch only, never on earlier calls, so the same call gives the same digits every time.
COMPILED_FROM = 32

#: Table entries a caller's batch of rows may span (rows x entries per row, ~128 MB): callers size their runs by it.
ENTRIES_PER_RUN = 1 << 24

#: Table entries one einsum pass holds (rows x entries per row, ~32 MB): larger batches run in pieces. Measured on
#: 1,000 symptom-checker patients: 193 µs a patient and 55 MB at peak; 2**24, 183 µs and 173 MB; 2**20, 213 µs.
EINSUM_ENTRIES = 1 << 22

#: einsum labels of a step's variables; "n" is the row axis and "z" the eliminated variable.
_LETTERS = [ch for ch in "abcdefghijklmopqrstuvwxyABCDEFGHIJKLMNOPQRSTUVWXYZ"]

def min_fill_order(cards: tuple[int, ...], scopes: list[tuple[int, ...]]) -> list[int]:
    """Return an elimination order of all variables, greedily adding the fewest fill-in edges.

    Ties go to the variable whose elimination clique is smallest (fewest table entries).

    Examples
    --------
    >>> min_fill_order((2, 2, 2), [(0, 1), (1, 2)])  # a chain: eliminate an end first
    [0, 1, 2]
    """
    # neighbour sets as bit masks: a fill-in count is one popcount per neighbour
    neighbours = [0] * len(cards)
    for scope in scopes:
        mask = sum(1 << u for u in set(scope))
        for v in scope:
            neighbours[v] |= mask & ~(1 << v)
    log_card = [math.log2(k) for k in cards]

    def members(mask: int) -> list[int]:
        out = []
        while mask:
            low = mask & -mask
            out.append(low.bit_length() - 1)
            mask ^= low
        return out

    def cost(v: int) -> tuple[int, float, int]:
        near = neighbours[v]
        around = members(near)
        # each neighbour a counts the others it is not linked to (a itself is in near, not in its own mask)
        fill = sum((near & ~neighbours[a]).bit_count() - 1 for a in around) // 2
        return fill, log_card[v] + sum(log_card[u] for u in around), v

    costs = {v: cost(v) for v in range(len(cards))}
    order: list[int] = []
    while costs:
        v = min(costs.values())[2]
        near = neighbours[v]
        del costs[v]
        around = members(near)
        reach = 0
        for a in around:
            reach |= neighbours[a]
            neighbours[a] = (neighbours[a] | near) & ~(1 << a) & ~(1 << v)
        # a cost changes only for v's neighbours (their neighbourhood changed) and for vertices next to two
        # or more of them (an edge was added among their neighbours); the others keep theirs
        for u in around:
            costs[u] = cost(u)
        for u in members(reach & ~near & ~(1 << v)):
            if u in costs and (neighbours[u] & near).bit_count() >= 2:
                costs[u] = cost(u)
        order.append(v)
    return order


@dataclass(frozen=True)
class _Step:
    """Sum ``variable`` out of the factors ``inputs`` into the factor ``output`` (einsum subscripts).

    ``backward[k]`` gives the derivative with respect to input ``k`` from the
    output's derivative and the other inputs; when the eliminated variable is in
    no other input it is left out and broadcast.
    """

    variable: int
    inputs: tuple[int, ...]
    output: int
    clique: tuple[int, ...]
    forward: str
    backward: tuple[str, ...]


class EliminationPlan:
    """A fixed order of einsum steps that sums all variables out of a factor list.

    Parameters
    ----------
    cards : tuple of int
        Cardinality of each variable.
    scopes : list of tuple of int
        The variables of each factor, in its axis order.
    batched : list of bool
        Whether each factor holds one array per row (leading axis) or one shared array.
    targets : tuple of int
        Factors whose derivative :meth:`run` returns (typically unary evidence factors).
    reused : bool
        The plan will be run again and again (an engine's own network): the compiled kernel
        runs it whatever the batch size (see :data:`COMPILED_FROM`).

    Examples
    --------
    >>> import numpy as np
    >>> plan = EliminationPlan((2, 2), [(0,), (0, 1), (1,)], [False, False, True], targets=(2,))
    >>> prior, table = np.array([0.3, 0.7]), np.array([[0.9, 0.1], [0.2, 0.8]])
    >>> z, (grad,) = plan.run([prior, table, np.array([[1.0, 0.5]])])
    >>> float(z[0]) == float(prior @ table @ [1.0, 0.5])
    True
    >>> bool(np.allclose(grad[0], prior @ table))
    True
    """

    def __init__(
        self,
        cards: tuple[int, ...],
        scopes: list[tuple[int, ...]],
        batched: list[bool],
        targets: tuple[int, ...] = (),
        *,
        reused: bool = False,
    ) -> None:
        self.cards = cards
        self.reused = reused
        self.scopes = [tuple(s) for s in scopes]
        self.batched = list(batched)
        self.targets = targets
        self.order = min_fill_order(cards, self.scopes)
        scope_of = list(self.scopes)
        batched_of = list(self.batched)
        active = list(range(len(scopes)))
        steps: list[_Step] = []
        for v in self.order:
            inputs = tuple(i for i in active if v in scope_of[i])
            if not inputs:
                continue
            out_scope = tuple(sorted({u for i in inputs for u in scope_of[i]} - {v}))
            clique = (*out_scope, v)
            letter = {u: _LETTERS[j] for j, u in enumerate(clique) if u != v}
            letter[v] = "z"
            is_batched = any(batched_of[i] for i in inputs)
            # the row axis is last, so every inner loop runs over contiguous rows
            terms = ["".join(letter[u] for u in scope_of[i]) + ("n" if batched_of[i] else "") for i in inputs]
            result = "".join(letter[u] for u in out_scope) + ("n" if is_batched else "")
            backward = []
            for k, i in enumerate(inputs):
                others = [terms[m] for m in range(len(inputs)) if m != k]
                has_v = any("z" in t for t in others)
                want = "".join(letter[u] for u in scope_of[i] if u != v or has_v) + "n"
                backward.append(",".join([result, *others]) + "->" + want)
            forward = ",".join(terms) + "->" + result
            output = len(scope_of)
            scope_of.append(out_scope)
            batched_of.append(is_batched)
            steps.append(_Step(v, inputs, output, clique, forward, tuple(backward)))
            active = [i for i in active if i not in inputs] + [output]
        self._steps = steps
        self._final = tuple(active)  # scalars (per row when batched)
        self._scope_of = scope_of
        self._batched_of = batched_of
        # which factors lie on a path from a target to Z: only their derivatives are computed
        needs = [i in targets for i in range(len(scope_of))]
        for step in steps:
            needs[step.output] = any(needs[i] for i in step.inputs)
        self._needs = needs
        self._program: _kernel.Program | None = None  # the compiled kernel's index arrays, when first needed
        #: Table entries per row summed over all steps: the work and memory of one row.
        self.entries_per_row = sum(
            int(np.prod([cards[u] for u in step.clique], dtype=np.int64)) for step in steps)

    def run(self, factors: list[FloatArray], *, compiled: bool | None = None) -> tuple[FloatArray, list[FloatArray]]:
        """Return ``Z`` per row, shape (N,), and ``dZ/dfactor`` for each target, shape (N, *factor).

        ``factors`` follow the plan's scopes; batched ones have a leading row axis of length N.
        ``compiled`` chooses the numba kernel (:mod:`kneebayes._kernel`) or ``numpy.einsum``;
        by default the kernel runs float64 factors of a ``reused`` plan, or of a batch of
        :data:`COMPILED_FROM` rows or more, when numba is installed and not switched off
        (:func:`kneebayes._kernel.available`). Both compute the same sums.
        """
        n = next(len(f) for f, b in zip(factors, self.batched, strict=True) if b)
        from . import _kernel  # here, not at the top: the einsum path never needs it

        if compiled is None:
            compiled = ((self.reused or n >= COMPILED_FROM)
                        and all(np.asarray(f).dtype == np.float64 for f in factors) and _kernel.available())
        if compiled:
            if self._program is None:
                self._program = _kernel.compile_plan(self)
            return _kernel.run(self, self._program, factors)
        per_run = max(1, EINSUM_ENTRIES // max(1, self.entries_per_row))
        if n <= per_run:
            return self._run_einsum(factors, n)
        pieces = [self._run_einsum([f[start:start + per_run] if b else f
                                    for f, b in zip(factors, self.batched, strict=True)], min(per_run, n - start))
                  for start in range(0, n, per_run)]
        return (np.concatenate([z for z, _ in pieces]),
                [np.concatenate([grads[t] for _, grads in pieces]) for t in range(len(self.targets))])

    def _run_einsum(self, factors: list[FloatArray], n: int) -> tuple[FloatArray, list[FloatArray]]:
        """:meth:`run` by ``numpy.einsum``, every step over all ``n`` rows at once."""
        # rows last (np.moveaxis costs more than the transpose itself for small batches)
        values: list[Any] = [np.ascontiguousarray(f.transpose((*range(1, f.ndim), 0))) if b else f
                             for f, b in zip(factors, self.batched, strict=True)]
        values += [None] * len(self._steps)
        for step in self._steps:
            # one pass over the clique: every input spans a subset of it, so no pairwise order does better
            values[step.output] = np.einsum(step.forward, *[values[i] for i in step.inputs])
        finals = [np.broadcast_to(np.asarray(values[i]), (n,)) for i in self._final]
        z = np.prod(finals, axis=0) if finals else np.ones(n)
        grads: dict[int, FloatArray] = {}
        for j, i in enumerate(self._final):
            if self._needs[i]:
                others = [f for k, f in enumerate(finals) if k != j]
                grads[i] = np.prod(others, axis=0) if others else np.ones(n)
        for step in reversed(self._steps):
            if not self._needs[step.output]:
                continue
            upstream = grads.pop(step.output)  # factors that need a derivative are all batched
            for k, i in enumerate(step.inputs):
                if not self._needs[i]:
                    continue
                others = [values[m] for m in step.inputs if m != i]
                grad = np.einsum(step.backward[k], upstream, *others)
                if grad.ndim != len(self._scope_of[i]) + 1:  # the eliminated variable is only here: dZ is flat
                    scope = self._scope_of[i]
                    grad = np.broadcast_to(np.expand_dims(grad, scope.index(step.variable)),
                                           (*[self.cards[u] for u in scope], n))
                grads[i] = grad
        return z, [grads[t].transpose((grads[t].ndim - 1, *range(grads[t].ndim - 1))) for t in self.targets]

    def run_log(self, log_factors: list[FloatArray]) -> tuple[FloatArray, list[FloatArray]]:
        """:meth:`run` in log space: ``log Z`` per row and ``log dZ/dfactor`` for each target.

        ``log_factors`` are the logs of the factors :meth:`run` takes (``-inf`` for zeros).
        Every sum is a log-sum-exp, so nothing underflows however small ``Z`` is; it is
        several times slower than :meth:`run` and meant for the rows that need it.

        Examples
        --------
        >>> import numpy as np
        >>> plan = EliminationPlan((2, 2), [(0,), (0, 1), (1,)], [False, False, True], targets=(2,))
        >>> prior, table, unary = np.array([0.3, 0.7]), np.array([[0.9, 0.1], [0.2, 0.8]]), np.array([[1.0, 0.5]])
        >>> log_z, (log_grad,) = plan.run_log([np.log(prior), np.log(table), np.log(unary)])
        >>> z, (grad,) = plan.run([prior, table, unary])
        >>> bool(np.allclose(np.exp(log_z), z)), bool(np.allclose(np.exp(log_grad), grad))
        (True, True)
        """
        n = next(len(f) for f, b in zip(log_factors, self.batched, strict=True) if b)
        values: list[Any] = [np.moveaxis(f, 0, -1) if b else f[..., None]
                             for f, b in zip(log_factors, self.batched, strict=True)]
        values += [None] * len(self._steps)
        for step in self._steps:
            total = self._in_clique(values[step.inputs[0]], self._scope_of[step.inputs[0]], step.clique)
            for i in step.inputs[1:]:
                total = total + self._in_clique(values[i], self._scope_of[i], step.clique)
            values[step.output] = _logsumexp(total, (len(step.clique) - 1,))
        finals = [np.broadcast_to(np.asarray(values[i]).reshape(-1), (n,)) for i in self._final]
        log_z = np.sum(finals, axis=0) if finals else np.zeros(n)
        grads: dict[int, FloatArray] = {}
        for j, i in enumerate(self._final):
            if self._needs[i]:
                others = [f for k, f in enumerate(finals) if k != j]
                grads[i] = np.sum(others, axis=0) if others else np.zeros(n)
        for step in reversed(self._steps):
            if not self._needs[step.output]:
                continue
            upstream = grads.pop(step.output)
            up = self._in_clique(upstream, self._scope_of[step.output], step.clique)
            for i in step.inputs:
                if not self._needs[i]:
                    continue
                total = up + sum(self._in_clique(values[m], self._scope_of[m], step.clique)
                                 for m in step.inputs if m != i)
                scope = self._scope_of[i]
                total = np.broadcast_to(total, (*[self.cards[u] for u in step.clique], n))
                summed = tuple(a for a, u in enumerate(step.clique) if u not in scope)
                grad = _logsumexp(total, summed)  # axes left: the scope's, in clique order, then rows
                kept = [u for u in step.clique if u in scope]
                grads[i] = grad.transpose([kept.index(u) for u in scope] + [len(scope)])
        return log_z, [np.moveaxis(grads[t], -1, 0) for t in self.targets]

    def _in_clique(self, value: FloatArray, scope: tuple[int, ...], clique: tuple[int, ...]) -> FloatArray:
        """``value`` (axes ``scope`` then rows) laid out for broadcasting over ``clique`` then rows."""
        order = sorted(range(len(scope)), key=lambda a: clique.index(scope[a]))
        moved = value.transpose([*order, len(scope)])
        shape = [self.cards[u] if u in scope else 1 for u in clique] + [value.shape[-1]]
        return moved.reshape(shape)


def _logsumexp(values: FloatArray, axes: tuple[int, ...]) -> FloatArray:
    """``log(sum(exp(values)))`` over ``axes``, exact for ``-inf`` entries (all ``-inf`` gives ``-inf``)."""
    if not axes:
        return values
    top = np.max(values, axis=axes, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    with np.errstate(divide="ignore"):
        out: FloatArray = np.log(np.sum(np.exp(values - top), axis=axes)) + np.squeeze(top, axis=axes)
    return out
