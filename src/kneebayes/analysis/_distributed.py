"""Parameter draws solved and scored in blocks on a ``dask.distributed`` cluster.

:func:`~kneebayes.analysis.uncertainty` (``client=``) hands its draws here. The
draws are split into blocks of consecutive variants; each block is recalibrated
(:meth:`~kneebayes.analysis._variants.Variants.solve`) and scored
(:func:`~kneebayes.analysis._variants.posteriors`) by one task on a worker, and
the blocks are put back in order. Every variant is solved and scored on its own
numbers alone, so the result equals the local run's (the same seed draws the
same numbers on the client) up to the last bits of rounding. The patients are
sent to every worker once (``Client.scatter(..., broadcast=True)``).

``distributed`` is imported only here, when a client is given.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from .._errors import OptionError
from ._variants import Variants, posteriors

if TYPE_CHECKING:  # pragma: no cover
    from distributed import Client

    from .._engine import EvidenceArrays
    from .._parameters import FloatArray

#: The message for a ``client=`` when ``distributed`` is not installed.
MISSING = ("The 'client' parameter needs dask.distributed, which is not installed: "
           "pip install 'kneebayes[dask]'")


def check_client(client: Any) -> Client:
    """Return ``client`` if it is a ``dask.distributed.Client``; otherwise raise :class:`OptionError`.

    Raises
    ------
    OptionError
        When ``distributed`` is not installed (naming the ``dask`` extra), or
        ``client`` is something else.

    Examples
    --------
    >>> check_client("tcp://127.0.0.1:8786")
    Traceback (most recent call last):
    ...
    kneebayes._errors.OptionError: The 'client' parameter must be a dask.distributed Client (or None). Got str instead.
    """
    try:
        from distributed import Client
    except ImportError:
        raise OptionError(MISSING) from None
    if not isinstance(client, Client):
        raise OptionError(f"The 'client' parameter must be a dask.distributed Client (or None). "
                          f"Got {type(client).__name__} instead.")
    return client


def solved_posteriors(client: Client, var: Variants, ev: EvidenceArrays) -> FloatArray:
    """Solve every variant's intercepts and score the patients under it, in blocks on the workers.

    The same numbers as ``var.solve(); posteriors(var, ev)`` run locally (to
    rounding): shape ``(V, N, C)``. ``var`` itself is left unsolved.
    """
    threads = max(1, sum(client.nthreads().values()))  # type: ignore[no-untyped-call]
    size = math.ceil(len(var) / (2 * threads))  # two blocks per worker thread: the workers stay busy to the end
    patients = client.scatter(ev, broadcast=True)  # type: ignore[no-untyped-call]
    futures = [client.submit(_solve_and_score, var.take(np.arange(start, min(start + size, len(var)))), patients,
                             pure=False)
               for start in range(0, len(var), size)]
    blocks: list[FloatArray] = client.gather(futures)  # type: ignore[no-untyped-call]
    return np.concatenate(blocks)


def _solve_and_score(block: Variants, ev: EvidenceArrays) -> FloatArray:
    """Solve one block's intercepts and return its posteriors (runs on a worker)."""
    block.solve()
    return posteriors(block, ev)
