"""A catalogue of malformed priors folders, one defect each, as data.

Each :class:`Case` names one file of the shipped priors, a mutation of its text,
and the substrings the resulting :class:`kneebayes.PriorsError` must contain:
the file name, ``"line N"`` and ``"field 'x'"`` where the defect has a line and a
field, and a phrase of the rule that was broken. Line numbers are looked up in
the shipped files, so the catalogue follows edits of the priors; every mutation
checks that the text it changes is there, so it never silently becomes a no-op.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass

import kneebayes

#: A mutation takes a file's text and returns the new text, raw bytes, or None to delete the file.
Mutation = Callable[[str], "str | bytes | None"]


@dataclass(frozen=True)
class Case:
    """One malformed priors folder: the file changed, how, and what the error must say."""

    id: str
    file: str
    mutate: Mutation
    expected: tuple[str, ...]
    problems: int = 1  # how many problems the one defect is reported as


def shipped_text(name: str) -> str:
    """Return the text of one shipped priors file."""
    return (kneebayes.shipped_priors_path() / name).read_text(encoding="utf-8-sig")


def line_of(name: str, prefix: str) -> int:
    """Return the number of the line of ``name`` whose row starts with ``prefix`` and a comma."""
    for number, line in enumerate(shipped_text(name).splitlines(), start=1):
        if line.startswith(prefix + ","):
            return number
    raise LookupError(f"no row starting with {prefix!r} in {name}")


def header_line(name: str) -> int:
    """Return the number of the header line of ``name`` (its first line that is not a comment)."""
    for number, line in enumerate(shipped_text(name).splitlines(), start=1):
        if line.strip() and not line.startswith("#"):
            return number
    raise LookupError(f"no header in {name}")


def end_line(name: str) -> int:
    """Return the number a line appended to ``name`` gets."""
    return len(shipped_text(name).splitlines()) + 1


def at(name: str, prefix: str) -> str:
    """Return ``"line N"`` for the row of ``name`` starting with ``prefix``."""
    return f"line {line_of(name, prefix)}"


def row_values(name: str, prefix: str) -> list[str]:
    """Return the fields of the shipped row of ``name`` starting with ``prefix``."""
    for line in shipped_text(name).splitlines():
        if line.startswith(prefix + ","):
            return next(csv.reader([line]))
    raise LookupError(f"no row starting with {prefix!r} in {name}")


def columns(name: str) -> list[str]:
    """Return the header of a shipped file."""
    return _split(shipped_text(name))[1]


def value_of(name: str, prefix: str, column: str) -> str:
    """Return the text of one field of a shipped row."""
    return row_values(name, prefix)[columns(name).index(column)]


def number(name: str, prefix: str, column: str) -> float:
    """Return one field of a shipped row as a number."""
    return float(value_of(name, prefix, column))


def fmt(value: float) -> str:
    """Write a number as the catalogue writes it into a file."""
    return f"{value:.6g}"


# ---- mutations ------------------------------------------------------------------------


def _split(text: str) -> tuple[list[str], list[str]]:
    lines = text.splitlines(keepends=True)
    header = next(line for line in lines if line.strip() and not line.startswith("#"))
    return lines, next(csv.reader([header]))


def _render(values: list[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow(values)
    return buffer.getvalue()


def set_fields(prefix: str, **changes: str) -> Mutation:
    """Set columns of the row starting with ``prefix`` (two keys: ``"a,b"``)."""

    def mutate(text: str) -> str:
        lines, header = _split(text)
        for number, line in enumerate(lines):
            if line.startswith(prefix + ","):
                values = next(csv.reader([line]))
                for column, value in changes.items():
                    values[header.index(column)] = value
                ending = line[len(line.rstrip("\r\n")):]
                lines[number] = _render(values) + ending
                return "".join(lines)
        raise LookupError(f"no row starting with {prefix!r}")

    return mutate


def replace(old: str, new: str) -> Mutation:
    """Replace the one occurrence of ``old``."""

    def mutate(text: str) -> str:
        if text.count(old) != 1:
            raise LookupError(f"{old!r} occurs {text.count(old)} times, not once")
        return text.replace(old, new)

    return mutate


def delete_row(prefix: str) -> Mutation:
    """Delete the row starting with ``prefix``."""

    def mutate(text: str) -> str:
        lines = text.splitlines(keepends=True)
        kept = [line for line in lines if not line.startswith(prefix + ",")]
        if len(kept) != len(lines) - 1:
            raise LookupError(f"no single row starting with {prefix!r}")
        return "".join(kept)

    return mutate


def append(row: str) -> Mutation:
    """Append one line."""

    def mutate(text: str) -> str:
        return text + ("" if text.endswith("\n") else "\n") + row + "\n"

    return mutate


def copy_row(prefix: str) -> Mutation:
    """Append a copy of the row starting with ``prefix``."""

    def mutate(text: str) -> str:
        row = next(line for line in text.splitlines() if line.startswith(prefix + ","))
        return append(row)(text)

    return mutate


def cut_after(marker: str) -> Mutation:
    """Cut the file just after the one occurrence of ``marker``, as a truncated download would."""

    def mutate(text: str) -> str:
        if text.count(marker) != 1:
            raise LookupError(f"{marker!r} occurs {text.count(marker)} times, not once")
        return text[: text.index(marker) + len(marker)]

    return mutate


def resize_row(prefix: str, change: int) -> Mutation:
    """Add ``change`` fields to (or, when negative, drop them from) the end of the row starting with ``prefix``."""

    def mutate(text: str) -> str:
        lines = text.splitlines(keepends=True)
        for number, line in enumerate(lines):
            if line.startswith(prefix + ","):
                values = next(csv.reader([line]))
                values = values + ["extra"] * change if change > 0 else values[:change]
                lines[number] = _render(values) + "\n"
                return "".join(lines)
        raise LookupError(f"no row starting with {prefix!r}")

    return mutate


def cut_row(prefix: str, fields: int) -> Mutation:
    """Cut the file after the first ``fields`` fields of the row starting with ``prefix`` (plain fields only)."""

    def mutate(text: str) -> str:
        row = next(line for line in text.splitlines() if line.startswith(prefix + ","))
        return cut_after("\n" + ",".join(row.split(",")[:fields]))(text)

    return mutate


def cut_in_quotes(prefix: str) -> Mutation:
    """Cut the file a few characters inside the first quoted field of the row starting with ``prefix``."""

    def mutate(text: str) -> str:
        row = next(line for line in text.splitlines() if line.startswith(prefix + ",") and '"' in line)
        return cut_after("\n" + row[: row.index('"') + 5])(text)

    return mutate


def delete_file(text: str) -> None:
    """Delete the file."""
    return None


def empty_file(text: str) -> str:
    """Empty the file."""
    return ""


def only_comments(text: str) -> str:
    """Keep only the leading comment block."""
    return "".join(line for line in text.splitlines(keepends=True) if line.startswith("#"))


def latin1_in_row(prefix: str) -> Mutation:
    """Write a non-ASCII note into the row starting with ``prefix`` and encode the file as Latin-1, not UTF-8."""

    def mutate(text: str) -> bytes:
        return set_fields(prefix, note="Sjögren's syndrome")(text).encode("latin-1")

    return mutate


def drop_column(column: str) -> Mutation:
    """Remove one column from the header and every row, as in a file written before the column existed."""

    def mutate(text: str) -> str:
        lines, header = _split(text)
        index = header.index(column)
        out = []
        for line in lines:
            if not line.strip() or line.startswith("#"):
                out.append(line)
                continue
            values = next(csv.reader([line]))
            del values[index]
            out.append(_render(values) + line[len(line.rstrip("\r\n")):])
        return "".join(out)

    return mutate


def nul_in_row(prefix: str) -> Mutation:
    """Insert a NUL byte in the row starting with ``prefix``."""

    def mutate(text: str) -> bytes:
        return replace("\n" + prefix + ",", "\n" + prefix + "\x00,")(text).encode("utf-8")

    return mutate


# ---- the catalogue -------------------------------------------------------------------------

CAUSES, RISKS, BANDS, ODDS = "causes.csv", "risk_factors.csv", "age_bands.csv", "cause_risks.csv"
FINDINGS, LINKS, FLAGS = "findings.csv", "finding_links.csv", "red_flags.csv"
SETTINGS, VOCAB = "settings.csv", "vocabulary.csv"

_DVT_LOW, _DVT_HIGH = value_of(CAUSES, "dvt", "low"), value_of(CAUSES, "dvt", "high")
_ABOVE_DVT_HIGH = fmt((float(_DVT_HIGH) + 1) / 2)
_LEAK = value_of(FINDINGS, "pain_bending", "leak")
_BELOW_LEAK, _FAR_BELOW_LEAK = fmt(float(_LEAK) / 2), fmt(float(_LEAK) / 4)
_LINK_LOW = fmt(min(float(_LEAK), number(LINKS, "pain_bending,cramp", "low")))
_ABOVE_THRESHOLD_HIGH = fmt((number(SETTINGS, "care_threshold", "high") + 1) / 2)
_BANDS = sorted((int(value_of(BANDS, b, "min_age")), b) for b in
                [line.split(",")[0] for line in shipped_text(BANDS).splitlines()[header_line(BANDS):] if line.strip()])
_SECOND_BAND, _THIRD_BAND, _LAST_BAND = _BANDS[1][1], _BANDS[2][1], _BANDS[-1][1]
_FIRST_BAND = _BANDS[0][1]
_FIRST_PREVALENCE = number(BANDS, _FIRST_BAND, "prevalence")
_RAISED = _FIRST_PREVALENCE + 0.05
_TOTAL = sum(number(BANDS, b, "prevalence") for _, b in _BANDS) - _FIRST_PREVALENCE + float(fmt(_RAISED))
_EXPERT_RISK = next(line.split(",")[0] for line in shipped_text(RISKS).splitlines()[header_line(RISKS):]
                    if ",expert estimate," in line)
_EXPERT_VALUE = value_of(RISKS, _EXPERT_RISK, "prevalence")
_N_RISK_COLUMNS, _N_FINDING_COLUMNS = len(columns(RISKS)), len(columns(FINDINGS))
_N_CAUSE_COLUMNS = len(columns(CAUSES))

CASES: list[Case] = [
    # numbers
    Case("probability_above_1", CAUSES, set_fields("dvt", base_rate="1.5"),
         (CAUSES, at(CAUSES, "dvt"), "field 'base_rate'", "strictly between 0 and 1", "got '1.5'")),
    Case("probability_below_0", FINDINGS, set_fields("fever", leak="-0.01"),
         (FINDINGS, at(FINDINGS, "fever"), "field 'leak'", "strictly between 0 and 1", "got '-0.01'")),
    Case("probability_exactly_0", RISKS, set_fields("smoking", prevalence="0"),
         (RISKS, at(RISKS, "smoking"), "field 'prevalence'", "strictly between 0 and 1", "got '0'")),
    Case("probability_exactly_1", LINKS, set_fields("calf_swelling,dvt", probability="1"),
         (LINKS, at(LINKS, "calf_swelling,dvt"), "field 'probability'", "strictly between 0 and 1", "got '1'")),
    Case("probability_nan", CAUSES, set_fields("dvt", base_rate="nan"),
         (CAUSES, at(CAUSES, "dvt"), "field 'base_rate'", "must be a finite number", "got 'nan'")),
    Case("odds_ratio_inf", ODDS, set_fields("dvt,smoking", odds_ratio="inf"),
         (ODDS, at(ODDS, "dvt,smoking"), "field 'odds_ratio'", "must be a finite number", "got 'inf'")),
    Case("text_for_number", FINDINGS, set_fields("fever", leak="rare"),
         (FINDINGS, at(FINDINGS, "fever"), "field 'leak'", "must be a number", "got 'rare'")),
    Case("decimal_comma", CAUSES, set_fields("dvt", base_rate="0,03"),
         (CAUSES, at(CAUSES, "dvt"), "field 'base_rate'", "must be a number", "got '0,03'")),
    Case("empty_number", CAUSES, set_fields("dvt", base_rate=""),
         (CAUSES, at(CAUSES, "dvt"), "field 'base_rate'", "must be a number", "got ''")),
    Case("empty_low", RISKS, set_fields("smoking", low=""),
         (RISKS, at(RISKS, "smoking"), "field 'low'", "must be a number", "got ''")),
    Case("low_above_high", CAUSES, set_fields("dvt", low=_ABOVE_DVT_HIGH),
         (CAUSES, at(CAUSES, "dvt"), "field 'low'", "low must not be above high", f"got '{_ABOVE_DVT_HIGH}'")),
    Case("value_outside_range", CAUSES, set_fields("dvt", base_rate=_ABOVE_DVT_HIGH),
         (CAUSES, at(CAUSES, "dvt"), "field 'base_rate'", "must lie within its own range",
          f"[{_DVT_LOW}, {_DVT_HIGH}]", f"got '{_ABOVE_DVT_HIGH}'")),
    Case("odds_ratio_zero", ODDS, set_fields("dvt,smoking", odds_ratio="0"),
         (ODDS, at(ODDS, "dvt,smoking"), "field 'odds_ratio'", "must be a positive number", "got '0'")),
    Case("odds_ratio_negative", ODDS, set_fields("dvt,smoking", odds_ratio="-1.3"),
         (ODDS, at(ODDS, "dvt,smoking"), "field 'odds_ratio'", "must be a positive number", "got '-1.3'")),
    Case("link_below_leak", LINKS, set_fields("pain_bending,cramp", probability=_BELOW_LEAK, low=_FAR_BELOW_LEAK),
         (LINKS, at(LINKS, "pain_bending,cramp"), "field 'probability'", "must be above the finding's leak",
          f"got '{_BELOW_LEAK}'")),
    Case("link_equal_to_leak", LINKS, set_fields("pain_bending,cramp", probability=_LEAK, low=_LINK_LOW),
         (LINKS, at(LINKS, "pain_bending,cramp"), "field 'probability'", "must be above the finding's leak",
          f"got '{_LEAK}'")),
    Case("setting_out_of_range", SETTINGS, set_fields("care_threshold", value=_ABOVE_THRESHOLD_HIGH),
         (SETTINGS, at(SETTINGS, "care_threshold"), "field 'value'", "must lie within its own range",
          f"got '{_ABOVE_THRESHOLD_HIGH}'")),
    # ids
    Case("unknown_cause_id", LINKS, set_fields("calf_swelling,dvt", cause="gout"),
         (LINKS, at(LINKS, "calf_swelling,dvt"), "field 'cause'", "unknown cause id", "got 'gout'")),
    Case("misspelt_cause_id", LINKS, set_fields("lump_behind_knee,bakers_cyst", cause="bakers_cist"),
         (LINKS, at(LINKS, "lump_behind_knee,bakers_cyst"), "field 'cause'", "did you mean 'bakers_cyst'",
          "got 'bakers_cist'")),
    Case("misspelt_factor", ODDS, set_fields("dvt,recent_immobility", factor="recent_imobility"),
         (ODDS, at(ODDS, "dvt,recent_immobility"), "field 'factor'", "did you mean 'recent_immobility'",
          "got 'recent_imobility'")),
    Case("misspelt_id_in_causes", CAUSES, set_fields("dvt", id="dvtt"),
         (CAUSES, at(CAUSES, "dvt"), "field 'id'", "unknown cause id; did you mean 'dvt'", "got 'dvtt'",
          "every cause of vocabulary.csv needs a row", "got 'dvt'"), problems=2),
    Case("uppercase_vocabulary_id", VOCAB, replace("\nsymptom,grinding,", "\nsymptom,Grinding,"),
         (VOCAB, at(VOCAB, "symptom,grinding"), "field 'id'", "must be lowercase letters", "got 'Grinding'",
          FINDINGS, "unknown finding id", "got 'grinding'"), problems=4),
    Case("unknown_vocabulary_kind", VOCAB, replace("\nsymptom,grinding,", "\nsymtom,grinding,"),
         (VOCAB, at(VOCAB, "symptom,grinding"), "field 'kind'", "unknown kind; did you mean 'symptom'", "got 'symtom'"),
         problems=4),
    Case("self_factor", ODDS, append("dvt,dvt,2.0,1.0,3.0,expert estimate,expert,"),
         (ODDS, f"line {end_line(ODDS)}", "field 'factor'", "a cause cannot be its own factor", "got 'dvt'")),
    Case("care_level_unknown", CAUSES, set_fields("dvt", care="emergency"),
         (CAUSES, at(CAUSES, "dvt"), "field 'care'", "unknown care level", "got 'emergency'")),
    # rows and columns
    Case("duplicate_row", CAUSES, copy_row("dvt"),
         (CAUSES, f"line {end_line(CAUSES)}", "field 'id'", "duplicate row",
          f"already on line {line_of(CAUSES, 'dvt')}", "got 'dvt'")),
    Case("duplicate_link", LINKS, copy_row("calf_swelling,dvt"),
         (LINKS, f"line {end_line(LINKS)}", "duplicate row", f"already on line {line_of(LINKS, 'calf_swelling,dvt')}",
          "got 'calf_swelling|dvt'")),
    Case("missing_vocabulary_row", CAUSES, delete_row("pcl_injury"),
         (CAUSES, "field 'id'", "every cause of vocabulary.csv needs a row", "got 'pcl_injury'")),
    Case("missing_required_column", RISKS, replace("\nid,prevalence,low,high,", "\nid,prevalence,lo,high,"),
         (RISKS, f"line {header_line(RISKS)}", "field 'low'", "required column is missing")),
    Case("duplicate_column", FINDINGS, replace("\nid,leak,low,high,source,evidence,note\n",
                                          "\nid,leak,low,high,source,evidence,leak\n"),
         (FINDINGS, f"line {header_line(FINDINGS)}", "field 'leak'", "column appears twice")),
    Case("extra_field_in_row", FINDINGS, resize_row("fever", 1),
         (FINDINGS, at(FINDINGS, "fever"),
          f"row has {_N_FINDING_COLUMNS + 1} fields; the header has {_N_FINDING_COLUMNS}")),
    Case("missing_field_in_row", RISKS, resize_row("smoking", -1),
         (RISKS, at(RISKS, "smoking"), f"row has {_N_RISK_COLUMNS - 1} fields; the header has {_N_RISK_COLUMNS}")),
    # files
    Case("missing_required_file", SETTINGS, delete_file, (SETTINGS, "required file is missing")),
    Case("empty_file", FINDINGS, empty_file, (FINDINGS, "file is empty")),
    Case("comments_only_file", CAUSES, only_comments, (CAUSES, "file is empty")),
    Case("truncated_mid_row", CAUSES, cut_row("inflammatory_arthritis", 3),
         (CAUSES, at(CAUSES, "inflammatory_arthritis"), f"row has 3 fields; the header has {_N_CAUSE_COLUMNS}")),
    Case("truncated_in_quotes", LINKS, cut_in_quotes("calf_swelling,dvt"),
         (LINKS, at(LINKS, "calf_swelling,dvt"), "malformed CSV", "unclosed quote")),
    Case("latin1_file", CAUSES, latin1_in_row("dvt"), (CAUSES, at(CAUSES, "dvt"), "must be UTF-8")),
    Case("nul_byte", CAUSES, nul_in_row("dvt"), (CAUSES, at(CAUSES, "dvt"), "NUL")),
    # structure
    Case("cycle_among_causes", ODDS, append('osteoarthritis,bakers_cyst,2.0,1.5,3.0,expert estimate,expert,"cycle"'),
         (ODDS, f"line {end_line(ODDS)}", "field 'factor'", "causes must not form a cycle",
          "bakers_cyst <- osteoarthritis <- bakers_cyst")),
    Case("age_band_gap", BANDS, set_fields(_SECOND_BAND, min_age=str(_BANDS[1][0] + 1)),
         (BANDS, at(BANDS, _SECOND_BAND), "field 'min_age'", f"without gaps or overlaps; expected {_BANDS[1][0]}",
          f"got '{_BANDS[1][0] + 1}'")),
    Case("age_band_overlap", BANDS, set_fields(_THIRD_BAND, min_age=str(_BANDS[2][0] - 2)),
         (BANDS, at(BANDS, _THIRD_BAND), "field 'min_age'", f"without gaps or overlaps; expected {_BANDS[2][0]}",
          f"got '{_BANDS[2][0] - 2}'")),
    Case("age_bands_short", BANDS, set_fields(_LAST_BAND, max_age="100"),
         (BANDS, "field 'max_age'", "the last age band must end at 121", "got '100'")),
    Case("age_prevalences_not_1", BANDS,
         set_fields(_FIRST_BAND, prevalence=fmt(_RAISED), high=fmt(max(_RAISED, number(BANDS, _FIRST_BAND, "high")))),
         (BANDS, "field 'prevalence'", "age-band prevalences must sum to 1", f"got '{fmt(_TOTAL)}'")),
    Case("age_not_whole", BANDS, set_fields(_SECOND_BAND, min_age=f"{_BANDS[1][0]}.5"),
         (BANDS, at(BANDS, _SECOND_BAND), "field 'min_age'", "whole number of years", f"got '{_BANDS[1][0]}.5'")),
    # sources
    Case("unknown_reference_key", LINKS, set_fields("calf_swelling,dvt", source="goodacre2006"),
         (LINKS, at(LINKS, "calf_swelling,dvt"), "field 'source'", "unknown reference key",
          "did you mean 'goodacre2005'", "got 'goodacre2006'")),
    Case("unknown_care_source", CAUSES, set_fields("dvt", care_source="nice"),
         (CAUSES, at(CAUSES, "dvt"), "field 'care_source'", "unknown reference key", "got 'nice'")),
    Case("empty_source", RISKS, set_fields("smoking", source=""),
         (RISKS, at(RISKS, "smoking"), "field 'source'", "must name reference keys", "got ''")),
    Case("expert_estimate_without_range", RISKS, set_fields(_EXPERT_RISK, low=_EXPERT_VALUE, high=_EXPERT_VALUE),
         (RISKS, at(RISKS, _EXPERT_RISK), "field 'high'", "an expert estimate needs a plausible range",
          f"got '{_EXPERT_VALUE}'")),
    # evidence grades
    Case("evidence_column_missing", CAUSES, drop_column("evidence"),
         (CAUSES, f"line {header_line(CAUSES)}", "field 'evidence'", "required column 'evidence' is missing",
          "add it right after 'source'", "direct, derived, qualitative or expert")),
    Case("evidence_unknown_grade", LINKS, set_fields("calf_swelling,dvt", evidence="published figure"),
         (LINKS, at(LINKS, "calf_swelling,dvt"), "field 'evidence'", "must be an evidence grade",
          "got 'published figure'")),
    Case("evidence_misspelt_grade", ODDS, set_fields("dvt,smoking", evidence="derivd"),
         (ODDS, at(ODDS, "dvt,smoking"), "field 'evidence'", "did you mean 'derived'", "got 'derivd'")),
    Case("evidence_empty", RISKS, set_fields("smoking", evidence=""),
         (RISKS, at(RISKS, "smoking"), "field 'evidence'", "must be an evidence grade",
          "write one of direct, derived, qualitative, expert", "got ''")),
    Case("evidence_expert_with_reference", CAUSES, set_fields("osteoarthritis", evidence="expert"),
         (CAUSES, at(CAUSES, "osteoarthritis"), "field 'evidence'", "'expert' means no source", "got 'expert'")),
    Case("evidence_estimate_graded_derived", CAUSES, set_fields("pcl_injury", evidence="derived"),
         (CAUSES, at(CAUSES, "pcl_injury"), "field 'evidence'",
          "the source is 'expert estimate', so the grade must be 'expert'",
          "got 'derived'")),
    Case("evidence_qualitative_with_numbers", ODDS, set_fields("dvt,smoking", evidence="qualitative"),
         (ODDS, at(ODDS, "dvt,smoking"), "field 'evidence'", "'cheng2013' reports numbers", "got 'qualitative'")),
    Case("evidence_direct_without_numbers", LINKS, set_fields("spasm,cramp", evidence="direct"),
         (LINKS, at(LINKS, "spasm,cramp"), "field 'evidence'", "needs a cited reference that reports numbers",
          "'article000' and 'article004' report none", "grade it qualitative", "got 'direct'")),
    Case("evidence_derived_without_note", CAUSES, set_fields("osteoarthritis", note=""),
         (CAUSES, at(CAUSES, "osteoarthritis"), "field 'note'", "a derived number needs a note stating the arithmetic",
          "got ''")),
    Case("evidence_on_rule_without_threshold", FLAGS, set_fields("hot_swollen_knee", evidence="expert"),
         (FLAGS, at(FLAGS, "hot_swollen_knee"), "field 'evidence'", "must be empty when when_cause is empty",
          "got 'expert'")),
    Case("evidence_missing_on_threshold", FLAGS, set_fields("dvt_probable", evidence=""),
         (FLAGS, at(FLAGS, "dvt_probable"), "field 'evidence'", "must be an evidence grade", "got ''")),
    # red flags
    Case("red_flag_unknown_finding", FLAGS, set_fields("hot_swollen_knee", when_present="swelling redness_warmht"),
         (FLAGS, at(FLAGS, "hot_swollen_knee"), "field 'when_present'", "unknown finding id",
          "did you mean 'redness_warmth'", "got 'redness_warmht'")),
    Case("red_flag_unknown_level", FLAGS, set_fields("hot_swollen_knee", level="asap"),
         (FLAGS, at(FLAGS, "hot_swollen_knee"), "field 'level'", "unknown triage level", "got 'asap'")),
    Case("red_flag_no_condition", FLAGS, set_fields("hot_swollen_knee", when_present=""),
         (FLAGS, at(FLAGS, "hot_swollen_knee"), "field 'when_present'",
          "a rule needs when_present, when_cause or both")),
    Case("red_flag_rule_removed", FLAGS, delete_row("fever"),
         (FLAGS, "field 'id'", "safety floor's built-in rule 'fever' is missing", "got 'fever'")),
    Case("red_flag_level_lowered", FLAGS, set_fields("fever", level="see_doctor"),
         (FLAGS, at(FLAGS, "fever"), "field 'level'", "safety floor keeps rule 'fever' at level urgent or higher",
          "got 'see_doctor'")),
    Case("red_flag_rule_widened", FLAGS, set_fields("chest_pain", when_present="chest_pain fever"),
         (FLAGS, at(FLAGS, "chest_pain"), "field 'when_present'",
          "safety floor fixes the condition of rule 'chest_pain'", "got 'chest_pain fever'")),
    Case("red_flag_threshold_missing", FLAGS, set_fields("dvt_probable", at_least=""),
         (FLAGS, at(FLAGS, "dvt_probable"), "field 'at_least'", "must be a number", "got ''")),
    Case("red_flag_threshold_without_cause", FLAGS, set_fields("hot_swollen_knee", at_least="0.5"),
         (FLAGS, at(FLAGS, "hot_swollen_knee"), "field 'at_least'",
          "must be empty when when_cause is empty", "got '0.5'")),
    Case("red_flag_no_message", FLAGS, set_fields("fever", message=""),
         (FLAGS, at(FLAGS, "fever"), "field 'message'", "must not be empty")),
]
