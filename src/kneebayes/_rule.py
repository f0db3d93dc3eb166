"""The red-flag rule record, shared by the prior files, the safety floor and the triage."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RedFlagRule:
    """One red-flag rule: when it fires, and what it says.

    Attributes
    ----------
    id : str
        Rule id.
    level : str
        The triage level the rule demands at least.
    when_present : tuple of str
        Findings (or risk factors) reported present that the rule reads (may be empty).
    when_cause : str or None
        A cause whose posterior must reach ``at_least``.
    at_least : float or None
        The threshold on ``when_cause``.
    message : str
        What the person reads.
    source : str
        Where the rule comes from.
    min_present : int or None
        How many of ``when_present`` must be reported present; None (the default)
        means all of them. A score rule such as the two-level Wells score for DVT
        ("at least two of these") sets it.

    Examples
    --------
    >>> rule = RedFlagRule("fever", "urgent", ("fever",), None, None, "Get care today.", "nice")
    >>> rule.needed
    1
    """

    id: str
    level: str
    when_present: tuple[str, ...]
    when_cause: str | None
    at_least: float | None
    message: str
    source: str
    min_present: int | None = None

    @property
    def needed(self) -> int:
        """How many of ``when_present`` must be present for the rule to fire."""
        return len(self.when_present) if self.min_present is None else self.min_present
