"""The interview: what each unanswered question would be answered, which to ask next, and when to stop.

Everything here is computed exactly from the engine's batch entry points:

* **Predictive probabilities.** :func:`predict_findings` computes
  ``P(f present | e) = 1 - P(e, f absent) / P(e)`` from ``log_evidence`` on one
  batch of ``1 + K`` rows (the evidence, then the evidence with each of the ``K``
  unanswered ids answered absent). The ranking takes the same numbers more
  cheaply: findings from the engine's ``finding_predictive`` (one row per
  evidence), risk factors from ``log_evidence``; the tests check both agree.
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
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from ._errors import OptionError, UnknownIdError
from ._evidence import Evidence
from ._vocabulary import DEFAULT_MIN_GAIN, TRIAGE_LEVELS, did_you_mean

if TYPE_CHECKING:  # pragma: no cover
    from ._model import Model

FloatArray = npt.NDArray[np.float64]


# ---- evidence rows -----------------------------------------------------------------------------
def with_answer(evidence: Evidence, ident: str, present: bool) -> Evidence:
    """Return ``evidence`` with ``ident`` (not yet answered) answered present or absent."""
    if present:
        return replace(evidence, present=tuple(sorted((*evidence.present, ident))))
    return replace(evidence, absent=tuple(sorted((*evidence.absent, ident))))


def patients_frame(model: Model, evidences: list[Evidence]) -> pd.DataFrame:
    """Return a table of patients for :meth:`~kneebayes.Model.diagnose_many`, one row per evidence.

    Columns: every reportable id (1.0 present, 0.0 absent, NaN unknown), ``age``, and ``sex``
    (``"female"``, ``"male"`` or None) when any evidence gives one.
    """
    column = {ident: j for j, ident in enumerate(model.observable)}
    values = np.full((len(evidences), len(column) + 1), np.nan)  # 1.0 present, 0.0 absent, NaN unknown
    for row, ev in enumerate(evidences):
        values[row, [column[i] for i in ev.present]] = 1.0
        values[row, [column[i] for i in ev.absent]] = 0.0
        if ev.age is not None:
            values[row, -1] = ev.age
    frame = pd.DataFrame(values, columns=[*model.observable, "age"])
    if any(ev.sex is not None for ev in evidences):  # only a model with a sex node accepts a given sex
        frame["sex"] = pd.Series([ev.sex for ev in evidences], dtype=object)
    return frame


def unanswered(model: Model, evidence: Evidence, unknown: Iterable[str] = ()) -> list[str]:
    """Return the ids neither answered nor in ``unknown``, in the model's order.

    Examples
    --------
    >>> from kneebayes import load_model
    >>> model = load_model()
    >>> left = unanswered(model, model.evidence(["spasm"], ["fever"]), unknown=["smoking"])
    >>> len(left) == len(model.observable) - 3 and "spasm" not in left and "smoking" not in left
    True
    """
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
    that needs findings reported present and is not settled (enough of its
    findings present to fire, or too few left unasked to reach ``rule.needed``:
    all of them for most rules, two of the Wells items for ``dvt_wells``), its
    first unasked finding.
    The level is the highest of the rules that name the id (``"urgent"`` for a
    red-flag finding no rule names). Keys are in the model's order.
    """
    skipped = set(unknown)
    asked = {*evidence.present, *evidence.absent, *skipped}
    vocab = model.priors.vocabulary
    flags = set(vocab.index[vocab["kind"] == "red_flag"])
    level: dict[str, int] = {ident: TRIAGE_LEVELS.index("urgent") for ident in model.observable
                             if ident in flags and ident not in asked}
    for rule in model.parameters.rules:
        items = list(rule.when_present)
        waiting = [i for i in items if i not in asked]
        reported = sum(i in evidence.present for i in items)
        if not items or reported >= rule.needed or reported + len(waiting) < rule.needed:
            continue  # settled: the rule fired, or too few of its findings are left to make it fire
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


COLUMNS = ("gain", "p_present", "cost", "gain_per_cost", "red_flag", "flag_level", "changes_triage", "changes_top",
           "raises_triage", "triage_if_present", "triage_if_absent", "top_if_present", "top_if_absent", "kind",
           "question")


def _predictive_many(model: Model, evidences: list[Evidence], ids: list[list[str]]) -> list[FloatArray]:
    """``P(id present | evidence)`` for the given ids of each evidence, from two batched engine calls.

    Findings: the engine's finding predictive of the evidence rows (exact, one row
    each). Risk factors: ``1 - P(e, r absent) / P(e)`` from the log evidence of the
    evidence and of the evidence with each unanswered risk factor answered absent.
    """
    engine = model._engine
    f_index = {f: i for i, f in enumerate(model.parameters.findings)}
    findings = engine.finding_predictive(model._arrays(evidences))
    rows: list[Evidence] = []
    where: list[tuple[int, list[str]]] = []
    for ev, wanted in zip(evidences, ids, strict=True):
        factors = [i for i in wanted if i not in f_index]
        where.append((len(rows), factors))
        rows += [ev, *(with_answer(ev, r, False) for r in factors)]
    log_ev = engine.log_evidence(model._arrays(rows)) if rows else np.empty(0)
    out = []
    for n, (wanted, (first, factors)) in enumerate(zip(ids, where, strict=True)):
        risk = dict(zip(factors, np.clip(-np.expm1(log_ev[first + 1:first + 1 + len(factors)] - log_ev[first]),
                                         0.0, 1.0), strict=True))
        out.append(np.array([findings[n, f_index[i]] if i in f_index else risk[i] for i in wanted], dtype=float))
    return out


@dataclass
class Scores:
    """The scored rows of one evidence: its posteriors and triage, and each scored id's two answers.

    Attributes
    ----------
    posteriors : numpy.ndarray
        The evidence's posteriors, in the model's cause order.
    triage : str
        Its triage.
    answers : dict
        Id to (posteriors answered present and absent, shape ``(2, C)``; the two triages; ``P(id present)``).
    """

    posteriors: FloatArray
    triage: str
    answers: dict[str, tuple[FloatArray, tuple[str, str], float]] = field(default_factory=dict)


#: Scored rows by evidence. The scores of an evidence depend on nothing else (not on the ids answered
#: "don't know", the costs or the other interviews), so an interview whose last answer was "don't know"
#: finds every row it needs here (see :func:`~kneebayes.replay_interviews`).
ScoreStore = dict[Evidence, Scores]


def _score(model: Model, evidences: list[Evidence], wanted: list[list[str]], store: ScoreStore) -> None:
    """Score, into ``store``, each evidence and each wanted id answered present and absent, unless stored.

    All missing rows, across every evidence (an evidence given twice is scored once), go to one
    :meth:`~kneebayes.Model.diagnose_many` call, the same code that sets every triage, and one
    batch of predictive probabilities.
    """
    need: dict[Evidence, list[str]] = {}
    for ev, want in zip(evidences, wanted, strict=True):
        have = store.get(ev)
        todo = need.setdefault(ev, [])
        todo += [i for i in want if (have is None or i not in have.answers) and i not in todo]
    jobs = [(ev, todo) for ev, todo in need.items() if todo or ev not in store]
    if not jobs:
        return
    rows: list[Evidence] = []
    for ev, todo in jobs:
        rows.append(ev)
        rows += [with_answer(ev, ident, present) for ident in todo for present in (True, False)]
    scored = model.diagnose_many(patients_frame(model, rows))  # posteriors and triage, as diagnose sets them
    predictive = _predictive_many(model, [ev for ev, _ in jobs], [todo for _, todo in jobs])
    posteriors = scored[list(model.causes)].to_numpy(dtype=float)
    triages = scored["triage"].to_numpy(dtype=object)
    first = 0
    for (ev, todo), p_present in zip(jobs, predictive, strict=True):
        entry = store.setdefault(ev, Scores(posteriors[first].copy(), str(triages[first])))
        for n, ident in enumerate(todo):
            at = first + 1 + 2 * n
            entry.answers[ident] = (posteriors[at:at + 2].copy(), (str(triages[at]), str(triages[at + 1])),
                                    float(p_present[n]))
        first += 1 + 2 * len(todo)


def next_questions_many(
    model: Model,
    evidences: list[Evidence],
    unknowns: list[tuple[str, ...]],
    *,
    costs: Mapping[str, float] | None = None,
    red_flags_only: bool = False,
    store: ScoreStore | None = None,
) -> list[tuple[pd.DataFrame, str, str, FloatArray]]:
    """Rank the unanswered ids of several interviews at once (see :meth:`Model.next_questions`).

    All rows (each evidence, and each with every candidate answered present and
    absent) are scored in one :meth:`~kneebayes.Model.diagnose_many` call, so every
    triage is set by the same code as a diagnosis.

    Parameters
    ----------
    model : Model
        The model.
    evidences : list of Evidence
        The answers of each interview.
    unknowns : list of tuple of str
        The ids each interview has answered "don't know".
    costs : mapping of id to float, optional
        Per-question costs.
    red_flags_only : bool
        When an interview has red-flag questions left, rank only those: they come
        first in the full ranking, in the same order, so the first question is the
        same and its row holds the same numbers. Enough to choose the next question.
    store : dict, optional
        Scored rows by evidence, read and filled in (see :data:`ScoreStore`); a new
        one by default.

    Returns
    -------
    list of (table, triage, top, posteriors)
        Per evidence: the ranked table, the current triage and top cause, and the
        current posteriors in the model's cause order.
    """
    cost_of = _check_costs(model, costs)
    store = {} if store is None else store
    ids = [unanswered(model, ev, skip) for ev, skip in zip(evidences, unknowns, strict=True)]
    musts = [red_flag_questions(model, ev, skip) for ev, skip in zip(evidences, unknowns, strict=True)]
    if red_flags_only:
        ids = [[i for i in left if i in must] if must else left for left, must in zip(ids, musts, strict=True)]
    _score(model, evidences, ids, store)
    causes = list(model.causes)
    vocab = model.priors.vocabulary
    kind_of = dict(zip(vocab.index, vocab["kind"].astype(str), strict=True))  # not .loc per id: it adds up
    question_of = dict(zip(vocab.index, vocab["question"].astype(str), strict=True))
    out = []
    for ev, wanted, must in zip(evidences, ids, musts, strict=True):
        entry = store[ev]
        before, base_triage = entry.posteriors, entry.triage
        base_top = causes[int(before.argmax())]  # the first maximum, as Diagnosis.top
        k = len(wanted)
        if not k:
            empty = pd.DataFrame({c: pd.Series(dtype=object) for c in COLUMNS}, index=pd.Index([], name="id"))
            out.append((empty, base_triage, base_top, before))
            continue
        answers = [entry.answers[ident] for ident in wanted]
        post = np.stack([a[0] for a in answers])  # (k, 2, C): answered present, answered absent
        triage = np.array([a[1] for a in answers], dtype=object)  # (k, 2)
        p_present = np.array([a[2] for a in answers], dtype=float)
        expected = (p_present * _binary_entropy(post[:, 0]).sum(axis=1)
                    + (1.0 - p_present) * _binary_entropy(post[:, 1]).sum(axis=1))
        gain = np.maximum(_binary_entropy(before).sum() - expected, 0.0)
        tops = np.array(causes, dtype=object)[post.argmax(axis=2)]
        rank = np.array([[TRIAGE_LEVELS.index(t) for t in pair] for pair in triage])
        cost = np.array([cost_of.get(ident, 1.0) for ident in wanted])
        table = pd.DataFrame(
            {
                "gain": gain,
                "p_present": p_present,
                "cost": cost,
                "gain_per_cost": gain / cost,
                "red_flag": [ident in must for ident in wanted],
                "flag_level": [must.get(ident, "") for ident in wanted],
                "changes_triage": (triage != base_triage).any(axis=1),
                "changes_top": (tops != base_top).any(axis=1),
                "raises_triage": (rank > TRIAGE_LEVELS.index(base_triage)).any(axis=1),
                "triage_if_present": triage[:, 0],
                "triage_if_absent": triage[:, 1],
                "top_if_present": tops[:, 0],
                "top_if_absent": tops[:, 1],
                "kind": [kind_of[ident] for ident in wanted],
                "question": [question_of[ident] for ident in wanted],
            },
            index=pd.Index(wanted, name="id"),
        )
        # red-flag questions first, the most serious level first; then by gain per unit of cost
        flag_rank = np.array([TRIAGE_LEVELS.index(must[ident]) if ident in must else -1 for ident in wanted])
        order = np.lexsort((np.arange(k), -table["gain_per_cost"].to_numpy(), -flag_rank))
        out.append((table.iloc[order], base_triage, base_top, before))
    return out


def next_questions(
    model: Model,
    evidence: Evidence,
    *,
    unknown: tuple[str, ...] = (),
    costs: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """Rank the unanswered ids of one interview (see :meth:`Model.next_questions`)."""
    return next_questions_many(model, [evidence], [unknown], costs=costs)[0][0]


def decide(table: pd.DataFrame, triage: str, top: str, min_gain: float) -> tuple[str | None, str]:
    """Return the next question (None to stop) and the reason, from a ranked table."""
    if table.empty:
        return None, "every question has been asked"
    if bool(table["red_flag"].iloc[0]):
        question = str(table.index[0])
        return question, f"red-flag questions come first, and {question!r} has not been asked"
    movers = table["changes_triage"].to_numpy(dtype=bool) | table["changes_top"].to_numpy(dtype=bool)
    if not movers.any():
        return None, f"no single remaining answer could change the triage ({triage}) or the top cause ({top})"
    best = float(table["gain"].max())
    if best < min_gain and not table["raises_triage"].to_numpy(dtype=bool).any():
        return None, (f"the best remaining question would gain {best:.4f} bits, below min_gain = {min_gain:g}, "
                      f"and no single answer could raise the triage ({triage})")
    question = str(table.index[0])
    return question, (f"{int(movers.sum())} remaining question(s) could still change the triage or the top cause; "
                      f"{question!r} is expected to tell most ({float(table['gain'].iloc[0]):.3f} bits)")


def check_min_gain(min_gain: object) -> float:
    """Return ``min_gain`` as a float, or raise OptionError."""
    if isinstance(min_gain, bool) or not isinstance(min_gain, (int, float)) or not min_gain >= 0:
        raise OptionError(f"The 'min_gain' parameter must be a number of bits >= 0. Got {min_gain!r} instead.")
    return float(min_gain)


def interview_step(
    model: Model,
    evidence: Evidence,
    *,
    unknown: tuple[str, ...] = (),
    costs: Mapping[str, float] | None = None,
    min_gain: float = DEFAULT_MIN_GAIN,
    explain: bool = False,
    store: ScoreStore | None = None,
) -> dict[str, Any]:
    """One step of an interview (see :meth:`Model.interview_step`); ``store`` as for :func:`next_questions_many`."""
    threshold = check_min_gain(min_gain)
    table, triage, top, _ = next_questions_many(model, [evidence], [unknown], costs=costs, red_flags_only=True,
                                                store=store)[0]
    question, reason = decide(table, triage, top, threshold)
    base = model.diagnose(evidence.present, evidence.absent, evidence.age, sex=evidence.sex)
    out: dict[str, Any] = {
        "question": question,
        "should_stop": question is None,
        "reason": reason,
        "diagnosis": base.to_dict(),
        "asked": {"present": list(evidence.present), "absent": list(evidence.absent), "unknown": list(unknown),
                  "age": evidence.age, "sex": evidence.sex},
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
