"""The interview: what each unanswered question would be answered, which to ask next, and when to stop.

Everything here is computed exactly from the engine's batch entry points:

* **Predictive probabilities.** ``P(f present | e) = 1 - P(e, f absent) / P(e)``,
  from ``log_evidence`` on one batch of ``1 + K`` rows (the evidence, then the
  evidence with each of the ``K`` unanswered ids answered absent).
* **Expected information gain.** For each candidate id the batch holds two rows,
  the evidence with the id answered present and with it answered absent
  (``2K`` rows, scored by :meth:`~kneebayes.Model.diagnose_many`, the same code
  that sets every triage). The gain is the sum over causes of the mutual
  information between the answer and the cause,
  ``sum_c [h(P(c | e)) - sum_v P(v | e) h(P(c | e, v))]`` in bits, where ``h`` is
  the binary entropy. Causes are not mutually exclusive, so each is a yes/no
  question of its own; the sum is what an answer is expected to settle about
  the probabilities a person is shown, it is never negative, and it needs only
  the ``2K`` rows of marginal posteriors and the pair's log evidence.
* **Red-flag questions first.** An unasked red-flag finding, and for each
  red-flag rule that needs several findings and is not settled, its next
  finding, come before every other question, and the interview never stops
  while one is unasked.
* **Stopping.** The interview stops when no single remaining answer, present or
  absent, would change the triage or the top cause (read from those ``2K``
  rows), or when the best gain is below ``min_gain`` bits and no single answer
  could raise the triage.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from ._errors import OptionError, UnknownIdError
from ._evidence import Evidence
from ._vocabulary import TRIAGE_LEVELS, did_you_mean

if TYPE_CHECKING:  # pragma: no cover
    from ._diagnosis import Diagnosis
    from ._model import Model

#: Default threshold of expected information gain, in bits, below which the interview may stop.
DEFAULT_MIN_GAIN = 0.01

FloatArray = npt.NDArray[np.float64]


# ---- evidence rows -----------------------------------------------------------------------------
def with_answer(evidence: Evidence, ident: str, present: bool) -> Evidence:
    """Return ``evidence`` with ``ident`` (not yet answered) answered present or absent."""
    if present:
        return replace(evidence, present=tuple(sorted((*evidence.present, ident))))
    return replace(evidence, absent=tuple(sorted((*evidence.absent, ident))))


def patients_frame(model: Model, evidences: list[Evidence]) -> pd.DataFrame:
    """Return a table of patients for :meth:`~kneebayes.Model.diagnose_many`, one row per evidence."""
    columns: dict[str, list[object]] = {ident: [None] * len(evidences) for ident in model.observable}
    for row, ev in enumerate(evidences):
        for ident in ev.present:
            columns[ident][row] = True
        for ident in ev.absent:
            columns[ident][row] = False
    frame = pd.DataFrame(columns, dtype=object)
    frame["age"] = [np.nan if ev.age is None else ev.age for ev in evidences]
    return frame


def unanswered(model: Model, evidence: Evidence, unknown: Iterable[str] = ()) -> list[str]:
    """Return the ids neither answered nor in ``unknown``, in the model's order."""
    asked = {*evidence.present, *evidence.absent, *unknown}
    return [ident for ident in model.observable if ident not in asked]


def check_unknown(model: Model, evidence: Evidence, unknown: Iterable[str] | None) -> tuple[str, ...]:
    """Validate the ids answered "don't know": known ids, not also answered present or absent."""
    if unknown is None:
        return ()
    if isinstance(unknown, str):
        raise OptionError(f"The 'unknown' parameter must be a list of ids, not a single string. Got {unknown!r}.")
    ids = tuple(unknown)
    allowed = set(model.observable)
    for ident in ids:
        if not isinstance(ident, str) or ident not in allowed:
            raise UnknownIdError(f"unknown id {ident!r} in 'unknown'; {did_you_mean(str(ident), allowed)}")
        if ident in evidence.present or ident in evidence.absent:
            raise OptionError(f"{ident!r} is both answered and in 'unknown' (don't know); give each id once")
    return tuple(sorted(set(ids)))


# ---- predictive probabilities ------------------------------------------------------------------
def predict_findings(model: Model, evidence: Evidence) -> pd.Series:
    """``P(id reported present | evidence)`` for every unanswered id (see :meth:`Model.predict_findings`)."""
    ids = unanswered(model, evidence)
    rows = [evidence, *(with_answer(evidence, ident, False) for ident in ids)]
    log_ev = model._engine.log_evidence(model._arrays(rows))
    # P(f present | e) = 1 - P(e, f absent) / P(e); expm1 keeps small probabilities exact
    p_present = np.clip(-np.expm1(log_ev[1:] - log_ev[0]), 0.0, 1.0)
    return pd.Series(p_present, index=pd.Index(ids, name="id"), name="p_present", dtype=float)


# ---- next question -----------------------------------------------------------------------------
def _binary_entropy(p: FloatArray) -> FloatArray:
    """Entropy in bits of a yes/no variable with probability ``p`` (0 at 0 and 1)."""
    q = np.clip(p, 0.0, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        h = -(q * np.log2(q) + (1.0 - q) * np.log2(1.0 - q))
    out: FloatArray = np.nan_to_num(h, nan=0.0)
    return out


def red_flag_questions(model: Model, evidence: Evidence, unknown: Iterable[str]) -> dict[str, str]:
    """Ids that must be asked before the interview may stop, with the highest level each can trigger.

    They are the unasked findings of kind ``red_flag``, and for each red-flag rule
    that needs findings reported present and is not settled (every finding
    present, or one of them absent or "don't know"), its first unasked finding.
    The level is the highest of the rules that name the id (``"urgent"`` for a
    red-flag finding no rule names). Keys are in the model's order.
    """
    skipped = set(unknown)
    asked = {*evidence.present, *evidence.absent, *skipped}
    kinds = model.priors.vocabulary["kind"]
    level: dict[str, int] = {ident: TRIAGE_LEVELS.index("urgent") for ident in model.observable
                             if kinds.get(ident) == "red_flag" and ident not in asked}
    for rule in model.parameters.rules:
        needed = list(rule.when_present)
        if not needed or any(i in evidence.absent or i in skipped for i in needed):
            continue
        waiting = [i for i in needed if i not in asked]
        if waiting:
            level[waiting[0]] = max(level.get(waiting[0], 0), TRIAGE_LEVELS.index(rule.level))
        for ident in waiting:  # a red-flag finding asked for its own rule also counts at this rule's level
            if ident in level:
                level[ident] = max(level[ident], TRIAGE_LEVELS.index(rule.level))
    return {ident: TRIAGE_LEVELS[level[ident]] for ident in model.observable if ident in level}


def _check_costs(model: Model, costs: Mapping[str, float] | None) -> dict[str, float]:
    if costs is None:
        return {}
    if not isinstance(costs, Mapping):
        raise OptionError(f"The 'costs' parameter must be a mapping of id to a positive number. Got {costs!r}.")
    allowed = set(model.observable)
    out: dict[str, float] = {}
    for ident, cost in costs.items():
        if ident not in allowed:
            raise UnknownIdError(f"unknown id {ident!r} in 'costs'; {did_you_mean(str(ident), allowed)}")
        if isinstance(cost, bool) or not isinstance(cost, (int, float)) or not math.isfinite(cost) or cost <= 0:
            raise OptionError(f"The cost of {ident!r} must be a positive finite number. Got {cost!r} instead.")
        out[ident] = float(cost)
    return out


def next_questions(
    model: Model,
    evidence: Evidence,
    base: Diagnosis,
    *,
    unknown: tuple[str, ...] = (),
    costs: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """Rank the unanswered ids (see :meth:`Model.next_questions`)."""
    cost_of = _check_costs(model, costs)
    ids = unanswered(model, evidence, unknown)
    columns = ["gain", "p_present", "cost", "gain_per_cost", "red_flag", "flag_level", "changes_triage", "changes_top",
               "raises_triage", "triage_if_present", "triage_if_absent", "top_if_present", "top_if_absent",
               "kind", "question"]
    if not ids:
        empty = pd.DataFrame(columns=columns, index=pd.Index([], name="id"))
        return empty.astype({"gain": float, "p_present": float, "cost": float, "gain_per_cost": float,
                             "red_flag": bool, "changes_triage": bool, "changes_top": bool, "raises_triage": bool})
    rows = [with_answer(evidence, ident, present) for ident in ids for present in (True, False)]
    scored = model.diagnose_many(patients_frame(model, rows))  # posteriors and triage, as diagnose sets them
    log_ev = model._engine.log_evidence(model._arrays(rows))
    causes = list(model.causes)
    post = scored[causes].to_numpy(dtype=float).reshape(len(ids), 2, len(causes))
    # P(present | e) = P(e, present) / (P(e, present) + P(e, absent)), exact and without cancellation
    log_pair = log_ev.reshape(len(ids), 2)
    p_present = 1.0 / (1.0 + np.exp(log_pair[:, 1] - log_pair[:, 0]))
    before = base.probabilities.reindex(causes).to_numpy(dtype=float)
    expected = (p_present * _binary_entropy(post[:, 0]).sum(axis=1)
                + (1.0 - p_present) * _binary_entropy(post[:, 1]).sum(axis=1))
    gain = np.maximum(_binary_entropy(before).sum() - expected, 0.0)
    triage = scored["triage"].to_numpy(dtype=object).reshape(len(ids), 2)
    tops = np.array(causes, dtype=object)[post.argmax(axis=2)]  # first maximum, as Diagnosis.top
    rank = np.vectorize(TRIAGE_LEVELS.index)(triage)
    cost = np.array([cost_of.get(ident, 1.0) for ident in ids])
    must = red_flag_questions(model, evidence, unknown)
    vocab = model.priors.vocabulary
    table = pd.DataFrame(
        {
            "gain": gain,
            "p_present": p_present,
            "cost": cost,
            "gain_per_cost": gain / cost,
            "red_flag": [ident in must for ident in ids],
            "flag_level": [must.get(ident, "") for ident in ids],
            "changes_triage": (triage != base.triage).any(axis=1),
            "changes_top": (tops != base.top).any(axis=1),
            "raises_triage": (rank > TRIAGE_LEVELS.index(base.triage)).any(axis=1),
            "triage_if_present": triage[:, 0],
            "triage_if_absent": triage[:, 1],
            "top_if_present": tops[:, 0],
            "top_if_absent": tops[:, 1],
            "kind": [str(vocab.loc[ident, "kind"]) for ident in ids],
            "question": [str(vocab.loc[ident, "question"]) for ident in ids],
        },
        index=pd.Index(ids, name="id"),
    )
    # red-flag questions first, the most serious level first; then by gain per unit of cost
    flag_rank = np.array([TRIAGE_LEVELS.index(must[ident]) if ident in must else -1 for ident in ids])
    order = np.lexsort((np.arange(len(ids)), -table["gain_per_cost"].to_numpy(), -flag_rank))
    return table.iloc[order]


def interview_step(
    model: Model,
    evidence: Evidence,
    *,
    unknown: tuple[str, ...] = (),
    costs: Mapping[str, float] | None = None,
    min_gain: float = DEFAULT_MIN_GAIN,
    explain: bool = False,
) -> dict[str, Any]:
    """One step of an interview (see :meth:`Model.interview_step`)."""
    if isinstance(min_gain, bool) or not isinstance(min_gain, (int, float)) or not min_gain >= 0:
        raise OptionError(f"The 'min_gain' parameter must be a number of bits >= 0. Got {min_gain!r} instead.")
    base = model.diagnose(evidence.present, evidence.absent, evidence.age)
    table = next_questions(model, evidence, base, unknown=unknown, costs=costs)
    question: str | None = None
    if table.empty:
        reason = "every question has been asked"
    elif bool(table["red_flag"].iloc[0]):
        question = str(table.index[0])
        reason = f"red-flag questions come first, and {question!r} has not been asked"
    elif not (table["changes_triage"] | table["changes_top"]).any():
        reason = (f"no single remaining answer could change the triage ({base.triage}) "
                  f"or the top cause ({base.top})")
    elif float(table["gain"].max()) < min_gain and not table["raises_triage"].any():
        reason = (f"the best remaining question would gain {float(table['gain'].max()):.4f} bits, below "
                  f"min_gain = {min_gain:g}, and no single answer could raise the triage ({base.triage})")
    else:
        question = str(table.index[0])
        movers = table.index[table["changes_triage"] | table["changes_top"]]
        reason = (f"{len(movers)} remaining question(s) could still change the triage or the top cause; "
                  f"{question!r} is expected to tell most ({float(table['gain'].iloc[0]):.3f} bits)")
    out: dict[str, Any] = {
        "question": question,
        "should_stop": question is None,
        "reason": reason,
        "diagnosis": base.to_dict(),
        "asked": {"present": list(evidence.present), "absent": list(evidence.absent), "unknown": list(unknown),
                  "age": evidence.age},
    }
    if question is not None:
        first = table.iloc[0]
        out["question_text"] = str(first["question"])
        out["kind"] = str(first["kind"])
        out["p_present"] = float(first["p_present"])
        out["gain"] = float(first["gain"])
        out["red_flag"] = bool(first["red_flag"])
    if explain:
        from ._explain import explain as _explain

        out["explanation"] = _explain(model, evidence, base).to_dict()
    return out
