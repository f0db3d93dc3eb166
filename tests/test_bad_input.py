"""Bad evidence raises a clear KneeBayesError (also a ValueError), never a traceback or a NaN result."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import kneebayes
from conftest import ISSUE13_CAUSES, without_causes
from kneebayes import (
    ContradictoryEvidenceError,
    EvidenceError,
    ImpossibleEvidenceError,
    InvalidAgeError,
    KneeBayesError,
    Model,
    UnknownIdError,
)
from kneebayes._engine import UNKNOWN, EvidenceArrays, ExactEngine


def _shipped_diagnose(model: Model) -> Callable[..., Any]:
    return kneebayes.diagnose


def _model_diagnose(model: Model) -> Callable[..., Any]:
    return model.diagnose


#: Both entry points: the module-level shortcut and a loaded model's method.
ENTRY_POINTS = pytest.mark.parametrize("entry", [_model_diagnose, _shipped_diagnose], ids=["model", "shortcut"])


def refused(call: Callable[[], object], kind: type[KneeBayesError] = KneeBayesError) -> KneeBayesError:
    """Run ``call``, check it raises ``kind`` (a KneeBayesError and a ValueError), and return the error."""
    with pytest.raises(kind) as info:
        result = call()
        pytest.fail(f"no error; got {result!r}")
    err = info.value
    assert isinstance(err, KneeBayesError)
    assert isinstance(err, ValueError)
    assert "\n" not in str(err)
    return err


# ---- ids ------------------------------------------------------------------------------------


@ENTRY_POINTS
@pytest.mark.parametrize(
    ("present", "absent", "typo", "suggestion"),
    [
        (["lump_behnd_knee"], None, "lump_behnd_knee", "lump_behind_knee"),
        (["stiffness"], ["fevr"], "fevr", "fever"),
        (["recent_imobility"], None, "recent_imobility", "recent_immobility"),
    ],
)
def test_unknown_id_suggests_the_closest(
    model: Model, entry: Callable[[Model], Any], present: list[str], absent: list[str] | None, typo: str,
    suggestion: str,
) -> None:
    """A misspelt id raises UnknownIdError naming it and suggesting the closest valid id."""
    err = refused(lambda: entry(model)(present=present, absent=absent), UnknownIdError)
    assert repr(typo) in str(err)
    assert f"did you mean {suggestion!r}" in str(err)


def test_unrelated_unknown_id_lists_valid_ids(model: Model) -> None:
    """An id close to nothing raises UnknownIdError listing the valid ids."""
    err = refused(lambda: model.diagnose(present=["xyzzy"]), UnknownIdError)
    assert "valid ids are:" in str(err) and "lump_behind_knee" in str(err)


@ENTRY_POINTS
def test_same_id_present_and_absent_is_contradictory(model: Model, entry: Callable[[Model], Any]) -> None:
    """The same id both present and absent raises ContradictoryEvidenceError naming it."""
    err = refused(lambda: entry(model)(present=["fever", "swelling"], absent=["swelling"]),
                  ContradictoryEvidenceError)
    assert "'swelling'" in str(err)


@ENTRY_POINTS
@pytest.mark.parametrize("where", ["present", "absent"])
def test_cause_given_as_finding_is_refused(model: Model, entry: Callable[[Model], Any], where: str) -> None:
    """A cause id reported as a finding raises UnknownIdError saying it is a cause."""
    err = refused(lambda: entry(model)(**{where: ["dvt"]}), UnknownIdError)
    assert "'dvt' is a cause" in str(err)


# ---- types of the lists ------------------------------------------------------------------------


@ENTRY_POINTS
@pytest.mark.parametrize("where", ["present", "absent"])
def test_plain_string_instead_of_list(model: Model, entry: Callable[[Model], Any], where: str) -> None:
    """A single string instead of a list raises EvidenceError showing how to write the list."""
    err = refused(lambda: entry(model)(**{where: "fever"}), EvidenceError)
    assert f"{where}=['fever']" in str(err)


@pytest.mark.parametrize("items", [[1], [None], ["fever", 2.5], [b"fever"], [["fever"]]], ids=repr)
def test_non_string_items_are_refused(model: Model, items: list[object]) -> None:
    """A list holding something other than id strings raises EvidenceError."""
    err = refused(lambda: model.diagnose(present=items), EvidenceError)
    assert "must hold id strings" in str(err)


@pytest.mark.parametrize("value", [5, 3.0, object()], ids=["int", "float", "object"])
def test_non_iterable_evidence_is_refused(model: Model, value: object) -> None:
    """Something that is not a list at all raises EvidenceError."""
    err = refused(lambda: model.diagnose(absent=value), EvidenceError)  # type: ignore[arg-type]
    assert "must be a list of ids" in str(err)


def test_bytes_instead_of_list_is_refused(model: Model) -> None:
    """A bytes object is not taken for a list of ids."""
    refused(lambda: model.diagnose(present=b"fever"), EvidenceError)  # type: ignore[arg-type]


# ---- age ------------------------------------------------------------------------------------------


BAD_AGES = [-1, -0.001, 120.5, 121, 1e9, math.nan, math.inf, -math.inf, "58", "", True, False, np.bool_(True),
            complex(40, 0), [40]]


@ENTRY_POINTS
@pytest.mark.parametrize("age", BAD_AGES, ids=repr)
def test_bad_age_is_refused(model: Model, entry: Callable[[Model], Any], age: object) -> None:
    """An age that is negative, above 120, NaN, infinite, text, a bool or not a number raises InvalidAgeError."""
    err = refused(lambda: entry(model)(present=["stiffness"], age=age), InvalidAgeError)
    assert "'age'" in str(err)


@pytest.mark.parametrize("age", [0, 0.0, 17.5, 120, np.int64(64), np.float32(30.5)], ids=repr)
def test_good_ages_at_the_edges_are_accepted(model: Model, age: object) -> None:
    """Ages from 0 to 120 inclusive, numpy numbers included, are accepted and give finite posteriors."""
    result = model.diagnose(present=["stiffness"], age=age)  # type: ignore[arg-type]
    assert result.age == float(age)  # type: ignore[arg-type]
    assert np.isfinite(result.probabilities.to_numpy()).all()


# ---- engine -------------------------------------------------------------------------------------------


def test_unknown_engine_is_a_value_error_naming_it(model: Model) -> None:
    """An unknown engine name raises a ValueError that names it and the valid engines."""
    with pytest.raises(ValueError, match="'torch'") as info:
        model.diagnose(present=["stiffness"], engine="torch")  # type: ignore[arg-type]
    assert "'numpy'" in str(info.value) and "'pgmpy'" in str(info.value)


def test_unknown_engine_is_a_kneebayes_error(model: Model) -> None:
    """An unknown engine name raises a KneeBayesError, like every other bad argument."""
    with pytest.raises(ValueError) as info:
        model.diagnose(present=["stiffness"], engine="torch")  # type: ignore[arg-type]
    assert isinstance(info.value, KneeBayesError)


# ---- diagnose_many ---------------------------------------------------------------------------------------


def test_many_unknown_column_suggests_the_closest(model: Model) -> None:
    """An unknown column raises UnknownIdError with a suggestion."""
    frame = pd.DataFrame({"fever": [True], "lump_behnd_knee": [True]})
    err = refused(lambda: model.diagnose_many(frame), UnknownIdError)
    assert "did you mean 'lump_behind_knee'" in str(err)


def test_many_cause_column_is_refused(model: Model) -> None:
    """A cause column raises UnknownIdError saying causes are inferred."""
    err = refused(lambda: model.diagnose_many(pd.DataFrame({"dvt": [True]})), UnknownIdError)
    assert "cause" in str(err)


def test_many_non_string_column_is_refused(model: Model) -> None:
    """A column that is not named by a string raises UnknownIdError."""
    refused(lambda: model.diagnose_many(pd.DataFrame({0: [True]})), UnknownIdError)


@pytest.mark.parametrize("value", ["yes", 2, 0.5, -1, "True", "1", math.inf], ids=repr)
def test_many_bad_value_is_refused(model: Model, value: object) -> None:
    """A value other than True, False, 1, 0 or missing raises EvidenceError naming the column and row."""
    frame = pd.DataFrame({"fever": [True, value]}, index=["ann", "bob"])
    err = refused(lambda: model.diagnose_many(frame), EvidenceError)
    assert "'fever'" in str(err) and "'bob'" in str(err)


@pytest.mark.parametrize("age", [-5, 121, math.inf, "old", True], ids=repr)
def test_many_bad_age_is_refused(model: Model, age: object) -> None:
    """A bad value in the age column raises InvalidAgeError."""
    frame = pd.DataFrame({"fever": [True, False], "age": [40, age]})
    refused(lambda: model.diagnose_many(frame), InvalidAgeError)


def test_many_not_a_frame_is_refused(model: Model) -> None:
    """Something other than a DataFrame raises EvidenceError."""
    refused(lambda: model.diagnose_many([{"fever": True}]), EvidenceError)  # type: ignore[arg-type]


def test_many_missing_values_are_unknown_not_nan(model: Model) -> None:
    """Missing values (None, NaN, pandas NA) count as unknown and every posterior stays finite."""
    frame = pd.DataFrame({
        "fever": pd.array([True, None, False], dtype="boolean"),
        "swelling": [1.0, math.nan, 0.0],
        "smoking": [None, True, False],
        "age": pd.array([None, 30, 75], dtype="Int64"),
    })
    out = model.diagnose_many(frame)
    assert np.isfinite(out[list(model.causes)].to_numpy()).all()
    assert list(out["triage"][:1]) == ["urgent"]


def test_many_repeated_column_is_refused(model: Model) -> None:
    """A frame naming the same id twice raises a KneeBayesError, not an AttributeError."""
    frame = pd.DataFrame([[True, False]], columns=["fever", "fever"])
    refused(lambda: model.diagnose_many(frame), EvidenceError)


@pytest.mark.parametrize("chunk_size", [0, -1])
def test_many_bad_chunk_size_is_refused(model: Model, chunk_size: int) -> None:
    """A chunk size below 1 raises a ValueError instead of returning unset posteriors."""
    with pytest.raises(ValueError, match="chunk_size"):
        model.diagnose_many(pd.DataFrame({"fever": [True]}), chunk_size=chunk_size)


# ---- impossible evidence -------------------------------------------------------------------------


def _no_fever_model(model: Model) -> Model:
    """Return the shipped model with fever made impossible (no leak, no cause produces it) by hand."""
    p = model.parameters
    f = p.findings.index("fever")
    leak, q = p.leak.copy(), p.q.copy()
    leak[f], q[:, f] = 0.0, 0.0
    return Model(model.priors, dataclasses.replace(p, leak=leak, q=q))


def test_impossible_evidence_raises_instead_of_nan(model: Model) -> None:
    """Evidence of probability zero raises ImpossibleEvidenceError through diagnose, not a NaN result."""
    impossible = _no_fever_model(model)
    with np.errstate(divide="ignore", invalid="ignore"):  # the hand-made parameters hold log(0) on purpose
        err = refused(lambda: impossible.diagnose(present=["fever", "stiffness"]), ImpossibleEvidenceError)
    assert "probability zero" in str(err)


def test_engine_guard_names_the_impossible_rows(model: Model) -> None:
    """The exact engine's guard raises ImpossibleEvidenceError naming only the impossible rows, across chunks.

    Chunks of 64 patients or more take the conditioned contraction, smaller ones the plain one: both are checked.
    """
    p = _no_fever_model(model).parameters
    n = 70
    findings = np.full((n, len(p.findings)), UNKNOWN, dtype=np.int8)
    findings[[3, 66], p.findings.index("fever")] = 1
    ev = EvidenceArrays(findings, np.full((n, len(p.risk_factors)), UNKNOWN, dtype=np.int8),
                        np.arange(n, dtype=np.int64) % len(p.age_bands))
    with np.errstate(divide="ignore", invalid="ignore"):  # the hand-made parameters hold log(0) on purpose
        engine = ExactEngine(p)
        with pytest.raises(ImpossibleEvidenceError, match=r"row\(s\) 3 ") as info:
            engine.posteriors(ev, chunk_size=2)
        assert isinstance(info.value, ValueError)
        with pytest.raises(ImpossibleEvidenceError, match=r"row\(s\) 3, 66 "):
            engine.posteriors(ev, chunk_size=100)
        fine = engine.posteriors(ev.take(np.arange(3)))
    assert np.isfinite(fine).all()


def _underflowing_model(folder: Path | None = None) -> Model:
    """Build valid but extreme priors: every finding near-certain whatever the causes.

    Every leak is 1 - 1e-13 and every link 1 - 1e-14, so a person who denies all
    the findings has probability below 1e-308 (log below -811): it underflows in
    linear space. (Odds ratios are capped at 1e4, so causes cannot be forced
    to near-certainty at one age instead, as an earlier version of this test did.)
    """
    priors = kneebayes.load_priors(folder)
    frame = priors.to_frame()
    for target in frame.loc[frame["kind"] == "finding_probability", "target"]:  # links first: above every leak
        priors = priors.with_value("finding_probability", target, 1 - 1e-14, low=1 - 2e-14, high=1 - 1e-14)
    for target in frame.loc[frame["kind"] == "leak", "target"]:
        priors = priors.with_value("leak", target, 1 - 1e-13, high=1 - 1e-13)
    return Model.from_priors(priors)


@pytest.fixture(scope="module")
def underflowing_model(tmp_path_factory: pytest.TempPathFactory) -> Model:
    """Return a model in which every finding absent at age 80 underflows in linear space.

    It has the shipped model's 12 original causes, so the engine enumerates them and redoes underflowing rows
    in log space; the 18-cause shipped model takes the factored engine (see the test below).
    """
    folder = without_causes(kneebayes.shipped_priors_path(), tmp_path_factory.mktemp("under") / "priors",
                            ISSUE13_CAUSES)
    return _underflowing_model(folder)


def test_underflowing_evidence_with_the_factored_engine_stays_finite(underflowing_model: Model) -> None:
    """On the 18-cause shipped model (the factored engine) the same extreme evidence gives finite posteriors.

    They equal the factored engine's and the enumeration's on the 12-cause version of the same
    extreme priors, whose enumeration redoes the row in log space independently.
    """
    extreme = _underflowing_model()
    assert extreme._engine.method == "factored"
    result = extreme.diagnose(absent=list(extreme.parameters.findings), age=80)
    values = result.probabilities.to_numpy()
    assert np.isfinite(values).all() and ((values >= 0) & (values <= 1)).all()
    arrays = extreme._arrays([extreme.evidence(absent=list(extreme.parameters.findings), age=80)])
    assert float(extreme._engine.log_evidence(arrays)[0]) < -745  # below linear range, yet finite
    small = underflowing_model.parameters
    arrays = underflowing_model._arrays([underflowing_model.evidence(absent=list(small.findings), age=80)])
    factored, enumerated = ExactEngine(small, method="factored"), ExactEngine(small, method="enumerate")
    assert np.abs(factored.posteriors(arrays) - enumerated.posteriors(arrays)).max() < 1e-10
    assert abs(float(factored.log_evidence(arrays)[0]) - float(enumerated.log_evidence(arrays)[0])) < 1e-9


@pytest.mark.filterwarnings("ignore:invalid value encountered in divide:RuntimeWarning")
def test_underflowing_evidence_with_pgmpy_raises_instead_of_nan(underflowing_model: Model) -> None:
    """Evidence whose probability underflows to zero in pgmpy raises ImpossibleEvidenceError, not NaN."""
    absent = list(underflowing_model.parameters.findings)
    refused(lambda: underflowing_model.diagnose(absent=absent, age=80, engine="pgmpy"), ImpossibleEvidenceError)


def test_underflowing_evidence_with_numpy_stays_finite(underflowing_model: Model) -> None:
    """The log-space numpy engine gives finite posteriors in [0, 1] for the same extreme evidence."""
    absent = list(underflowing_model.parameters.findings)
    result = underflowing_model.diagnose(absent=absent, age=80)
    values = result.probabilities.to_numpy()
    assert np.isfinite(values).all()
    # up to one rounding step above 1: see test_certain_posterior_is_at_most_1 in test_properties.py
    assert ((values >= 0) & (values <= 1 + 1e-15)).all()
    arrays = underflowing_model._arrays([underflowing_model.evidence(absent=absent, age=80)])
    assert float(underflowing_model._engine.log_evidence(arrays)[0]) < -745  # it really underflows in linear space


def test_underflowing_evidence_with_pgmpy_is_quiet(underflowing_model: Model) -> None:
    """Refusing underflowing evidence with pgmpy emits no numpy RuntimeWarning."""
    absent = list(underflowing_model.parameters.findings)
    refused(lambda: underflowing_model.diagnose(absent=absent, age=80, engine="pgmpy"), ImpossibleEvidenceError)


# ---- never NaN --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "evidence",
    [
        {},
        {"present": [], "absent": []},
        {"present": ["fever", "fever"]},
        {"present": ("stiffness",), "absent": {"fever"}},
        {"present": iter(["calf_swelling", "recent_immobility"]), "age": 64},
    ],
    ids=["nothing", "empty_lists", "repeated_id", "tuple_and_set", "iterator"],
)
def test_odd_but_valid_evidence_gives_finite_results(model: Model, evidence: dict[str, Any]) -> None:
    """Empty lists, repeated ids, tuples, sets and iterators are accepted and give finite posteriors."""
    result = model.diagnose(**evidence)
    values = result.probabilities.to_numpy()
    assert np.isfinite(values).all()
    assert ((values >= 0) & (values <= 1)).all()


def test_underflowing_rows_of_a_batch_and_a_sweep_match_one_by_one(underflowing_model: Model) -> None:
    """Rows that underflow in a conditioned batch or a cause sweep are redone exactly, not returned as NaN.

    The batch (64+ rows: the conditioned plan) equals diagnose() row by row, and
    each value of an odds-ratio sweep equals the model rebuilt with that value.
    """
    absent = list(underflowing_model.parameters.findings)
    frame = pd.DataFrame({f: [False] * 70 for f in absent})
    frame["age"] = [80.0, 30.0] * 35
    batch = underflowing_model.diagnose_many(frame)[list(underflowing_model.causes)].to_numpy(dtype=float)
    for i in (0, 1):
        single = underflowing_model.diagnose(absent=absent, age=frame["age"][i]).probabilities
        np.testing.assert_allclose(batch[i], single.loc[list(underflowing_model.causes)].to_numpy(), atol=1e-12)
    swept = underflowing_model.sweep(frame.iloc[:4], "odds_ratio", "dvt|smoking", [1.5, 4.0])
    for value in (1.5, 4.0):
        edited = underflowing_model.priors.with_value("odds_ratio", "dvt|smoking", value, high=4.0)
        expected = Model.from_priors(edited).diagnose_many(frame.iloc[:4])[list(underflowing_model.causes)]
        assert np.isfinite(swept.loc[value].to_numpy()).all()
        np.testing.assert_allclose(swept.loc[value].to_numpy(), expected.to_numpy(dtype=float), atol=1e-12)
