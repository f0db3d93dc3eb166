"""Uncertainty bands: each cause's posterior when every prior number is drawn within its range."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .._errors import OptionError
from .._vocabulary import TRIAGE_LEVELS
from ._plots import plot_bands
from ._result import ModelLike, as_model, html_tables, records
from ._sampling import LEVEL, sample_numbers
from ._variants import Variants, one_blas_thread, patient_arrays, posteriors

if TYPE_CHECKING:  # pragma: no cover
    from distributed import Client
    from matplotlib.axes import Axes

COLUMNS = ("cause", "label", "point", "median", "low", "high", "top_share")


@dataclass(frozen=True)
class Uncertainty:
    """Posterior bands from prior numbers drawn within their stated ranges.

    Attributes
    ----------
    draws, seed : int
        How many parameter sets were drawn, from which seed.
    level : float
        The central probability of each band (0.9: from the 5% to the 95% quantile).
    point_top, point_triage : str
        For one patient, the top cause and triage at the point values.
    table : pandas.DataFrame
        For one patient, one row per cause, highest point posterior first:
        ``cause``, ``label``, ``point`` (the posterior at the point values),
        ``median``, ``low`` and ``high`` (the band's quantiles over the draws) and
        ``top_share`` (the share of draws in which it is the top cause). For a
        table of patients the same columns with a ``patient`` column first.
    changes : pandas.DataFrame
        One row per patient: ``top_changed`` and ``triage_changed`` (the share
        of draws whose top cause or triage differs from the point values'), and
        the share of draws at each triage level.
    samples : pandas.DataFrame
        For one patient, every draw's posteriors (one row per draw, one column per cause).

    Examples
    --------
    >>> from kneebayes import load_model
    >>> from kneebayes.analysis import uncertainty
    >>> band = uncertainty(load_model(), present=["calf_swelling", "recent_immobility"], age=64, draws=200)
    >>> row = band.table.iloc[0]
    >>> row["cause"], bool(row["low"] <= row["median"] <= row["high"])
    ('dvt', True)
    """

    draws: int
    seed: int | None
    level: float
    point_top: str
    point_triage: str
    table: pd.DataFrame = field(repr=False)
    changes: pd.DataFrame = field(repr=False)
    samples: pd.DataFrame = field(repr=False)

    def summary(self) -> list[str]:
        """Return the result in a few plain sentences."""
        lines = [f"{self.draws} draws of every prior number (seed {self.seed}); bands are central "
                 f"{self.level:.0%} intervals"]
        if len(self.changes) == 1:
            row = self.changes.iloc[0]
            lines.append(f"top cause at the point values: {self.point_top}, changed in {row['top_changed']:.1%} "
                         f"of draws; triage {self.point_triage}, changed in {row['triage_changed']:.1%}")
        else:
            lines.append(f"{len(self.changes)} patients: top cause changed in {self.changes['top_changed'].mean():.1%}"
                         f" of draws on average, triage in {self.changes['triage_changed'].mean():.1%}")
        return lines

    def __repr__(self) -> str:
        shown = self.table.drop(columns=["label"]).head(12)
        return "\n".join(["Uncertainty bands", *self.summary(), "",
                          shown.to_string(index=False, float_format=lambda x: f"{x:.3f}")])

    def _repr_html_(self) -> str:
        return html_tables("Uncertainty bands", self.summary(), {"posteriors": self.table, "changes": self.changes})

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dictionary."""
        return {"draws": self.draws, "seed": self.seed, "level": self.level, "table": records(self.table),
                "changes": records(self.changes)}

    def plot(self, ax: Axes | None = None) -> Axes:
        """Draw the causes as ranked bars (point posteriors) with the bands as whiskers, under the triage banner.

        Only for one patient.

        Returns
        -------
        matplotlib Axes
        """
        if "patient" in self.table.columns:
            raise OptionError("plot() draws one patient's bands; select a patient's rows of .table instead")
        return plot_bands(self.table, self.point_triage, ax=ax,
                          title=f"Posteriors with {self.level:.0%} bands ({self.draws} draws)")


def uncertainty(
    model: ModelLike,
    present: Iterable[str] | None = None,
    absent: Iterable[str] | None = None,
    age: float | None = None,
    *,
    patients: pd.DataFrame | None = None,
    draws: int = 1000,
    seed: int | None = 0,
    client: Client | None = None,
) -> Uncertainty:
    """Posterior bands when every prior number is drawn within its stated range.

    Every number is drawn at once, ``draws`` times, from the distributions of
    :mod:`kneebayes.analysis._sampling` (``[low, high]`` is a central 90%
    interval: a Beta for probabilities, a log-normal for odds ratios, age shares
    renormalised, link probabilities kept above their leak). Each draw's
    intercepts are recalibrated to its base rates and the patients are scored
    exactly under it; all draws are scored together, or in blocks on a Dask
    cluster when ``client`` is given.

    Parameters
    ----------
    model : Model, Priors or path
    present, absent, age
        One patient, as for :meth:`kneebayes.Model.diagnose`.
    patients : pandas.DataFrame, optional
        A table of patients instead, as for :meth:`kneebayes.Model.diagnose_many`.
    draws : int
        How many parameter sets to draw (at least 2).
    seed : int or None
        Seed of the draws; the same seed gives the same result.
    client : dask.distributed.Client, optional
        Spread the draws over this client's workers: the numbers are drawn here,
        then blocks of draws are recalibrated and scored on the workers. The
        result equals the local run's with the same seed (to rounding, 1e-12).
        Needs the ``dask`` extra (``pip install 'kneebayes[dask]'``).

    Returns
    -------
    Uncertainty

    Raises
    ------
    OptionError
        A ``draws`` that is not a whole number of at least 2, or a ``client``
        that is not a ``dask.distributed.Client`` (or distributed not installed).

    Examples
    --------
    >>> from kneebayes import load_model
    >>> band = uncertainty(load_model(), present=["spasm", "sudden_onset"], draws=100, seed=3)
    >>> band.table.columns[:6].tolist()
    ['cause', 'label', 'point', 'median', 'low', 'high']

    The same bands, the draws scored on a cluster (here two local worker processes):

    >>> from distributed import Client, LocalCluster  # doctest: +SKIP
    >>> with LocalCluster(n_workers=2, threads_per_worker=1) as cluster, Client(cluster) as client:
    ...     spread = uncertainty(load_model(), present=["spasm", "sudden_onset"], draws=100, seed=3,
    ...                          client=client)  # doctest: +SKIP
    """
    if isinstance(draws, bool) or not isinstance(draws, (int, np.integer)) or draws < 2:
        raise OptionError(f"The 'draws' parameter must be a whole number of at least 2. Got {draws!r} instead.")
    if client is not None:
        from ._distributed import check_client

        check_client(client)
    with one_blas_thread():
        return _uncertainty(model, present, absent, age, patients, int(draws), seed, client)


def _uncertainty(model: ModelLike, present: Iterable[str] | None, absent: Iterable[str] | None, age: float | None,
                 patients: pd.DataFrame | None, draws: int, seed: int | None, client: Client | None) -> Uncertainty:
    m = as_model(model)
    p = m.parameters
    ev, index, _ = patient_arrays(m, present, absent, age, patients)
    drawn = sample_numbers(m.priors, int(draws), seed)
    var = Variants.repeat(p, int(draws) + 1)  # row 0: the point values
    var.set_drawn(drawn, rows=np.arange(1, int(draws) + 1))
    if client is None:
        var.solve()
        post = posteriors(var, ev, m)  # (1 + D, N, C)
    else:
        from ._distributed import solved_posteriors

        post = solved_posteriors(client, var, ev)  # blocks of draws solved and scored on the workers
    triage = var.triage(ev, post)
    top = post.argmax(axis=2)
    q_low, q_high = (1 - LEVEL) / 2, 1 - (1 - LEVEL) / 2
    sample = post[1:]
    frames = []
    for n, patient in enumerate(index):
        frame = pd.DataFrame({
            "cause": list(p.causes),
            "label": [p.labels.get(c, c) for c in p.causes],
            "point": post[0, n],
            "median": np.median(sample[:, n], axis=0),
            "low": np.quantile(sample[:, n], q_low, axis=0),
            "high": np.quantile(sample[:, n], q_high, axis=0),
            "top_share": np.bincount(top[1:, n], minlength=len(p.causes)) / draws,
        }).sort_values("point", ascending=False, kind="stable")
        if len(index) > 1:
            frame.insert(0, "patient", patient)
        frames.append(frame)
    table = pd.concat(frames, ignore_index=True)
    changes = pd.DataFrame({
        "top_changed": (top[1:] != top[0]).mean(axis=0),
        "triage_changed": (triage[1:] != triage[0]).mean(axis=0),
        **{level: (triage[1:] == k).mean(axis=0) for k, level in enumerate(TRIAGE_LEVELS)},
    }, index=index)
    samples = pd.DataFrame(sample[:, 0], columns=list(p.causes)) if len(index) == 1 else pd.DataFrame()
    return Uncertainty(int(draws), seed, LEVEL, p.causes[int(top[0, 0])], TRIAGE_LEVELS[int(triage[0, 0])],
                       table, changes, samples)
