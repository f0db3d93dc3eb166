"""The result of a diagnosis: posteriors, triage and fired red flags."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from . import _display
from ._errors import OptionError
from ._red_flags import FiredFlag

if TYPE_CHECKING:  # pragma: no cover
    from ._explain import Explanation


@dataclass(frozen=True, eq=False)
class Diagnosis:
    """What kneebayes concludes from one person's answers.

    Attributes
    ----------
    probabilities : pandas.Series
        P(cause | evidence) for every cause id, highest first. Causes are not
        mutually exclusive, so the values need not sum to 1.
    triage : str
        ``"self_care"``, ``"see_doctor"``, ``"urgent"`` or ``"emergency"``: the
        highest of what the probable causes need and what any red flag demands.
    red_flags : tuple of FiredFlag
        The red-flag rules that fired, most serious first.
    present, absent : tuple of str
        The ids reported present and absent.
    age : float or None
        The age given, in years.
    engine : str
        The inference engine used.

    Notes
    -----
    Two diagnoses are equal when their evidence, engine, triage, red flags and
    probabilities (exactly, in the same order) are equal, and equal diagnoses
    have equal hashes, so results can be set members or dictionary keys. The
    numpy and pgmpy engines agree to about 1e-15, not exactly, so their results
    for the same answers are usually not equal.

    Examples
    --------
    >>> from kneebayes import diagnose
    >>> result = diagnose(present=["difficulty_breathing"])
    >>> result.triage
    'emergency'
    >>> result.red_flags[0].id
    'difficulty_breathing'
    """

    probabilities: pd.Series
    triage: str
    red_flags: tuple[FiredFlag, ...]
    present: tuple[str, ...]
    absent: tuple[str, ...]
    age: float | None
    engine: str = "numpy"
    labels: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)
    care: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)

    @property
    def top(self) -> str:
        """The most probable cause id."""
        return str(self.probabilities.index[0])

    def to_frame(self) -> pd.DataFrame:
        """One row per cause, highest first.

        Returns
        -------
        pandas.DataFrame
            Index cause id; columns ``label``, ``probability``, ``care``.

        Examples
        --------
        >>> from kneebayes import diagnose
        >>> list(diagnose(present=["spasm"]).to_frame().columns)
        ['label', 'probability', 'care']
        """
        frame = pd.DataFrame(
            {
                "label": [self.labels.get(c, c) for c in self.probabilities.index],
                "probability": self.probabilities.to_numpy(),
                "care": [self.care.get(c, "") for c in self.probabilities.index],
            },
            index=self.probabilities.index.copy(),
        )
        frame.index.name = "cause"
        return frame

    def to_dict(self, *, explanation: Explanation | None = None) -> dict[str, Any]:
        """Return a JSON-ready dictionary of the result.

        Parameters
        ----------
        explanation : Explanation, optional
            An explanation of this result (from :meth:`Model.explain`), added under
            ``"explanation"``.

        Returns
        -------
        dict
            ``triage``, ``advice`` (the sentence for the triage), ``top``,
            ``red_flags``, ``causes`` (highest first, each with ``id``, ``label``,
            ``probability`` and ``care``), ``probabilities`` (id to probability),
            ``evidence``, ``engine`` and ``disclaimer``.

        Examples
        --------
        >>> from kneebayes import diagnose
        >>> out = diagnose(present=["spasm"]).to_dict()
        >>> out["causes"][0]["label"], out["advice"].split(":")[0]
        ('Muscle cramp (calf or hamstring near the knee)', 'Self-care')
        """
        out = {
            "triage": self.triage,
            "advice": _display.TRIAGE_TEXT[self.triage],
            "top": self.top,
            "red_flags": [
                {"id": f.id, "level": f.level, "message": f.message, "why": f.why} for f in self.red_flags
            ],
            "causes": [
                {"id": str(k), "label": self.labels.get(str(k), str(k)), "probability": float(v),
                 "care": self.care.get(str(k), "")}
                for k, v in self.probabilities.items()
            ],
            "probabilities": {str(k): float(v) for k, v in self.probabilities.items()},
            "evidence": {"present": list(self.present), "absent": list(self.absent), "age": self.age},
            "engine": self.engine,
            "disclaimer": _display.DISCLAIMER,
        }
        if explanation is not None:
            if explanation.diagnosis != self:
                raise OptionError("this explanation is of another diagnosis; explain the same answers")
            out["explanation"] = explanation.to_dict()
        return out

    def _key(self) -> tuple[object, ...]:
        return (tuple((str(k), float(v)) for k, v in self.probabilities.items()), self.triage, self.red_flags,
                self.present, self.absent, self.age, self.engine)

    def __eq__(self, other: object) -> bool:
        """Equal when the evidence, engine, triage, red flags and every probability (exactly, in order) agree."""
        if not isinstance(other, Diagnosis):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return _display.text(self)

    def _repr_html_(self) -> str:
        return _display.html(self)
