"""Measure a model against a file of case vignettes: accuracy, calibration, triage safety."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ._csvfile import read_table
from ._errors import OptionError, PriorsError, Problem
from ._model import Model
from ._vocabulary import TRIAGE_LEVELS, did_you_mean

VIGNETTE_COLUMNS = ("id", "split", "age", "present", "absent", "diagnosis", "alternatives", "triage")


def load_vignettes(path: str | os.PathLike[str], model: Model) -> pd.DataFrame:
    """Read and check a vignette file against a model's ids.

    The format (documented in ``validation/README.md``) is CSV with ``#`` comment
    lines and the columns ``id, split, age, present, absent, diagnosis,
    alternatives, triage`` (more columns are kept).

    Parameters
    ----------
    path : str or path-like
        The vignette file.
    model : Model
        The model whose ids the vignettes must use.

    Returns
    -------
    pandas.DataFrame
        Index ``id``; ``present``, ``absent`` and ``alternatives`` as tuples, ``age`` as
        float (NaN when unknown).

    Raises
    ------
    PriorsError
        Listing every problem with line and field (the same error type as a
        malformed priors file, since vignettes are edited the same way).

    Examples
    --------
    >>> from kneebayes import load_model, shipped_priors_path
    >>> path = shipped_priors_path().parent / "validation" / "vignettes.csv"
    >>> frame = load_vignettes(path, load_model()) if path.is_file() else None  # a checkout holds the set
    >>> frame is None or set(frame["split"]) == {"tune", "heldout"}
    True
    """
    file = Path(path)
    problems: list[Problem] = []
    table = read_table(file, VIGNETTE_COLUMNS, problems)
    if table is None:
        raise PriorsError(str(file.parent), problems)
    observable = set(model.observable)
    causes = set(model.causes)
    records: list[dict[str, Any]] = []
    seen: set[str] = set()

    def bad(line: int, column: str, value: str, rule: str) -> None:
        problems.append(Problem(file.name, line, column, value, rule))

    for row in table.rows:
        f = row.fields
        if f["id"] in seen:
            bad(row.line, "id", f["id"], "duplicate vignette id")
        seen.add(f["id"])
        lists = {}
        for column in ("present", "absent"):
            lists[column] = tuple(f[column].split())
            for ident in lists[column]:
                if ident not in observable:
                    bad(row.line, column, ident, f"unknown id; {did_you_mean(ident, observable)}")
        if set(lists["present"]) & set(lists["absent"]):
            bad(row.line, "absent", f["absent"], "an id cannot be both present and absent")
        alternatives = tuple(f["alternatives"].split())
        for ident in (f["diagnosis"], *alternatives):
            if ident not in causes:
                bad(row.line, "diagnosis", ident, f"unknown cause id; {did_you_mean(ident, causes)}")
        if f["triage"] not in TRIAGE_LEVELS:
            bad(row.line, "triage", f["triage"], f"must be one of {', '.join(TRIAGE_LEVELS)}")
        age = float("nan")
        if f["age"]:
            try:
                age = float(f["age"])
            except ValueError:
                bad(row.line, "age", f["age"], "must be a number of years or empty")
            else:
                if not 0 <= age <= 120:
                    bad(row.line, "age", f["age"], "must be in [0, 120]")
        records.append({**f, **lists, "alternatives": alternatives, "age": age, "line": row.line})
    if problems:
        raise PriorsError(str(file), problems)
    return pd.DataFrame.from_records(records).set_index("id")


@dataclass(frozen=True)
class Evaluation:
    """Accuracy and triage safety of a model on a set of vignettes.

    Attributes
    ----------
    n : int
        Number of vignettes.
    top1, top3 : float
        Share whose top cause (top three causes) includes the diagnosis or an
        acceptable alternative.
    mean_rank : float
        Mean rank (1 = top) of the final diagnosis.
    brier : float
        Mean of ``(1 - P(diagnosis))**2``.
    log_loss : float
        Mean of ``-log P(diagnosis)``.
    under_triage_urgent : int
        Vignettes needing urgent or emergency care that got a lower level.
    urgent_triaged : float
        Share of the vignettes needing urgent or emergency care that got at least
        their level (NaN when there are none).
    under_triage, over_triage : int
        Vignettes whose level is below (above) the right one, at any level.
    confusion : pandas.DataFrame
        Final diagnosis (rows) by top-1 cause (columns), counts.
    cases : pandas.DataFrame
        One row per vignette: diagnosis, top cause, rank, P(diagnosis), triage and
        right triage.

    Examples
    --------
    >>> from kneebayes import load_model
    >>> cases = pd.DataFrame({"present": [("calf_swelling", "recent_immobility")], "absent": [()],
    ...                       "age": [70.0], "diagnosis": ["dvt"], "alternatives": [()], "triage": ["urgent"]},
    ...                      index=pd.Index(["x1"], name="id"))
    >>> result = evaluate(load_model(), cases)
    >>> result.n, result.mean_rank, result.under_triage_urgent
    (1, 1.0, 0)
    """

    n: int
    top1: float
    top3: float
    mean_rank: float
    brier: float
    log_loss: float
    under_triage_urgent: int
    urgent_triaged: float
    under_triage: int
    over_triage: int
    confusion: pd.DataFrame = field(repr=False)
    cases: pd.DataFrame = field(repr=False)

    def summary(self) -> dict[str, float | int]:
        """Return the scalar figures as a dictionary."""
        return {
            "n": self.n,
            "top1": self.top1,
            "top3": self.top3,
            "mean_rank": self.mean_rank,
            "brier": self.brier,
            "log_loss": self.log_loss,
            "under_triage_urgent": self.under_triage_urgent,
            "urgent_triaged": self.urgent_triaged,
            "under_triage": self.under_triage,
            "over_triage": self.over_triage,
        }


def evaluate(
    model: Model,
    vignettes: pd.DataFrame | str | os.PathLike[str],
    *,
    split: str | None = None,
    progress: bool = False,
) -> Evaluation:
    """Score a model on case vignettes.

    Parameters
    ----------
    model : Model
        The model to score.
    vignettes : pandas.DataFrame or path
        As returned by :func:`load_vignettes`, or a path to a vignette file.
    split : {"tune", "heldout"}, optional
        Score only that part of the set; None scores all.
    progress : bool
        Show a progress bar.

    Returns
    -------
    Evaluation

    Examples
    --------
    >>> from kneebayes import load_model
    >>> from kneebayes._evaluate import evaluate
    >>> cases = pd.DataFrame({"present": [("spasm", "sudden_onset")], "absent": [()], "age": [30.0],
    ...                       "diagnosis": ["cramp"], "alternatives": [()], "triage": ["self_care"]},
    ...                      index=pd.Index(["x1"], name="id"))
    >>> evaluate(load_model(), cases).top1
    1.0
    """
    frame = vignettes if isinstance(vignettes, pd.DataFrame) else load_vignettes(vignettes, model)
    if split is not None:
        if split not in ("tune", "heldout"):
            raise OptionError(f"The 'split' parameter must be 'tune', 'heldout' or None. Got {split!r} instead.")
        frame = frame[frame["split"] == split]
    if frame.empty:
        raise OptionError("no vignettes to evaluate")
    patients = _patients(frame, model)
    scored = model.diagnose_many(patients, progress=progress)
    return _score(frame, scored, model.causes)


def evaluate_by_split(
    model: Model, vignettes: pd.DataFrame, *, progress: bool = False
) -> dict[str, Evaluation]:
    """Score every vignette once and report the tuning part, the held-out part and all.

    Returns
    -------
    dict of str to Evaluation
        Keys ``"tune"`` and ``"heldout"`` (when the set has such rows) and ``"all"``.
    """
    scored = model.diagnose_many(_patients(vignettes, model), progress=progress)
    results = {}
    for name in ("tune", "heldout"):
        part = (vignettes["split"] == name).to_numpy()
        if part.any():
            results[name] = _score(vignettes[part], scored[part], model.causes)
    results["all"] = _score(vignettes, scored, model.causes)
    return results


def _patients(frame: pd.DataFrame, model: Model) -> pd.DataFrame:
    data: dict[str, list[object]] = {ident: [None] * len(frame) for ident in model.observable}
    for i, (present, absent) in enumerate(zip(frame["present"], frame["absent"], strict=True)):
        for ident in present:
            data[ident][i] = True
        for ident in absent:
            data[ident][i] = False
    patients = pd.DataFrame(data, index=frame.index, dtype=object)
    patients["age"] = frame["age"].astype(float)
    return patients


def _score(frame: pd.DataFrame, scored: pd.DataFrame, causes: Sequence[str]) -> Evaluation:
    post = scored[list(causes)].to_numpy()
    order = np.argsort(-post, axis=1, kind="stable")
    ranked = np.array(causes, dtype=object)[order]
    rows = []
    for i, (ident, case) in enumerate(frame.iterrows()):
        acceptable = {case["diagnosis"], *case["alternatives"]}
        rank = int(np.flatnonzero(ranked[i] == case["diagnosis"])[0]) + 1
        p_true = float(post[i, list(causes).index(case["diagnosis"])])
        got = TRIAGE_LEVELS.index(scored["triage"].iloc[i])
        want = TRIAGE_LEVELS.index(case["triage"])
        rows.append(
            {
                "id": ident,
                "diagnosis": case["diagnosis"],
                "top": ranked[i][0],
                "top1_ok": ranked[i][0] in acceptable,
                "top3_ok": bool(acceptable & set(ranked[i][:3])),
                "rank": rank,
                "p_diagnosis": p_true,
                "triage": scored["triage"].iloc[i],
                "right_triage": case["triage"],
                "under": got < want,
                "over": got > want,
                "red_flags": scored["red_flags"].iloc[i],
            }
        )
    cases = pd.DataFrame.from_records(rows).set_index("id")
    clipped = cases["p_diagnosis"].clip(lower=1e-15)
    urgent = cases["right_triage"].isin(["urgent", "emergency"])
    confusion = pd.crosstab(cases["diagnosis"], cases["top"]).reindex(index=list(causes), columns=list(causes),
                                                                      fill_value=0)
    confusion.index.name, confusion.columns.name = "diagnosis", "top1"
    return Evaluation(
        n=len(cases),
        top1=float(cases["top1_ok"].mean()),
        top3=float(cases["top3_ok"].mean()),
        mean_rank=float(cases["rank"].mean()),
        brier=float(((1.0 - cases["p_diagnosis"]) ** 2).mean()),
        log_loss=float(-np.log(clipped).mean()),
        under_triage_urgent=int((cases["under"] & urgent).sum()),
        urgent_triaged=float((~cases.loc[urgent, "under"]).mean()) if urgent.any() else float("nan"),
        under_triage=int(cases["under"].sum()),
        over_triage=int(cases["over"].sum()),
        confusion=confusion,
        cases=cases,
    )
