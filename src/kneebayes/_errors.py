"""The exceptions and warnings kneebayes raises.

Exception tree::

    KneeBayesError
     ├── PriorsError (also ValueError)            a priors folder is missing, malformed or invalid
     ├── OptionError (also ValueError)            an option outside its allowed values
     └── EvidenceError (also ValueError)          what a person reported cannot be used
          ├── UnknownIdError                      an id that is not in the vocabulary
          ├── ContradictoryEvidenceError          the same id both present and absent
          ├── InvalidAgeError                     an age that is not a number in [0, 120]
          └── ImpossibleEvidenceError             evidence the model gives probability zero

Every subclass is also a ``ValueError``, so callers that already catch
``ValueError`` keep working.
"""

from __future__ import annotations

from dataclasses import dataclass


class KneeBayesError(Exception):
    """Root of every error kneebayes raises on purpose.

    Examples
    --------
    >>> import kneebayes
    >>> try:
    ...     kneebayes.diagnose(present=["fevr"])
    ... except KneeBayesError as err:
    ...     print(type(err).__name__, "-", err)
    UnknownIdError - unknown ... 'fevr'; did you mean 'fever'?
    """


@dataclass(frozen=True)
class Problem:
    """One located problem in a priors folder.

    Parameters
    ----------
    file : str
        File name inside the priors folder, e.g. ``"causes.csv"``.
    line : int or None
        Line number in that file (1-based), or None for a problem with the whole file.
    field : str or None
        Column name, or None when the problem is with the whole row or file.
    value : str or None
        The offending text as it appears in the file.
    rule : str
        What the value should be.

    Examples
    --------
    >>> print(Problem("causes.csv", 4, "base_rate", "1.5", "must be a probability strictly between 0 and 1"))
    causes.csv, line 4, field 'base_rate': must be a probability strictly between 0 and 1; got '1.5'
    """

    file: str
    line: int | None
    field: str | None
    value: str | None
    rule: str

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f", line {self.line}"
        if self.field is not None:
            where += f", field '{self.field}'"
        got = "" if self.value is None else f"; got {self.value!r}"
        return f"{where}: {self.rule}{got}"


class PriorsError(KneeBayesError, ValueError):
    """A priors folder cannot be used; ``problems`` lists every problem found.

    Parameters
    ----------
    folder : str
        The folder that was read.
    problems : sequence of Problem
        Every problem found, in file and line order.
    """

    def __init__(self, folder: str, problems: list[Problem] | tuple[Problem, ...]) -> None:
        self.folder = folder
        self.problems: tuple[Problem, ...] = tuple(problems)
        count = len(self.problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        noun = "problem" if count == 1 else "problems"
        super().__init__(f"{count} {noun} in priors folder {folder}:\n{lines}")


class OptionError(KneeBayesError, ValueError):
    """An option (engine name, chunk size, split...) outside its allowed values."""


class EvidenceError(KneeBayesError, ValueError):
    """Evidence (findings reported present or absent, age) cannot be used."""


class UnknownIdError(EvidenceError):
    """An id that is not a finding, risk factor or cause of the vocabulary."""


class ContradictoryEvidenceError(EvidenceError):
    """The same id is reported both present and absent."""


class InvalidAgeError(EvidenceError):
    """An age that is not a finite number of years in [0, 120]."""


class ImpossibleEvidenceError(EvidenceError):
    """Evidence whose probability under the model is zero (or underflows to zero)."""


class KneeBayesWarning(UserWarning):
    """Base class of the warnings kneebayes issues."""
