"""Measure a model against a file of case vignettes: accuracy, calibration, triage safety."""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ._csvfile import read_table
from ._errors import (
    ContradictoryEvidenceError,
    InvalidAgeError,
    OptionError,
    Problem,
    UnknownIdError,
    VignetteError,
)
from ._evidence import MAX_AGE
from ._model import Model
from ._numbers import parse_decimal
from ._vocabulary import SEXES, TRIAGE_LEVELS, did_you_mean, unknown_ids

VIGNETTE_COLUMNS = ("id", "split", "age", "present", "absent", "diagnosis", "alternatives", "triage")


def load_vignettes(path: str | os.PathLike[str], model: Model) -> pd.DataFrame:
    r"""Read and check a vignette file against a model's ids.

    The format (documented in ``validation/README.md``) is comma-separated CSV
    with ``#`` comment lines and the columns ``id, split, age, present, absent,
    diagnosis, alternatives, triage`` (more columns are kept). An age is empty or
    a decimal number of years, as numbers in the prior files. An optional column
    ``sex`` holds ``female``, ``male`` or nothing (unknown).

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
    VignetteError
        Listing every problem, each with the file's path, line and field.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from kneebayes import load_model
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = Path(folder) / "cases.csv"
    ...     _ = path.write_text("id,split,age,present,absent,diagnosis,alternatives,triage\n"
    ...                         "a1,tune,30,spasm sudden_onset,fever,cramp,,self_care\n")
    ...     load_vignettes(path, load_model()).loc["a1", "present"]
    ('spasm', 'sudden_onset')
    """
    if not isinstance(path, (str, os.PathLike)):
        raise OptionError(f"The 'path' parameter must be the path of a vignette file. Got {path!r} instead.")
    _check_model(model)
    file = Path(path)
    where = str(file)
    try:
        missing, folder = not file.exists(), file.is_dir()
    except OSError:  # read_table reports why the file cannot be read
        missing = folder = False
    if missing or folder:
        rule = "the file does not exist" if missing else "this is a folder, not a vignette file"
        raise VignetteError(where, [Problem(where, None, None, None, rule)])
    found: list[Problem] = []
    table = read_table(file, VIGNETTE_COLUMNS, found)
    problems = [replace(problem, file=where) for problem in found]
    if table is None:
        raise VignetteError(where, problems)
    observable = set(model.observable)
    causes = set(model.causes)
    records: list[dict[str, Any]] = []
    seen: set[str] = set()

    def bad(line: int, column: str, value: str, rule: str) -> None:
        problems.append(Problem(where, line, column, value, rule))

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
            years = parse_decimal(f["age"])
            if years is None:
                bad(row.line, "age", f["age"], "must be empty or a number of years written in decimal, such as 58")
            elif not 0 <= years <= MAX_AGE:
                bad(row.line, "age", f["age"], f"must be in [0, {MAX_AGE}]")
            else:
                age = years
        if f.get("sex", "") not in ("", *SEXES):
            bad(row.line, "sex", f["sex"], "must be empty (unknown), 'female' or 'male'")
        records.append({**f, **lists, "alternatives": alternatives, "age": age, "line": row.line})
    if problems:
        raise VignetteError(where, problems)
    return pd.DataFrame.from_records(records).set_index("id")


def _check_model(model: object) -> None:
    if not isinstance(model, Model):
        raise OptionError(f"The 'model' parameter must be a Model (see load_model). Got {type(model).__name__}.")


#: The columns evaluate() reads from a vignette table (``split`` too when a split is asked for).
_NEEDED = ("present", "absent", "age", "diagnosis", "alternatives", "triage")


def _check_frame(frame: pd.DataFrame, model: Model, *, split: bool) -> None:
    """Check a vignette table given as a DataFrame; raise a KneeBayesError naming the vignette and column."""
    needed = (*_NEEDED, "split") if split else _NEEDED
    missing = [column for column in needed if column not in frame.columns]
    if missing:
        raise OptionError(
            f"a vignette table needs the columns {', '.join(repr(c) for c in needed)} (as load_vignettes returns); "
            f"missing: {', '.join(repr(c) for c in missing)}"
        )
    observable, causes = set(model.observable), set(model.causes)
    for ident, case in frame.iterrows():
        where = f"vignette {ident!r}"
        lists: dict[str, tuple[str, ...]] = {}
        for column in ("present", "absent", "alternatives"):
            value = case[column]
            if not isinstance(value, (tuple, list, set, frozenset)) or not all(isinstance(i, str) for i in value):
                raise OptionError(
                    f"{where}, column {column!r}: must be a tuple of id strings (as load_vignettes returns). "
                    f"Got {value!r} instead."
                )
            lists[column] = tuple(value)
        for column, allowed, what in (("present", observable, "id"), ("absent", observable, "id"),
                                      ("alternatives", causes, "cause id")):
            unknown = [i for i in lists[column] if i not in allowed]
            if unknown:
                message, suggestions = unknown_ids(what, unknown, allowed)
                raise UnknownIdError(f"{where}, column {column!r}: {message}", ids=unknown, suggestions=suggestions)
        both = sorted(set(lists["present"]) & set(lists["absent"]))
        if both:
            raise ContradictoryEvidenceError(
                f"{where}: {', '.join(repr(b) for b in both)} both present and absent; give each id once"
            )
        diagnosis = case["diagnosis"]
        if not isinstance(diagnosis, str) or diagnosis not in causes:
            message, suggestions = unknown_ids("cause id", [str(diagnosis)], causes)
            raise UnknownIdError(f"{where}, column 'diagnosis': {message}", ids=[str(diagnosis)],
                                 suggestions=suggestions)
        if case["triage"] not in TRIAGE_LEVELS:
            raise OptionError(
                f"{where}, column 'triage': must be one of {', '.join(TRIAGE_LEVELS)}. Got {case['triage']!r} instead."
            )
        age = case["age"]
        if age is None or age is pd.NA:
            continue
        years = float(age) if isinstance(age, numbers.Real) and not isinstance(age, (bool, np.bool_)) else -1.0
        if not (math.isnan(years) or 0 <= years <= MAX_AGE):
            raise InvalidAgeError(
                f"{where}, column 'age': must be a number of years in [0, {MAX_AGE}] or missing. Got {age!r} instead."
            )


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

    Raises
    ------
    VignetteError
        A vignette file that is missing or malformed.
    OptionError, UnknownIdError, ContradictoryEvidenceError, InvalidAgeError
        A table without a needed column, or a vignette with an unknown id, cause,
        triage level or a bad age (each names the vignette and the column); an
        unknown split.

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
    _check_model(model)
    if not isinstance(vignettes, (pd.DataFrame, str, os.PathLike)):
        raise OptionError(
            "The 'vignettes' parameter must be a DataFrame (as load_vignettes returns) or the path of a vignette "
            f"file. Got {type(vignettes).__name__} instead."
        )
    if split is not None and split not in ("tune", "heldout"):
        raise OptionError(f"The 'split' parameter must be 'tune', 'heldout' or None. Got {split!r} instead.")
    frame = vignettes if isinstance(vignettes, pd.DataFrame) else load_vignettes(vignettes, model)
    _check_frame(frame, model, split=split is not None)
    if split is not None:
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

    Raises
    ------
    OptionError, UnknownIdError, ContradictoryEvidenceError, InvalidAgeError
        A table without a needed column, or a vignette with an unknown id, cause,
        triage level or a bad age.
    """
    _check_model(model)
    if not isinstance(vignettes, pd.DataFrame):
        raise OptionError(f"The 'vignettes' parameter must be a DataFrame (see load_vignettes). "
                          f"Got {type(vignettes).__name__}.")
    _check_frame(vignettes, model, split=True)
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
    if "sex" in frame.columns:  # optional: empty (unknown), "female" or "male"
        patients["sex"] = [value if value in SEXES else None for value in frame["sex"]]
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
