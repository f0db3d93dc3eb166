"""A progress bar for long batch runs: tqdm when installed, else a plain counter on stderr."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def progress_bar(total: int, unit: str = "patient") -> Iterator[Callable[[int], None]]:
    """Yield a function to call with the number of items just finished.

    Uses tqdm when it is installed (its Jupyter widget only when ipywidgets is
    installed too: without it ``tqdm.auto`` would print a ``TqdmWarning`` in every
    notebook), otherwise prints a counter on standard error.

    Examples
    --------
    >>> with progress_bar(3) as update:  # the bar goes to standard error
    ...     for _ in range(3):
    ...         update(1)
    """
    try:
        if importlib.util.find_spec("ipywidgets") is not None:
            from tqdm.auto import tqdm
        else:
            from tqdm import tqdm
    except ImportError:
        done = 0

        def update(n: int) -> None:
            nonlocal done
            done += n
            print(f"\r{done}/{total} {unit}s", end="", file=sys.stderr, flush=True)

        yield update
        print(file=sys.stderr)
        return
    bar = tqdm(total=total, unit=unit)
    try:
        yield bar.update
    finally:
        bar.close()
