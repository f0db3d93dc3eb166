"""The result of a diagnosis: posteriors, triage and fired red flags."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from . import _display
from ._red_flags import FiredFlag


@dataclass(frozen=True)
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
    sex : {"female", "male"} or None
        The sex given; None when unknown (summed over).
    engine : str
        The inference engine used.

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
    sex: str | None = None

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

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dictionary of the result."""
        return {
            "triage": self.triage,
            "red_flags": [
                {"id": f.id, "level": f.level, "message": f.message, "why": f.why} for f in self.red_flags
            ],
            "probabilities": {str(k): float(v) for k, v in self.probabilities.items()},
            "evidence": {"present": list(self.present), "absent": list(self.absent), "age": self.age,
                         "sex": self.sex},
            "engine": self.engine,
            "disclaimer": _display.DISCLAIMER,
        }

    def __repr__(self) -> str:
        return _display.text(self)

    def _repr_html_(self) -> str:
        return _display.html(self)
