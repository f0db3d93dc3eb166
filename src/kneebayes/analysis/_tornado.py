"""One-way sensitivity (a tornado) of a posterior to every prior number across its own range."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .._errors import UnknownIdError
from .._vocabulary import TRIAGE_LEVELS, closest, did_you_mean
from ._result import ModelLike, as_model, axes, html_tables, records
from ._variants import Variants, number_label, one_blas_thread, patient_arrays, posteriors, set_numbers

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

#: Columns of a one-patient tornado, in order.
PATIENT_COLUMNS = ("kind", "target", "label", "value", "low", "high", "at_low", "at_high", "swing",
                   "top_low", "top_high", "triage_low", "triage_high", "source", "evidence", "file", "line")
#: Columns of a tornado over a table of patients, in order.
TABLE_COLUMNS = ("kind", "target", "label", "value", "low", "high", "at_low", "at_high", "swing",
                 "top_flips_low", "top_flips_high", "triage_flips_low", "triage_flips_high",
                 "source", "evidence", "file", "line")


@dataclass(frozen=True)
class Tornado:
    """How a posterior moves when each prior number goes to either end of its range.

    Attributes
    ----------
    of : str
        What was analysed: a cause id, ``"top"`` (each patient's most probable
        cause at the point values) or ``"triage"`` (the triage level's index in
        ``self_care, see_doctor, urgent, emergency``, 0 to 3).
    label : str
        ``of`` in words.
    point : float
        Its value at the point values (for a table of patients, the mean).
    n_patients : int
        1 for one patient.
    table : pandas.DataFrame
        One row per prior number, largest ``swing`` first. Columns ``kind`` and
        ``target`` name the number (as in :meth:`kneebayes.Priors.to_frame`), ``label``
        in words, ``value``, ``low`` and ``high`` its point value and range,
        ``at_low`` and ``at_high`` what was analysed with the number at each end
        of its range (for a table of patients, the mean over patients), ``swing``
        ``|at_high - at_low|`` (for a table, the mean over patients of each one's
        ``|at_high - at_low|``), then ``source``, ``evidence`` (the grade),
        ``file`` and ``line``. For one patient also the top cause and the triage at
        each end (``top_low``, ``top_high``, ``triage_low``, ``triage_high``); for
        a table, how many patients' top cause or triage differs from the point
        values' at each end (``top_flips_low``, ..., ``triage_flips_high``).

    Examples
    --------
    >>> from kneebayes import load_model
    >>> from kneebayes.analysis import tornado
    >>> result = tornado(load_model(), present=["lump_behind_knee", "stiffness"], age=58, target="bakers_cyst")
    >>> result.table.iloc[0][["kind", "target"]].tolist()
    ['leak', 'lump_behind_knee']
    """

    of: str
    label: str
    point: float
    n_patients: int
    table: pd.DataFrame = field(repr=False)

    def summary(self) -> list[str]:
        """Return the result in a few plain sentences."""
        who = "one patient" if self.n_patients == 1 else f"{self.n_patients} patients"
        moving = int((self.table["swing"] > 1e-12).sum())
        lines = [f"{self.label} for {who}: {self.point:.4g} at the point values; "
                 f"{moving} of {len(self.table)} numbers move it across their ranges"]
        if len(self.table):
            row = self.table.iloc[0]
            lines.append(f"largest swing: {row['label']} ({row['kind']} {row['target']}, source {row['source']}, "
                         f"{row['evidence']}) from {row['at_low']:.4g} to {row['at_high']:.4g}")
        return lines

    def __repr__(self) -> str:
        shown = self.table.head(10)[["kind", "target", "low", "high", "at_low", "at_high", "swing", "evidence"]]
        return "\n".join([f"Tornado of {self.label}", *self.summary(), "",
                          shown.to_string(index=False, float_format=lambda x: f"{x:.4g}")])

    def _repr_html_(self) -> str:
        return html_tables(f"Tornado of {self.label}", self.summary(), {"numbers": self.table.head(30)})

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dictionary."""
        return {"of": self.of, "label": self.label, "point": self.point, "n_patients": self.n_patients,
                "table": records(self.table)}

    def plot(self, ax: Axes | None = None, *, rows: int = 15) -> Axes:
        """Draw the tornado: one bar per number from its low end to its high end, largest on top.

        Each bar is labelled with the number, its source and its evidence grade;
        the vertical line is the point value.

        Parameters
        ----------
        ax : matplotlib Axes, optional
            Where to draw; a new figure when None.
        rows : int
            How many numbers to draw (the largest swings).

        Returns
        -------
        matplotlib Axes
        """
        ax = axes(ax)
        shown = self.table.head(rows).iloc[::-1]
        y = np.arange(len(shown))
        low, high = shown["at_low"].to_numpy(dtype=float), shown["at_high"].to_numpy(dtype=float)
        ax.barh(y, low - self.point, left=self.point, color="#1565c0", label="number at its low")
        ax.barh(y, high - self.point, left=self.point, color="#ef6c00", label="number at its high")
        ax.set_yticks(y, [f"{lab}\n{src} ({ev})" for lab, src, ev in
                          zip(shown["label"], shown["source"], shown["evidence"], strict=True)], fontsize=7)
        ax.axvline(self.point, color="black", linewidth=0.8)
        ax.set_xlabel(self.label)
        ax.set_title(f"Tornado: {self.label}")
        ax.legend(loc="lower right", fontsize=7)
        return ax


def tornado(
    model: ModelLike,
    present: Iterable[str] | None = None,
    absent: Iterable[str] | None = None,
    age: float | None = None,
    *,
    patients: pd.DataFrame | None = None,
    target: str = "top",
) -> Tornado:
    """One-way sensitivity of a posterior to every prior number across its own ``[low, high]``.

    Each number in turn is set to the low and to the high end of its range, the
    others staying at their values, exactly as
    ``Model.from_priors(priors.with_value(kind, target, low))`` would do (an age
    share rescales the other shares as :meth:`~kneebayes.Priors.with_value` does),
    and the posteriors are recomputed exactly. All variants are scored at once
    (see :mod:`kneebayes.analysis._variants`), without rebuilding models.

    Parameters
    ----------
    model : Model, Priors or path
        The model.
    present, absent, age
        One patient, as for :meth:`kneebayes.Model.diagnose`.
    patients : pandas.DataFrame, optional
        A table of patients instead, as for :meth:`kneebayes.Model.diagnose_many`.
    target : str
        A cause id, ``"top"`` (each patient's most probable cause at the point
        values) or ``"triage"`` (the triage level's index, 0 self care to 3
        emergency).

    Returns
    -------
    Tornado

    Raises
    ------
    UnknownIdError
        An unknown id in the evidence, or a ``target`` that is not a cause (with
        the closest).
    OptionError
        Both a patient and ``patients``, or an empty table.

    Examples
    --------
    >>> from kneebayes import load_model
    >>> result = tornado(load_model(), present=["calf_swelling", "recent_immobility"], age=64, target="dvt")
    >>> row = result.table.iloc[0]
    >>> bool(row["swing"] == abs(row["at_high"] - row["at_low"]))
    True
    """
    with one_blas_thread():
        return _tornado(model, present, absent, age, patients, target)


def _tornado(model: ModelLike, present: Iterable[str] | None, absent: Iterable[str] | None, age: float | None,
             patients: pd.DataFrame | None, target: str) -> Tornado:
    m = as_model(model)
    p = m.parameters
    if not isinstance(target, str) or (target not in p.causes and target not in ("top", "triage")):
        options = [*p.causes, "top", "triage"]
        raise UnknownIdError(f"The 'target' parameter must be a cause id, 'top' or 'triage'. Got {target!r}; "
                             f"{did_you_mean(str(target), options)}", ids=[str(target)],
                             suggestions={str(target): closest(str(target), options)})
    ev, index, _ = patient_arrays(m, present, absent, age, patients)
    numbers = m.priors.to_frame()
    n = len(numbers)
    var = Variants.repeat(p, 1 + 2 * n)
    rows = [np.array([1 + 2 * i, 2 + 2 * i]) for i in range(n)]
    ends = numbers[["low", "high"]].to_numpy(dtype=float)
    values = [ends[i] for i in range(n)]
    set_numbers(var, numbers, rows, values, m.priors)
    post = posteriors(var, ev, m)  # (V, N, C)
    triage = var.triage(ev, post)  # (V, N)
    top = post.argmax(axis=2)  # (V, N): the first of equal posteriors, as Diagnosis ranks them
    if target == "triage":
        measure = triage.astype(float)
        label = "triage level (0 self care - 3 emergency)"
    elif target == "top":
        chosen = top[0]
        measure = post[:, np.arange(len(index)), chosen]
        label = "P(top cause)" if len(index) > 1 else f"P({p.labels.get(p.causes[chosen[0]], p.causes[chosen[0]])})"
    else:
        measure = post[:, :, p.causes.index(target)]
        label = f"P({p.labels.get(target, target)})"
    at_low, at_high = measure[1::2], measure[2::2]  # (n, N)
    out = numbers[["kind", "target"]].copy()
    out["label"] = [number_label(k, t, p.labels) for k, t in zip(numbers["kind"], numbers["target"], strict=True)]
    for column in ("value", "low", "high"):
        out[column] = numbers[column]
    out["at_low"], out["at_high"] = at_low.mean(axis=1), at_high.mean(axis=1)
    out["swing"] = np.abs(at_high - at_low).mean(axis=1)
    if len(index) == 1:
        out["top_low"] = [p.causes[c] for c in top[1::2, 0]]
        out["top_high"] = [p.causes[c] for c in top[2::2, 0]]
        out["triage_low"] = [TRIAGE_LEVELS[t] for t in triage[1::2, 0]]
        out["triage_high"] = [TRIAGE_LEVELS[t] for t in triage[2::2, 0]]
        columns = PATIENT_COLUMNS
    else:
        out["top_flips_low"] = (top[1::2] != top[0]).sum(axis=1)
        out["top_flips_high"] = (top[2::2] != top[0]).sum(axis=1)
        out["triage_flips_low"] = (triage[1::2] != triage[0]).sum(axis=1)
        out["triage_flips_high"] = (triage[2::2] != triage[0]).sum(axis=1)
        columns = TABLE_COLUMNS
    for column in ("source", "evidence", "file", "line"):
        out[column] = numbers[column]
    out = out.sort_values("swing", ascending=False, kind="stable").reset_index(drop=True)
    return Tornado(target, label, float(measure[0].mean()), len(index), out[list(columns)])
