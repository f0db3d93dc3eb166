"""Replay case vignettes as interviews and compare the result at the stop with asking everything.

An oracle answers each question from the vignette: yes for an id the vignette
reports present, no for one it reports absent, "don't know" for any other id.
The age and the sex are given at the start when the vignette has them, as an app
collects them before the first question. The interview runs by
:meth:`kneebayes.Model.interview_step` until it stops.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ._errors import OptionError
from ._interview import (
    ScoreStore,
    check_min_gain,
    decide,
    next_questions_many,
    patients_frame,
    red_flag_questions,
)
from ._progress import progress_bar
from ._vocabulary import DEFAULT_MIN_GAIN, TRIAGE_LEVELS

if TYPE_CHECKING:  # pragma: no cover
    from ._model import Model


@dataclass(frozen=True)
class InterviewReplay:
    """Vignettes replayed as interviews, beside the same vignettes with every answer given.

    Attributes
    ----------
    n : int
        Number of vignettes.
    mean_questions, mean_answered : float
        Mean number of questions asked, and of those answered yes or no (not "don't know").
    top1, top3 : float
        Share whose top cause (top three) at the stop includes the diagnosis or an alternative.
    under_triage_urgent, under_triage : int
        At the stop, vignettes needing urgent or emergency care that got less, and vignettes under-triaged at any
        level.
    full_top1, full_top3 : float
        The same with every answer of the vignette given (asking everything).
    full_under_triage_urgent, full_under_triage : int
        Under-triage with every answer given.
    cases : pandas.DataFrame
        One row per vignette: the sex given (empty when unknown), questions asked, answered, top cause and
        triage at the stop and with every answer, the stopping reason and the number of red-flag questions
        left unasked (always 0).

    Examples
    --------
    >>> from kneebayes import load_model
    >>> cases = pd.DataFrame({"present": [("fever",)], "absent": [()], "age": [40.0], "diagnosis": ["cramp"],
    ...                       "alternatives": [()], "triage": ["urgent"]}, index=pd.Index(["x1"], name="id"))
    >>> replay = replay_interviews(load_model(), cases)
    >>> replay.n, replay.under_triage_urgent
    (1, 0)
    """

    n: int
    mean_questions: float
    mean_answered: float
    top1: float
    top3: float
    under_triage_urgent: int
    under_triage: int
    full_top1: float
    full_top3: float
    full_under_triage_urgent: int
    full_under_triage: int
    cases: pd.DataFrame = field(repr=False)

    def summary(self) -> dict[str, float | int]:
        """Return the scalar figures as a dictionary."""
        return {k: getattr(self, k) for k in ("n", "mean_questions", "mean_answered", "top1", "top3",
                                              "under_triage_urgent", "under_triage", "full_top1", "full_top3",
                                              "full_under_triage_urgent", "full_under_triage")}


def _ranked_ok(ranked: Sequence[str], acceptable: set[str]) -> tuple[bool, bool]:
    """Whether the top cause, and any of the top three, of causes ranked highest first is acceptable."""
    return ranked[0] in acceptable, bool(acceptable & set(ranked[:3]))


def replay_interviews(
    model: Model,
    vignettes: pd.DataFrame | str | os.PathLike[str],
    *,
    split: str | None = None,
    min_gain: float = DEFAULT_MIN_GAIN,
    progress: bool = False,
) -> InterviewReplay:
    """Replay each vignette as an interview answered by an oracle; compare with asking everything.

    Parameters
    ----------
    model : Model
        The model.
    vignettes : pandas.DataFrame or path
        As returned by :func:`kneebayes.load_vignettes`, or a vignette file. The age, and the
        sex when there is a ``sex`` column (``"female"``, ``"male"``, or empty or missing when
        unknown), are given before the first question.
    split : {"tune", "heldout"}, optional
        Replay only that part; None replays all.
    min_gain : float
        Passed to :meth:`Model.interview_step`.
    progress : bool
        Show a progress bar.

    Returns
    -------
    InterviewReplay

    Examples
    --------
    >>> from kneebayes import load_model
    >>> cases = pd.DataFrame({"present": [("spasm", "sudden_onset")], "absent": [("fever",)], "age": [30.0],
    ...                       "diagnosis": ["cramp"], "alternatives": [()], "triage": ["self_care"]},
    ...                      index=pd.Index(["x1"], name="id"))
    >>> replay = replay_interviews(load_model(), cases)
    >>> replay.top1, replay.full_top1, replay.mean_questions < len(load_model().observable)
    (1.0, 1.0, True)
    """
    from ._evaluate import load_vignettes

    frame = vignettes if isinstance(vignettes, pd.DataFrame) else load_vignettes(vignettes, model)
    if split is not None:
        if split not in ("tune", "heldout"):
            raise OptionError(f"The 'split' parameter must be 'tune', 'heldout' or None. Got {split!r} instead.")
        frame = frame[frame["split"] == split]
    if frame.empty:
        raise OptionError("no vignettes to replay")
    threshold = check_min_gain(min_gain)
    # every interview advances one question per round; each round is one batch for all that go on
    state: list[dict[str, Any]] = []
    for _, case in frame.iterrows():
        age = None if pd.isna(case["age"]) else float(case["age"])
        sex = case["sex"] if "sex" in frame.columns else None
        sex = None if sex is None or sex == "" or (isinstance(sex, float) and math.isnan(sex)) else sex
        state.append({"present": [], "absent": [], "unknown": [], "age": age, "sex": sex, "reason": "",
                      "truth_present": set(case["present"]), "truth_absent": set(case["absent"])})
    # rows already scored, by evidence: after a "don't know" the evidence is unchanged and nothing is rescored
    store: ScoreStore = {}
    active = list(range(len(state)))
    with progress_bar(len(state), unit="interview") if progress else nullcontext(None) as update:
        while active:
            evidences = [model.evidence(state[i]["present"], state[i]["absent"], state[i]["age"], sex=state[i]["sex"])
                         for i in active]
            store = {ev: store[ev] for ev in evidences if ev in store}  # keep only the current answers' rows
            ranked = next_questions_many(model, evidences, [tuple(state[i]["unknown"]) for i in active],
                                         red_flags_only=True, store=store)
            going = []
            for i, (table, triage, top, _) in zip(active, ranked, strict=True):
                question, reason = decide(table, triage, top, threshold)
                st = state[i]
                st["reason"] = reason
                if question is None:
                    if update is not None:
                        update(1)
                    continue
                answer = ("present" if question in st["truth_present"]
                          else "absent" if question in st["truth_absent"] else "unknown")
                st[answer].append(question)
                going.append(i)
            active = going
    # the diagnoses at the stop and with every answer, in one batch
    at_stop_ev = [model.evidence(st["present"], st["absent"], st["age"], sex=st["sex"]) for st in state]
    full_ev = [model.evidence(list(case["present"]), list(case["absent"]), st["age"], sex=st["sex"])
               for (_, case), st in zip(frame.iterrows(), state, strict=True)]
    scored = model.diagnose_many(patients_frame(model, at_stop_ev + full_ev))
    posteriors = scored[list(model.causes)].to_numpy(dtype=float)
    ranked_causes = np.array(model.causes, dtype=object)[np.argsort(-posteriors, axis=1, kind="stable")]
    triages = scored["triage"].astype(str).tolist()
    n = len(state)
    rows = []
    for k, ((ident, case), st, ev) in enumerate(zip(frame.iterrows(), state, at_stop_ev, strict=True)):
        acceptable = {case["diagnosis"], *case["alternatives"]}
        want = TRIAGE_LEVELS.index(case["triage"])
        stop_top1, stop_top3 = _ranked_ok(ranked_causes[k], acceptable)
        full_top1, full_top3 = _ranked_ok(ranked_causes[n + k], acceptable)
        rows.append({
            "id": ident, "diagnosis": case["diagnosis"], "right_triage": case["triage"], "sex": st["sex"] or "",
            "questions": len(st["present"]) + len(st["absent"]) + len(st["unknown"]),
            "answered": len(st["present"]) + len(st["absent"]),
            "top": ranked_causes[k][0], "top1_ok": stop_top1, "top3_ok": stop_top3, "triage": triages[k],
            "under": TRIAGE_LEVELS.index(triages[k]) < want,
            "full_top": ranked_causes[n + k][0], "full_top1_ok": full_top1, "full_top3_ok": full_top3,
            "full_triage": triages[n + k], "full_under": TRIAGE_LEVELS.index(triages[n + k]) < want,
            "reason": st["reason"],
            "red_flags_unasked": len(red_flag_questions(model, ev, st["unknown"])),
        })
    cases = pd.DataFrame.from_records(rows).set_index("id")
    cases["split"] = frame["split"].to_numpy() if "split" in frame.columns else ""
    return summarise(cases)


def summarise(cases: pd.DataFrame) -> InterviewReplay:
    """Summarise replayed cases (rows of :attr:`InterviewReplay.cases`, any subset)."""
    urgent = cases["right_triage"].isin(["urgent", "emergency"]).to_numpy()
    return InterviewReplay(
        n=len(cases),
        mean_questions=float(cases["questions"].mean()),
        mean_answered=float(cases["answered"].mean()),
        top1=float(cases["top1_ok"].mean()),
        top3=float(cases["top3_ok"].mean()),
        under_triage_urgent=int((cases["under"].to_numpy() & urgent).sum()),
        under_triage=int(cases["under"].sum()),
        full_top1=float(cases["full_top1_ok"].mean()),
        full_top3=float(cases["full_top3_ok"].mean()),
        full_under_triage_urgent=int((cases["full_under"].to_numpy() & urgent).sum()),
        full_under_triage=int(cases["full_under"].sum()),
        cases=cases,
    )


def by_split(replay: InterviewReplay) -> dict[str, InterviewReplay]:
    """Split a replay into its tuning part, its held-out part (when present) and all."""
    out = {}
    for name in ("tune", "heldout"):
        part = replay.cases[replay.cases["split"] == name]
        if len(part):
            out[name] = summarise(part)
    out["all"] = replay
    return out
