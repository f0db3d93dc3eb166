"""Check what a person reported and turn it into evidence the engines understand."""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from dataclasses import dataclass

from ._errors import ContradictoryEvidenceError, EvidenceError, InvalidAgeError, UnknownIdError
from ._vocabulary import did_you_mean

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
    if value is None:
        return ()
    if isinstance(value, str):
        raise EvidenceError(
            f"The '{name}' parameter must be a list of ids, not a single string. Got {value!r} instead; "
            f"write {name}=[{value!r}]."
        )
    try:
        items = list(value)
    except TypeError:
        raise EvidenceError(f"The '{name}' parameter must be a list of ids. Got {value!r} instead.") from None
    for item in items:
        if not isinstance(item, str):
            raise EvidenceError(f"The '{name}' parameter must hold id strings. Got {item!r} ({type(item).__name__}).")
    return tuple(items)


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
        Ids reported present and absent.
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
    UnknownIdError, ContradictoryEvidenceError, InvalidAgeError, EvidenceError
    """
    present_ids = _ids(present, "present")
    absent_ids = _ids(absent, "absent")
    allowed = set(observable)
    cause_ids = set(causes)
    for ident in present_ids + absent_ids:
        if ident in cause_ids:
            raise UnknownIdError(
                f"{ident!r} is a cause, not a finding: causes are what kneebayes infers. "
                "Report symptoms, red flags and risk factors instead."
            )
        if ident not in allowed:
            raise UnknownIdError(f"unknown finding id {ident!r}; {did_you_mean(ident, allowed)}")
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
