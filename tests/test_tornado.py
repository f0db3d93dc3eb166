"""kneebayes.analysis.tornado: one-way sensitivity across each number's range, checked against rebuilt models."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import kneebayes
from kneebayes.analysis import Tornado, tornado
from kneebayes.analysis._variants import Variants, patient_arrays, posteriors, set_numbers

PATIENT = {"present": ["lump_behind_knee", "stiffness"], "absent": ["fever"], "age": 58}
TRIAGE = ("self_care", "see_doctor", "urgent", "emergency")


@pytest.fixture(scope="module")
def model() -> kneebayes.Model:
    return kneebayes.load_model()


def sample_numbers(model: kneebayes.Model, per_kind: int, seed: int) -> pd.DataFrame:
    """Draw a few numbers of every kind, reproducibly."""
    numbers = model.priors.to_frame()
    parts = [numbers[numbers["kind"] == kind] for kind in numbers["kind"].unique()]
    return pd.concat([part.sample(min(per_kind, len(part)), random_state=seed) for part in parts])


def rebuilt(model: kneebayes.Model, kind: str, target: str, value: float) -> kneebayes.Model:
    return kneebayes.Model.from_priors(model.priors.with_value(kind, target, value))


def test_every_swing_equals_a_rebuild_for_a_sample_of_each_kind(model: kneebayes.Model) -> None:
    """At both ends of a sample of numbers of every kind, the tornado's posterior equals a with_value rebuild."""
    result = tornado(model, **PATIENT, target="bakers_cyst").table.set_index(["kind", "target"])
    for kind, target in sample_numbers(model, 4, seed=1)[["kind", "target"]].itertuples(index=False):
        row = result.loc[(kind, target)]
        for end in ("low", "high"):
            diagnosis = rebuilt(model, kind, target, float(row[end])).diagnose(**PATIENT)
            assert abs(diagnosis.probabilities["bakers_cyst"] - row[f"at_{end}"]) < 1e-9, (kind, target, end)
            assert diagnosis.top == row[f"top_{end}"]
            assert diagnosis.triage == row[f"triage_{end}"]
        assert row["swing"] == pytest.approx(abs(row["at_high"] - row["at_low"]), abs=1e-15)


def test_age_shares_are_swept_with_the_renormalisation_of_with_value(model: kneebayes.Model) -> None:
    """Each age share at each end gives the posterior of priors whose shares were rescaled by with_value."""
    patient = {"present": ["calf_swelling"], "absent": ["fever"]}  # age unknown: the shares matter
    result = tornado(model, **patient, target="dvt").table.set_index(["kind", "target"])
    for band in model.priors.age_bands.index:
        row = result.loc[("age_prevalence", band)]
        for end in ("low", "high"):
            p = rebuilt(model, "age_prevalence", band, float(row[end])).diagnose(**patient).probabilities["dvt"]
            assert abs(p - row[f"at_{end}"]) < 1e-9
    assert (result.xs("age_prevalence", level="kind")["swing"] > 0).all()


def test_the_variants_match_rebuilds_for_every_cause_at_once(model: kneebayes.Model) -> None:
    """The batched scorer gives every cause's posterior of rebuilt models, for two patients and mixed edits."""
    frame = pd.DataFrame({"calf_swelling": [True, None], "recent_immobility": [True, False],
                          "swelling": [None, True], "age": [64.0, None]})
    ev, _, _ = patient_arrays(model, None, None, None, frame)
    numbers = sample_numbers(model, 2, seed=7)
    numbers = numbers[~numbers["kind"].isin(["threshold", "setting"])]
    var = Variants.repeat(model.parameters, len(numbers))
    values = [np.array([row.high]) for row in numbers.itertuples()]
    set_numbers(var, numbers, [np.array([i]) for i in range(len(numbers))], values, model.priors)
    got = posteriors(var, ev)
    for i, row in enumerate(numbers.itertuples()):
        expected = rebuilt(model, row.kind, row.target, row.high).diagnose_many(frame)[list(model.causes)]
        np.testing.assert_allclose(got[i], expected.to_numpy(dtype=float), rtol=0, atol=1e-9)


def test_top_and_triage_targets(model: kneebayes.Model) -> None:
    """target='top' follows the point values' top cause; target='triage' reports level indices 0 to 3."""
    top = tornado(model, **PATIENT)
    assert top.of == "top" and top.point == pytest.approx(model.diagnose(**PATIENT).probabilities.iloc[0])
    triage = tornado(model, present=["calf_swelling"], age=40, target="triage")
    table = triage.table
    assert set(table["at_low"]) | set(table["at_high"]) <= {0.0, 1.0, 2.0, 3.0}
    for row in table.head(3).itertuples():
        assert TRIAGE[int(row.at_low)] == row.triage_low and TRIAGE[int(row.at_high)] == row.triage_high
    threshold = table.set_index(["kind", "target"]).loc[("setting", "care_threshold")]
    for end in ("low", "high"):
        assert rebuilt(model, "setting", "care_threshold", float(threshold[end])).diagnose(
            present=["calf_swelling"], age=40).triage == threshold[f"triage_{end}"]


def test_table_is_sorted_and_carries_provenance(model: kneebayes.Model) -> None:
    """Rows are sorted by swing, one per prior number, with source and evidence grade."""
    result = tornado(model, **PATIENT, target="bakers_cyst")
    table = result.table
    assert isinstance(result, Tornado)
    assert len(table) == len(model.priors.to_frame())
    assert (np.diff(table["swing"].to_numpy()) <= 0).all()
    for column in ("kind", "target", "low", "high", "at_low", "at_high", "swing", "source", "evidence"):
        assert column in table.columns
    assert set(table["evidence"]) <= {"direct", "derived", "qualitative", "expert"}
    # a finding the patient did not report cannot move the posterior
    unanswered = table[(table["kind"] == "leak") & (table["target"] == "chest_pain")]
    assert float(unanswered["swing"].iloc[0]) == 0.0
    assert "Tornado of" in repr(result) and "<table" in result._repr_html_()


def test_a_table_of_patients_counts_flips_like_rebuilds(model: kneebayes.Model) -> None:
    """For a table, at_low is the mean posterior and the flip counts equal those of rebuilt models."""
    frame = pd.DataFrame({"calf_swelling": [True, True, None, None], "recent_immobility": [True, None, None, False],
                          "lump_behind_knee": [None, None, True, None], "spasm": [None, None, None, True],
                          "age": [64.0, 30.0, 58.0, None]})
    result = tornado(model, patients=frame, target="dvt")
    assert result.n_patients == 4
    table = result.table.set_index(["kind", "target"])
    base = model.diagnose_many(frame)
    base_top = base[list(model.causes)].astype(float).idxmax(axis=1)
    for kind, target in [("base_rate", "dvt"), ("odds_ratio", "dvt|recent_immobility"), ("leak", "calf_swelling")]:
        row = table.loc[(kind, target)]
        for end in ("low", "high"):
            out = rebuilt(model, kind, target, float(row[end])).diagnose_many(frame)
            assert abs(out["dvt"].mean() - row[f"at_{end}"]) < 1e-9
            top = out[list(model.causes)].astype(float).idxmax(axis=1)
            assert row[f"top_flips_{end}"] == int((top != base_top).sum())
            assert row[f"triage_flips_{end}"] == int((out["triage"] != base["triage"]).sum())


def test_bad_target_and_inputs_are_refused(model: kneebayes.Model) -> None:
    """An unknown target suggests the closest id; a patient and a table together are refused."""
    with pytest.raises(kneebayes.UnknownIdError, match="did you mean 'dvt'"):
        tornado(model, **PATIENT, target="dvtt")
    with pytest.raises(kneebayes.OptionError, match="not both"):
        tornado(model, present=["spasm"], patients=pd.DataFrame({"spasm": [True]}))
    with pytest.raises(kneebayes.UnknownIdError):
        tornado(model, present=["spasmm"])


@pytest.mark.parametrize("present", [["f"], ["r"], []])
def test_every_number_of_the_tiny_network_equals_a_rebuild(tiny_folder: Path, present: list[str]) -> None:
    """On the four-node network, all numbers at both ends give the rebuilt model's posteriors and triage."""
    tiny = kneebayes.load_model(tiny_folder)
    absent = [] if present else ["f"]
    result = tornado(tiny, present=present, absent=absent, target="c1").table
    assert len(result) == len(tiny.priors.to_frame())
    for row in result.itertuples():
        for end in ("low", "high"):
            value = float(getattr(row, end))
            rebuilt_model = kneebayes.Model.from_priors(tiny.priors.with_value(row.kind, row.target, value))
            diagnosis = rebuilt_model.diagnose(present=present, absent=absent)
            assert abs(diagnosis.probabilities["c1"] - getattr(row, f"at_{end}")) < 1e-12, (row.kind, row.target)
            assert diagnosis.triage == getattr(row, f"triage_{end}")
