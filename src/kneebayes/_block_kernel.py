"""The numba function behind :mod:`kneebayes._kernel` (imported only when the compiled path first runs).

The loops that multiply a block by one input (a row of ``values``, or one shared
entry for every row) are written out at each use: factored into small numba
functions, even inlined, the kernel ran 1.5 to 2 times slower (41 against 27 µs a
row on the shipped plan), the compiler no longer vectorising them.

Its arguments are the index arrays of a :class:`kneebayes._kernel.Program`. Rows are
processed a block at a time (the work space's width, :data:`kneebayes._kernel.BLOCK`),
each inner loop a contiguous run over the block's rows.

Examples
--------
>>> import numpy as np
>>> from kneebayes._elimination import EliminationPlan
>>> from kneebayes._kernel import compile_plan
>>> plan = EliminationPlan((2, 2), [(0,), (0, 1), (1,)], [False, False, True], targets=(2,))
>>> p = compile_plan(plan)
>>> prior, table = np.array([0.3, 0.7]), np.array([[0.9, 0.1], [0.2, 0.8]])
>>> shared = np.concatenate([prior, table.ravel(), np.zeros(2)])
>>> shared[p.shared_offset[3]:][:2] = prior @ table  # the one step on shared tables, done by the caller
>>> z, grads = np.empty(1), np.empty((2, 1))
>>> values, grad = np.empty((p.size, 1)), np.empty((p.size, 1))
>>> run_blocks(np.array([[1.0], [0.5]]), shared, p.size, p.clique, p.out_offset, p.out_size, p.out_index,
...            p.out_needed, p.in_start, p.in_offset, p.in_batched, p.in_needed, p.in_index, p.index,
...            p.final_offset, p.final_batched, p.final_needed, np.array([0]), np.array([2]), z, grads,
...            values, grad)
>>> bool(np.isclose(z[0], prior @ table @ [1.0, 0.5]))
True
"""

# ruff: noqa: PLR0912, PLR0913, PLR0915, C901

import numba
import numpy as np
import numpy.typing as npt

#: Steps with this many inputs or more get each input's derivative from prefix and suffix products (about
#: 3 products an entry per input instead of one per pair of inputs: the age step of the 18-cause model has 6).
PREFIX_FROM = 4

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]



@numba.njit(nogil=True, cache=True)
def run_blocks(
    leaves: FloatArray, shared: FloatArray, size: int, clique: IntArray, out_offset: IntArray, out_size: IntArray,
    out_index: IntArray, out_needed: BoolArray, in_start: IntArray, in_offset: IntArray, in_batched: BoolArray,
    in_needed: BoolArray, in_index: IntArray, index: IntArray, final_offset: IntArray, final_batched: BoolArray,
    final_needed: BoolArray, target_offset: IntArray, target_size: IntArray, z: FloatArray, grads: FloatArray,
    values: FloatArray, grad: FloatArray,
) -> None:
    """Write ``Z`` of every row to ``z`` and the targets' derivatives to ``grads`` (rows last).

    ``values`` and ``grad``, shape (``size``, block), are the caller's work space (see
    :func:`kneebayes._kernel.run` for why the caller makes them).
    """
    n = leaves.shape[1]
    leaf_size = leaves.shape[0]
    block = values.shape[1]
    tmp = np.empty(block)
    n_steps = len(clique)
    widest = 1
    for s in range(n_steps):
        widest = max(widest, in_start[s + 1] - in_start[s])
    prefix = np.empty((widest, block))
    for start in range(0, n, block):
        b = min(block, n - start)
        for e in range(leaf_size):
            for r in range(b):
                values[e, r] = leaves[e, start + r]
        # forward: each step's output is the sum over its clique of the product of its inputs
        for s in range(n_steps):
            base = out_offset[s]
            for e in range(out_size[s]):
                for r in range(b):
                    values[base + e, r] = 0.0
            first, last = in_start[s], in_start[s + 1]
            for e in range(clique[s]):
                k = first
                j = index[in_index[k] + e]
                if in_batched[k]:
                    row = in_offset[k] + j
                    for r in range(b):
                        tmp[r] = values[row, r]
                else:
                    v = shared[in_offset[k] + j]
                    for r in range(b):
                        tmp[r] = v
                for k in range(first + 1, last):
                    j = index[in_index[k] + e]
                    if in_batched[k]:
                        row = in_offset[k] + j
                        for r in range(b):
                            tmp[r] *= values[row, r]
                    else:
                        v = shared[in_offset[k] + j]
                        for r in range(b):
                            tmp[r] *= v
                o = base + index[out_index[s] + e]
                for r in range(b):
                    values[o, r] += tmp[r]
        # Z is the product of the final scalars
        for r in range(b):
            tmp[r] = 1.0
        for f in range(len(final_offset)):
            for r in range(b):
                tmp[r] *= values[final_offset[f], r] if final_batched[f] else shared[final_offset[f]]
        for r in range(b):
            z[start + r] = tmp[r]
        # backward: dZ with respect to every value on a path from a target
        for e in range(size):
            for r in range(b):
                grad[e, r] = 0.0
        for f in range(len(final_offset)):
            if not final_needed[f]:
                continue
            for r in range(b):
                tmp[r] = 1.0
            for g in range(len(final_offset)):
                if g != f:
                    for r in range(b):
                        tmp[r] *= values[final_offset[g], r] if final_batched[g] else shared[final_offset[g]]
            for r in range(b):
                grad[final_offset[f], r] = tmp[r]
        for s in range(n_steps - 1, -1, -1):
            if not out_needed[s]:
                continue
            first, last = in_start[s], in_start[s + 1]
            if last - first >= PREFIX_FROM:  # many inputs: prefix and suffix products, not one product per input
                for e in range(clique[s]):
                    o = out_offset[s] + index[out_index[s] + e]
                    for r in range(b):
                        prefix[0, r] = grad[o, r]
                    for i in range(1, last - first):
                        m = first + i - 1
                        j = index[in_index[m] + e]
                        if in_batched[m]:
                            row = in_offset[m] + j
                            for r in range(b):
                                prefix[i, r] = prefix[i - 1, r] * values[row, r]
                        else:
                            v = shared[in_offset[m] + j]
                            for r in range(b):
                                prefix[i, r] = prefix[i - 1, r] * v
                    for r in range(b):
                        tmp[r] = 1.0  # the product of the inputs after i
                    for i in range(last - first - 1, -1, -1):
                        k = first + i
                        j = index[in_index[k] + e]
                        if in_needed[k]:
                            row = in_offset[k] + j
                            for r in range(b):
                                grad[row, r] += prefix[i, r] * tmp[r]
                        if i > 0:
                            if in_batched[k]:
                                row = in_offset[k] + j
                                for r in range(b):
                                    tmp[r] *= values[row, r]
                            else:
                                v = shared[in_offset[k] + j]
                                for r in range(b):
                                    tmp[r] *= v
                continue
            for e in range(clique[s]):
                o = out_offset[s] + index[out_index[s] + e]
                for k in range(first, last):
                    if not in_needed[k]:
                        continue
                    for r in range(b):
                        tmp[r] = grad[o, r]
                    for m in range(first, last):
                        if m == k:
                            continue
                        j = index[in_index[m] + e]
                        if in_batched[m]:
                            row = in_offset[m] + j
                            for r in range(b):
                                tmp[r] *= values[row, r]
                        else:
                            v = shared[in_offset[m] + j]
                            for r in range(b):
                                tmp[r] *= v
                    row = in_offset[k] + index[in_index[k] + e]
                    for r in range(b):
                        grad[row, r] += tmp[r]
        at = 0
        for t in range(len(target_offset)):
            for e in range(target_size[t]):
                for r in range(b):
                    grads[at + e, start + r] = grad[target_offset[t] + e, r]
            at += target_size[t]
