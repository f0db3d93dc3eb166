"""The exceptions and warnings kneebayes raises.

Exception tree::

    KneeBayesError
     ├── PriorsError (also ValueError)            a priors folder is missing, malformed or invalid
     ├── VignetteError (also ValueError)          a vignette file is missing, malformed or invalid
     ├── OptionError (also ValueError)            an option outside its allowed values
     ├── SaveError (also OSError)                 priors cannot be saved there: a refused folder, or the
     │                                            operating system failed (permissions, full disk...)
     └── EvidenceError (also ValueError)          what a person reported cannot be used
          ├── UnknownIdError                      an id that is not in the vocabulary
          ├── ContradictoryEvidenceError          the same id both present and absent
          ├── InvalidAgeError                     an age that is not a number in [0, 120]
          ├── InvalidSexError                     a sex that is not "female" or "male"
          └── ImpossibleEvidenceError             evidence the model gives probability zero

Every subclass also inherits the builtin a caller would catch: ``ValueError``
for bad input, ``OSError`` for a save that could not be done, so callers that
already catch those keep working.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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
    """One located problem in a priors folder or a vignette file.

    Parameters
    ----------
    file : str
        File name inside the priors folder, e.g. ``"causes.csv"``, or the path
        of a vignette file.
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

    def __reduce__(self) -> tuple[type[PriorsError], tuple[str, tuple[Problem, ...]]]:
        """Pickle with the folder and problems (for errors sent between processes)."""
        return (type(self), (self.folder, self.problems))


class VignetteError(KneeBayesError, ValueError):
    """A vignette file cannot be used; ``problems`` lists every problem found.

    Parameters
    ----------
    path : str
        The vignette file that was read.
    problems : sequence of Problem
        Every problem found, in line order; each ``Problem.file`` is ``path``.

    Examples
    --------
    >>> err = VignetteError("cases.csv", [Problem("cases.csv", 4, "triage", "soon", "must be a triage level")])
    >>> print(err)
    1 problem in vignette file cases.csv:
      - line 4, field 'triage': must be a triage level; got 'soon'
    """

    def __init__(self, path: str, problems: Sequence[Problem]) -> None:
        self.path = path
        self.problems: tuple[Problem, ...] = tuple(problems)
        count = len(self.problems)
        noun = "problem" if count == 1 else "problems"
        lines = "\n".join(f"  - {self.where(p).lstrip(',: ')}" for p in self.problems)
        super().__init__(f"{count} {noun} in vignette file {path}:\n{lines}")

    def __reduce__(self) -> tuple[type[VignetteError], tuple[str, tuple[Problem, ...]]]:
        """Pickle with the path and problems (for errors sent between processes)."""
        return (type(self), (self.path, self.problems))

    @staticmethod
    def where(problem: Problem) -> str:
        """Render a problem after its file name: ``", line 4, field 'x': rule..."`` or ``": rule"``."""
        text = str(problem)
        return text[len(problem.file):] if text.startswith(problem.file) else f": {text}"


class OptionError(KneeBayesError, ValueError):
    """An option (engine name, chunk size, split...) outside its allowed values."""


class SaveError(KneeBayesError, OSError):
    """Priors cannot be saved into a folder; the message names the folder and why.

    Raised for a refused target (the shipped priors, a folder that is not a
    priors folder, a file) and, chained from the original error, for any
    operating-system failure during a save. A failed save leaves the folder as
    it was.

    Parameters
    ----------
    folder : str
        The folder the priors were to be saved into.
    reason : str
        Why they were not.

    Examples
    --------
    >>> err = SaveError("/data/priors", "it is not a priors folder")
    >>> str(err)
    'cannot save priors to /data/priors: it is not a priors folder'
    >>> isinstance(err, OSError)
    True
    """

    def __init__(self, folder: str, reason: str) -> None:
        super().__init__(f"cannot save priors to {folder}: {reason}")
        self.folder = folder
        self.reason = reason


class EvidenceError(KneeBayesError, ValueError):
    """Evidence (findings reported present or absent, age) cannot be used."""


class UnknownIdError(EvidenceError):
    """Ids that are not in the vocabulary (or not where they were given).

    Parameters
    ----------
    message : str
        The whole message, naming every unknown id.
    ids : sequence of str, optional
        Every unknown id, in the order given.
    suggestions : mapping of str to tuple of str, optional
        For each unknown id, the closest valid ids (empty when none is close).

    Attributes
    ----------
    ids : tuple of str
    suggestions : dict of str to tuple of str
        So an app can word its own message.

    Examples
    --------
    >>> import kneebayes
    >>> try:
    ...     kneebayes.diagnose(present=["fevr", "stiffness"])
    ... except UnknownIdError as err:
    ...     print(err.ids, err.suggestions)
    ('fevr',) {'fevr': ('fever',)}
    """

    def __init__(self, message: str, ids: Sequence[str] = (),
                 suggestions: Mapping[str, Sequence[str]] | None = None) -> None:
        super().__init__(message)
        self.ids: tuple[str, ...] = tuple(ids)
        self.suggestions: dict[str, tuple[str, ...]] = {
            ident: tuple((suggestions or {}).get(ident, ())) for ident in self.ids
        }

    def __reduce__(
        self,
    ) -> tuple[type[UnknownIdError], tuple[str, tuple[str, ...], dict[str, tuple[str, ...]]]]:
        """Pickle with the ids and suggestions (for errors sent between processes)."""
        return (type(self), (str(self), self.ids, self.suggestions))


class ContradictoryEvidenceError(EvidenceError):
    """The same id is reported both present and absent."""


class InvalidAgeError(EvidenceError):
    """An age that is not a finite number of years in [0, 120]."""


class InvalidSexError(EvidenceError):
    """A sex that is not "female" or "male" (or None for unknown), or a sex given to a model without one."""


class ImpossibleEvidenceError(EvidenceError):
    """Evidence whose probability under the model is zero (or underflows to zero)."""


class KneeBayesWarning(UserWarning):
    """Base class of the warnings kneebayes issues."""
