"""The kinds of ids in the vocabulary, and 'did you mean' suggestions for unknown ids."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

KINDS: tuple[str, ...] = ("cause", "symptom", "red_flag", "risk_factor")
FINDING_KINDS: tuple[str, ...] = ("symptom", "red_flag")
TRIAGE_LEVELS: tuple[str, ...] = ("self_care", "see_doctor", "urgent", "emergency")
EXPERT_ESTIMATE = "expert estimate"
#: The evidence grades of a prior number, strongest first (column ``evidence`` of the prior files):
#: ``direct`` the cited reference reports this number for a comparable population; ``derived`` it is
#: computed from a reported figure (the note states the arithmetic and assumptions); ``qualitative``
#: the cited references name the link but give no number; ``expert`` no source.
EVIDENCE_GRADES: tuple[str, ...] = ("direct", "derived", "qualitative", "expert")


def triage_rank(level: str) -> int:
    """Return the position of a triage level, ``self_care`` being 0.

    Examples
    --------
    >>> triage_rank("urgent") > triage_rank("see_doctor")
    True
    """
    return TRIAGE_LEVELS.index(level)


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """Return a short hint naming the closest valid ids, or listing them all.

    Examples
    --------
    >>> did_you_mean("lump_behnd_knee", ["lump_behind_knee", "locking"])
    "did you mean 'lump_behind_knee'?"
    """
    options = sorted(choices)
    close = difflib.get_close_matches(word, options, n=3, cutoff=0.6)
    if close:
        return "did you mean " + " or ".join(repr(c) for c in close) + "?"
    return "valid ids are: " + ", ".join(options)
