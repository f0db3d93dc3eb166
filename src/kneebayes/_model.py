"""The model: validated priors compiled into a network, and diagnosis on top of it."""

from __future__ import annotations

import numbers
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal, TypeGuard, cast, overload

import numpy as np
import pandas as pd

from ._diagnosis import Diagnosis
from ._engine import UNKNOWN, EvidenceArrays, ExactEngine
from ._errors import EvidenceError, InvalidSexError, OptionError, PriorsError, Problem, UnknownIdError
from ._evidence import MAX_AGE, Evidence, check_age, check_sex, make_evidence
from ._parameters import (
    CalibrationError,
    Parameters,
    compile_parameters,
    with_cause_number,
)
from ._priors import Priors, load_priors
from ._progress import progress_bar
from ._red_flags import describe, fired_matrix, triage_codes
from ._safety import apply_floor
from ._vocabulary import DEFAULT_MIN_GAIN, TRIAGE_LEVELS, unknown_ids

if TYPE_CHECKING:  # pragma: no cover
    import dask.dataframe as dd
    from pgmpy.models import DiscreteBayesianNetwork

    from ._explain import Explanation

Engine = Literal["numpy", "pgmpy"]


class Model:
    """A kneebayes network built from validated priors.

    Build it with :func:`load_model` (or :meth:`from_priors`); the numpy engine
    and the pgmpy network are built on first use.

    Parameters
    ----------
    priors : Priors
        Validated priors.
    parameters : Parameters
        The compiled numbers (see :meth:`from_priors`).

    Examples
    --------
    >>> from kneebayes import load_model
    >>> model = load_model()
    >>> result = model.diagnose(present=["lump_behind_knee", "stiffness"], absent=["fever"], age=58)
    >>> result.top
    'bakers_cyst'
    """

    def __init__(self, priors: Priors, parameters: Parameters) -> None:
        self.priors = priors
        # the safety floor is code: whatever built the parameters, its rules and care levels are in force
        self.parameters = apply_floor(parameters)

    @classmethod
    def from_priors(cls, priors: Priors) -> Model:
        """Compile validated priors into a model.

        Raises
        ------
        PriorsError
            When a cause's base rate cannot be reproduced with its odds ratios
            (located at the base rate's line in ``causes.csv``).
        """
        if not isinstance(priors, Priors):
            raise OptionError(f"The 'priors' parameter must be Priors (see load_priors). Got {type(priors).__name__}.")
        try:
            return cls(priors, compile_parameters(priors))
        except CalibrationError as err:
            rows = priors.to_frame().query("kind == 'base_rate' and target == @err.cause")
            line = int(rows["line"].iloc[0]) if len(rows) else None
            problem = Problem("causes.csv", line, "base_rate", None, str(err))
            raise PriorsError(priors.folder, [problem]) from None

    def __getstate__(self) -> dict[str, Any]:
        """Pickle without the engines and other cached tables: they are rebuilt on first use.

        A model sent to Dask workers is then small and cheap to send, whatever it has computed.
        """
        cached = {name for cls in type(self).__mro__ for name, attr in vars(cls).items()
                  if isinstance(attr, cached_property)}
        return {name: value for name, value in self.__dict__.items() if name not in cached}

    def __repr__(self) -> str:
        p = self.parameters
        return (
            f"<kneebayes.Model from {self.priors.folder!r}: {len(p.causes)} causes, {len(p.findings)} findings, "
            f"{len(p.risk_factors)} risk factors, {len(p.age_bands)} age bands, {len(p.rules)} red-flag rules>"
        )

    # ---- ids ---------------------------------------------------------------------
    @property
    def observable(self) -> tuple[str, ...]:
        """Ids a person can report: findings (symptoms, red flags), then risk factors.

        The sex node is not among them: it is set with ``sex=``.
        """
        p = self.parameters
        return p.findings + tuple(r for r in p.risk_factors if r != p.sex)

    @property
    def causes(self) -> tuple[str, ...]:
        """Cause ids, in vocabulary order."""
        return self.parameters.causes

    def findings(self) -> pd.DataFrame:
        """Return the ids a person can report, with their kind, label and question.

        Examples
        --------
        >>> from kneebayes import load_model
        >>> load_model().findings().loc["fever", "kind"]
        'red_flag'
        """
        vocab = self.priors.vocabulary
        return vocab.loc[list(self.observable), ["kind", "label", "question"]]

    # ---- engines -----------------------------------------------------------------
    @cached_property
    def _engine(self) -> ExactEngine:
        return ExactEngine(self.parameters)

    @cached_property
    def _network(self) -> DiscreteBayesianNetwork:
        from ._pgmpy_model import to_pgmpy

        return to_pgmpy(self.parameters)

    def to_pgmpy(self) -> DiscreteBayesianNetwork:
        """Return the network as a pgmpy ``DiscreteBayesianNetwork`` of ``TabularCPD``s.

        Node names are the vocabulary ids plus ``"age_band"``; binary nodes have
        states ``["absent", "present"]``. Each call returns a fresh copy.

        Examples
        --------
        >>> from kneebayes import load_model
        >>> load_model().to_pgmpy().check_model()
        True
        """
        return self._network.copy()

    # ---- diagnosis -----------------------------------------------------------------
    def evidence(self, present: Iterable[str] | None = None, absent: Iterable[str] | None = None,
                 age: float | None = None, *, sex: str | None = None) -> Evidence:
        """Validate evidence against this model's ids (see :meth:`diagnose`)."""
        p = self.parameters
        return make_evidence(
            present, absent, age, observable=self.observable, causes=p.causes,
            band_for_age=lambda years: p.age_bands[p.age_band_index(years)],
            sex=sex, sex_modelled=p.sex is not None,
        )

    def diagnose(
        self,
        present: Iterable[str] | None = None,
        absent: Iterable[str] | None = None,
        age: float | None = None,
        *,
        sex: str | None = None,
        engine: Engine = "numpy",
    ) -> Diagnosis:
        """Posterior probability of every cause, triage and red flags for one person.

        Parameters
        ----------
        present : list of str, optional
            Finding and risk-factor ids the person reports. Any collection of id
            strings works (list, tuple, set, generator, numpy array, pandas Series
            or Index of strings); a single string, bytes, a dict of answers
            (``{"fever": True}``) and a DataFrame are refused with an
            :class:`EvidenceError` that says what to pass instead.
        absent : list of str, optional
            Ids the person denies, in the same forms. Ids in neither list are
            unknown and summed over.
        age : float, optional
            Age in years, 0 to 120. Unknown when None.
        sex : {"female", "male"}, optional
            The person's sex. Unknown when None, and then summed over at its
            prevalence among people with pain behind the knee, like an unknown age.
        engine : {"numpy", "pgmpy"}
            ``"numpy"`` (default) is kneebayes' exact engine; ``"pgmpy"`` runs
            pgmpy's VariableElimination, the reference. Both are exact.

        Returns
        -------
        Diagnosis

        Raises
        ------
        UnknownIdError
            Ids that are not in the vocabulary, or cause ids: every one is named
            (``.ids``), with the closest valid ids (``.suggestions``).
        EvidenceError
            ``present`` or ``absent`` of the wrong shape (see above).
        ContradictoryEvidenceError
            The same id both present and absent.
        InvalidAgeError
            An age that is not a number in [0, 120].
        InvalidSexError
            A sex other than "female", "male" or None (with a "did you mean"), or
            ``"female"`` given as a finding id.
        ImpossibleEvidenceError
            Evidence with probability zero under the model.

        Examples
        --------
        >>> from kneebayes import load_model
        >>> result = load_model().diagnose(present=["calf_swelling", "recent_immobility"], age=64)
        >>> result.triage
        'urgent'
        >>> load_model().diagnose(present=["pulsating_lump", "cold_pale_foot"], age=72, sex="male").triage
        'emergency'
        """
        evidence = self.evidence(present, absent, age, sex=sex)
        if engine == "numpy":
            posteriors = self._engine.posteriors(self._arrays([evidence]))[0]
        elif engine == "pgmpy":
            from ._pgmpy_model import pgmpy_posteriors

            posteriors = pgmpy_posteriors(self._network, self.parameters, evidence)
        else:
            raise OptionError(f"The 'engine' parameter must be 'numpy' or 'pgmpy'. Got {engine!r} instead.")
        return self._result(evidence, posteriors, engine)

    # ---- the interview (the logic lives in _interview and _explain) ---------------------------
    def predict_findings(
        self,
        present: Iterable[str] | None = None,
        absent: Iterable[str] | None = None,
        age: float | None = None,
        *,
        sex: str | None = None,
    ) -> pd.Series:
        """Probability that each unanswered id would be reported present, given the answers so far.

        Exact: ``P(f present | e) = 1 - P(e, f absent) / P(e)``, from the engine's
        log evidence of one batch (the evidence, then the evidence with each
        unanswered id answered absent).

        Parameters
        ----------
        present, absent, age, sex
            The answers so far, as for :meth:`diagnose`.

        Returns
        -------
        pandas.Series
            Index: every id neither present nor absent, in vocabulary order; name ``p_present``.

        Examples
        --------
        >>> from kneebayes import load_model
        >>> p = load_model().predict_findings(present=["spasm"])
        >>> bool(p["sudden_onset"] > load_model().predict_findings()["sudden_onset"])
        True
        """
        from ._interview import predict_findings

        return predict_findings(self, self.evidence(present, absent, age, sex=sex))

    def explain(
        self,
        present: Iterable[str] | None = None,
        absent: Iterable[str] | None = None,
        age: float | None = None,
        cause: str | None = None,
        *,
        sex: str | None = None,
    ) -> Explanation:
        """Why a cause has its probability: each answer's weight of evidence, and what set the triage.

        Parameters
        ----------
        present, absent, age
            The answers, as for :meth:`diagnose`.
        cause : str, optional
            The cause to explain; the top cause by default.
        sex : {"female", "male"}, optional
            The sex, as for :meth:`diagnose`; when given it is an answer with its
            own weight of evidence (row ``sex``), like the age.

        Returns
        -------
        Explanation
            ``.table`` is indexed by the answered ids (and ``age`` and ``sex`` when
            given) with columns ``contribution`` (weight of evidence in decibans)
            and ``without`` (the cause's posterior without that answer), among others.

        Raises
        ------
        UnknownIdError
            An unknown id in the answers, or ``cause`` that is not a cause id.
        InvalidSexError
            A sex other than "female", "male" or None.

        Examples
        --------
        >>> from kneebayes import load_model
        >>> why = load_model().explain(present=["calf_swelling", "recent_immobility"], age=64)
        >>> why.cause, why.triage
        ('dvt', 'urgent')
        >>> print(why.triage_reasons[0])
        red flag 'dvt_probable' (urgent): P(dvt) = 0.59 >= 0.15
        >>> lump = load_model().explain(present=["pulsating_lump"], age=72, sex="male", cause="popliteal_aneurysm")
        >>> lump.table.loc["sex", "answer"], bool(lump.table.loc["sex", "contribution"] > 0)
        ('male', True)
        """
        from ._explain import explain

        evidence = self.evidence(present, absent, age, sex=sex)
        result = self.diagnose(evidence.present, evidence.absent, evidence.age, sex=evidence.sex)
        return explain(self, evidence, result, cause)

    def next_questions(
        self,
        present: Iterable[str] | None = None,
        absent: Iterable[str] | None = None,
        age: float | None = None,
        *,
        sex: str | None = None,
        unknown: Iterable[str] | None = None,
        costs: Mapping[str, float] | None = None,
    ) -> pd.DataFrame:
        """Rank the unanswered questions: red-flag questions first, then by expected information gain.

        The gain of an id is the sum over causes of the mutual information
        between its answer and the cause, in bits: how much of the uncertainty
        of the cause probabilities a person is shown the answer is expected to
        settle. It is exact, from one batch of two rows per id (answered present,
        answered absent).

        The sex, like the age, is an input given up front (``sex=``), not a
        question in the ranking: see :meth:`interview_step`.

        Parameters
        ----------
        present, absent, age, sex
            The answers so far, as for :meth:`diagnose`.
        unknown : list of str, optional
            Ids already asked and answered "don't know": they are not ranked.
        costs : mapping of id to float, optional
            The cost of asking each id (default 1); ids are ranked by gain per
            unit of cost.

        Returns
        -------
        pandas.DataFrame
            Indexed by id, best first, with columns ``gain`` (bits), ``p_present``,
            ``cost``, ``gain_per_cost``, ``red_flag`` (must be asked before the
            interview may stop), ``changes_triage`` and ``changes_top`` (whether
            one of its answers changes them), ``raises_triage``,
            ``triage_if_present``, ``triage_if_absent``, ``top_if_present``,
            ``top_if_absent``, ``kind`` and ``question``.

        Examples
        --------
        >>> from kneebayes import load_model
        >>> table = load_model().next_questions(present=["calf_swelling"], absent=["fever"], age=60)
        >>> table.index[0], bool(table["red_flag"].iloc[0])
        ('difficulty_breathing', True)
        """
        from ._interview import check_unknown, next_questions

        evidence = self.evidence(present, absent, age, sex=sex)
        return next_questions(self, evidence, unknown=check_unknown(self, evidence, unknown), costs=costs)

    def interview_step(
        self,
        present: Iterable[str] | None = None,
        absent: Iterable[str] | None = None,
        age: float | None = None,
        *,
        sex: str | None = None,
        unknown: Iterable[str] | None = None,
        costs: Mapping[str, float] | None = None,
        min_gain: float = DEFAULT_MIN_GAIN,
        explain: bool = False,
    ) -> dict[str, Any]:
        """Return the next question of an interview, or the decision to stop, as a JSON-ready dictionary.

        The interview asks red-flag questions first and never stops while one is
        unasked. Then it stops when no single remaining answer (present or absent)
        would change the triage or the top cause, or when the best expected gain
        is below ``min_gain`` bits and no single answer could raise the triage.

        The age and the sex are inputs an app collects before the first question
        (``age=``, ``sex=``), not questions ranked by information: each is known
        to the person for certain and asked once, and a personal question that
        appeared at a different point in every interview would read oddly.
        When they are unknown they are summed over at their prevalence.

        Parameters
        ----------
        present, absent, age, sex
            The answers so far, as for :meth:`diagnose`.
        unknown : list of str, optional
            Ids asked and answered "don't know"; they are not asked again.
        costs : mapping of id to float, optional
            Per-question costs, as for :meth:`next_questions`.
        min_gain : float
            Expected information gain (bits) below which the interview may stop.
        explain : bool
            Add the explanation of the top cause (``explanation``, as
            :meth:`Explanation.to_dict`).

        Returns
        -------
        dict
            ``question`` (an id, or None when the interview stops), ``should_stop``,
            ``reason``, ``diagnosis`` (as :meth:`Diagnosis.to_dict`) and ``asked``
            (the state so far: ``present``, ``absent``, ``unknown``, ``age`` and
            ``sex``, what a stateless app sends back with the next answer); with a
            question, also ``question_text``, ``kind``, ``p_present``, ``gain`` and
            ``red_flag``.

        Examples
        --------
        >>> from kneebayes import load_model
        >>> step = load_model().interview_step(present=["difficulty_breathing"])
        >>> step["should_stop"], step["question"], step["diagnosis"]["triage"]
        (False, 'chest_pain', 'emergency')
        """
        from ._interview import check_unknown, interview_step

        evidence = self.evidence(present, absent, age, sex=sex)
        return interview_step(self, evidence, unknown=check_unknown(self, evidence, unknown), costs=costs,
                              min_gain=min_gain, explain=explain)

    def _arrays(self, evidences: list[Evidence]) -> EvidenceArrays:
        p = self.parameters
        f_index = {f: i for i, f in enumerate(p.findings)}
        r_index = {r: i for i, r in enumerate(p.risk_factors)}
        findings = np.full((len(evidences), len(p.findings)), UNKNOWN, dtype=np.int8)
        rfs = np.full((len(evidences), len(p.risk_factors)), UNKNOWN, dtype=np.int8)
        age = np.full(len(evidences), UNKNOWN, dtype=np.int64)
        for n, ev in enumerate(evidences):
            for value, ids in ((1, ev.present), (0, ev.absent)):
                for ident in ids:
                    if ident in f_index:
                        findings[n, f_index[ident]] = value
                    else:
                        rfs[n, r_index[ident]] = value
            if ev.age is not None:
                age[n] = p.age_band_index(ev.age)
            if ev.sex is not None and p.sex is not None:
                rfs[n, r_index[p.sex]] = 1 if ev.sex == "female" else 0
        return EvidenceArrays(findings, rfs, age)

    def _result(self, evidence: Evidence, posteriors: np.ndarray, engine: str) -> Diagnosis:
        p = self.parameters
        present = np.array([[ident in evidence.present for ident in self.observable]])
        fired = fired_matrix(p.rules, self.observable, present, p.causes, posteriors[None, :])[0]
        level = triage_codes(p.rules, fired[None, :], p.care, posteriors[None, :], p.care_threshold)[0]
        by_cause = dict(zip(p.causes, (float(x) for x in posteriors), strict=True))
        flags = sorted(
            (describe(rule, by_cause, evidence.present) for rule, on in zip(p.rules, fired, strict=True) if on),
            key=lambda flag: -TRIAGE_LEVELS.index(flag.level),
        )
        ranked = np.argsort(-posteriors, kind="stable")  # highest first, ties in cause order
        probabilities = pd.Series(posteriors[ranked], index=pd.Index(np.array(p.causes, dtype=object)[ranked],
                                                                     name="cause"), name="probability")
        return Diagnosis(
            probabilities=probabilities,
            triage=TRIAGE_LEVELS[level],
            red_flags=tuple(flags),
            present=evidence.present,
            absent=evidence.absent,
            age=evidence.age,
            sex=evidence.sex,
            engine=engine,
            labels={c: p.labels[c] for c in p.causes},
            care=dict(zip(p.causes, p.care, strict=True)),
        )

    # ---- batches -------------------------------------------------------------------
    @overload
    def diagnose_many(self, frame: pd.DataFrame, *, chunk_size: int = 512, progress: bool = False,
                      extra: Literal["error", "ignore"] = "error") -> pd.DataFrame: ...

    @overload
    def diagnose_many(self, frame: dd.DataFrame, *, chunk_size: int = 512, progress: bool = False,
                      extra: Literal["error", "ignore"] = "error") -> dd.DataFrame: ...

    def diagnose_many(
        self,
        frame: pd.DataFrame | dd.DataFrame,
        *,
        chunk_size: int = 512,
        progress: bool = False,
        extra: Literal["error", "ignore"] = "error",
    ) -> pd.DataFrame | dd.DataFrame:
        """Posteriors, triage and red flags for a table of patients.

        Parameters
        ----------
        frame : pandas.DataFrame or dask.dataframe.DataFrame
            One row per patient. Columns are finding or risk-factor ids holding
            True (present), False (absent) or missing (unknown; NaN, None or
            pandas NA); 1 and 0 are accepted for True and False. An optional
            ``age`` column holds years (missing = unknown) and an optional ``sex``
            column ``"female"`` or ``"male"`` (missing = unknown). Ids without a
            column are unknown. A Dask DataFrame is scored lazily, partition by
            partition (install the ``dask`` extra; see :mod:`kneebayes._dask`).
        chunk_size : int
            Patients processed at once; memory grows with it.
        progress : bool
            Show a progress bar (tqdm's when installed). Not for a Dask DataFrame,
            which is lazy: use Dask's own progress bars.
        extra : {"error", "ignore"}
            What to do with columns that are neither ids nor ``age`` (a name, a
            record number): ``"error"`` (default) raises, naming every such
            column; ``"ignore"`` leaves them out.

        Returns
        -------
        pandas.DataFrame or dask.dataframe.DataFrame
            Same index as ``frame``; one column per cause id (posterior), then
            ``triage`` and ``red_flags`` (fired rule ids joined by ``";"``). A
            Dask DataFrame for a Dask DataFrame, with the same partitions.

        Raises
        ------
        UnknownIdError
            Columns that are neither ids nor ``age`` or ``sex`` (all named), unless ``extra="ignore"``.
        EvidenceError
            A value that is not True, False, 1, 0 or missing.
        InvalidSexError
            A ``sex`` value that is not "female", "male" or missing.

        Examples
        --------
        >>> import pandas as pd
        >>> from kneebayes import load_model
        >>> patients = pd.DataFrame({"spasm": [True, None], "fever": [False, True]})
        >>> out = load_model().diagnose_many(patients)
        >>> list(out["triage"])
        ['self_care', 'urgent']
        """
        if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
            raise OptionError(
                f"The 'chunk_size' parameter must be a whole number of at least 1. Got {chunk_size!r} instead."
            )
        if _is_dask_frame(frame):
            from ._dask import diagnose_partitions

            return diagnose_partitions(self, frame, chunk_size=chunk_size, progress=progress, extra=extra)
        frame = cast("pd.DataFrame", frame)  # anything else is refused by _frame_arrays
        p = self.parameters
        ev = self._frame_arrays(frame, extra)
        if progress:
            with progress_bar(len(frame)) as update:
                posteriors = self._engine.posteriors(ev, chunk_size=chunk_size, progress=update)
        else:
            posteriors = self._engine.posteriors(ev, chunk_size=chunk_size)
        reportable = [j for j, r in enumerate(p.risk_factors) if r != p.sex]
        present = np.concatenate([ev.findings == 1, ev.risk_factors[:, reportable] == 1], axis=1)
        fired = fired_matrix(p.rules, self.observable, present, p.causes, posteriors)
        level = triage_codes(p.rules, fired, p.care, posteriors, p.care_threshold)
        out = pd.DataFrame(posteriors, index=frame.index, columns=list(p.causes))
        out["triage"] = np.array(TRIAGE_LEVELS, dtype=object)[level]
        ids = np.array([r.id for r in p.rules], dtype=object)
        out["red_flags"] = [";".join(ids[row]) for row in fired]
        # text columns, also when the frame is empty (pandas would infer object and float for no rows)
        return out.astype({"triage": str, "red_flags": str})

    def sweep(
        self,
        frame: pd.DataFrame,
        kind: str,
        target: str,
        values: Sequence[float],
    ) -> pd.DataFrame:
        """Posteriors of every patient under each value of one prior number (one-way sensitivity).

        Parameters
        ----------
        frame : pandas.DataFrame
            Patients, as for :meth:`diagnose_many`.
        kind, target : str
            The number to vary, as in the ``kind`` and ``target`` columns of
            :meth:`Priors.to_frame` (e.g. ``"finding_probability"``, ``"lump_behind_knee|bakers_cyst"``).
        values : sequence of float
            The values to try. Each must be valid where the number stands (a
            probability in (0, 1), a finding probability above its leak, ...); it may
            lie outside the number's plausible range.

        Returns
        -------
        pandas.DataFrame
            Index (``value``, patient index); one column per cause.

        Raises
        ------
        OptionError
            An unknown ``kind``, or ``values`` that are not a non-empty list of
            finite numbers, or a value the finding sweep cannot use.
        UnknownIdError
            A ``target`` that names no number of that kind (with the closest), or
            an unknown column of ``frame``.
        PriorsError
            A value that is not valid where the number stands.

        Notes
        -----
        Nothing is rebuilt for any kind of number: all values are scored at once
        through the engine's one re-parameterisation entry point
        (:meth:`~kneebayes._engine.ExactEngine.posteriors_under`), exactly as
        models rebuilt with :meth:`Priors.with_value` would score them. The values
        become variants of the model's numbers (an age share rescales the others
        as ``with_value`` does), every variant's intercepts are re-solved together
        and each patient is scored only under the values that can change their
        posteriors (a finding's numbers only for patients who answered it;
        thresholds and settings change the triage, never the posteriors). The
        enumerating engine (at most 16 causes) keeps two shortcuts: a finding's
        numbers reuse the causes' prior and the other findings' likelihoods, and a
        cause's numbers (``odds_ratio``, ``base_rate``) contract the rest of the
        network once. Values are checked at the two ends of the grid (every
        constraint on a number is an interval).

        Examples
        --------
        >>> import pandas as pd
        >>> from kneebayes import load_model
        >>> patients = pd.DataFrame({"lump_behind_knee": [True], "stiffness": [True]})
        >>> out = load_model().sweep(patients, "finding_probability", "lump_behind_knee|bakers_cyst", [0.3, 0.9])
        >>> bool(out.loc[(0.3, 0), "bakers_cyst"] < out.loc[(0.9, 0), "bakers_cyst"])
        True
        """
        items = [] if isinstance(values, (str, bytes)) or not isinstance(values, Iterable) else list(values)
        if not items or not all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in items):
            raise OptionError(f"The 'values' parameter must be a non-empty list of finite numbers. Got {values!r}.")
        grid = np.array(items, dtype=float)
        if not np.isfinite(grid).all():
            raise OptionError(f"The 'values' parameter must be a non-empty list of finite numbers. Got {values!r}.")
        known = self.priors.to_frame().set_index(["kind", "target"])
        if not isinstance(kind, str) or not isinstance(target, str) or (kind, target) not in known.index:
            self.priors.with_value(kind, target, float(grid[0]))  # raises the precise error
        ev = self._frame_arrays(frame)
        enumerated = self._engine.method == "enumerate"
        bounds = known.loc[(kind, target), ["low", "high"]].to_numpy(dtype=float)
        low, high = float(bounds[0]), float(bounds[1])
        if kind in ("leak", "finding_probability"):
            f, leaks, q = self._finding_numbers(kind, target, grid)  # checks every value first
            if enumerated:  # the likelihood of one finding, swept over all 2**C cause configurations
                posteriors = self._engine.finding_sweep(ev, f, leaks, q)
            else:
                posteriors = self._variant_sweep(ev, kind, target, grid)
        else:
            for v in {float(grid.min()), float(grid.max())}:  # each constraint is an interval: check the ends
                self.priors.with_value(kind, target, v, low=min(low, v), high=max(high, v))
            if kind in ("odds_ratio", "base_rate") and enumerated:
                # a cause-side number changes only its cause's table (and its descendants'): contract the rest once
                edits = [with_cause_number(self.parameters, kind, target, float(v)) for v in grid]
                posteriors = self._engine.cause_sweep(ev, [edit for edit, _ in edits], edits[0][1])
            else:
                posteriors = self._variant_sweep(ev, kind, target, grid)
        patient_level = str(frame.index.name) if frame.index.name is not None else "patient"
        index: pd.MultiIndex = pd.MultiIndex.from_product(
            [grid.tolist(), frame.index.tolist()], names=["value", patient_level]
        )
        return pd.DataFrame(posteriors.reshape(-1, len(self.causes)), index=index, columns=list(self.causes))

    def _variant_sweep(self, ev: EvidenceArrays, kind: str, target: str, grid: np.ndarray) -> np.ndarray:
        """Posteriors under each value, all values scored at once through the engine's variants (no rebuild)."""
        from ._variants import Variants

        variants = Variants.repeat(self.parameters, len(grid))
        variants.set(slice(None), kind, target, grid,
                     share_low=self.priors.age_bands["low"].to_numpy(dtype=float).tolist(),
                     share_high=self.priors.age_bands["high"].to_numpy(dtype=float).tolist())
        variants.solve()
        return self._engine.posteriors_under(ev, variants)

    def _finding_numbers(self, kind: str, target: str, grid: np.ndarray) -> tuple[int, np.ndarray, np.ndarray]:
        """Check a finding sweep's values; return the finding's index, its leak and its q table per value."""
        p = self.parameters
        links = self.priors.finding_links["probability"]
        finding, _, cause = target.partition("|")
        if finding not in p.findings or (kind == "finding_probability" and (finding, cause) not in links.index):
            self.priors.with_value(kind, target, float(grid[0]))  # raises the precise error
        f = p.findings.index(finding)
        own = links[links.index.get_level_values("finding") == finding]
        probability = np.zeros((len(grid), len(p.causes)))  # P(finding | cause alone) per variant, 0 = no link
        for key, value in own.items():
            c_id = cast("tuple[str, str]", key)[1]
            probability[:, p.causes.index(c_id)] = value
        if kind == "leak":
            leaks = grid
        else:
            leaks = np.full(len(grid), p.leak[f])
            probability[:, p.causes.index(cause)] = grid
        linked = probability > 0
        if ((grid <= 0) | (grid >= 1)).any() or (linked & (probability <= leaks[:, None])).any():
            raise OptionError(
                f"every value of {kind} {target!r} must be a probability strictly between 0 and 1, and a "
                f"finding's probability must stay above its leak; got {[float(v) for v in grid]}"
            )
        q = np.where(linked, 1.0 - (1.0 - probability) / (1.0 - leaks[:, None]), 0.0)
        return f, leaks, q

    def _frame_arrays(self, frame: pd.DataFrame, extra: Literal["error", "ignore"] = "error") -> EvidenceArrays:
        if not isinstance(frame, pd.DataFrame):
            got = ("a Dask DataFrame, which only diagnose_many takes (call .compute() first)" if _is_dask_frame(frame)
                   else type(frame).__name__)
            raise EvidenceError(f"a table of patients must be a pandas DataFrame. Got {got} instead.")
        p = self.parameters
        allowed = set(self.observable)
        repeated = sorted({str(c) for c in frame.columns[frame.columns.duplicated()]})
        if repeated:
            raise EvidenceError(f"diagnose_many got the same column more than once: {', '.join(repeated)}")
        if extra not in ("error", "ignore"):
            raise OptionError(f"The 'extra' parameter must be 'error' or 'ignore'. Got {extra!r} instead.")
        bad = [column for column in frame.columns if column not in ("age", "sex") and (
            not isinstance(column, str) or column not in allowed)]
        if bad and extra == "error":
            names = [str(column) for column in bad]
            given_causes = [c for c in names if c in p.causes]
            message, suggestions = unknown_ids("column", [c for c in names if c not in p.causes], allowed)
            if given_causes:
                causes_part = (f"column(s) {', '.join(repr(c) for c in given_causes)}: a cause is inferred, "
                               "not reported")
                message = causes_part if len(given_causes) == len(names) else f"{causes_part}; {message}"
            raise UnknownIdError(f"diagnose_many: {message}. Pass extra='ignore' to leave out columns that are "
                                 "not ids (a name, a record number)", ids=names, suggestions=suggestions)
        n = len(frame)

        def states(ids: tuple[str, ...]) -> np.ndarray:
            out = np.full((n, len(ids)), UNKNOWN, dtype=np.int8)
            for j, ident in enumerate(ids):
                if ident in frame.columns:
                    out[:, j] = _column_states(frame[ident], ident)
            return out

        age = np.full(n, UNKNOWN, dtype=np.int64)
        if "age" in frame.columns:
            years = frame["age"]
            if pd.api.types.is_numeric_dtype(years.dtype) and not pd.api.types.is_bool_dtype(years.dtype):
                values = years.to_numpy(dtype=float, na_value=np.nan)
                known = ~np.isnan(values)
                bad = known & ~((values >= 0) & (values <= MAX_AGE))
                if bad.any():
                    check_age(values[bad][0])  # raises InvalidAgeError with the message of diagnose()
                age[known] = np.searchsorted(p.age_min, values[known], side="right") - 1
            else:  # object columns: check each value (bools and text are refused)
                for i, value in enumerate(years.to_numpy(dtype=object)):
                    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
                        continue
                    age[i] = p.age_band_index(check_age(value))  # type: ignore[arg-type]
        rfs = states(p.risk_factors)
        if "sex" in frame.columns:
            if p.sex is None:
                check_sex("female" if frame["sex"].notna().any() else None, modelled=False)
            else:
                rfs[:, p.risk_factors.index(p.sex)] = _sex_states(frame["sex"])
        return EvidenceArrays(states(p.findings), rfs, age)


def _is_dask_frame(frame: object) -> TypeGuard[dd.DataFrame]:
    """Whether ``frame`` is a Dask DataFrame, without importing Dask (one exists only once Dask is imported)."""
    module = sys.modules.get("dask.dataframe")
    return module is not None and isinstance(frame, module.DataFrame)


def _sex_states(column: pd.Series) -> np.ndarray:
    """Map a column of "female"/"male"/missing to 1/0/-1, or raise InvalidSexError naming the row."""
    out = np.full(len(column), UNKNOWN, dtype=np.int8)
    for i, value in enumerate(column.to_numpy(dtype=object)):
        if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
            continue
        try:
            out[i] = 1 if check_sex(value) == "female" else 0
        except InvalidSexError as err:
            raise InvalidSexError(f"column 'sex', row {column.index[i]!r}: {err}") from None
    return out


def _column_states(column: pd.Series, ident: str) -> np.ndarray:
    """Map a column of True/False/1/0/missing to 1/0/-1, or raise EvidenceError."""
    if pd.api.types.is_bool_dtype(column.dtype) and not column.isna().any():
        return column.to_numpy(dtype=bool).astype(np.int8)
    if pd.api.types.is_numeric_dtype(column.dtype) and not pd.api.types.is_bool_dtype(column.dtype):
        values = column.to_numpy(dtype=float, na_value=np.nan)
        bad = ~np.isnan(values) & (values != 0.0) & (values != 1.0)
        if not bad.any():
            return np.where(np.isnan(values), UNKNOWN, values).astype(np.int8)
    values = column.to_numpy(dtype=object)
    out = np.full(len(values), UNKNOWN, dtype=np.int8)
    for i, value in enumerate(values):
        if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
            continue
        if isinstance(value, (bool, np.bool_)) or (isinstance(value, (int, np.integer, float)) and value in (0, 1)):
            out[i] = 1 if bool(value) else 0
            continue
        raise EvidenceError(
            f"column {ident!r}, row {column.index[i]!r}: must be True, False, 1, 0 or missing. Got {value!r} instead."
        )
    return out


def load_model(path: str | os.PathLike[str] | None = None) -> Model:
    """Read, validate and compile a priors folder into a :class:`Model`.

    Parameters
    ----------
    path : str or path-like, optional
        A folder laid out like ``priors/``; None (default) uses the shipped priors.

    Raises
    ------
    PriorsError
        Listing every problem of the folder.

    Examples
    --------
    >>> load_model().causes[:2]
    ('cramp', 'hamstring_strain')
    """
    return Model.from_priors(load_priors(path))
