"""The red-flag override: which rules fire, and the triage level that results.

A small pure module: it reads rules, what was reported present and the
posteriors, and never changes them. No argument lowers a fired rule's level:
the triage is the highest of the probable causes' care and every fired rule.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from ._rule import RedFlagRule
from ._vocabulary import TRIAGE_LEVELS


@dataclass(frozen=True)
class FiredFlag:
    """A red-flag rule that fired for one person.

    Attributes
    ----------
    id : str
        Rule id (``red_flags.csv``).
    level : str
        The triage level it demands at least.
    message : str
        What the person should do, in plain words.
    why : str
        What made it fire.

    Examples
    --------
    >>> from kneebayes import diagnose
    >>> flag = diagnose(present=["fever"]).red_flags[0]
    >>> (flag.id, flag.level, flag.why)
    ('fever', 'urgent', 'fever reported present')
    """

    id: str
    level: str
    message: str
    why: str


def fired_matrix(
    rules: Sequence[RedFlagRule],
    observable: Sequence[str],
    present: npt.NDArray[np.bool_],
    causes: Sequence[str],
    posteriors: npt.NDArray[np.float64],
) -> npt.NDArray[np.bool_]:
    """Which rules fire for which person.

    Parameters
    ----------
    rules : sequence of RedFlagRule
    observable : sequence of str
        Column ids of ``present``.
    present : bool ndarray, shape (N, len(observable))
        True where the id was reported present.
    causes : sequence of str
        Column ids of ``posteriors``.
    posteriors : ndarray, shape (N, len(causes))

    Returns
    -------
    bool ndarray, shape (N, len(rules))
    """
    column = {ident: i for i, ident in enumerate(observable)}
    cause_column = {ident: i for i, ident in enumerate(causes)}
    out = np.zeros((len(present), len(rules)), dtype=bool)
    for j, rule in enumerate(rules):
        columns = [column[ident] for ident in rule.when_present]
        fires = present[:, columns].sum(axis=1) >= rule.needed
        if rule.when_cause is not None and rule.at_least is not None:
            fires &= posteriors[:, cause_column[rule.when_cause]] >= rule.at_least
        out[:, j] = fires
    return out


def triage_codes(
    rules: Sequence[RedFlagRule],
    fired: npt.NDArray[np.bool_],
    care: Sequence[str],
    posteriors: npt.NDArray[np.float64],
    care_threshold: float,
) -> npt.NDArray[np.int64]:
    """Triage level index per person: the highest of probable causes' care and fired rules.

    Examples
    --------
    >>> import numpy as np
    >>> rule = RedFlagRule("f", "urgent", ("fever",), None, None, "Go.", "x")
    >>> triage_codes([rule], np.array([[True]]), ["self_care"], np.array([[0.9]]), 0.3)
    array([2])
    """
    care_rank = np.array([TRIAGE_LEVELS.index(c) for c in care])
    probable = posteriors >= care_threshold
    level: npt.NDArray[np.integer[Any]] = np.where(probable, care_rank[None, :], 0).max(axis=1, initial=0)
    if len(rules):
        rule_rank = np.array([TRIAGE_LEVELS.index(r.level) for r in rules])
        level = np.maximum(level, np.where(fired, rule_rank[None, :], 0).max(axis=1))
    return level.astype(np.int64)


def describe(rule: RedFlagRule, posteriors: dict[str, float], present: Collection[str] = ()) -> FiredFlag:
    """Explain, for a rule that fired, what made it fire.

    ``present`` (the ids reported present) names the items of a score rule
    (``min_present``) that counted; a rule that needs all its ids names them all.

    Examples
    --------
    >>> rule = RedFlagRule("w", "urgent", ("a", "b", "c"), None, None, "Go.", "x", min_present=2)
    >>> describe(rule, {}, present=["a", "c"]).why
    '2 of 3 items reported present (at least 2 needed): a, c'
    """
    if rule.min_present is not None:
        counted = [ident for ident in rule.when_present if ident in present]
        reasons = [f"{len(counted)} of {len(rule.when_present)} items reported present "
                   f"(at least {rule.min_present} needed): {', '.join(counted)}"]
    else:
        reasons = [f"{ident} reported present" for ident in rule.when_present]
    if rule.when_cause is not None:
        reasons.append(f"P({rule.when_cause}) = {posteriors[rule.when_cause]:.2f} >= {rule.at_least:g}")
    return FiredFlag(rule.id, rule.level, rule.message, "; ".join(reasons))
