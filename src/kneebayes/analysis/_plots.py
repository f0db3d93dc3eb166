"""Plots of a diagnosis, its uncertainty bands, and an evaluation (matplotlib, imported only when drawing)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .._diagnosis import Diagnosis
from .._display import _COLOURS, DISCLAIMER, TRIAGE_TEXT
from .._evaluate import Evaluation, _patients, load_vignettes
from .._model import Model
from ._result import ModelLike, as_model, axes, html_tables, records

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes


def plot_bands(table: pd.DataFrame, triage: str, ax: Axes | None = None, *, title: str = "") -> Axes:
    """Draw causes as ranked bars with optional whiskers, under a triage banner.

    Parameters
    ----------
    table : pandas.DataFrame
        One row per cause, in the order to draw (first on top): ``label``,
        ``point`` and, for whiskers, ``low`` and ``high``.
    triage : str
        The triage level shown in the banner.
    ax : matplotlib Axes, optional
    title : str

    Returns
    -------
    matplotlib Axes
    """
    ax = axes(ax)
    y = np.arange(len(table))[::-1]
    point = table["point"].to_numpy(dtype=float)
    error = None
    if "low" in table.columns and "high" in table.columns:
        error = np.vstack([point - table["low"].to_numpy(dtype=float), table["high"].to_numpy(dtype=float) - point])
        error = np.clip(error, 0.0, None)
    ax.barh(y, point, xerr=error, color="#90a4ae", ecolor="#263238", capsize=3)
    ax.set_yticks(y, list(table["label"]), fontsize=8)
    ax.set_xlim(0.0, 1.0)
    ax.set_xlabel("probability")
    ax.text(0.0, 1.02, TRIAGE_TEXT[triage], transform=ax.transAxes, color="white", fontsize=9, fontweight="bold",
            va="bottom", bbox={"facecolor": _COLOURS[triage], "edgecolor": "none", "boxstyle": "round"})
    ax.text(0.0, -0.18, DISCLAIMER, transform=ax.transAxes, fontsize=7, style="italic", va="top")
    if title:
        ax.set_title(title, pad=28, fontsize=10)
    return ax


def plot_diagnosis(diagnosis: Diagnosis, ax: Axes | None = None) -> Axes:
    """Draw a diagnosis as ranked bars under its triage banner (with whiskers, use an uncertainty's ``plot``).

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from kneebayes import diagnose
    >>> ax = plot_diagnosis(diagnose(present=["spasm"]))
    >>> len(ax.patches)
    18
    """
    frame = diagnosis.to_frame().rename(columns={"probability": "point"})
    return plot_bands(frame, diagnosis.triage, ax=ax)


def plot_confusion(evaluation: Evaluation, ax: Axes | None = None) -> Axes:
    """Draw the confusion table of an evaluation: final diagnosis (rows) by top cause (columns), with counts.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from kneebayes import evaluate, load_model
    >>> ax = plot_confusion(evaluate(load_model(), "validation/vignettes.csv"))
    >>> len(ax.get_xticklabels())
    18
    """
    ax = axes(ax)
    counts = evaluation.confusion
    ax.imshow(counts.to_numpy(dtype=float), cmap="Blues")
    ax.set_xticks(np.arange(counts.shape[1]), list(counts.columns), rotation=90, fontsize=7)
    ax.set_yticks(np.arange(counts.shape[0]), list(counts.index), fontsize=7)
    for (i, j), value in np.ndenumerate(counts.to_numpy()):
        if value:
            ax.text(j, i, str(int(value)), ha="center", va="center", fontsize=7)
    ax.set_xlabel("top cause")
    ax.set_ylabel("final diagnosis")
    ax.set_title(f"Confusion on {evaluation.n} vignettes (top-1 {evaluation.top1:.0%})")
    return ax


@dataclass(frozen=True)
class Calibration:
    """How well the posteriors' values match how often causes are the diagnosis, on vignettes.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per bin of predicted probability: ``low`` and ``high`` (the
        bin's edges), ``n`` (vignette-cause pairs in it), ``predicted`` (their
        mean posterior) and ``observed`` (the share that were the final
        diagnosis or an acceptable alternative).
    pairs : pandas.DataFrame
        Every (vignette, cause) pair: ``posterior`` and ``outcome`` (True when the
        cause is the final diagnosis or an acceptable alternative).
    """

    table: pd.DataFrame
    pairs: pd.DataFrame = field(repr=False)

    def summary(self) -> list[str]:
        """Return the result in a few plain sentences."""
        weights = self.table["n"] / self.table["n"].sum()
        gap = float((weights * (self.table["predicted"] - self.table["observed"]).abs()).sum())
        return [f"{len(self.pairs)} vignette-cause pairs in {len(self.table)} bins; "
                f"expected calibration error {gap:.3f}"]

    def __repr__(self) -> str:
        return "\n".join(["Calibration", *self.summary(), "",
                          self.table.to_string(index=False, float_format=lambda x: f"{x:.3f}")])

    def _repr_html_(self) -> str:
        return html_tables("Calibration", self.summary(), {"bins": self.table})

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dictionary."""
        return {"table": records(self.table)}

    def plot(self, ax: Axes | None = None) -> Axes:
        """Draw the reliability diagram: observed share against mean posterior per bin, with the diagonal.

        Returns
        -------
        matplotlib Axes
        """
        ax = axes(ax)
        ax.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=0.8, label="perfect calibration")
        used = self.table[self.table["n"] > 0]
        ax.plot(used["predicted"], used["observed"], marker="o", color="#1565c0", label="kneebayes")
        for row in used.itertuples():
            ax.annotate(str(row.n), (row.predicted, row.observed), textcoords="offset points", xytext=(4, -10),
                        fontsize=7)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_xlabel("posterior (mean in bin)")
        ax.set_ylabel("share that was the diagnosis")
        ax.set_title("Reliability diagram")
        ax.legend(loc="upper left", fontsize=7)
        return ax


def calibration(model: ModelLike, vignettes: pd.DataFrame | str | os.PathLike[str], *, bins: int = 5) -> Calibration:
    """Bin every vignette's posteriors and compare them with how often each cause was the diagnosis.

    Every (vignette, cause) pair counts once; its outcome is True when the cause
    is the vignette's final diagnosis or an acceptable alternative. Bins have
    equal width on [0, 1].

    Parameters
    ----------
    model : Model, Priors or path
    vignettes : pandas.DataFrame or path
        As for :func:`kneebayes.evaluate`.
    bins : int
        Number of bins.

    Returns
    -------
    Calibration

    Examples
    --------
    >>> from kneebayes import load_model
    >>> result = calibration(load_model(), "validation/vignettes.csv")
    >>> int(result.table["n"].sum()) == 116 * 18
    True
    """
    m: Model = as_model(model)
    frame = vignettes if isinstance(vignettes, pd.DataFrame) else load_vignettes(vignettes, m)
    scored = m.diagnose_many(_patients(frame, m))
    rows = []
    values = scored[list(m.causes)].to_numpy(dtype=float)
    for i, (ident, case) in enumerate(frame.iterrows()):
        good = {case["diagnosis"], *case["alternatives"]}
        for c, cause in enumerate(m.causes):
            rows.append({"id": ident, "cause": cause, "posterior": float(values[i, c]), "outcome": cause in good})
    pairs = pd.DataFrame.from_records(rows)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.searchsorted(edges, pairs["posterior"].to_numpy(), side="right") - 1, 0, bins - 1)
    table = pd.DataFrame({
        "low": edges[:-1],
        "high": edges[1:],
        "n": np.bincount(which, minlength=bins),
        "predicted": [float(pairs["posterior"][which == b].mean()) if (which == b).any() else np.nan
                      for b in range(bins)],
        "observed": [float(pairs["outcome"][which == b].mean()) if (which == b).any() else np.nan
                     for b in range(bins)],
    })
    return Calibration(table, pairs)
