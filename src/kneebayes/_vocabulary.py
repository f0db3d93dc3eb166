"""The kinds of ids in the vocabulary, and 'did you mean' suggestions for unknown ids."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

#: Default threshold of expected information gain, in bits, below which the interview may stop
#: (here rather than in ``_interview`` so that the modules whose signatures show it need not import that one).
DEFAULT_MIN_GAIN = 0.01

KINDS: tuple[str, ...] = ("cause", "symptom", "red_flag", "risk_factor", "sex")
#: The one id of kind ``sex``: a binary root node, present for a woman and absent for a man, set by
#: ``diagnose(sex=...)`` and never reported as a finding.
SEX_ID = "female"
#: The values ``sex=`` accepts.
SEXES: tuple[str, ...] = ("female", "male")
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


def closest(word: str, choices: Iterable[str]) -> tuple[str, ...]:
    """Return up to three valid ids close to ``word``, best first (empty when none is close).

    Examples
    --------
    >>> closest("fevr", ["fever", "swelling"])
    ('fever',)
    """
    return tuple(difflib.get_close_matches(word, sorted(choices), n=3, cutoff=0.6))


def unknown_ids(what: str, words: Iterable[str], choices: Iterable[str]) -> tuple[str, dict[str, tuple[str, ...]]]:
    """Word a message naming every unknown id, and return it with each id's closest valid ids.

    Parameters
    ----------
    what : str
        What the ids should have been, e.g. ``"finding id"``.
    words : iterable of str
        The unknown ids, in the order given.
    choices : iterable of str
        The valid ids.

    Examples
    --------
    >>> unknown_ids("finding id", ["fevr", "stifness"], ["fever", "stiffness"])[0]
    "2 unknown finding ids: 'fevr' (did you mean 'fever'?), 'stifness' (did you mean 'stiffness'?)"
    """
    options = sorted(choices)
    found = {word: closest(word, options) for word in words}
    if len(found) == 1:
        word = next(iter(found))
        return f"unknown {what} {word!r}; {did_you_mean(word, options)}", found
    parts = [
        f"{word!r} (did you mean {' or '.join(repr(c) for c in close)}?)" if close else f"{word!r} (no close match)"
        for word, close in found.items()
    ]
    message = f"{len(found)} unknown {what}s: " + ", ".join(parts)
    if not all(found.values()):
        message += "; valid ids are: " + ", ".join(options)
    return message, found


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """Return a short hint naming the closest valid ids, or listing them all.

    Examples
    --------
    >>> did_you_mean("lump_behnd_knee", ["lump_behind_knee", "locking"])
    "did you mean 'lump_behind_knee'?"
    """
    options = sorted(choices)
    close = closest(word, options)
    if close:
        return "did you mean " + " or ".join(repr(c) for c in close) + "?"
    return "valid ids are: " + ", ".join(options)
