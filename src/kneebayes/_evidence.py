"""Check what a person reported and turn it into evidence the engines understand."""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import pandas as pd

from ._errors import ContradictoryEvidenceError, EvidenceError, InvalidAgeError, UnknownIdError
from ._vocabulary import unknown_ids

MAX_AGE = 120


@dataclass(frozen=True)
class Evidence:
    """Validated evidence: ids reported present or absent, and the age band if known.

    Attributes
    ----------
    present, absent : tuple of str
        Finding and risk-factor ids, sorted, no id in both.
    age : float or None
        Age in years as given.
    age_band : str or None
        The age band that holds ``age``.
    """

    present: tuple[str, ...]
    absent: tuple[str, ...]
    age: float | None
    age_band: str | None


def _ids(value: Iterable[str] | str | None, name: str) -> tuple[str, ...]:
    """Return the ids of a collection of id strings, or raise :class:`EvidenceError`.

    A list, tuple, set, generator, numpy array, pandas Series or Index of id
    strings is a collection of ids. A string, bytes, a mapping (whose keys would
    be read and values ignored), a DataFrame (whose column names would be read),
    and anything holding something other than strings are refused.
    """
    if value is None:
        return ()
    if isinstance(value, str):
        raise EvidenceError(
            f"The '{name}' parameter must be a list of ids, not a single string. Got {value!r} instead; "
            f"write {name}=[{value!r}]."
        )
    if isinstance(value, (bytes, bytearray, memoryview)):
        raise EvidenceError(
            f"The '{name}' parameter must be a list of id strings, not {type(value).__name__}. Got {value!r} instead."
        )
    if isinstance(value, Mapping):
        raise EvidenceError(
            f"The '{name}' parameter must be a list of ids, not a {type(value).__name__} of answers (its keys would be "
            "read and its values ignored). Split the answers into two lists: "
            "present=[i for i, v in answers.items() if v], absent=[i for i, v in answers.items() if not v]."
        )
    if isinstance(value, pd.DataFrame):
        raise EvidenceError(
            f"The '{name}' parameter must be a list of ids, not a DataFrame (its column names would be read). "
            "Use diagnose_many for a table of patients."
        )
    try:
        items = list(value)
    except TypeError:
        raise EvidenceError(f"The '{name}' parameter must be a list of ids. Got {value!r} instead.") from None
    for item in items:
        if not isinstance(item, str):
            if isinstance(value, pd.Series):
                raise EvidenceError(
                    f"The '{name}' parameter must be a list of ids, not a Series of {value.dtype} answers. Write "
                    "present=list(answers.index[answers == True]), absent=list(answers.index[answers == False]), "
                    "or use diagnose_many for a table of patients."
                )
            raise EvidenceError(f"The '{name}' parameter must hold id strings. Got {item!r} ({type(item).__name__}).")
    return tuple(str(item) for item in items)


def check_age(age: object) -> float | None:
    """Return ``age`` as a float, or raise :class:`InvalidAgeError`.

    Examples
    --------
    >>> check_age(58)
    58.0
    >>> check_age(None) is None
    True
    """
    if age is None:
        return None
    if isinstance(age, bool) or not isinstance(age, numbers.Real):
        raise InvalidAgeError(f"The 'age' parameter must be a number of years in [0, {MAX_AGE}]. Got {age!r} instead.")
    value = float(age)
    if math.isnan(value) or not 0 <= value <= MAX_AGE:
        raise InvalidAgeError(f"The 'age' parameter must be a number of years in [0, {MAX_AGE}]. Got {age!r} instead.")
    return value


def make_evidence(
    present: Iterable[str] | None,
    absent: Iterable[str] | None,
    age: object,
    *,
    observable: Iterable[str],
    causes: Iterable[str],
    band_for_age: object = None,
) -> Evidence:
    """Validate evidence against the model's ids.

    Parameters
    ----------
    present, absent : iterable of str or None
        Ids reported present and absent: a list, tuple, set, generator, numpy
        array, pandas Series or Index of id strings. A string, bytes, a dict or
        other mapping, a DataFrame and non-string items are refused.
    age : number or None
        Age in years.
    observable : iterable of str
        Ids that may be reported (findings and risk factors).
    causes : iterable of str
        Cause ids, which cannot be reported (they are what is inferred).
    band_for_age : callable, optional
        Maps an age in years to an age-band id.

    Raises
    ------
    UnknownIdError
        Naming every unknown id (``.ids``, with ``.suggestions``).
    ContradictoryEvidenceError, InvalidAgeError, EvidenceError
    """
    present_ids = _ids(present, "present")
    absent_ids = _ids(absent, "absent")
    allowed = set(observable)
    cause_ids = set(causes)
    bad = list(dict.fromkeys(i for i in present_ids + absent_ids if i not in allowed))
    if bad:
        given_causes = [i for i in bad if i in cause_ids]
        others = [i for i in bad if i not in cause_ids]
        parts = []
        suggestions: dict[str, tuple[str, ...]] = {}
        if given_causes:
            verb = "is a cause" if len(given_causes) == 1 else "are causes"
            parts.append(
                f"{', '.join(repr(i) for i in given_causes)} {verb}, not a finding: causes are what kneebayes infers. "
                "Report symptoms, red flags and risk factors instead."
            )
        if others:
            message, suggestions = unknown_ids("finding id", others, allowed)
            parts.append(message)
        raise UnknownIdError(" ".join(parts), ids=bad, suggestions=suggestions)
    both = sorted(set(present_ids) & set(absent_ids))
    if both:
        raise ContradictoryEvidenceError(
            f"{', '.join(repr(b) for b in both)} reported both present and absent; give each id once"
        )
    years = check_age(age)
    band = None
    if years is not None and callable(band_for_age):
        band = str(band_for_age(years))
    return Evidence(tuple(sorted(set(present_ids))), tuple(sorted(set(absent_ids))), years, band)
