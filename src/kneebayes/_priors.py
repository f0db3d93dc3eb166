"""Load, validate, edit and save a priors folder.

A priors folder holds plain CSV files (see ``priors/`` in the repository, whose
files explain their own format in a header). This module turns them into a
validated, immutable :class:`Priors` or raises one :class:`PriorsError` that
lists every problem with its file, line, field, value and rule. It never builds
half a model: validation finishes before anything downstream sees the numbers.
"""

from __future__ import annotations

import math
import numbers
import os
import re
from collections.abc import Iterable, Sequence
from contextlib import suppress
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import TypedDict, cast

import pandas as pd

from ._csvfile import Row, Table, parse_table, render_table
from ._errors import OptionError, PriorsError, Problem, SaveError, UnknownIdError
from ._folder import read_files, replace_folder
from ._graph import find_cycle
from ._numbers import parse_decimal, rule_for
from ._rule import RedFlagRule
from ._safety import FLOOR_RULES, floor_problems
from ._vocabulary import (
    EVIDENCE_GRADES,
    EXPERT_ESTIMATE,
    FINDING_KINDS,
    KINDS,
    TRIAGE_LEVELS,
    closest,
    did_you_mean,
)

_ID = re.compile(r"^[a-z][a-z0-9_]*$")

#: The files of a priors folder and the columns each must have.
FILES: dict[str, tuple[str, ...]] = {
    "vocabulary.csv": ("kind", "id", "label", "question"),
    "references.csv": ("key", "authors", "year", "title", "journal", "checked", "numbers"),
    "causes.csv": ("id", "base_rate", "low", "high", "care", "care_source", "source"),
    "risk_factors.csv": ("id", "prevalence", "low", "high", "source"),
    "age_bands.csv": ("id", "min_age", "max_age", "prevalence", "low", "high", "source"),
    "cause_risks.csv": ("cause", "factor", "odds_ratio", "low", "high", "source"),
    "findings.csv": ("id", "leak", "low", "high", "source"),
    "finding_links.csv": ("finding", "cause", "probability", "low", "high", "source"),
    "red_flags.csv": ("id", "level", "when_present", "when_cause", "at_least", "low", "high", "message", "source"),
    "settings.csv": ("name", "value", "low", "high", "source"),
}

#: Which file, key columns and value column hold each kind of number.
NUMBER_KINDS: dict[str, tuple[str, tuple[str, ...], str]] = {
    "base_rate": ("causes.csv", ("id",), "base_rate"),
    "prevalence": ("risk_factors.csv", ("id",), "prevalence"),
    "age_prevalence": ("age_bands.csv", ("id",), "prevalence"),
    "odds_ratio": ("cause_risks.csv", ("cause", "factor"), "odds_ratio"),
    "leak": ("findings.csv", ("id",), "leak"),
    "finding_probability": ("finding_links.csv", ("finding", "cause"), "probability"),
    "threshold": ("red_flags.csv", ("id",), "at_least"),
    "setting": ("settings.csv", ("name",), "value"),
}

_SETTINGS = ("care_threshold",)

#: The range of odds ratios a cause's logistic table can honour (its base rate is reproduced exactly).
MIN_ODDS_RATIO, MAX_ODDS_RATIO = 1e-4, 1e4

#: Files whose numbers carry an evidence grade (column ``evidence``).
GRADED_FILES: tuple[str, ...] = tuple(dict.fromkeys(name for name, _, _ in NUMBER_KINDS.values()))

#: How a reference's ``numbers`` in references.csv says it reports no number.
_NO_NUMBERS = "no numbers"


class _AgeBand(TypedDict):
    """One validated row of ``age_bands.csv``, with the line it came from (``_line``)."""

    id: str
    min_age: int
    max_age: int
    prevalence: float
    low: float
    high: float
    source: str
    _line: int


def shipped_priors_path() -> Path:
    """Return the folder of the priors shipped with kneebayes.

    Returns
    -------
    Path
        ``kneebayes/priors`` inside the installed package, or the repository's
        ``priors/`` folder when running from a source checkout.

    Examples
    --------
    >>> (shipped_priors_path() / "causes.csv").is_file()
    True
    """
    packaged = Path(str(resources.files("kneebayes"))) / "priors"
    if packaged.is_dir():
        return packaged
    source_checkout = Path(__file__).resolve().parents[2] / "priors"
    if source_checkout.is_dir():
        return source_checkout
    raise FileNotFoundError(f"the shipped priors are missing: looked in {packaged} and {source_checkout}")


@dataclass(frozen=True)
class Priors:
    """Validated prior numbers, with their ranges and sources.

    Build one with :func:`load_priors`; change a number with :meth:`with_value`;
    write a copy with :meth:`save`. Tables are pandas objects: treat them as
    read-only.

    Attributes
    ----------
    folder : str
        Where the priors were read from.
    vocabulary : pandas.DataFrame
        Index ``id``; columns ``kind``, ``label``, ``question``.
    causes : pandas.DataFrame
        Index cause id; ``base_rate``, ``low``, ``high``, ``care``, ``source``.
    risk_factors : pandas.DataFrame
        Index risk-factor id; ``prevalence``, ``low``, ``high``, ``source``.
    age_bands : pandas.DataFrame
        Index band id; ``min_age``, ``max_age``, ``prevalence``, ``low``, ``high``, ``source``.
    cause_risks : pandas.DataFrame
        Index (``cause``, ``factor``); ``odds_ratio``, ``low``, ``high``, ``source``.
    findings : pandas.DataFrame
        Index finding id; ``leak``, ``low``, ``high``, ``source``.
    finding_links : pandas.DataFrame
        Index (``finding``, ``cause``); ``probability``, ``low``, ``high``, ``source``.
    red_flags : tuple of RedFlagRule
        The override rules, in file order.
    settings : pandas.DataFrame
        Index setting name; ``value``, ``low``, ``high``, ``source``.
    references : pandas.DataFrame
        Index reference key; ``authors``, ``year``, ``title``, ``journal``, ``checked``.

    Examples
    --------
    >>> priors = load_priors()
    >>> float(priors.causes.loc["dvt", "base_rate"]) > 0
    True
    """

    folder: str
    vocabulary: pd.DataFrame = field(repr=False)
    causes: pd.DataFrame = field(repr=False)
    risk_factors: pd.DataFrame = field(repr=False)
    age_bands: pd.DataFrame = field(repr=False)
    cause_risks: pd.DataFrame = field(repr=False)
    findings: pd.DataFrame = field(repr=False)
    finding_links: pd.DataFrame = field(repr=False)
    red_flags: tuple[RedFlagRule, ...] = field(repr=False)
    settings: pd.DataFrame = field(repr=False)
    references: pd.DataFrame = field(repr=False)
    _tables: dict[str, Table] = field(repr=False, compare=False)

    # ---- ids -----------------------------------------------------------------
    def ids(self, kind: str) -> tuple[str, ...]:
        """Return the vocabulary ids of one kind, in file order.

        Parameters
        ----------
        kind : {"cause", "symptom", "red_flag", "risk_factor", "finding"}
            ``"finding"`` means symptoms and red flags together.

        Examples
        --------
        >>> "dvt" in load_priors().ids("cause")
        True
        """
        kinds = FINDING_KINDS if kind == "finding" else (kind,)
        if kind != "finding" and kind not in KINDS:
            raise OptionError(f"The 'kind' parameter must be one of {KINDS + ('finding',)}. Got {kind!r} instead; "
                              f"{did_you_mean(str(kind), KINDS + ('finding',))}")
        vocab = self.vocabulary
        return tuple(vocab.index[vocab["kind"].isin(kinds)])

    @property
    def care_threshold(self) -> float:
        """The posterior at which a cause's own care level enters the triage."""
        # the stubs type a .loc[row, column] lookup as any scalar; the value column holds floats
        return float(cast(float, self.settings.loc["care_threshold", "value"]))

    # ---- provenance ----------------------------------------------------------
    def to_frame(self) -> pd.DataFrame:
        """Return one row per prior number with its range and source.

        Returns
        -------
        pandas.DataFrame
            Columns ``kind``, ``target``, ``value``, ``low``, ``high``, ``source``,
            ``evidence``, ``note``, ``file``, ``line``. ``target`` is the id, or
            ``"first|second"`` for numbers keyed by two ids (``"dvt|smoking"``).
            ``evidence`` is the number's grade from its file's ``evidence`` column:
            ``"direct"`` (the reference reports this number for a comparable
            population), ``"derived"`` (computed from a reported figure; the note
            states the arithmetic), ``"qualitative"`` (the reference names the link
            but gives no number) or ``"expert"`` (no source).

        Examples
        --------
        >>> frame = load_priors().to_frame()
        >>> sorted(frame["kind"].unique())[:3]
        ['age_prevalence', 'base_rate', 'finding_probability']
        >>> sorted(frame["evidence"].unique())
        ['derived', 'direct', 'expert', 'qualitative']
        """
        records = []
        for kind, (name, keys, column) in NUMBER_KINDS.items():
            for row in self._tables[name].rows:
                if row.fields[column] == "":
                    continue
                records.append(
                    {
                        "kind": kind,
                        "target": "|".join(row.fields[k] for k in keys),
                        "value": float(row.fields[column]),
                        "low": float(row.fields["low"]),
                        "high": float(row.fields["high"]),
                        "source": row.fields["source"],
                        "evidence": row.fields["evidence"],
                        "note": row.fields.get("note", ""),
                        "file": name,
                        "line": row.line,
                    }
                )
        return pd.DataFrame.from_records(records)

    # ---- editing -------------------------------------------------------------
    def with_value(
        self,
        kind: str,
        target: str,
        value: float,
        *,
        low: float | None = None,
        high: float | None = None,
        source: str | None = None,
        evidence: str | None = None,
    ) -> Priors:
        """Return a copy with one number changed, validated like a loaded folder.

        Parameters
        ----------
        kind : str
            A kind of number, as in the ``kind`` column of :meth:`to_frame`.
        target : str
            The id, or ``"first|second"``, as in the ``target`` column of :meth:`to_frame`.
        value : float
            The new number.
        low, high : float, optional
            A new plausible range; needed when ``value`` falls outside the old one.
        source : str, optional
            A new source (reference keys, or ``"expert estimate"``).
        evidence : str, optional
            A new evidence grade (``"direct"``, ``"derived"``, ``"qualitative"`` or
            ``"expert"``); it must agree with the source, as in a loaded folder.

        Returns
        -------
        Priors
            New priors; this object is unchanged.

        Notes
        -----
        Age shares must sum to 1, so setting one ``age_prevalence`` rescales the
        other bands' shares proportionally (they keep their ratios to one another);
        a share that would leave its own range stops at its bound and the rest is
        shared among the others (see :func:`rescaled_shares`). Validation checks
        that every share can reach both ends of its range with the others in theirs.

        Raises
        ------
        PriorsError
            When the changed priors are invalid.
        OptionError
            When ``kind`` is not a kind of number, ``target`` is not a string, or
            ``value``, ``low`` or ``high`` is not a finite number.
        UnknownIdError
            When ``target`` names no number of that kind (with the closest targets).

        Examples
        --------
        >>> priors = load_priors()
        >>> more = priors.with_value("base_rate", "dvt", 0.05)
        >>> float(more.causes.loc["dvt", "base_rate"])
        0.05
        >>> shares = priors.with_value("age_prevalence", "70_plus", 0.28).age_bands["prevalence"]
        >>> round(float(shares.sum()), 12), round(float(shares["70_plus"]), 2)
        (1.0, 0.28)
        """
        if not isinstance(kind, str) or kind not in NUMBER_KINDS:
            raise OptionError(f"The 'kind' parameter must be one of {sorted(NUMBER_KINDS)}. Got {kind!r} instead; "
                              f"{did_you_mean(str(kind), NUMBER_KINDS)}")
        if not isinstance(target, str):
            example = ("|".join(target) if isinstance(target, (tuple, list)) and all(isinstance(t, str) for t in target)
                       else "dvt|smoking")
            raise OptionError(f"The 'target' parameter must be a string, an id or two ids joined by '|' such as "
                              f"{example!r}. Got {target!r} instead.")
        if source is not None and not isinstance(source, str):
            raise OptionError(f"The 'source' parameter must be a string (reference keys joined by ';', or "
                              f"{EXPERT_ESTIMATE!r}). Got {source!r} instead.")
        for name_, number in (("value", value), ("low", low), ("high", high)):
            if name_ != "value" and number is None:
                continue
            if isinstance(number, bool) or not isinstance(number, numbers.Real) or not math.isfinite(number):
                raise OptionError(f"The '{name_}' parameter must be a finite number. Got {number!r} instead.")
        name, keys, column = NUMBER_KINDS[kind]
        table = self._tables[name]
        wanted = target.split("|")
        rows = list(table.rows)
        for position, row in enumerate(rows):
            if [row.fields[k] for k in keys] == wanted and row.fields[column] != "":
                fields = dict(row.fields)
                fields[column] = repr(float(value))
                if low is not None:
                    fields["low"] = repr(float(low))
                if high is not None:
                    fields["high"] = repr(float(high))
                if source is not None:
                    fields["source"] = source
                if evidence is not None:
                    fields["evidence"] = evidence
                rows[position] = Row(row.line, fields)
                break
        else:
            known = ["|".join(r.fields[k] for k in keys) for r in table.rows if r.fields[column] != ""]
            raise UnknownIdError(f"no {kind} number for target {target!r}; {did_you_mean(target, known)}",
                                 ids=[target], suggestions={target: closest(target, known)})
        if kind == "age_prevalence":  # the other bands keep their proportions and the shares still sum to 1
            before = table.rows
            rescaled = rescaled_shares([float(r.fields[column]) for r in before], position, float(value),
                                       low=[float(r.fields["low"]) for r in rows],
                                       high=[float(r.fields["high"]) for r in rows])
            rows = [row if k == position else Row(row.line, {**row.fields, column: repr(rescaled[k])})
                    for k, row in enumerate(rows)]
        tables = dict(self._tables)
        tables[name] = replace(table, rows=tuple(rows))
        return _validate(self.folder, tables)

    # ---- saving --------------------------------------------------------------
    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write these priors as a priors folder, all files at once.

        The new folder is written in full beside the target, synced to disk,
        then switched with the old one in a single step, so whenever the
        process is stopped (even killed) the folder holds the whole old
        version or the whole new one, and a :func:`load_priors` running
        meanwhile reads one of the two, never a mix. On Linux the switch is
        atomic (``renameat2`` with ``RENAME_EXCHANGE``). Elsewhere it is two
        renames; for that instant, or after a crash between them, the old
        version waits whole under a hidden name, which :func:`load_priors`
        reads (except on Windows) and the next save puts back. Concurrent
        saves into one folder run one after the other; the next save removes
        what a killed one left. The folder's other files (such as
        ``CHANGES.md``) and each file's permissions are kept, and so is every
        unedited line, byte for byte (comments, blank lines, line endings,
        quoted texts over several lines). A program whose working folder is
        the saved folder (a shell ``cd``'d into it) stays in the old, deleted
        version until it changes into the folder again.

        Parameters
        ----------
        path : str or path-like
            The folder: a priors folder, an empty folder, or a new one (created
            with its parents). To start editing the shipped priors, save a copy
            into a new folder.

        Returns
        -------
        Path
            The folder written, as given.

        Raises
        ------
        SaveError
            When ``path`` is the shipped priors folder, a file, or a non-empty
            folder lacking the priors files, or when the operating system fails
            (no permission, disk full...). The folder is then unchanged.

        Examples
        --------
        >>> import tempfile
        >>> priors = load_priors()
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     _ = priors.save(folder)
        ...     load_priors(folder).to_frame().equals(priors.to_frame())
        True
        >>> priors.save(shipped_priors_path())
        Traceback (most recent call last):
        ...
        kneebayes._errors.SaveError: cannot save priors to ...: it is the priors folder shipped with kneebayes...
        """
        folder = Path(path)
        shown = str(folder)
        target = Path(os.path.realpath(folder))
        if any(_same_folder(target, shipped) for shipped in _shipped_folders()):
            raise SaveError(
                shown,
                "it is the priors folder shipped with kneebayes, which every diagnose() reads; "
                "save a copy into a new folder (priors.save('my-priors')) and load that instead",
            )
        try:
            files = {name: render_table(table).encode("utf-8") for name, table in self._tables.items()}
        except OSError as err:
            raise SaveError(shown, f"cannot render the files: {err.strerror or err}") from err
        replace_folder(target, files, required=tuple(FILES), shown=shown)
        return folder


def _reports_no_numbers(numbers: str) -> bool:
    """Return whether a reference's ``numbers`` (references.csv) says it reports no number."""
    return numbers.strip() == "" or numbers.strip().lower().startswith(_NO_NUMBERS)


def _shipped_folders() -> tuple[Path, ...]:
    """Return the shipped priors folder and, in a source checkout, the repository's ``priors/``."""
    candidates = [Path(str(resources.files("kneebayes"))) / "priors", Path(__file__).resolve().parents[2] / "priors"]
    with suppress(FileNotFoundError):  # no shipped priors at all: nothing to protect
        candidates.insert(0, shipped_priors_path())
    return tuple(path for path in candidates if path.is_dir())


def _same_folder(one: Path, other: Path) -> bool:
    """Return whether two paths name the same folder (links resolved, bind mounts included)."""
    if os.path.realpath(one) == os.path.realpath(other):
        return True
    try:
        return os.path.samefile(one, other)
    except OSError:
        return False


def load_priors(path: str | os.PathLike[str] | None = None) -> Priors:
    """Read and validate a priors folder.

    Parameters
    ----------
    path : str or path-like, optional
        A folder laid out like the repository's ``priors/``. None (the default)
        reads the priors shipped with kneebayes.

    Returns
    -------
    Priors
        Validated priors.

    Raises
    ------
    PriorsError
        Listing every problem found, each with file, line, field, value and rule
        (a file that cannot be read is a problem too).
    OptionError
        When ``path`` is not a path.

    Examples
    --------
    >>> priors = load_priors()
    >>> len(priors.ids("cause"))
    12
    """
    if path is not None and not isinstance(path, (str, os.PathLike)):
        raise OptionError(f"The 'path' parameter must be the path of a priors folder or None. Got {path!r} instead.")
    folder = shipped_priors_path() if path is None else Path(path)
    try:
        contents = read_files(folder, FILES)  # every file from one version, even while a save switches versions
    except OSError as err:
        if isinstance(err, FileNotFoundError):
            reason = "priors folder does not exist"
        elif isinstance(err, NotADirectoryError):
            reason = "priors path is a file, not a folder"
        else:
            reason = f"priors folder cannot be read: {err.strerror or err}"
        raise PriorsError(str(folder), [Problem(str(folder), None, None, None, reason)]) from err
    problems: list[Problem] = []
    tables: dict[str, Table] = {}
    for name, required in FILES.items():
        content = contents[name]
        if isinstance(content, FileNotFoundError):
            problems.append(Problem(name, None, None, None, "required file is missing"))
        elif isinstance(content, OSError):
            problems.append(Problem(name, None, None, None, f"cannot read file: {content.strerror or content}"))
        else:
            table = parse_table(name, content, required, problems)
            if table is not None:
                tables[name] = table
                if name in GRADED_FILES and "evidence" not in table.columns:
                    problems.append(_missing_grade_column(table))
    if problems:
        raise PriorsError(str(folder), problems)
    return _validate(str(folder), tables)


# ---- validation -------------------------------------------------------------------


def _missing_grade_column(table: Table) -> Problem:
    """Return the one problem of a prior file written before evidence grades existed."""
    return Problem(
        table.name,
        table.header_line,
        "evidence",
        None,
        "required column 'evidence' is missing: add it right after 'source' and give every number a grade, "
        "one of direct, derived, qualitative or expert ('expert' when the source is 'expert estimate'; "
        "see README, 'Evidence grades')",
    )



class _Checker:
    """Collect problems while converting the raw tables into typed values."""

    def __init__(self, references: set[str], numbers: dict[str, str] | None = None) -> None:
        self.problems: list[Problem] = []
        self.references = references
        self.numbers = numbers or {}

    def add(self, table: Table, row: Row | None, column: str | None, value: str | None, rule: str) -> None:
        self.problems.append(Problem(table.name, None if row is None else row.line, column, value, rule))

    def number(self, table: Table, row: Row, column: str, *, kind: str) -> float | None:
        """Parse one number; ``kind`` is ``"probability"``, ``"share"``, ``"positive"``, ``"odds"`` or ``"age"``."""
        text = row.fields[column]
        value = parse_decimal(text)
        if value is None:
            self.add(table, row, column, text, rule_for(text))
            return None
        if kind == "probability" and not 0.0 < value < 1.0:
            self.add(table, row, column, text, "must be a probability strictly between 0 and 1")
            return None
        if kind == "share" and not 0.0 < value <= 1.0:
            self.add(table, row, column, text, "must be a share above 0 and at most 1")
            return None
        if kind in ("positive", "odds") and not value > 0.0:
            self.add(table, row, column, text, "must be a positive number")
            return None
        if kind == "odds" and not MIN_ODDS_RATIO <= value <= MAX_ODDS_RATIO:
            self.add(table, row, column, text,
                     f"must be an odds ratio from {MIN_ODDS_RATIO:g} to {MAX_ODDS_RATIO:g}: beyond that the logistic "
                     "table cannot be calibrated to the cause's base rate in double precision")
            return None
        if kind == "age" and (value != int(value) or not 0 <= value <= 121):
            self.add(table, row, column, text, "must be a whole number of years from 0 to 121")
            return None
        return value

    def ranged(self, table: Table, row: Row, column: str, *, kind: str) -> tuple[float, float, float] | None:
        """Parse a value with its low and high, and check low <= value <= high."""
        value = self.number(table, row, column, kind=kind)
        low = self.number(table, row, "low", kind=kind)
        high = self.number(table, row, "high", kind=kind)
        if value is None or low is None or high is None:
            return None
        if low > high:
            self.add(table, row, "low", row.fields["low"], f"low must not be above high ({row.fields['high']})")
            return None
        if not low <= value <= high:
            self.add(
                table,
                row,
                column,
                row.fields[column],
                f"must lie within its own range [low, high] = [{row.fields['low']}, {row.fields['high']}]",
            )
            return None
        self.source(table, row, "source", needs_range=low == high)
        self.grade(table, row)
        return value, low, high

    def grade(self, table: Table, row: Row) -> None:
        """Check a number's evidence grade against its source and note.

        ``expert`` if and only if the source is "expert estimate"; ``qualitative`` only when every
        cited reference reports no numbers; ``direct`` and ``derived`` need a cited reference that
        reports numbers; ``derived`` needs a note (the arithmetic and its assumptions).
        """
        grade = row.fields.get("evidence", "")
        source = row.fields["source"]
        if grade not in EVIDENCE_GRADES:
            hint = did_you_mean(grade, EVIDENCE_GRADES) if grade else "write one of " + ", ".join(EVIDENCE_GRADES)
            self.add(table, row, "evidence", grade, f"must be an evidence grade; {hint}")
            return
        if source.lower() == EXPERT_ESTIMATE or source == "":
            if grade != "expert" and source:
                self.add(table, row, "evidence", grade,
                         f"the source is {EXPERT_ESTIMATE!r}, so the grade must be 'expert'")
            return
        if grade == "expert":
            self.add(table, row, "evidence", grade,
                     f"'expert' means no source: cite no reference (source {EXPERT_ESTIMATE!r}) "
                     "or grade what the cited references report")
            return
        keys = [k.strip() for k in source.split(";") if k.strip() in self.references]
        with_numbers = [k for k in keys if not _reports_no_numbers(self.numbers.get(k, ""))]
        if grade == "qualitative" and with_numbers:
            self.add(table, row, "evidence", grade,
                     f"'qualitative' needs sources that report no numbers, but {with_numbers[0]!r} reports numbers "
                     "(its 'numbers' in references.csv): grade it direct or derived")
        elif grade in ("direct", "derived") and keys and not with_numbers:
            self.add(table, row, "evidence", grade,
                     f"{grade!r} needs a cited reference that reports numbers; "
                     + " and ".join(repr(k) for k in keys)
                     + " report none (their 'numbers' in references.csv): grade it qualitative")
        elif grade == "derived" and not row.fields.get("note", "").strip():
            self.add(table, row, "note", "",
                     "a derived number needs a note stating the arithmetic and every assumption")

    def source(self, table: Table, row: Row, column: str, *, needs_range: bool = False) -> None:
        text = row.fields[column]
        if text == "":
            self.add(table, row, column, text, f"must name reference keys of references.csv or say {EXPERT_ESTIMATE!r}")
            return
        if text.lower() == EXPERT_ESTIMATE:
            if needs_range:
                self.add(table, row, "high", row.fields["high"],
                         "an expert estimate needs a plausible range: low must be below high")
            return
        for key in (k.strip() for k in text.split(";")):
            if key not in self.references:
                self.add(
                    table,
                    row,
                    column,
                    key,
                    f"unknown reference key; {did_you_mean(key, self.references)} (or write {EXPERT_ESTIMATE!r})",
                )

    def known(self, table: Table, row: Row, column: str, allowed: Iterable[str], what: str) -> bool:
        text = row.fields[column]
        allowed = tuple(allowed)
        if text in allowed:
            return True
        self.add(table, row, column, text, f"unknown {what}; {did_you_mean(text, allowed)}")
        return False

    def unique(self, table: Table, keys: tuple[str, ...]) -> list[Row]:
        """Return the rows whose key is seen for the first time; report the duplicates."""
        first: dict[tuple[str, ...], int] = {}
        kept: list[Row] = []
        for row in table.rows:
            key = tuple(row.fields[k] for k in keys)
            if key in first:
                self.add(
                    table,
                    row,
                    keys[0] if len(keys) == 1 else None,
                    "|".join(key),
                    f"duplicate row: the same {'/'.join(keys)} is already on line {first[key]}",
                )
                continue
            first[key] = row.line
            kept.append(row)
        return kept

    def covers(self, table: Table, rows: list[Row], column: str, expected: Iterable[str], what: str) -> None:
        present = {row.fields[column] for row in rows}
        where = "kneebayes" if what == "setting" else "vocabulary.csv"
        for missing in [i for i in expected if i not in present]:
            self.add(table, None, column, missing, f"every {what} of {where} needs a row; this one has none")


def _one_number_per_id(
    check: _Checker, table: Table, key: str, ids: Sequence[str], column: str, noun: str
) -> list[dict[str, str | float]]:
    """Check a table with one row per id and one probability with its range and source.

    Every id of ``ids`` needs exactly one row; unknown ids, duplicates and bad numbers are
    reported to ``check``. Returns the valid rows as records.
    """
    rows = check.unique(table, (key,))
    check.covers(table, rows, key, ids, noun)
    records: list[dict[str, str | float]] = []
    for row in rows:
        if check.known(table, row, key, ids, noun if noun == "setting" else f"{noun} id"):
            numbers = check.ranged(table, row, column, kind="probability")
            if numbers:
                records.append({key: row.fields[key], column: numbers[0], "low": numbers[1], "high": numbers[2],
                                "source": row.fields["source"]})
    return records


def rescaled_shares(
    shares: Sequence[float], index: int, value: float, *, low: Sequence[float] | None = None,
    high: Sequence[float] | None = None,
) -> list[float]:
    """Set one age share and rescale the others so that the shares still sum to 1.

    This is how :meth:`Priors.with_value` changes an ``age_prevalence``. The other
    shares are scaled by one common factor (they keep their ratios to one
    another); when ``low`` and ``high`` are given, a share that would leave its
    range stops at the bound it reaches and the rest is shared, again
    proportionally, among the others. Validation checks that this always fits.

    Examples
    --------
    >>> [round(x, 3) for x in rescaled_shares([0.2, 0.3, 0.5], 0, 0.6)]
    [0.6, 0.15, 0.25]
    >>> [round(x, 3) for x in rescaled_shares([0.2, 0.3, 0.5], 0, 0.6, low=[0, 0.2, 0], high=[1, 1, 1])]
    [0.6, 0.2, 0.2]
    """
    n = len(shares)
    lows = list(low) if low is not None else [0.0] * n
    highs = list(high) if high is not None else [1.0] * n
    out = [float(x) for x in shares]
    out[index] = float(value)
    free = [k for k in range(n) if k != index]
    for _ in range(n):
        fixed = sum(out[k] for k in range(n) if k != index and k not in free)
        base = sum(float(shares[k]) for k in free)
        room = 1.0 - float(value) - fixed
        for k in free:
            out[k] = float(shares[k]) * room / base if base > 0 else room / len(free)
        stuck = [k for k in free if out[k] < lows[k] or out[k] > highs[k]]
        if not stuck:
            break
        for k in stuck:
            out[k] = min(max(out[k], lows[k]), highs[k])
            free.remove(k)
        if not free:
            break
    return out


def _check_share_ranges(check: _Checker, table: Table, bands: list[_AgeBand]) -> None:
    """Check that each age share can reach both ends of its range with the others inside theirs."""
    for band in bands:
        others = [b for b in bands if b is not band]
        if not others:
            continue
        for end in ("low", "high"):
            value = float(band["low"] if end == "low" else band["high"])
            rest = 1.0 - value
            low_sum, high_sum = sum(b["low"] for b in others), sum(b["high"] for b in others)
            if low_sum - 1e-12 <= rest <= high_sum + 1e-12:
                continue
            side, total = ("low", low_sum) if rest < low_sum else ("high", high_sum)
            where = ", ".join(str(b["_line"]) for b in others)
            check.add(table, Row(band["_line"], {}), end, repr(value),
                      f"when this share is set to its {end} the other bands must share {rest:.4g}, but their "
                      f"{side}s sum to {total:.4g} (age_bands.csv, lines {where}, field {side!r}); "
                      "the shares could not sum to 1: narrow this range or widen theirs")


def _validate(folder: str, tables: dict[str, Table]) -> Priors:
    """Check every table and build :class:`Priors`, or raise one :class:`PriorsError`."""
    references_table = tables["references.csv"]
    ref_checker = _Checker(set())
    for row in ref_checker.unique(references_table, ("key",)):
        if row.fields["key"] == "":
            ref_checker.add(references_table, row, "key", "", "must not be empty")
    references = {row.fields["key"] for row in references_table.rows if row.fields["key"]}
    reported = {row.fields["key"]: row.fields["numbers"] for row in references_table.rows if row.fields["key"]}
    check = _Checker(references, reported)
    check.problems.extend(ref_checker.problems)

    # vocabulary
    vocab_table = tables["vocabulary.csv"]
    vocab_rows = check.unique(vocab_table, ("id",))
    vocab: dict[str, dict[str, str]] = {}
    for row in vocab_rows:
        ident = row.fields["id"]
        if not _ID.match(ident):
            check.add(vocab_table, row, "id", ident,
                      "must be lowercase letters, digits and underscores, starting with a letter")
            continue
        if not check.known(vocab_table, row, "kind", KINDS, "kind"):
            continue
        if row.fields["label"] == "":
            check.add(vocab_table, row, "label", "", "must not be empty")
        vocab[ident] = row.fields
    by_kind = {kind: [i for i, f in vocab.items() if f["kind"] == kind] for kind in KINDS}
    causes_ids = by_kind["cause"]
    rf_ids = by_kind["risk_factor"]
    finding_ids = [i for i, f in vocab.items() if f["kind"] in FINDING_KINDS]

    # causes
    t = tables["causes.csv"]
    rows = check.unique(t, ("id",))
    check.covers(t, rows, "id", causes_ids, "cause")
    causes = []
    for row in rows:
        if not check.known(t, row, "id", causes_ids, "cause id"):
            continue
        numbers = check.ranged(t, row, "base_rate", kind="probability")
        care_ok = check.known(t, row, "care", TRIAGE_LEVELS[:3], "care level")
        check.source(t, row, "care_source")
        if numbers and care_ok:
            causes.append({"id": row.fields["id"], "base_rate": numbers[0], "low": numbers[1], "high": numbers[2],
                           "care": row.fields["care"], "source": row.fields["source"]})

    # risk factors
    risk_factors = _one_number_per_id(check, tables["risk_factors.csv"], "id", rf_ids, "prevalence", "risk-factor")

    # age bands
    t = tables["age_bands.csv"]
    rows = check.unique(t, ("id",))
    bands: list[_AgeBand] = []
    for row in rows:
        ident = row.fields["id"]
        if not _ID.match(ident) and not re.match(r"^[0-9a-z_]+$", ident):
            check.add(t, row, "id", ident, "must be lowercase letters, digits and underscores")
            continue
        if ident in vocab:
            check.add(t, row, "id", ident, "an age-band id must differ from the vocabulary ids")
            continue
        lo = check.number(t, row, "min_age", kind="age")
        hi = check.number(t, row, "max_age", kind="age")
        numbers = check.ranged(t, row, "prevalence", kind="share")
        if lo is not None and hi is not None and lo >= hi:
            check.add(t, row, "max_age", row.fields["max_age"], f"must be above min_age ({row.fields['min_age']})")
            continue
        if lo is not None and hi is not None and numbers:
            bands.append({"id": ident, "min_age": int(lo), "max_age": int(hi), "prevalence": numbers[0],
                          "low": numbers[1], "high": numbers[2], "source": row.fields["source"], "_line": row.line})
    if rows and len(bands) == len(rows):
        ordered = sorted(bands, key=lambda b: b["min_age"])
        expected_start = 0
        for band in ordered:
            if band["min_age"] != expected_start:
                check.add(t, Row(band["_line"], {}), "min_age", str(band["min_age"]),
                          f"age bands must cover 0 to 121 without gaps or overlaps; expected {expected_start}")
            expected_start = band["max_age"]
        if expected_start != 121:
            check.add(t, None, "max_age", str(expected_start), "the last age band must end at 121")
        total = sum(b["prevalence"] for b in bands)
        if abs(total - 1.0) > 1e-6:
            check.add(t, None, "prevalence", f"{total:.6g}", "age-band prevalences must sum to 1")
        else:
            _check_share_ranges(check, t, bands)
        bands = ordered
    elif not rows:
        check.add(t, None, None, None, "needs at least one age band")
    band_ids = [b["id"] for b in bands]

    # odds ratios
    t = tables["cause_risks.csv"]
    rows = check.unique(t, ("cause", "factor"))
    odds = []
    cause_parents: dict[str, list[str]] = {}
    edge_lines: dict[tuple[str, str], int] = {}
    for row in rows:
        ok = check.known(t, row, "cause", causes_ids, "cause id")
        ok &= check.known(t, row, "factor", rf_ids + band_ids + causes_ids, "factor (risk factor, age band or cause)")
        numbers = check.ranged(t, row, "odds_ratio", kind="odds")
        if ok and row.fields["cause"] == row.fields["factor"]:
            check.add(t, row, "factor", row.fields["factor"], "a cause cannot be its own factor")
            continue
        if ok and numbers:
            odds.append({"cause": row.fields["cause"], "factor": row.fields["factor"], "odds_ratio": numbers[0],
                         "low": numbers[1], "high": numbers[2], "source": row.fields["source"]})
            if row.fields["factor"] in causes_ids:
                cause_parents.setdefault(row.fields["cause"], []).append(row.fields["factor"])
                edge_lines[(row.fields["cause"], row.fields["factor"])] = row.line
    cycle = find_cycle(causes_ids, cause_parents)
    if cycle:
        # the cycle lists each node followed by one of its parents
        line = edge_lines[(cycle[-1], cycle[0])]
        check.add(t, Row(line, {}), "factor", cycle[0],
                  "causes must not form a cycle: " + " <- ".join(cycle + [cycle[0]]) + " (read '<-' as 'depends on')")

    # findings
    findings = _one_number_per_id(check, tables["findings.csv"], "id", finding_ids, "leak", "finding")
    leaks: dict[str, float] = {str(f["id"]): float(f["leak"]) for f in findings}
    leak_highs: dict[str, float] = {str(f["id"]): float(f["high"]) for f in findings}
    leak_lines = {row.fields["id"]: row.line for row in tables["findings.csv"].rows}

    # finding links
    t = tables["finding_links.csv"]
    rows = check.unique(t, ("finding", "cause"))
    links = []
    for row in rows:
        ok = check.known(t, row, "finding", finding_ids, "finding id")
        ok &= check.known(t, row, "cause", causes_ids, "cause id")
        numbers = check.ranged(t, row, "probability", kind="probability")
        if ok and numbers:
            leak = leaks.get(row.fields["finding"])
            if leak is not None and not numbers[0] > leak:
                check.add(t, row, "probability", row.fields["probability"],
                          f"must be above the finding's leak ({leak:g} in findings.csv): "
                          "a cause cannot make a finding rarer")
                continue
            leak_high = leak_highs.get(row.fields["finding"])
            if leak_high is not None and not numbers[1] > leak_high:
                check.add(t, row, "low", row.fields["low"],
                          f"must be above the high end of the finding's leak range (findings.csv, line "
                          f"{leak_lines[row.fields['finding']]}, field 'high' = {leak_high:g}), so that both numbers "
                          "can be set anywhere in their ranges: a cause cannot make a finding rarer than its leak")
                continue
            links.append({"finding": row.fields["finding"], "cause": row.fields["cause"], "probability": numbers[0],
                          "low": numbers[1], "high": numbers[2], "source": row.fields["source"]})

    # red flags
    t = tables["red_flags.csv"]
    rows = check.unique(t, ("id",))
    rules: list[RedFlagRule] = []
    for row in rows:
        fields = row.fields
        ok = check.known(t, row, "level", TRIAGE_LEVELS[1:], "triage level")
        present = tuple(fields["when_present"].split())
        for ident in present:
            ok &= check.known(t, Row(row.line, {"when_present": ident}), "when_present", finding_ids + rf_ids,
                              "finding id")
        cause = fields["when_cause"] or None
        at_least = None
        if cause is not None:
            ok &= check.known(t, row, "when_cause", causes_ids, "cause id")
            numbers = check.ranged(t, row, "at_least", kind="probability")
            ok &= numbers is not None
            at_least = numbers[0] if numbers else None
        else:
            for column in ("at_least", "low", "high", "evidence"):
                if fields[column] != "":
                    check.add(t, row, column, fields[column],
                              "must be empty when when_cause is empty (a rule without a threshold has no number)")
                    ok = False
            check.source(t, row, "source")
        if not present and cause is None:
            check.add(t, row, "when_present", "", "a rule needs when_present, when_cause or both")
            ok = False
        if fields["message"] == "":
            check.add(t, row, "message", "", "must not be empty: it is what the person reads")
            ok = False
        if ok:
            rules.append(RedFlagRule(fields["id"], fields["level"], present, cause, at_least, fields["message"],
                                     fields["source"]))
    rule_rows = {row.fields["id"]: row for row in rows}
    floor_ids = {rule.id for rule in FLOOR_RULES}
    rows_of = {
        "vocabulary.csv": {row.fields["id"]: row for row in vocab_rows},
        "causes.csv": {row.fields["id"]: row for row in tables["causes.csv"].rows},
        "red_flags.csv": rule_rows,
    }
    kinds = {ident: fields["kind"] for ident, fields in vocab.items()}
    care = {str(c["id"]): str(c["care"]) for c in causes}
    for problem in floor_problems(kinds, care, rules):
        if problem.key is None and problem.value in rule_rows:
            continue  # the rule's row is there but invalid: its own problem already says why
        located = None if problem.key is None else rows_of[problem.file].get(problem.key)
        check.add(tables[problem.file], located, problem.field, problem.value, problem.rule)
    if not check.problems or rules:
        for flag in (f for f in by_kind["red_flag"] if f not in floor_ids):
            own = [r for r in rules if r.when_present == (flag,) and r.when_cause is None]
            if any(r.level in ("urgent", "emergency") for r in own):
                continue
            if own:  # the rule is there but at a lower level: point at it
                row = next(row for row in rows if row.fields["id"] == own[0].id)
                check.add(t, row, "level", row.fields["level"],
                          f"the rule of red_flag id {flag!r} must be at level urgent or emergency")
                continue
            check.add(t, None, "when_present", flag,
                      "every red_flag id needs a rule of its own (when_present is that id alone) "
                      "at level urgent or emergency")

    # settings
    settings = _one_number_per_id(check, tables["settings.csv"], "name", _SETTINGS, "value", "setting")

    if check.problems:
        order = list(FILES)
        problems = sorted(
            check.problems,
            key=lambda p: (order.index(p.file) if p.file in order else len(order), p.line or 0),
        )
        raise PriorsError(folder, problems)

    vocabulary = pd.DataFrame.from_records(
        [{"id": i, "kind": f["kind"], "label": f["label"], "question": f["question"]} for i, f in vocab.items()]
    ).set_index("id")
    return Priors(
        folder=folder,
        vocabulary=vocabulary,
        causes=pd.DataFrame.from_records(causes).set_index("id").loc[list(causes_ids)],
        risk_factors=pd.DataFrame.from_records(risk_factors, columns=["id", "prevalence", "low", "high", "source"])
        .set_index("id")
        .loc[list(rf_ids)],
        age_bands=pd.DataFrame.from_records(bands).drop(columns="_line").set_index("id"),
        cause_risks=pd.DataFrame.from_records(
            odds, columns=["cause", "factor", "odds_ratio", "low", "high", "source"]
        ).set_index(["cause", "factor"]),
        findings=pd.DataFrame.from_records(findings).set_index("id").loc[finding_ids],
        finding_links=pd.DataFrame.from_records(
            links, columns=["finding", "cause", "probability", "low", "high", "source"]
        ).set_index(["finding", "cause"]),
        red_flags=tuple(rules),
        settings=pd.DataFrame.from_records(settings).set_index("name"),
        references=pd.DataFrame.from_records(
            [dict(r.fields) for r in references_table.rows if r.fields["key"]]
        ).set_index("key"),
        _tables=dict(tables),
    )
