"""Helpers every analysis result shares: loading inputs, HTML tables, importing matplotlib."""

from __future__ import annotations

import html
import os
from typing import TYPE_CHECKING, Any

import pandas as pd

from .._model import Model
from .._priors import Priors, load_priors

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

#: What the analyses accept as a model: a Model, validated Priors, or a priors folder.
ModelLike = Model | Priors | str | os.PathLike[str]


def as_model(source: ModelLike) -> Model:
    """Return a model from a Model, Priors, or a path to a priors folder.

    Examples
    --------
    >>> from kneebayes import load_priors
    >>> as_model(load_priors()).causes[0]
    'cramp'
    """
    if isinstance(source, Model):
        return source
    if isinstance(source, Priors):
        return Model.from_priors(source)
    if isinstance(source, (str, os.PathLike)):
        return Model.from_priors(load_priors(source))
    raise TypeError(f"expected a Model, Priors or a priors folder path. Got {type(source).__name__} instead.")


def axes(ax: Axes | None) -> Axes:
    """Return ``ax``, or new Axes of a new figure; say how to install matplotlib when it is missing."""
    if ax is not None:
        return ax
    try:
        import matplotlib.pyplot as plt
    except ImportError as err:  # pragma: no cover - matplotlib is in the dev and notebooks extras
        raise ImportError("plotting needs matplotlib: pip install 'kneebayes[notebooks]'") from err
    _, new = plt.subplots()
    return new


def html_tables(title: str, lines: list[str], tables: dict[str, pd.DataFrame]) -> str:
    """Render a title, a few summary lines and named tables as one HTML block."""
    out = [f'<div class="kneebayes-analysis"><h4>{html.escape(title)}</h4>']
    out += [f"<p>{html.escape(line)}</p>" for line in lines]
    for name, frame in tables.items():
        if frame.empty:
            continue
        out.append(f"<h5>{html.escape(name)}</h5>")
        out.append(frame.to_html(float_format=lambda x: f"{x:.4g}", na_rep=""))
    out.append("</div>")
    return "\n".join(out)


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Return a table as JSON-ready records (index included, NaN as None)."""
    flat = frame.reset_index() if frame.index.name or any(frame.index.names) else frame
    return [{str(k): (None if _missing(v) else v) for k, v in row.items()}
            for row in flat.astype(object).to_dict("records")]


def _missing(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False
