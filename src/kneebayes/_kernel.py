"""A compiled kernel for :class:`~kneebayes._elimination.EliminationPlan`: the same sums, in blocks of rows.

``numpy.einsum`` runs each elimination step over the whole batch, so every
intermediate table of a large batch streams through main memory, and its
multi-operand loop does not vectorise over the row axis. Here a plan is
flattened once into index arrays (:class:`Program`): for each step, each clique
entry's position in every input and in the output. One numba function then runs
the forward sums and the backward pass for a block of :data:`BLOCK` rows at a
time, every value of the block held in one buffer that stays in cache, each inner
loop a contiguous run over the block's rows (vectorised). It computes the same
products and sums as the einsum path, only grouped otherwise, so the two agree
to rounding (tested to 1e-12).

numba is imported on first use only: about 0.4 s once per process, and about
2 s the first time ever, to compile the kernel into numba's on-disk cache. The
command line's ``diagnose``, which scores one patient and exits, keeps the einsum
path (:func:`switched_off`) and never imports it. Without numba (the ``fast``
extra), or with ``KNEEBAYES_COMPILED=0`` in the environment, the einsum path
does everything.
"""

from __future__ import annotations

import contextlib
import functools
import os
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from ._elimination import EliminationPlan

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


#: Environment variable that switches the compiled path off when set to ``0``.
SWITCH = "KNEEBAYES_COMPILED"

_switched_off = False


def available() -> bool:
    """Whether the compiled path runs: numba can be imported, and nothing switched it off."""
    return not _switched_off and os.environ.get(SWITCH, "1") != "0" and _importable()


@contextlib.contextmanager
def switched_off() -> Iterator[None]:
    """Keep to the einsum path meanwhile (the command line's one-patient ``diagnose`` saves numba's import)."""
    global _switched_off  # noqa: PLW0603 - a process-wide choice, restored on exit
    before, _switched_off = _switched_off, True
    try:
        yield
    finally:
        _switched_off = before


@functools.cache
def _importable() -> bool:
    """Whether numba can be imported; a numba that is installed but fails to import is said once, in a warning."""
    try:
        import numba  # noqa: F401
    except ModuleNotFoundError:  # the 'fast' extra is not installed: the einsum path runs, as documented
        return False
    except Exception as err:  # noqa: BLE001 - a broken numba (say, built for another numpy) must not stop a diagnosis
        from ._errors import KneeBayesWarning

        warnings.warn(f"numba is installed but could not be imported ({type(err).__name__}: {err}); kneebayes "
                      "runs without its compiled kernel: the same results, more slowly", KneeBayesWarning,
                      stacklevel=2)
        return False
    return True


@dataclass(frozen=True)
class Program:
    """An elimination plan as index arrays for the compiled kernel.

    Every batched value (leaf factor or step output) has an offset in one buffer
    of ``size`` entries per row; unbatched leaves, and the outputs of steps with
    only unbatched inputs (computed once by einsum), have an offset in a shared
    vector. For step ``s``, inputs ``in_start[s]:in_start[s + 1]`` each have an
    offset, a batched flag, whether the backward pass needs their derivative,
    and ``clique[s]`` positions in ``index`` from ``in_index[k]``; the output's
    positions start at ``out_index[s]``.
    """

    size: int
    leaf_size: int
    leaf_offset: IntArray  # per factor: offset in the buffer (batched) or the shared vector (-1 if neither)
    shared_size: int
    steps: IntArray  # the plan's batched steps, in order
    clique: IntArray
    out_offset: IntArray
    out_size: IntArray
    out_index: IntArray
    out_needed: npt.NDArray[np.bool_]
    in_start: IntArray
    in_offset: IntArray
    in_batched: npt.NDArray[np.bool_]
    in_needed: npt.NDArray[np.bool_]
    in_index: IntArray
    index: IntArray
    final_offset: IntArray
    final_batched: npt.NDArray[np.bool_]
    final_needed: npt.NDArray[np.bool_]
    shared_steps: tuple[int, ...]  # steps computed once by einsum (all inputs unbatched)
    shared_offset: IntArray  # per value: its offset in the shared vector, or -1


@functools.lru_cache(maxsize=256)
def _grid(shape: tuple[int, ...]) -> IntArray:
    """Each entry's index along every axis of a table of ``shape``, entries in C order: shape (axes, entries)."""
    return np.indices(shape).reshape(len(shape), -1) if shape else np.zeros((0, 1), dtype=np.int64)


def _positions(cards: tuple[int, ...], clique: tuple[int, ...], scope: tuple[int, ...]) -> IntArray:
    """For each entry of ``clique`` (C order), the flat position of its assignment in a table over ``scope``."""
    grid = _grid(tuple(cards[u] for u in clique))
    flat = np.zeros(grid.shape[1], dtype=np.int64)
    for u in scope:
        flat = flat * cards[u] + grid[clique.index(u)]
    return flat


def compile_plan(plan: EliminationPlan) -> Program:
    """Flatten ``plan`` into the index arrays of a :class:`Program`."""
    cards, scope_of, batched_of = plan.cards, plan._scope_of, plan._batched_of
    n_leaves = len(plan.scopes)
    entries = [int(np.prod([cards[u] for u in scope], dtype=np.int64)) for scope in scope_of]
    offset = np.full(len(scope_of), -1, dtype=np.int64)
    shared_offset = np.full(len(scope_of), -1, dtype=np.int64)
    size = shared = 0
    for i in range(n_leaves):
        if batched_of[i]:
            offset[i], size = size, size + entries[i]
        else:
            shared_offset[i], shared = shared, shared + entries[i]
    leaf_size = size
    steps, shared_steps = [], []
    for s, step in enumerate(plan._steps):
        if batched_of[step.output]:
            offset[step.output], size = size, size + entries[step.output]
            steps.append(s)
        else:
            shared_offset[step.output], shared = shared, shared + entries[step.output]
            shared_steps.append(s)
    index: list[IntArray] = []
    at = 0
    clique, out_offset, out_size, out_index, out_needed = [], [], [], [], []
    in_start, in_offset, in_batched, in_needed, in_index = [0], [], [], [], []
    for s in steps:
        step = plan._steps[s]
        clique.append(int(np.prod([cards[u] for u in step.clique], dtype=np.int64)))
        out_offset.append(offset[step.output])
        out_size.append(entries[step.output])
        out_needed.append(plan._needs[step.output])
        out_index.append(at)
        index.append(_positions(cards, step.clique, scope_of[step.output]))
        at += clique[-1]
        for i in step.inputs:
            in_offset.append(offset[i] if batched_of[i] else shared_offset[i])
            in_batched.append(batched_of[i])
            in_needed.append(plan._needs[i] and batched_of[i])
            in_index.append(at)
            index.append(_positions(cards, step.clique, scope_of[i]))
            at += clique[-1]
        in_start.append(len(in_offset))
    finals = plan._final

    def ints(values: list[Any]) -> IntArray:
        return np.asarray(values, dtype=np.int64)

    return Program(
        size=size, leaf_size=leaf_size, leaf_offset=np.where(offset >= 0, offset, shared_offset)[:n_leaves],
        shared_size=shared, steps=ints(steps), clique=ints(clique), out_offset=ints(out_offset),
        out_size=ints(out_size), out_index=ints(out_index), out_needed=np.asarray(out_needed, dtype=bool),
        in_start=ints(in_start), in_offset=ints(in_offset), in_batched=np.asarray(in_batched, dtype=bool),
        in_needed=np.asarray(in_needed, dtype=bool), in_index=ints(in_index),
        index=np.concatenate(index) if index else np.zeros(0, dtype=np.int64),
        final_offset=ints([offset[i] if batched_of[i] else shared_offset[i] for i in finals]),
        final_batched=np.asarray([batched_of[i] for i in finals], dtype=bool),
        final_needed=np.asarray([plan._needs[i] and batched_of[i] for i in finals], dtype=bool),
        shared_steps=tuple(shared_steps), shared_offset=shared_offset,
    )


def run(plan: EliminationPlan, program: Program, factors: list[FloatArray]) -> tuple[FloatArray, list[FloatArray]]:
    """Run :meth:`EliminationPlan.run` by the compiled kernel (float64 factors only).

    Examples
    --------
    >>> import numpy as np
    >>> from kneebayes._elimination import EliminationPlan
    >>> plan = EliminationPlan((2, 2), [(0,), (0, 1), (1,)], [False, False, True], targets=(2,))
    >>> factors = [np.array([0.3, 0.7]), np.array([[0.9, 0.1], [0.2, 0.8]]), np.array([[1.0, 0.5], [0.2, 1.0]])]
    >>> z, (grad,) = run(plan, compile_plan(plan), factors)
    >>> bool(np.allclose(z, plan.run(factors, compiled=False)[0]))
    True
    """
    n = next(len(f) for f, b in zip(factors, plan.batched, strict=True) if b)
    leaves = np.empty((program.leaf_size, n))
    shared = np.empty(program.shared_size)
    tables: dict[int, Any] = {}  # shared factors and the outputs of steps on them only
    for i, (f, b) in enumerate(zip(factors, plan.batched, strict=True)):
        at = int(program.leaf_offset[i])
        if b:
            leaves[at:at + f[0].size] = f.reshape(n, -1).T
        else:
            shared[at:at + f.size] = np.ravel(f)
            tables[i] = f
    for s in program.shared_steps:  # steps on shared tables only: once, by einsum
        step = plan._steps[s]
        tables[step.output] = out = np.einsum(step.forward, *[tables[i] for i in step.inputs])
        at = int(program.shared_offset[step.output])
        shared[at:at + out.size] = np.ravel(out)
    targets = [(int(program.leaf_offset[t]), factors[t][0].size) for t in plan.targets]
    target_offset = np.asarray([t[0] for t in targets], dtype=np.int64)
    target_size = np.asarray([t[1] for t in targets], dtype=np.int64)
    z = np.empty(n)
    grads = np.empty((int(target_size.sum()), n))
    block = max(1, min(BLOCK, n, WORK_ENTRIES // max(1, program.size)))
    # the work arrays are made here, not in the kernel: made there, every call touched fresh pages (a
    # one-patient call cost more than einsum's); numpy's memory is reused (bench_paths.py: no page faults)
    values, grad = np.empty((program.size, block)), np.empty((program.size, block))
    _kernel()(leaves, shared, program.size, program.clique, program.out_offset, program.out_size,
              program.out_index, program.out_needed, program.in_start, program.in_offset, program.in_batched,
              program.in_needed, program.in_index, program.index, program.final_offset, program.final_batched,
              program.final_needed, target_offset, target_size, z, grads, values, grad)
    out, at = [], 0
    for t, (_, count) in zip(plan.targets, targets, strict=True):
        out.append(grads[at:at + count].T.reshape(factors[t].shape))
        at += count
    return z, out


#: Rows per block: a block's values and derivatives (about 7,000 entries a row each on the 18-cause model)
#: stay in the L2 and L3 caches, and each inner loop runs over 64 contiguous doubles.
BLOCK = 64

#: Entries of one work array at most (8 MB): a network with more entries a row runs in smaller blocks.
WORK_ENTRIES = 1 << 20

@functools.cache
def _kernel() -> Any:
    """Return the block kernel (numba compiles it on first use, or loads it from its on-disk cache)."""
    from ._block_kernel import run_blocks

    return run_blocks
