"""The safety floor: red-flag rules and care levels that are part of the package, not of a priors folder.

The warning signs the two source articles name (signs of infection and fever,
difficulty breathing, chest pain, pain too severe to move or bear weight, sudden
swelling or warmth of the leg) and the DVT rules live here, in code. A priors
folder may add rules and raise levels, never remove or lower these:

* :func:`floor_problems` is called by validation and refuses, with a located
  problem, any folder that deletes a floor rule, lowers its level, changes its
  condition, reclassifies its warning sign as something else, raises a
  probability threshold above its ceiling, or lowers a floor cause's care.
* :func:`apply_floor` is applied by :class:`~kneebayes.Model` to every set of
  compiled parameters, so even hand-built parameters carry the floor; it only
  ever adds rules, raises levels and lowers thresholds.

One floor rule reads the answers alone: after NICE NG158's two-level Wells score
for DVT, two or more of the Wells items a person can report (calf swelling, the
whole leg swollen, recent immobilisation, bed rest or surgery, a previous DVT,
active cancer) make a clot "likely", which needs a scan within hours
(``urgent``), whatever the network's priors say. The Wells score subtracts two
points when "an alternative diagnosis is at least as likely as DVT"; this rule
never subtracts them, because that judgement is a clinician's after an
examination, and a self-reported answer set cannot exclude a clot: dropping the
item can only over-triage, never under-triage.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from ._rule import RedFlagRule
from ._vocabulary import FINDING_KINDS, triage_rank

if TYPE_CHECKING:  # pragma: no cover
    from ._parameters import Parameters

#: Items of the two-level Wells score for DVT that a person can report themselves (NICE NG158).
WELLS_ITEMS: tuple[str, ...] = (
    "calf_swelling",        # calf swelling at least 3 cm larger than the other side
    "sudden_leg_swelling",  # entire leg swollen
    "recent_immobility",    # paralysis or recent plaster cast; bedridden 3 days or more or major surgery
    "previous_dvt",         # previously documented DVT
    "active_cancer",        # active cancer
)

#: The floor's rules. ``at_least`` of a cause rule is its ceiling: a folder may lower it, never raise it.
FLOOR_RULES: tuple[RedFlagRule, ...] = (
    RedFlagRule(
        "difficulty_breathing", "emergency", ("difficulty_breathing",), None, None,
        "Call emergency services now. Difficulty breathing with leg or knee pain can mean a blood clot "
        "has reached the lungs.",
        "article000;nice_ng158",
    ),
    RedFlagRule(
        "chest_pain", "emergency", ("chest_pain",), None, None,
        "Call emergency services now. Chest pain with leg or knee pain can mean a blood clot has reached the lungs.",
        "nice_ng158",
    ),
    RedFlagRule(
        "fever", "urgent", ("fever",), None, None,
        "Get medical care today. Fever or chills with knee pain can mean an infection in the joint or skin.",
        "article000;bunt2018",
    ),
    RedFlagRule(
        "hot_swollen_knee", "urgent", ("swelling", "redness_warmth"), None, None,
        "Get medical care today. A swollen knee that is red or warm can be an infected joint, even without fever.",
        "bunt2018;helito2014",
    ),
    RedFlagRule(
        "cannot_bear_weight", "urgent", ("cannot_bear_weight",), None, None,
        "Get medical care today. Pain so severe that you cannot move the leg or put weight on it needs an "
        "examination for a fracture, a torn tendon or ligament, or an infected joint.",
        "article000;bunt2018;bachmann2004",
    ),
    RedFlagRule(
        "sudden_leg_swelling", "urgent", ("sudden_leg_swelling",), None, None,
        "Get medical care today. Sudden swelling or warmth of the leg can be a blood clot (DVT) and needs an "
        "ultrasound scan within hours.",
        "article000;nice_ng158",
    ),
    RedFlagRule(
        "dvt_probable", "urgent", (), "dvt", 0.15,
        "Get medical care today. Your answers fit a blood clot in a leg vein (DVT), which needs an ultrasound "
        "scan within hours.",
        "wells1997;riddle2005;nice_ng158",
    ),
    RedFlagRule(
        "dvt_wells", "urgent", WELLS_ITEMS, None, None,
        "Get medical care today. Your answers score as 'DVT likely' on the Wells rule that doctors use for leg "
        "clots: you need an ultrasound scan of the leg veins within hours.",
        "nice_ng158;wells1997",
        min_present=2,
    ),
)

#: Causes whose own care level a priors folder cannot lower.
FLOOR_CARE: dict[str, str] = {"dvt": "urgent"}

#: Rules that exist only in code (their condition cannot be written in red_flags.csv).
CODE_ONLY: frozenset[str] = frozenset({"dvt_wells"})


@dataclass(frozen=True)
class FloorProblem:
    """A way a priors folder weakens the floor: which file, row key and field, and why.

    ``key`` is the id of the row (a vocabulary id, a cause id or a rule id), or
    None for a rule that is missing altogether.
    """

    file: str
    key: str | None
    field: str | None
    value: str | None
    rule: str


def _applies(rule: RedFlagRule, kinds: Mapping[str, str]) -> bool:
    """Whether the vocabulary defines every id a (non-score) floor rule reads."""
    if rule.when_cause is not None and kinds.get(rule.when_cause) != "cause":
        return False
    return all(ident in kinds for ident in rule.when_present)


def floor_problems(
    kinds: Mapping[str, str],
    care: Mapping[str, str],
    rules: Sequence[RedFlagRule],
) -> list[FloorProblem]:
    """List every way a priors folder removes or lowers the safety floor.

    The floor binds each id it names that the vocabulary defines. A vocabulary
    without the id cannot take that answer at all (reporting it is an error,
    never silently ignored), so its floor rule does not apply.

    Parameters
    ----------
    kinds : mapping of str to str
        Vocabulary id -> kind.
    care : mapping of str to str
        Cause id -> care level, from ``causes.csv``.
    rules : sequence of RedFlagRule
        The folder's rules, as read (before the floor is applied).

    Returns
    -------
    list of FloorProblem

    Examples
    --------
    >>> kinds = {"fever": "symptom"}
    >>> [(p.file, p.field) for p in floor_problems(kinds, {}, [])]
    [('vocabulary.csv', 'kind'), ('red_flags.csv', 'id')]
    """
    out: list[FloorProblem] = []
    by_id = {rule.id: rule for rule in rules}
    for floor in FLOOR_RULES:
        if floor.id in CODE_ONLY:
            continue
        for ident in floor.when_present:
            wanted = ("red_flag",) if floor.id == ident else FINDING_KINDS
            if ident in kinds and kinds[ident] not in wanted:
                out.append(FloorProblem(
                    "vocabulary.csv", ident, "kind", kinds[ident],
                    f"the safety floor needs {ident!r} to be a {' or '.join(wanted)}: the built-in rule "
                    f"{floor.id!r} reads it; a priors folder cannot reclassify a warning sign",
                ))
        if not _applies(floor, kinds):
            continue
        own = by_id.get(floor.id)
        if own is None:
            out.append(FloorProblem(
                "red_flags.csv", None, "id", floor.id,
                f"the safety floor's built-in rule {floor.id!r} is missing: kneebayes keeps it in every priors "
                f"folder (level {floor.level} or higher); a folder may add rules and raise levels, never remove one",
            ))
            continue
        if triage_rank(own.level) < triage_rank(floor.level):
            out.append(FloorProblem(
                "red_flags.csv", floor.id, "level", own.level,
                f"the safety floor keeps rule {floor.id!r} at level {floor.level} or higher",
            ))
        if set(own.when_present) != set(floor.when_present) or own.when_cause != floor.when_cause:
            field = "when_present" if set(own.when_present) != set(floor.when_present) else "when_cause"
            written = " ".join(own.when_present) if field == "when_present" else (own.when_cause or "")
            expected = " ".join(floor.when_present) if field == "when_present" else (floor.when_cause or "")
            out.append(FloorProblem(
                "red_flags.csv", floor.id, field, written,
                f"the safety floor fixes the condition of rule {floor.id!r} ({field} = {expected!r}); "
                "add a rule of your own for another condition",
            ))
        if floor.at_least is not None and own.at_least is not None and own.at_least > floor.at_least:
            out.append(FloorProblem(
                "red_flags.csv", floor.id, "at_least", f"{own.at_least:g}",
                f"the safety floor caps the threshold of rule {floor.id!r} at {floor.at_least:g}: a higher "
                "threshold would miss clots the floor must catch",
            ))
    for cause, level in FLOOR_CARE.items():
        if kinds.get(cause) == "cause" and cause in care and triage_rank(care[cause]) < triage_rank(level):
            out.append(FloorProblem(
                "causes.csv", cause, "care", care[cause],
                f"the safety floor keeps the care of {cause!r} at {level} or higher",
            ))
    return out


def _strongest(file_rule: RedFlagRule | None, floor: RedFlagRule) -> RedFlagRule:
    """Merge a floor rule with the folder's rule of the same id: highest level, lowest threshold."""
    if file_rule is None:
        return floor
    level = max(file_rule.level, floor.level, key=triage_rank)
    at_least = file_rule.at_least
    if floor.at_least is not None:
        at_least = floor.at_least if at_least is None else min(at_least, floor.at_least)
    return replace(file_rule, level=level, when_present=floor.when_present, when_cause=floor.when_cause,
                   at_least=at_least, min_present=floor.min_present)


def apply_floor(params: Parameters) -> Parameters:
    """Return ``params`` with the safety floor's rules and care levels in force.

    Floor rules whose ids the model does not define are left out (the model
    cannot take those answers); the Wells rule keeps the items the model
    defines and applies when at least two are defined. Idempotent: applying it
    twice gives the same parameters.

    Examples
    --------
    >>> from dataclasses import replace
    >>> from kneebayes import load_model
    >>> params = load_model().parameters
    >>> bare = replace(params, rules=())
    >>> sorted(r.id for r in apply_floor(bare).rules)[:3]
    ['cannot_bear_weight', 'chest_pain', 'difficulty_breathing']
    """
    known = set(params.findings) | set(params.risk_factors)
    causes = set(params.causes)
    by_id = {rule.id: rule for rule in params.rules}
    merged: dict[str, RedFlagRule] = {}
    for floor in FLOOR_RULES:
        if floor.when_cause is not None and floor.when_cause not in causes:
            continue
        items = tuple(i for i in floor.when_present if i in known)
        if floor.min_present is None and len(items) != len(floor.when_present):
            continue
        if floor.min_present is not None:
            if len(items) < floor.min_present:
                continue
            floor = replace(floor, when_present=items)
        merged[floor.id] = _strongest(by_id.get(floor.id), floor)
    rules = tuple(merged.get(rule.id, rule) for rule in params.rules) + tuple(
        merged[i] for i in merged if i not in by_id
    )
    care = tuple(
        max(level, FLOOR_CARE.get(cause, level), key=triage_rank)
        for cause, level in zip(params.causes, params.care, strict=True)
    )
    if rules == params.rules and care == params.care:
        return params
    return replace(params, rules=rules, care=care)
