"""Decision robustness: the smallest change of one number that flips a patient's top cause or triage."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from .._errors import OptionError
from .._parameters import FloatArray
from .._priors import MAX_ODDS_RATIO, MIN_ODDS_RATIO, Priors
from .._vocabulary import TRIAGE_LEVELS
from ._result import ModelLike, as_model, axes, html_tables, records
from ._variants import Variants, number_label, one_blas_thread, patient_arrays, posteriors, set_numbers

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

    from .._parameters import Parameters

Flip = Literal["either", "top", "triage"]

#: Probabilities are searched in [EDGE, 1 - EDGE] (and odds ratios in [1e-4, 1e4]).
EDGE = 1e-4
#: Points per direction of the scan that brackets the first flip.
GRID = 16
#: Rounds of the search inside the bracket; each splits it into SPLIT parts (it shrinks SPLIT**ROUNDS times).
ROUNDS, SPLIT = 14, 8

COLUMNS = ("kind", "target", "label", "value", "low", "high", "direction", "flips_at", "relative_change",
           "in_range", "flips", "top_after", "triage_after", "source", "evidence", "file", "line")


@dataclass(frozen=True)
class Robustness:
    """For one patient, how far each prior number must move to change the decision.

    Attributes
    ----------
    top : str
        The top cause at the point values.
    triage : str
        The triage at the point values.
    flip : str
        What counts as a change: ``"either"``, ``"top"`` or ``"triage"``.
    table : pandas.DataFrame
        One row per prior number, smallest ``|relative_change|`` first (numbers
        that flip nothing anywhere last, with NaN). ``direction`` is ``"down"``
        or ``"up"`` (the nearer of the two), ``flips_at`` the value at which the
        decision first changes, ``relative_change`` ``flips_at / value - 1``,
        ``in_range`` whether ``flips_at`` lies in the number's stated
        ``[low, high]``, ``flips`` what changed there (``"top"``, ``"triage"`` or
        ``"top+triage"``), ``top_after`` and ``triage_after`` the decision just
        past ``flips_at``; then the number's ``source``, ``evidence``, ``file``
        and ``line``.

    Examples
    --------
    >>> from kneebayes import load_model
    >>> from kneebayes.analysis import robustness
    >>> result = robustness(load_model(), present=["lump_behind_knee", "stiffness"], age=58)
    >>> result.top, bool(result.table["in_range"].iloc[0])
    ('bakers_cyst', False)
    """

    top: str
    triage: str
    flip: str
    table: pd.DataFrame = field(repr=False)

    def summary(self) -> list[str]:
        """Return the result in a few plain sentences."""
        inside = self.table[self.table["in_range"]]
        lines = [f"point values: top cause {self.top}, triage {self.triage}; "
                 f"{int(self.table['flips_at'].notna().sum())} of {len(self.table)} numbers can change it alone, "
                 f"{len(inside)} within their stated range"]
        if self.table["flips_at"].notna().any():
            row = self.table.iloc[0]
            lines.append(f"nearest: {row['label']} from {row['value']:.4g} to {row['flips_at']:.4g} "
                         f"({row['relative_change']:+.1%}) changes the {row['flips']} to "
                         f"{row['top_after']} / {row['triage_after']}")
        return lines

    def __repr__(self) -> str:
        shown = self.table.head(10)[["kind", "target", "value", "flips_at", "relative_change", "in_range", "flips"]]
        return "\n".join(["Decision robustness", *self.summary(), "",
                          shown.to_string(index=False, float_format=lambda x: f"{x:.4g}")])

    def _repr_html_(self) -> str:
        return html_tables("Decision robustness", self.summary(), {"numbers": self.table.head(30)})

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dictionary."""
        return {"top": self.top, "triage": self.triage, "flip": self.flip, "table": records(self.table)}

    def plot(self, ax: Axes | None = None, *, rows: int = 15) -> Axes:
        """Draw the relative change that flips the decision, nearest numbers on top (in range: dark).

        Returns
        -------
        matplotlib Axes
        """
        ax = axes(ax)
        shown = self.table[self.table["flips_at"].notna()].head(rows).iloc[::-1]
        colours = ["#c62828" if inside else "#90a4ae" for inside in shown["in_range"]]
        ax.barh(np.arange(len(shown)), shown["relative_change"].to_numpy(dtype=float), color=colours)
        ax.set_yticks(np.arange(len(shown)), [f"{lab} ({ev})" for lab, ev in
                                              zip(shown["label"], shown["evidence"], strict=True)], fontsize=7)
        ax.axvline(0.0, color="black", linewidth=0.8)
        ax.set_xscale("symlog", linthresh=0.1)
        ax.set_xlabel("relative change of the number that changes the decision (red: inside its range)")
        ax.set_title(f"What changes {self.top} / {self.triage}")
        return ax


def robustness(
    model: ModelLike,
    present: Iterable[str] | None = None,
    absent: Iterable[str] | None = None,
    age: float | None = None,
    *,
    flip: Flip = "either",
) -> Robustness:
    """Find, for one patient, the smallest change of each prior number that flips the decision.

    Each number is moved alone, down and up from its value, across everything
    that is valid where it stands: probabilities in ``[1e-4, 1 - 1e-4]``, a
    finding's probability above its leak and a leak below its links, odds
    ratios in ``[1e-4, 1e4]``, an age share as far as the other shares (rescaled
    as :meth:`~kneebayes.Priors.with_value` does, within their ranges) can
    absorb. The first flip in each direction is bracketed by a scan of 16
    points (in logit space for probabilities, log space for odds ratios,
    linear for thresholds), then located by bisection on the exact posterior
    (14 rounds that split the bracket in eight, so it shrinks 2**42 times).
    A flip that starts and ends between two neighbouring scan
    points would be missed. Numbers that cannot move this patient's
    posteriors (a finding the patient did not answer) are not searched.

    Parameters
    ----------
    model : Model, Priors or path
    present, absent, age
        The patient, as for :meth:`kneebayes.Model.diagnose`.
    flip : {"either", "top", "triage"}
        What counts as a change of decision.

    Returns
    -------
    Robustness

    Raises
    ------
    OptionError
        An unknown ``flip``.

    Examples
    --------
    >>> from kneebayes import load_model
    >>> result = robustness(load_model(), present=["calf_swelling", "recent_immobility"], age=64, flip="top")
    >>> result.top
    'dvt'
    """
    if flip not in ("either", "top", "triage"):
        raise OptionError(f"The 'flip' parameter must be 'either', 'top' or 'triage'. Got {flip!r} instead.")
    with one_blas_thread():
        return _robustness(model, present, absent, age, flip)


def _robustness(model: ModelLike, present: Iterable[str] | None, absent: Iterable[str] | None, age: float | None,
                flip: Flip) -> Robustness:
    m = as_model(model)
    p = m.parameters
    ev, _, _ = patient_arrays(m, present, absent, age, None)
    numbers = m.priors.to_frame().reset_index(drop=True)
    base_var = Variants.repeat(p, 1)
    base_post = posteriors(base_var, ev, m)
    top0, triage0 = int(base_post[0, 0].argmax()), int(base_var.triage(ev, base_post)[0, 0])
    searched = _searchable(numbers, ev.findings[0], p)
    lower, upper = _domains(numbers, m.priors)
    transform = [_transform(kind) for kind in numbers["kind"]]
    value = numbers["value"].to_numpy(dtype=float)
    t0 = np.array([fwd(x) for (fwd, _), x in zip(transform, value, strict=True)])
    t_lo = np.array([fwd(x) for (fwd, _), x in zip(transform, lower, strict=True)])
    t_hi = np.array([fwd(x) for (fwd, _), x in zip(transform, upper, strict=True)])

    def flipped(index: list[int], t: list[FloatArray]) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
        """Evaluate number ``index[i]`` at transformed values ``t[i]``; return flipped?, top, triage per value."""
        sizes = [len(x) for x in t]
        starts = np.cumsum([0, *sizes])
        var = Variants.repeat(p, int(starts[-1]))
        rows = [np.arange(starts[i], starts[i + 1]) for i in range(len(index))]
        vals = [np.array([transform[j][1](x) for x in ts]) for j, ts in zip(index, t, strict=True)]
        set_numbers(var, numbers.iloc[index], rows, vals, m.priors)
        post = posteriors(var, ev, m)
        top = post[:, 0].argmax(axis=1)
        triage = var.triage(ev, post)[:, 0]
        change = np.zeros(len(top), dtype=bool)
        if flip in ("either", "top"):
            change |= top != top0
        if flip in ("either", "triage"):
            change |= triage != triage0
        return ([change[r] for r in rows], [top[r] for r in rows], [triage[r] for r in rows])

    # scan: GRID points from the value to each end, both directions at once
    jobs = [(int(j), d) for j in np.flatnonzero(searched) for d in (-1, 1)
            if (t_lo[j] < t0[j] if d < 0 else t_hi[j] > t0[j])]
    fractions = np.arange(1, GRID + 1) / GRID
    grids = [t0[j] + fractions * ((t_lo[j] if d < 0 else t_hi[j]) - t0[j]) for j, d in jobs]
    found: dict[tuple[int, int], tuple[float, float]] = {}  # job -> bracket (no flip, flip) in transformed space
    if jobs:
        change, _, _ = flipped([j for j, _ in jobs], grids)
        for job, grid, ch in zip(jobs, grids, change, strict=True):
            if ch.any():
                first = int(np.argmax(ch))
                found[job] = (float(t0[job[0]] if first == 0 else grid[first - 1]), float(grid[first]))
    # bisection (eight parts per round, so 14 rounds shrink each bracket 8**14 = 2**42 times), all brackets at once
    brackets = dict(found)
    keys = list(brackets)
    inner = np.arange(1, SPLIT) / SPLIT
    for _ in range(ROUNDS if keys else 0):
        points = [brackets[k][0] + inner * (brackets[k][1] - brackets[k][0]) for k in keys]
        change, _, _ = flipped([k[0] for k in keys], points)
        for k, pts, ch in zip(keys, points, change, strict=True):
            # the first flipping point closes the bracket; the point before it (or the old end) opens it
            first = int(np.argmax(ch)) if ch.any() else len(pts)
            start = brackets[k][0] if first == 0 else float(pts[first - 1])
            end = brackets[k][1] if first == len(pts) else float(pts[first])
            brackets[k] = (start, end)
    after: dict[tuple[int, int], tuple[int, int]] = {}
    if keys:
        _, tops, triages = flipped([k[0] for k in keys], [np.array([brackets[k][1]]) for k in keys])
        after = {k: (int(a[0]), int(b[0])) for k, a, b in zip(keys, tops, triages, strict=True)}

    out = numbers[["kind", "target"]].copy()
    out["label"] = [number_label(k, t, p.labels) for k, t in zip(numbers["kind"], numbers["target"], strict=True)]
    for column in ("value", "low", "high"):
        out[column] = numbers[column]
    direction, flips_at, what, top_after, triage_after = [], [], [], [], []
    for j in range(len(numbers)):
        best: tuple[float, int] | None = None
        for d in (-1, 1):
            if (j, d) in brackets:
                x = transform[j][1](brackets[(j, d)][1])
                if best is None or abs(x / value[j] - 1) < abs(best[0] / value[j] - 1):
                    best = (x, d)
        if best is None:
            direction.append("")
            flips_at.append(np.nan)
            what.append("")
            top_after.append("")
            triage_after.append("")
            continue
        x, d = best
        a_top, a_triage = after[(j, d)]
        direction.append("down" if d < 0 else "up")
        flips_at.append(x)
        what.append("+".join(name for name, moved in (("top", a_top != top0), ("triage", a_triage != triage0))
                             if moved))
        top_after.append(p.causes[a_top])
        triage_after.append(TRIAGE_LEVELS[a_triage])
    out["direction"] = direction
    out["flips_at"] = flips_at
    out["relative_change"] = out["flips_at"] / out["value"] - 1.0
    out["in_range"] = (out["flips_at"] >= out["low"]) & (out["flips_at"] <= out["high"])
    out["flips"] = what
    out["top_after"] = top_after
    out["triage_after"] = triage_after
    for column in ("source", "evidence", "file", "line"):
        out[column] = numbers[column]
    out["_order"] = out["relative_change"].abs()
    out = out.sort_values("_order", kind="stable", na_position="last").reset_index(drop=True)
    return Robustness(p.causes[top0], TRIAGE_LEVELS[triage0], flip, out[list(COLUMNS)])


def _searchable(numbers: pd.DataFrame, findings: np.ndarray, p: Parameters) -> np.ndarray:
    """Which numbers can move this patient's decision: all but the numbers of findings the patient left unanswered."""
    answered = {f for f, state in zip(p.findings, findings, strict=True) if state != -1}
    out = []
    for kind, target in zip(numbers["kind"], numbers["target"], strict=True):
        finding = target.partition("|")[0]
        out.append(kind not in ("leak", "finding_probability") or finding in answered)
    return np.array(out, dtype=bool)


def _domains(numbers: pd.DataFrame, priors: Priors) -> tuple[FloatArray, FloatArray]:
    """Where each number can go while the others stay valid (see :func:`robustness`)."""
    links = priors.finding_links["probability"]
    leaks = priors.findings["leak"]
    bands = priors.age_bands
    lower = np.full(len(numbers), EDGE)
    upper = np.full(len(numbers), 1.0 - EDGE)
    for i, (kind, target) in enumerate(zip(numbers["kind"], numbers["target"], strict=True)):
        first = target.partition("|")[0]
        if kind == "odds_ratio":
            lower[i], upper[i] = MIN_ODDS_RATIO, MAX_ODDS_RATIO
        elif kind == "leak":
            own = links[links.index.get_level_values("finding") == first]
            upper[i] = min(1.0 - EDGE, float(own.min()) * (1.0 - 1e-9)) if len(own) else 1.0 - EDGE
        elif kind == "finding_probability":
            lower[i] = float(leaks[first]) * (1.0 + 1e-9) + 1e-12
        elif kind == "age_prevalence":
            others = bands.drop(index=first)
            lower[i] = max(EDGE, 1.0 - float(others["high"].sum()))
            upper[i] = min(1.0 - EDGE, 1.0 - float(others["low"].sum()))
        elif kind in ("threshold", "setting"):
            lower[i], upper[i] = 0.0, 1.0
    return lower, upper


def _transform(kind: str) -> tuple[Any, Any]:
    """Return the scale a number is searched on, and back: logit for probabilities, log for odds ratios."""
    if kind == "odds_ratio":
        return np.log, np.exp
    if kind in ("threshold", "setting"):
        return float, float

    def logit(x: float) -> float:
        return float(np.log(x) - np.log1p(-x))

    def expit(t: float) -> float:
        return float(1.0 / (1.0 + np.exp(-t)))

    return logit, expit
