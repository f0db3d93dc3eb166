"""The safety floor: no priors folder, option or hand-built parameters can remove or lower it.

Each test edits a copy of the shipped priors the way a careless researcher might (issue 9, item 2)
or builds numbers the model cannot honour (item 7), and checks that kneebayes refuses the folder
with a located error, or that the floor still fires.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

import kneebayes
from kneebayes import Model, PriorsError, load_model, load_priors
from kneebayes._red_flags import fired_matrix, triage_codes
from kneebayes._safety import FLOOR_CARE, FLOOR_RULES, WELLS_ITEMS, apply_floor

TEXTBOOK_CLOT = ["calf_swelling", "recent_immobility"]


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """Return a writable copy of the shipped priors folder."""
    return Path(shutil.copytree(kneebayes.shipped_priors_path(), tmp_path / "priors"))


def edit(folder: Path, name: str, pattern: str, replacement: str) -> None:
    """Replace one regex match in a prior file (exactly one must exist)."""
    path = folder / name
    text = path.read_text(encoding="utf-8")
    new, count = re.subn(pattern, replacement, text, flags=re.MULTILINE)
    assert count == 1, f"{pattern!r} matched {count} times in {name}"
    path.write_text(new, encoding="utf-8")


def problems(folder: Path) -> list[kneebayes.Problem]:
    with pytest.raises(PriorsError) as info:
        load_model(folder)
    return list(info.value.problems)


def line_of(folder: Path, name: str, start: str) -> int:
    lines = (folder / name).read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, start=1) if line.startswith(start))


# ---- a priors folder cannot remove or lower a floor rule -------------------------------------------


@pytest.mark.parametrize("rule", ["dvt_probable", "hot_swollen_knee", "fever", "chest_pain"])
def test_deleting_a_floor_rule_is_refused(copy: Path, rule: str) -> None:
    edit(copy, "red_flags.csv", rf"^{rule},.*\n", "")
    found = problems(copy)
    assert any(p.file == "red_flags.csv" and rule in str(p) and "safety floor" in p.rule for p in found), found


def test_lowering_a_floor_rule_is_refused_at_its_line(copy: Path) -> None:
    line = line_of(copy, "red_flags.csv", "hot_swollen_knee,")
    edit(copy, "red_flags.csv", r"^hot_swollen_knee,urgent,", "hot_swollen_knee,see_doctor,")
    [problem] = [p for p in problems(copy) if p.field == "level"]
    assert (problem.file, problem.line, problem.value) == ("red_flags.csv", line, "see_doctor")
    assert "urgent" in problem.rule


def test_lowering_the_dvt_rule_and_the_dvt_care_is_refused(copy: Path) -> None:
    edit(copy, "red_flags.csv", r"^dvt_probable,urgent,", "dvt_probable,see_doctor,")
    edit(copy, "causes.csv", r"^(dvt,[^,]*,[^,]*,[^,]*,)urgent,", r"\1self_care,")
    found = problems(copy)
    assert {(p.file, p.field) for p in found} >= {("red_flags.csv", "level"), ("causes.csv", "care")}


def test_reclassifying_a_floor_finding_is_refused(copy: Path) -> None:
    line = line_of(copy, "vocabulary.csv", "red_flag,fever,")
    edit(copy, "vocabulary.csv", r"^red_flag,fever,", "symptom,fever,")
    edit(copy, "red_flags.csv", r"^fever,.*\n", "")
    found = problems(copy)
    assert any(p.file == "vocabulary.csv" and p.line == line and p.field == "kind" for p in found), found


def test_changing_a_floor_rule_condition_is_refused(copy: Path) -> None:
    edit(copy, "red_flags.csv", r"^fever,urgent,fever,", "fever,urgent,fever swelling,")
    found = problems(copy)
    assert any(p.file == "red_flags.csv" and p.field == "when_present" and "fever" in str(p) for p in found), found


def test_raising_the_dvt_threshold_above_its_ceiling_is_refused(copy: Path) -> None:
    edit(copy, "red_flags.csv", r"^dvt_probable,urgent,,dvt,0\.15,0\.05,0\.15,",
         "dvt_probable,urgent,,dvt,0.99,0.05,0.995,")
    [problem] = [p for p in problems(copy) if p.field == "at_least"]
    assert problem.file == "red_flags.csv" and problem.value == "0.99" and "0.15" in problem.rule


def test_the_threshold_range_stays_below_its_ceiling() -> None:
    rule = next(r for r in FLOOR_RULES if r.id == "dvt_probable")
    row = load_priors().to_frame().query("kind == 'threshold' and target == 'dvt_probable'").iloc[0]
    assert rule.at_least is not None and row["high"] <= rule.at_least


def test_a_folder_may_raise_a_floor_rule_and_add_its_own(copy: Path) -> None:
    edit(copy, "red_flags.csv", r"^fever,urgent,", "fever,emergency,")
    with (copy / "red_flags.csv").open("a", encoding="utf-8") as stream:
        stream.write('lump_and_fever,emergency,lump_behind_knee fever,,,,,"Go now.",expert estimate,,\n')
    model = load_model(copy)
    assert model.diagnose(present=["fever"]).triage == "emergency"
    fired = {f.id for f in model.diagnose(present=["fever", "lump_behind_knee"]).red_flags}
    assert {"fever", "lump_and_fever"} <= fired


# ---- the answers-only DVT rule (two-level Wells) --------------------------------------------------


def test_textbook_clot_is_urgent_even_when_dvt_is_made_rare(copy: Path) -> None:
    edit(copy, "causes.csv", r"^(dvt,)[^,]*,[^,]*,", r"\g<1>1e-9,1e-9,")
    model = load_model(copy)
    result = model.diagnose(present=TEXTBOOK_CLOT, age=64)
    assert result.probabilities["dvt"] < 0.01  # the network no longer believes in the clot ...
    assert result.triage == "urgent"  # ... but the answers alone still do
    assert "dvt_wells" in [f.id for f in result.red_flags]
    why = next(f.why for f in result.red_flags if f.id == "dvt_wells")
    assert "calf_swelling" in why and "recent_immobility" in why


@pytest.mark.parametrize("pair", [("calf_swelling", "recent_immobility"), ("calf_swelling", "sudden_leg_swelling")])
def test_two_wells_items_fire_the_rule_and_one_does_not(model: Model, pair: tuple[str, str]) -> None:
    both = model.diagnose(present=list(pair))
    assert "dvt_wells" in [f.id for f in both.red_flags]
    assert both.triage in ("urgent", "emergency")
    one = model.diagnose(present=[pair[0]], absent=[pair[1]])
    assert "dvt_wells" not in [f.id for f in one.red_flags]


def test_wells_items_are_ids_the_model_knows_or_future_ones(model: Model) -> None:
    known = set(model.observable)
    assert {"calf_swelling", "sudden_leg_swelling", "recent_immobility"} <= known
    assert set(WELLS_ITEMS) - known <= {"previous_dvt", "active_cancer"}


def test_diagnose_many_applies_the_wells_rule(model: Model) -> None:
    import pandas as pd

    frame = pd.DataFrame({"calf_swelling": [True, True], "recent_immobility": [True, False]})
    out = model.diagnose_many(frame)
    assert "dvt_wells" in out.loc[0, "red_flags"].split(";")
    assert "dvt_wells" not in out.loc[1, "red_flags"].split(";")


# ---- the floor lives in code: hand-built parameters cannot drop it ----------------------------------


def test_model_applies_the_floor_to_parameters_without_rules(model: Model) -> None:
    stripped = dataclasses.replace(model.parameters, rules=(), care=("self_care",) * len(model.causes))
    bare = Model(model.priors, stripped)
    assert bare.diagnose(present=["chest_pain"]).triage == "emergency"
    assert bare.diagnose(present=["fever"]).triage == "urgent"
    assert bare.parameters.care[bare.causes.index("dvt")] == FLOOR_CARE["dvt"]


def test_apply_floor_never_lowers_a_stronger_file_rule(model: Model) -> None:
    raised = dataclasses.replace(
        model.parameters,
        rules=tuple(dataclasses.replace(r, level="emergency") if r.id == "fever" else r
                    for r in model.parameters.rules),
    )
    floored = apply_floor(raised)
    assert next(r for r in floored.rules if r.id == "fever").level == "emergency"
    assert apply_floor(floored) == floored  # idempotent


def test_apply_floor_lowers_a_threshold_above_the_ceiling(model: Model) -> None:
    loose = dataclasses.replace(
        model.parameters,
        rules=tuple(dataclasses.replace(r, at_least=0.99) if r.id == "dvt_probable" else r
                    for r in model.parameters.rules),
    )
    rule = next(r for r in apply_floor(loose).rules if r.id == "dvt_probable")
    assert rule.at_least == 0.15


def test_floor_rule_at_its_threshold_fires_and_just_below_does_not() -> None:
    rule = next(r for r in FLOOR_RULES if r.id == "dvt_probable")
    assert rule.at_least is not None
    posteriors = np.array([[rule.at_least], [np.nextafter(rule.at_least, 0.0)]])
    fired = fired_matrix([rule], [], np.zeros((2, 0), dtype=bool), ["dvt"], posteriors)
    assert fired[:, 0].tolist() == [True, False]
    levels = triage_codes([rule], fired, ["self_care"], posteriors, 0.3)
    assert levels.tolist() == [2, 0]


def test_wells_rule_counts_at_least_two_items() -> None:
    rule = next(r for r in FLOOR_RULES if r.id == "dvt_wells")
    observable = list(rule.when_present)
    present = np.zeros((3, len(observable)), dtype=bool)
    present[1, 0] = True
    present[2, :2] = True
    fired = fired_matrix([rule], observable, present, [], np.zeros((3, 0)))
    assert fired[:, 0].tolist() == [False, False, True]


# ---- numbers the model cannot honour are refused ----------------------------------------------------


def test_an_odds_ratio_beyond_the_limit_is_refused_at_its_line(copy: Path) -> None:
    line = line_of(copy, "cause_risks.csv", "dvt,recent_immobility,")
    edit(copy, "cause_risks.csv", r"^dvt,recent_immobility,[^,]*,[^,]*,[^,]*,", "dvt,recent_immobility,1e26,1e25,1e27,")
    found = [p for p in problems(copy) if p.field == "odds_ratio"]
    assert found and found[0].file == "cause_risks.csv" and found[0].line == line and found[0].value == "1e26"


def test_a_large_allowed_odds_ratio_still_reproduces_the_base_rate(copy: Path) -> None:
    edit(copy, "cause_risks.csv", r"^dvt,recent_immobility,[^,]*,[^,]*,[^,]*,", "dvt,recent_immobility,1e4,1e3,1e4,")
    model = load_model(copy)
    marginal = float(model.diagnose().probabilities["dvt"])
    base = float(model.priors.causes.loc["dvt", "base_rate"])
    assert marginal == pytest.approx(base, rel=1e-9)


@pytest.mark.parametrize(("rate", "low", "high"), [(1e-9, 1e-10, 1e-8), (0.999, 0.99, 0.9999)])
def test_extreme_base_rates_are_reproduced(copy: Path, rate: float, low: float, high: float) -> None:
    edit(copy, "causes.csv", r"^(dvt,)[^,]*,[^,]*,[^,]*,", rf"\g<1>{rate},{low},{high},")
    model = load_model(copy)
    assert float(model.diagnose().probabilities["dvt"]) == pytest.approx(rate, rel=1e-9)


def test_many_large_odds_ratios_together_still_reproduce_the_base_rate(copy: Path) -> None:
    path = copy / "cause_risks.csv"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    edited = [re.sub(r"^(dvt,\w+,)[^,]*,[^,]*,[^,]*,", r"\g<1>1e4,1e3,1e4,", line) for line in lines]
    assert sum(a != b for a, b in zip(lines, edited, strict=True)) >= 7  # the sum of log odds ratios passes 60
    path.write_text("".join(edited), encoding="utf-8")
    model = load_model(copy)
    marginal = float(model.diagnose().probabilities["dvt"])
    assert marginal == pytest.approx(float(model.priors.causes.loc["dvt", "base_rate"]), rel=1e-9)


def test_the_interview_asks_the_wells_items_until_the_rule_is_settled(model: Model) -> None:
    """One Wells item reported present: another must be asked; one absent does not settle a two-of rule."""
    from kneebayes._interview import red_flag_questions

    rule = next(r for r in model.parameters.rules if r.id == "dvt_wells")
    first, *others = rule.when_present
    pending = red_flag_questions(model, model.evidence(present=[first], absent=[others[0]]), ())
    assert set(pending) & set(others[1:]), pending  # a third item can still make two
    settled = red_flag_questions(model, model.evidence(present=[first, others[0]]), ())
    assert not set(settled) & set(rule.when_present) - {"sudden_leg_swelling"}
