"""What an edit of the priors changed: the numbers, the rules, and the answers on vignettes."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .._errors import OptionError
from .._evaluate import Evaluation, _patients, _score, load_vignettes
from .._model import Model
from .._rule import RedFlagRule
from .._vocabulary import TRIAGE_LEVELS
from ._result import ModelLike, as_model, axes, html_tables, records

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

NUMBER_COLUMNS = ("kind", "target", "change", "old", "new", "old_low", "old_high", "new_low", "new_high",
                  "old_source", "new_source", "old_evidence", "new_evidence", "file", "line")
RULE_COLUMNS = ("id", "change", "field", "old", "new")
CASE_COLUMNS = ("diagnosis", "old_top", "new_top", "top_flipped", "old_triage", "new_triage", "triage_changed",
                "old_p_diagnosis", "new_p_diagnosis", "moved_most", "largest_shift")


@dataclass(frozen=True)
class PriorsDiff:
    """The differences between two sets of priors, and what they change on vignettes.

    Attributes
    ----------
    old, new : str
        Where the two priors were read from.
    numbers : pandas.DataFrame
        One row per number that changed, was added or was removed, in file order;
        columns ``kind``, ``target``, ``change`` (``"changed"``, ``"added"`` or
        ``"removed"``), ``old``, ``new``, their ranges (``old_low``, ``old_high``,
        ``new_low``, ``new_high``), sources and evidence classes, ``file`` and
        ``line`` (in the new priors when the row is there).
    rules : pandas.DataFrame
        Red-flag rules added, removed or changed (one row per changed field).
    cases : pandas.DataFrame
        With vignettes: one row per vignette, largest posterior shift first; the
        top cause and triage under each priors, whether they flipped (and the
        triage step, positive when the new priors send to more care), P(diagnosis)
        under each, and the cause whose posterior moved most with its signed
        shift. Empty without vignettes.
    posteriors : pandas.DataFrame
        With vignettes: every (vignette, cause) posterior under each priors and the
        shift, largest absolute shift first.
    metrics : pandas.DataFrame
        With vignettes: the evaluation figures of :func:`kneebayes.evaluate` side by
        side (index: figure; columns ``old``, ``new``, ``change``).

    Examples
    --------
    >>> from kneebayes import load_priors
    >>> from kneebayes.analysis import diff
    >>> old = load_priors()
    >>> result = diff(old, old.with_value("leak", "fever", 0.02))
    >>> list(result.table["target"])
    ['fever']
    """

    old: str
    new: str
    numbers: pd.DataFrame = field(repr=False)
    rules: pd.DataFrame = field(repr=False)
    cases: pd.DataFrame = field(repr=False)
    posteriors: pd.DataFrame = field(repr=False)
    metrics: pd.DataFrame = field(repr=False)

    @property
    def table(self) -> pd.DataFrame:
        """The numbers that changed (the same as :attr:`numbers`)."""
        return self.numbers

    def summary(self) -> list[str]:
        """Return the result in a few plain sentences."""
        counts = self.numbers["change"].value_counts()
        lines = [
            f"numbers: {int(counts.get('changed', 0))} changed, {int(counts.get('added', 0))} added, "
            f"{int(counts.get('removed', 0))} removed; red-flag rules: {self.rules['id'].nunique()} differ"
        ]
        if not self.metrics.empty:
            n = len(self.cases)
            moved = self.posteriors.groupby(level="id")["shift"].apply(lambda s: s.abs().max())
            lines.append(
                f"on {n} vignettes: {int(self.cases['top_flipped'].sum())} top causes flipped, "
                f"{int(self.cases['triage_changed'].sum())} triage levels changed "
                f"({int((self.cases['triage_step'] < 0).sum())} to less care), {int((moved > 1e-9).sum())} "
                f"vignettes' posteriors moved (largest {float(moved.max()) if len(moved) else 0.0:.3f})"
            )
        return lines

    def __repr__(self) -> str:
        out = [f"Priors diff: {self.old} -> {self.new}", *self.summary()]
        if not self.numbers.empty:
            out += ["", self._numbers_text()]
        if not self.rules.empty:
            out += ["", self.rules.to_string(index=False)]
        if not self.metrics.empty:
            out += ["", self.metrics.to_string(float_format=lambda x: f"{x:.4g}")]
        moved = self.posteriors[self.posteriors["shift"].abs() > 1e-9].head(10)
        if not moved.empty:
            out += ["", "largest posterior shifts:", moved.to_string(float_format=lambda x: f"{x:.4f}")]
        flipped = self.cases[self.cases["top_flipped"] | self.cases["triage_changed"]] if not self.cases.empty else None
        if flipped is not None and not flipped.empty:
            out += ["", "vignettes whose top cause or triage changed:",
                    flipped[["diagnosis", "old_top", "new_top", "old_triage", "new_triage"]].to_string()]
        return "\n".join(out)

    def _numbers_text(self) -> str:
        """Render the changed numbers: value [low, high] before and after, and the sources when they differ."""
        def shown(value: float, low: float, high: float) -> str:
            return "" if pd.isna(value) else f"{value:.4g} [{low:.4g}, {high:.4g}]"

        rows = self.numbers
        table = pd.DataFrame({
            "kind": rows["kind"],
            "target": rows["target"],
            "change": rows["change"],
            "old": [shown(*x) for x in zip(rows["old"], rows["old_low"], rows["old_high"], strict=True)],
            "new": [shown(*x) for x in zip(rows["new"], rows["new_low"], rows["new_high"], strict=True)],
            "source": [str(b) if a == b or pd.isna(a) else f"{a} -> {'' if pd.isna(b) else b}"
                       for a, b in zip(rows["old_source"], rows["new_source"], strict=True)],
        })
        return table.to_string(index=False)

    def _repr_html_(self) -> str:
        return html_tables(f"Priors diff: {self.old} -> {self.new}", self.summary(),
                           {"numbers": self.numbers, "red-flag rules": self.rules, "metrics": self.metrics,
                            "vignettes": self.cases})

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dictionary of every table."""
        return {
            "old": self.old,
            "new": self.new,
            "numbers": records(self.numbers),
            "rules": records(self.rules),
            "metrics": records(self.metrics),
            "cases": records(self.cases),
        }

    def plot(self, ax: Axes | None = None) -> Axes:
        """Draw how each vignette's P(diagnosis) moved, or, without vignettes, each number's change.

        Parameters
        ----------
        ax : matplotlib Axes, optional
            Where to draw; a new figure when None.

        Returns
        -------
        matplotlib Axes
        """
        ax = axes(ax)
        if not self.cases.empty:
            shifts = (self.cases["new_p_diagnosis"] - self.cases["old_p_diagnosis"]).sort_values()
            colours = ["#c62828" if v < 0 else "#2e7d32" for v in shifts]
            ax.barh([str(i) for i in shifts.index], shifts.to_numpy(), color=colours)
            ax.axvline(0.0, color="black", linewidth=0.8)
            ax.set_xlabel("change in P(final diagnosis)")
            ax.set_ylabel("vignette")
            ax.set_title("What the edit does to each vignette")
        else:
            changed = self.numbers[self.numbers["change"] == "changed"]
            labels = [f"{k} {t}" for k, t in zip(changed["kind"], changed["target"], strict=True)]
            ax.barh(labels, (changed["new"] / changed["old"]).to_numpy(), color="#1565c0")
            ax.axvline(1.0, color="black", linewidth=0.8)
            ax.set_xlabel("new / old value")
            ax.set_title("Numbers changed")
        return ax


def diff(
    old: ModelLike,
    new: ModelLike,
    vignettes: pd.DataFrame | str | os.PathLike[str] | None = None,
) -> PriorsDiff:
    """Compare two sets of priors: their numbers, rules and, on vignettes, their answers.

    Parameters
    ----------
    old, new : Model, Priors or path
        The priors to compare (a path is a priors folder).
    vignettes : pandas.DataFrame or path, optional
        Case vignettes (a file as ``validation/vignettes.csv``, or a frame from
        :func:`kneebayes.load_vignettes`). When given, both models score them and
        the result reports the posteriors that moved, the top causes and triage
        levels that flipped, and the evaluation figures side by side.

    Returns
    -------
    PriorsDiff

    Raises
    ------
    PriorsError
        A vignette file that is malformed or uses an id one of the models lacks.
    OptionError
        A vignette path that is not a file.

    Examples
    --------
    >>> from kneebayes import load_priors
    >>> old = load_priors()
    >>> new = old.with_value("finding_probability", "lump_behind_knee|bakers_cyst", 0.6, low=0.5)
    >>> row = diff(old, new).numbers.iloc[0]
    >>> row["kind"], float(row["new"]), float(row["new_low"])
    ('finding_probability', 0.6, 0.5)
    """
    old_model, new_model = as_model(old), as_model(new)
    numbers = _numbers(old_model, new_model)
    rules = _rules(old_model.priors.red_flags, new_model.priors.red_flags)
    empty_cases = pd.DataFrame(columns=list(CASE_COLUMNS))
    empty_posteriors = pd.DataFrame(columns=["old", "new", "shift"],
                                    index=pd.MultiIndex.from_arrays([[], []], names=["id", "cause"]))
    if vignettes is None:
        return PriorsDiff(old_model.priors.folder, new_model.priors.folder, numbers, rules, empty_cases,
                          empty_posteriors, pd.DataFrame(columns=["old", "new", "change"]))
    cases, posteriors, metrics = _on_vignettes(old_model, new_model, vignettes)
    return PriorsDiff(old_model.priors.folder, new_model.priors.folder, numbers, rules, cases, posteriors, metrics)


def _numbers(old: Model, new: Model) -> pd.DataFrame:
    keys = ["kind", "target"]
    a = old.priors.to_frame()
    b = new.priors.to_frame()
    for frame in (a, b):
        if "evidence" not in frame.columns:  # pragma: no cover - every current Priors has it
            frame["evidence"] = ""
    merged = a.merge(b, on=keys, how="outer", suffixes=("_old", "_new"), indicator=True)
    merged["change"] = merged["_merge"].map({"left_only": "removed", "right_only": "added", "both": "changed"})
    both = merged["_merge"] == "both"
    differs = ~both
    for column in ("value", "low", "high", "source"):
        differs |= both & (merged[f"{column}_old"] != merged[f"{column}_new"])
    out = merged[differs].copy()
    out["file"] = out["file_new"].fillna(out["file_old"])
    out["line"] = out["line_new"].fillna(out["line_old"]).astype(int)
    out = out.rename(columns={
        "value_old": "old", "value_new": "new", "low_old": "old_low", "high_old": "old_high", "low_new": "new_low",
        "high_new": "new_high", "source_old": "old_source", "source_new": "new_source",
        "evidence_old": "old_evidence", "evidence_new": "new_evidence",
    })
    files = list(dict.fromkeys(b["file"].tolist() + a["file"].tolist()))
    out["_order"] = out["file"].map(files.index)
    out = out.sort_values(["_order", "line", "kind", "target"], kind="stable")
    return out[list(NUMBER_COLUMNS)].reset_index(drop=True)


def _rules(old: tuple[RedFlagRule, ...], new: tuple[RedFlagRule, ...]) -> pd.DataFrame:
    before, after = {r.id: r for r in old}, {r.id: r for r in new}
    rows: list[dict[str, Any]] = []
    for ident in list(before) + [i for i in after if i not in before]:
        if ident not in after:
            rows.append({"id": ident, "change": "removed", "field": "", "old": _describe(before[ident]), "new": ""})
        elif ident not in before:
            rows.append({"id": ident, "change": "added", "field": "", "old": "", "new": _describe(after[ident])})
        else:
            for name in ("level", "when_present", "when_cause", "at_least", "message", "source"):
                x, y = getattr(before[ident], name), getattr(after[ident], name)
                if x != y:
                    rows.append({"id": ident, "change": "changed", "field": name, "old": _show(x), "new": _show(y)})
    return pd.DataFrame(rows, columns=list(RULE_COLUMNS))


def _show(value: object) -> str:
    if isinstance(value, tuple):
        return " ".join(str(v) for v in value)
    return "" if value is None else str(value)


def _describe(rule: RedFlagRule) -> str:
    when = " and ".join(filter(None, [" ".join(rule.when_present),
                                      f"P({rule.when_cause}) >= {rule.at_least:g}" if rule.when_cause else ""]))
    return f"{rule.level} when {when}"


def _score_all(model: Model, frame: pd.DataFrame) -> tuple[pd.DataFrame, Evaluation]:
    scored = model.diagnose_many(_patients(frame, model))
    return scored, _score(frame, scored, model.causes)


def _on_vignettes(
    old: Model, new: Model, vignettes: pd.DataFrame | str | os.PathLike[str]
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    if isinstance(vignettes, pd.DataFrame):
        old_frame = new_frame = vignettes
    elif not Path(vignettes).is_file():
        raise OptionError(f"no vignette file at {str(vignettes)!r}")
    else:
        old_frame, new_frame = load_vignettes(vignettes, old), load_vignettes(vignettes, new)
    old_scored, old_eval = _score_all(old, old_frame)
    new_scored, new_eval = _score_all(new, new_frame)
    causes = list(dict.fromkeys([*old.causes, *new.causes]))
    before = old_scored.reindex(columns=causes).astype(float)
    after = new_scored.reindex(columns=causes).astype(float)
    long = pd.DataFrame({"old": before.stack(future_stack=True), "new": after.stack(future_stack=True)})
    long.index.names = ["id", "cause"]
    long["shift"] = long["new"] - long["old"]
    long = long.iloc[np.argsort(-long["shift"].abs().fillna(np.inf).to_numpy(), kind="stable")]

    shift = (after - before)
    magnitude = shift.abs().fillna(np.inf)
    moved_most = magnitude.idxmax(axis=1)
    cases = pd.DataFrame({
        "diagnosis": new_eval.cases["diagnosis"],
        "old_top": old_eval.cases["top"],
        "new_top": new_eval.cases["top"],
        "old_triage": old_eval.cases["triage"],
        "new_triage": new_eval.cases["triage"],
        "old_p_diagnosis": old_eval.cases["p_diagnosis"],
        "new_p_diagnosis": new_eval.cases["p_diagnosis"],
        "moved_most": moved_most,
        "largest_shift": [float(shift.to_numpy()[row, causes.index(str(c))]) for row, c in enumerate(moved_most)],
    })
    cases["top_flipped"] = cases["old_top"] != cases["new_top"]
    cases["triage_changed"] = cases["old_triage"] != cases["new_triage"]
    cases["triage_step"] = [TRIAGE_LEVELS.index(b) - TRIAGE_LEVELS.index(a)
                            for a, b in zip(cases["old_triage"], cases["new_triage"], strict=True)]
    order = np.argsort(-cases["largest_shift"].abs().fillna(np.inf).to_numpy(), kind="stable")
    cases = cases.iloc[order][[*CASE_COLUMNS, "triage_step"]]
    cases.index.name = "id"

    a, b = old_eval.summary(), new_eval.summary()
    metrics = pd.DataFrame({"old": pd.Series(a, dtype=float), "new": pd.Series(b, dtype=float)})
    metrics["change"] = metrics["new"] - metrics["old"]
    metrics.index.name = "metric"
    return cases, long, metrics
