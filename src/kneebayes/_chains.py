"""The elimination network over the unanswered roots and the causes, each present finding a chain of factors.

A present finding's ``P(f present | causes) = 1 - (1 - leak) * prod (1 - q_cf)`` does not
factorise over its causes, and as one factor it spans all of them (up to 13 on the
shipped model). Its temporal decomposition (Heckerman and Breese, IEEE Trans. Syst. Man
Cybern. 26:826-831, 1996) keeps it exact with small non-negative factors: binary
variables ``y_j``, "some cause among the first j, or the leak, switched the finding on",
each a factor over ``y_(j-1)``, cause ``j`` and ``y_j`` (see :func:`chain_plan`).
Roots a patient answered are not summed: each table is sliced at the answer, so the
network holds the unanswered roots and the causes only. Both the model's own engine
(:mod:`kneebayes._factored`, its exact fallback) and the many-variant one
(:mod:`kneebayes._variant_elimination`) plan and fill their eliminations here.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ._batch import EvidenceArrays
from ._elimination import EliminationPlan
from ._parameters import FloatArray, Parameters

IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Structure:
    """The roots some cause depends on (-1: the age band) and each cause's parents as root positions."""

    roots: tuple[int, ...]
    cards: tuple[int, ...]
    parents: tuple[tuple[tuple[int, ...], tuple[int, ...]], ...]  # per cause: (root positions, cause parents)

    @classmethod
    def of(cls, params: Parameters) -> Structure:
        roots = ((-1,) if params.age_parent.any() else ()) + tuple(
            int(r) for r in np.flatnonzero(params.rf_parent.any(axis=0)))
        position = {root: i for i, root in enumerate(roots)}
        parents = []
        for c in range(len(params.causes)):
            on_roots = (([position[-1]] if params.age_parent[c] else [])
                        + [position[int(r)] for r in np.flatnonzero(params.rf_parent[c])])
            parents.append((tuple(on_roots), tuple(int(i) for i in np.flatnonzero(params.cause_parent[c]))))
        cards = tuple(len(params.age_bands) if r < 0 else 2 for r in roots)
        return cls(roots, cards, tuple(parents))

    def answers(self, ev: EvidenceArrays) -> IntArray:
        """Each patient's answer on each root, -1 when unanswered, shape (N, roots)."""
        out = np.empty((len(ev), len(self.roots)), dtype=np.int64)
        for i, root in enumerate(self.roots):
            out[:, i] = ev.age_band if root < 0 else ev.risk_factors[:, root]
        return out

    def table_entries(self, answered: tuple[bool, ...], sizes: Sequence[int]) -> int:
        """Count entries per row: the causes' tables (``sizes``) sliced at the answered roots, and the kept roots'.

        Examples
        --------
        >>> Structure((-1, 0), (4, 2), (((0, 1), ()),)).table_entries((True, False), [16])
        6
        """
        total = 0
        for size, (on_roots, _) in zip(sizes, self.parents, strict=True):
            for i in on_roots:
                if answered[i]:
                    size //= self.cards[i]
            total += size
        return total + sum(card for card, a in zip(self.cards, answered, strict=True) if not a)


def plan_groups(answered: npt.NDArray[np.bool_], present: npt.NDArray[np.bool_], rows: IntArray,
                ) -> Iterator[tuple[tuple[bool, ...], tuple[int, ...], IntArray]]:
    """Group ``rows`` by the roots they answered and their present findings kept whole: one :func:`chain_plan` each.

    Examples
    --------
    >>> answered = np.array([[True, False], [True, False], [False, False]])
    >>> present = np.array([[False, True], [False, True], [True, True]])
    >>> [(a, p, r.tolist()) for a, p, r in plan_groups(answered, present, np.arange(3))]
    [((False, False), (0, 1), [2]), ((True, False), (1,), [0, 1])]
    """
    if not len(rows):
        return
    code = np.column_stack([answered[rows], present[rows]])
    distinct, inverse = np.unique(code, axis=0, return_inverse=True)
    inverse = np.asarray(inverse).reshape(-1)
    n_roots = answered.shape[1]
    for g, row in enumerate(distinct):
        yield (tuple(bool(x) for x in row[:n_roots]), tuple(int(f) for f in np.flatnonzero(row[n_roots:])),
               rows[inverse == g])


@functools.lru_cache(maxsize=512)
def chain_plan(structure: Structure, answered: tuple[bool, ...], present: tuple[tuple[int, ...], ...]) -> Network:
    """Plan the elimination over the unanswered roots and the causes, with a chain of factors per present finding.

    ``present`` lists, per present finding kept whole (not expanded by
    Quickscore), the causes it is linked to. Its noisy-OR is decomposed into a
    chain (the temporal decomposition of causal independence: Heckerman and
    Breese, IEEE Trans. Syst. Man Cybern. 26:826-831, 1996): ``y_j``, "some
    cause among the first j, or the leak, switched the finding on", is a binary
    variable with ``y_j = y_(j-1) OR (cause j present and its link active)``;
    the first factor folds in the leak and the last is sliced at ``y_m = 1``.
    Every entry is a probability, so nothing cancels, and a finding with m
    causes adds m - 1 binary variables instead of one factor over all m causes.
    """
    kept = [i for i, a in enumerate(answered) if not a]
    n_c = len(structure.parents)
    variable = {root: j for j, root in enumerate(kept)}
    cards = tuple(structure.cards[i] for i in kept) + (2,) * n_c
    scopes: list[tuple[int, ...]] = [(variable[i],) for i in kept]
    for c, (on_roots, on_causes) in enumerate(structure.parents):
        scopes.append(tuple(variable[i] for i in on_roots if not answered[i])
                      + tuple(len(kept) + d for d in on_causes) + (len(kept) + c,))
    scopes += [(len(kept) + c,) for c in range(n_c)]
    unary = tuple(range(len(kept) + n_c, len(kept) + 2 * n_c))
    for linked in present:
        previous: tuple[int, ...] = ()
        for j, c in enumerate(linked):
            if j == len(linked) - 1:  # the last factor: y_m = 1 is the evidence, so it is no variable
                scopes.append(previous + (len(kept) + c,))
                break
            cards += (2,)
            scopes.append(previous + (len(kept) + c, len(cards) - 1))
            previous = (len(cards) - 1,)
        if not linked:  # only the leak: a constant per row
            scopes.append(())
    plan = EliminationPlan(cards, scopes, [True] * len(scopes), targets=unary)
    return Network(plan, tuple(kept))


@dataclass(frozen=True)
class Network:
    plan: EliminationPlan
    kept: tuple[int, ...]  # positions of the roots summed over (the unanswered ones)



def chain_factors(log_keep: FloatArray, log_off: FloatArray) -> list[FloatArray]:
    """Return the factors of one present finding's chain (see :func:`chain_plan`), per row.

    ``log_keep`` is ``log(1 - leak)`` (rows,) and ``log_off`` ``log(1 - q)`` of
    each linked cause in chain order (rows, m).

    Examples
    --------
    A leak of 0.1 and two causes with links 0.5 and 0.8: summed over ``y_1``, the
    chain is the noisy-OR ``P(present | x_1, x_2)``.

    >>> import numpy as np
    >>> first, last = chain_factors(np.log([0.9]), np.log([[0.5, 0.2]]))
    >>> table = np.einsum("nay,nyb->nab", first, last)[0]  # axes: x_1, x_2
    >>> bool(np.allclose(table, [[0.1, 1 - 0.9 * 0.2], [1 - 0.9 * 0.5, 1 - 0.9 * 0.5 * 0.2]]))
    True
    """
    rows, m = log_off.shape
    if m == 0:
        return [-np.expm1(log_keep)]  # P(present) = leak
    # the first cause with the leak: log P(y_1 = 0 | x_1) for x_1 = 0, 1; P(y_1 = 1 | x_1) without cancellation
    logs = np.stack([log_keep, log_keep + log_off[:, 0]], axis=1)
    if m == 1:  # y_1 is the finding itself
        return [-np.expm1(logs)]
    out = [np.stack([np.exp(logs), -np.expm1(logs)], axis=2)]  # (rows, x_1, y_1)
    q = -np.expm1(log_off)
    for j in range(1, m):
        table = np.zeros((rows, 2, 2, 2))  # (y_prev, x_j, y_j)
        table[:, 1, :, 1] = 1.0  # once on, stays on
        table[:, 0, 0, 0] = 1.0
        table[:, 0, 1, 0] = np.exp(log_off[:, j])
        table[:, 0, 1, 1] = q[:, j]
        out.append(table[..., 1] if j == m - 1 else table)  # the last is sliced at y_m = 1
    return out
