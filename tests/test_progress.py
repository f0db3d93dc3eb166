"""The progress bar never prints tqdm's notebook warning when ipywidgets is missing."""

from __future__ import annotations

import importlib.util
import sys
import types
import warnings

import pytest

from kneebayes._progress import progress_bar


def test_without_ipywidgets_the_plain_tqdm_bar_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without ipywidgets, tqdm.auto (which warns with TqdmWarning in a notebook) is not used."""
    tqdm = pytest.importorskip("tqdm")
    real_find_spec = importlib.util.find_spec

    def no_widgets(name: str, *args: object) -> object:
        return None if name == "ipywidgets" else real_find_spec(name, *args)  # type: ignore[arg-type]

    class NotebookBar:  # what tqdm.auto gives in a Jupyter kernel without ipywidgets
        def __init__(self, *args: object, **kwargs: object) -> None:
            warnings.warn("IProgress not found. Please update jupyter and ipywidgets.", tqdm.TqdmWarning,
                          stacklevel=2)

    fake = types.ModuleType("tqdm.auto")
    fake.tqdm = NotebookBar  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "tqdm.auto", fake)
    monkeypatch.setattr(importlib.util, "find_spec", no_widgets)
    with progress_bar(3) as update:
        update(3)
