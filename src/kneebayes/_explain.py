"""Why a cause ranks where it does: each answer's weight of evidence, and what set the triage.

Each answer's contribution is its **weight of evidence** for the cause, in
**decibans** (dB): ``10 * log10`` of the likelihood ratio
``P(answer | cause, other answers) / P(answer | no cause, other answers)``.
By Bayes' rule this is exactly the change in the cause's log-odds when the
answer is added to the others, so it is computed from leave-one-out posteriors:
``10 * log10(odds(with all answers) / odds(without this one))``. +10 dB
multiplies the odds by 10, +3 dB about doubles them, -3 dB halves them; the
contributions of answers given together do not add up exactly, because each is
measured with all the others in place.

All leave-one-out rows (the answers minus each one, age and sex included) are scored
in one batch by :meth:`~kneebayes.Model.diagnose_many`, so each row's triage is
set by the same code as a diagnosis.
"""

from __future__ import annotations

import html as _html
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from . import _display
from ._diagnosis import Diagnosis
from ._errors import UnknownIdError
from ._evidence import Evidence
from ._vocabulary import did_you_mean

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

    from ._model import Model

#: The unit of a contribution: ten times the log10 of a likelihood ratio.
UNIT = "deciban"


def _log10_odds(p: np.ndarray) -> np.ndarray:
    q = np.clip(np.asarray(p, dtype=float), 1e-300, 1.0 - 1e-16)
    out: np.ndarray = np.log10(q) - np.log10(1.0 - q)
    return out


@dataclass(frozen=True, eq=False)
class Explanation:
    """Why a cause has the probability it has, and what set the triage.

    Attributes
    ----------
    cause : str
        The cause explained.
    label : str
        Its label.
    probability : float
        Its posterior given every answer.
    table : pandas.DataFrame
        One row per answer (answered ids, then ``age`` and ``sex`` when given),
        largest contribution first, with columns ``answer`` (``"present"``,
        ``"absent"``, the age, or ``"female"`` / ``"male"``), ``kind`` (``"age"``
        and ``"sex"`` for those two rows), ``label``, ``contribution`` (weight of evidence for
        the cause in decibans; negative counts against it), ``without`` (the
        cause's posterior without this answer) and ``triage_without`` (the triage
        without it).
    triage : str
        The triage of the diagnosis.
    triage_reasons : tuple of str
        The red-flag rules or causes' care levels that set the triage.
    diagnosis : Diagnosis
        The diagnosis explained.

    Examples
    --------
    >>> from kneebayes import load_model
    >>> why = load_model().explain(present=["lump_behind_knee", "stiffness"], absent=["fever"], age=58)
    >>> why.cause, list(why.evidence_for.index)
    ('bakers_cyst', ['lump_behind_knee', 'stiffness', 'age'])
    """

    cause: str
    label: str
    probability: float
    table: pd.DataFrame
    triage: str
    triage_reasons: tuple[str, ...]
    diagnosis: Diagnosis = field(repr=False)
    unit: str = UNIT

    @property
    def evidence_for(self) -> pd.DataFrame:
        """The answers that raise the cause's probability, strongest first."""
        return self.table[self.table["contribution"] > 0]

    @property
    def evidence_against(self) -> pd.DataFrame:
        """The answers that lower the cause's probability, strongest first."""
        return self.table[self.table["contribution"] < 0].iloc[::-1]

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dictionary (the table as a list of rows, for first)."""

        def rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
            return [
                {"id": str(ident), "answer": str(r["answer"]), "label": str(r["label"]), "kind": str(r["kind"]),
                 "contribution": float(r["contribution"]), "without": float(r["without"]),
                 "triage_without": str(r["triage_without"])}
                for ident, r in frame.iterrows()
            ]

        return {
            "cause": self.cause,
            "label": self.label,
            "probability": self.probability,
            "unit": self.unit,
            "evidence_for": rows(self.evidence_for),
            "evidence_against": rows(self.evidence_against),
            "neutral": rows(self.table[self.table["contribution"] == 0]),
            "triage": self.triage,
            "triage_reasons": list(self.triage_reasons),
            "disclaimer": _display.DISCLAIMER,
        }

    def __repr__(self) -> str:
        lines = [f"Why {self.cause} ({self.label}) has P = {self.probability:.3f}",
                 "Weight of evidence in decibans (dB): +10 dB multiplies the odds by 10, +3 dB doubles them."]
        for title, frame in (("Evidence for:", self.evidence_for), ("Evidence against:", self.evidence_against)):
            lines.append(title)
            if frame.empty:
                lines.append("  (none)")
            for ident, r in frame.iterrows():
                lines.append(f"  {float(r['contribution']):+6.1f} dB  {str(ident) + ' ' + str(r['answer']):<36}"
                             f" without it: {float(r['without']):.3f}")
        lines.append(f"Triage: {self.triage}, set by: " + "; ".join(self.triage_reasons))
        lines.append(_display.DISCLAIMER)
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        esc = _html.escape
        out = ['<div class="kneebayes-explanation" style="font-family: sans-serif; max-width: 46em">',
               f"<b>Why {esc(self.label)}: P = {self.probability:.3f}</b>",
               "<br><small>weight of evidence in decibans (dB): +10 dB multiplies the odds by 10, "
               "+3 dB doubles them</small>",
               '<table style="border-collapse:collapse">',
               "<tr><th>answer</th><th>dB</th><th></th><th>without it</th></tr>"]
        scale = max(1.0, float(self.table["contribution"].abs().max()) if len(self.table) else 1.0)
        for _, r in self.table.iterrows():
            value = float(r["contribution"])
            colour = "#2e7d32" if value > 0 else "#c62828"
            width = 100.0 * abs(value) / scale
            out.append(
                f'<tr><td style="padding-right:1em">{esc(str(r["label"]))}: {esc(str(r["answer"]))}</td>'
                f'<td style="text-align:right;padding-right:0.5em">{value:+.1f}</td>'
                f'<td style="width:12em"><div style="background:{colour};height:0.9em;width:{width:.1f}%">'
                f"</div></td><td style=\"text-align:right\">{float(r['without']):.3f}</td></tr>"
            )
        out.append("</table>")
        out.append(f"<p><small>Triage <b>{esc(self.triage)}</b>, set by: "
                   f"{esc('; '.join(self.triage_reasons))}</small></p>")
        out.append(f"<p><small><i>{esc(_display.DISCLAIMER)}</i></small></p></div>")
        return "\n".join(out)

    def plot(self, ax: Axes | None = None) -> Axes:
        """Draw each answer's contribution as a horizontal bar; return the Axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 0.35 * len(self.table) + 1))
        frame = self.table.iloc[::-1]
        values = frame["contribution"].to_numpy(dtype=float)
        ax.barh([f"{r['label']}: {r['answer']}" for _, r in frame.iterrows()], values,
                color=["#2e7d32" if v > 0 else "#c62828" for v in values])
        ax.axvline(0.0, color="black", linewidth=0.8)
        ax.set_xlabel("weight of evidence (decibans)")
        ax.set_title(f"Why {self.label}: P = {self.probability:.2f}")
        return ax


def triage_reasons(model: Model, result: Diagnosis) -> tuple[str, ...]:
    """Say which fired rules, or which probable causes' care levels, set the triage."""
    reasons = [f"red flag {f.id!r} ({f.level}): {f.why}" for f in result.red_flags if f.level == result.triage]
    threshold = model.parameters.care_threshold
    for cause, p in result.probabilities.items():
        if float(p) >= threshold and result.care.get(str(cause)) == result.triage:
            reasons.append(f"cause {cause!r} (P = {float(p):.2f} >= care threshold {threshold:g}) needs "
                           f"{result.triage}")
    if not reasons and result.triage == "self_care":
        reasons.append(f"no red flag fired and no cause needing more reached the care threshold {threshold:g}")
    if not reasons:  # pragma: no cover - every level above self-care comes from a rule or a cause
        reasons.append("a rule of the safety floor")
    return tuple(reasons)


def explain(model: Model, evidence: Evidence, result: Diagnosis, cause: str | None = None) -> Explanation:
    """Explain ``result`` for ``cause`` (its top cause by default); see :meth:`Model.explain`."""
    from ._interview import patients_frame

    if cause is None:
        cause = result.top
    if not isinstance(cause, str) or cause not in model.causes:
        raise UnknownIdError(f"unknown cause {cause!r}; {did_you_mean(str(cause), model.causes)}")
    answers: list[tuple[str, str, Evidence]] = []
    for ident in evidence.present:
        answers.append((ident, "present", replace(evidence, present=tuple(i for i in evidence.present if i != ident))))
    for ident in evidence.absent:
        answers.append((ident, "absent", replace(evidence, absent=tuple(i for i in evidence.absent if i != ident))))
    if evidence.age is not None:
        answers.append(("age", f"{evidence.age:g} years", replace(evidence, age=None, age_band=None)))
    if evidence.sex is not None:
        answers.append(("sex", evidence.sex, replace(evidence, sex=None)))
    probability = float(result.probabilities[cause])
    vocab = model.priors.vocabulary
    if answers:
        scored = model.diagnose_many(patients_frame(model, [row for _, _, row in answers]))
        without = scored[cause].to_numpy(dtype=float)
        triage_without = scored["triage"].astype(str).tolist()
    else:
        without, triage_without = np.empty(0), []
    contribution = 10.0 * (_log10_odds(np.full(len(answers), probability)) - _log10_odds(without))
    table = pd.DataFrame(
        {
            "answer": [a for _, a, _ in answers],
            "kind": [str(vocab.loc[i, "kind"]) if i in vocab.index else i for i, _, _ in answers],
            "label": [str(vocab.loc[i, "label"]) if i in vocab.index else i.capitalize() for i, _, _ in answers],
            "contribution": contribution,
            "without": without,
            "triage_without": triage_without,
        },
        index=pd.Index([i for i, _, _ in answers], name="id"),
    )
    table = table.iloc[np.argsort(-table["contribution"].to_numpy(), kind="stable")]
    return Explanation(
        cause=cause,
        label=result.labels.get(cause, cause),
        probability=probability,
        table=table,
        triage=result.triage,
        triage_reasons=triage_reasons(model, result),
        diagnosis=result,
    )
