"""Evidence, numbers and arguments of the wrong shape are refused with a clear KneeBayesError.

Issue 9, items 6 and 9 (Python side), and issue 12's unknown-id attributes.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import kneebayes
from kneebayes import (
    ContradictoryEvidenceError,
    EvidenceError,
    InvalidAgeError,
    KneeBayesError,
    Model,
    OptionError,
    PriorsError,
    UnknownIdError,
)
from kneebayes._evaluate import evaluate_by_split


def refused(call: Callable[[], object], kind: type[KneeBayesError]) -> KneeBayesError:
    """Run ``call``; check it raises ``kind`` (a KneeBayesError and a ValueError, one line); return the error."""
    with pytest.raises(KneeBayesError) as info:
        result = call()
        pytest.fail(f"no error; got {result!r}")
    err = info.value
    assert type(err) is kind, (type(err), err)
    assert isinstance(err, ValueError)
    assert "\n" not in str(err)
    return err


# ---- item 6: evidence shapes -------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["present", "absent"])
def test_dict_of_answers_is_refused(model: Model, where: str) -> None:
    """A dict id -> True/False is not read by its keys: it is refused, saying how to pass answers."""
    answers = {"chest_pain": True, "difficulty_breathing": True}
    err = refused(lambda: model.diagnose(**{where: answers}), EvidenceError)  # type: ignore[arg-type]
    text = str(err)
    assert f"'{where}'" in text and "dict" in text
    assert "present=[" in text and "absent=[" in text


def test_dict_of_answers_is_refused_by_the_shortcut() -> None:
    """The module-level diagnose refuses the dict too (the case that lost an emergency)."""
    refused(lambda: kneebayes.diagnose(absent={"chest_pain": True, "difficulty_breathing": True}),  # type: ignore[arg-type]
            EvidenceError)


def test_series_of_answers_is_refused(model: Model) -> None:
    """A pandas Series of True/False indexed by ids is refused with the way to turn it into lists."""
    answers = pd.Series({"chest_pain": True, "fever": False})
    err = refused(lambda: model.diagnose(present=answers), EvidenceError)  # type: ignore[arg-type]
    assert "Series" in str(err) and "diagnose_many" in str(err)


def test_frame_is_refused(model: Model) -> None:
    """A DataFrame (whose iteration yields column names) is refused, pointing to diagnose_many."""
    frame = pd.DataFrame({"chest_pain": [True]})
    err = refused(lambda: model.diagnose(present=frame), EvidenceError)  # type: ignore[arg-type]
    assert "DataFrame" in str(err) and "diagnose_many" in str(err)


@pytest.mark.parametrize("value", [b"fever", bytearray(b"fever"), np.array([True, False])],
                         ids=["bytes", "bytearray", "bool_array"])
def test_bytes_and_bool_arrays_are_refused_by_name(model: Model, value: object) -> None:
    """Bytes and boolean arrays are refused with a message naming what was given."""
    err = refused(lambda: model.diagnose(present=value), EvidenceError)  # type: ignore[arg-type]
    assert type(value).__name__ in str(err) or "bool" in str(err)


@pytest.mark.parametrize(
    "make",
    [
        lambda: {"chest_pain", "difficulty_breathing"},
        lambda: frozenset({"chest_pain", "difficulty_breathing"}),
        lambda: np.array(["chest_pain", "difficulty_breathing"]),
        lambda: pd.Series(["chest_pain", "difficulty_breathing"]),
        lambda: pd.Index(["chest_pain", "difficulty_breathing"]),
        lambda: (i for i in ["chest_pain", "difficulty_breathing"]),
        lambda: {"chest_pain": 1, "difficulty_breathing": 1}.keys(),
    ],
    ids=["set", "frozenset", "str_array", "str_series", "index", "generator", "dict_keys"],
)
def test_collections_of_ids_work(model: Model, make: Callable[[], object]) -> None:
    """Sets, arrays, Series and Index of id strings, generators and dict keys are collections of ids: they work."""
    result = model.diagnose(present=make())  # type: ignore[arg-type]
    assert result.present == ("chest_pain", "difficulty_breathing")
    assert result.triage == "emergency"


# ---- issue 12: every unknown id, as attributes ---------------------------------------------------------


def test_every_unknown_id_is_listed_with_attributes(model: Model) -> None:
    """All unknown ids are named (not only the first) and exposed as .ids and .suggestions."""
    err = refused(lambda: model.diagnose(present=["fevr", "stiffness", "xyzzy"], absent=["lump_behnd_knee"]),
                  UnknownIdError)
    assert isinstance(err, UnknownIdError)
    assert err.ids == ("fevr", "xyzzy", "lump_behnd_knee")
    assert err.suggestions == {"fevr": ("fever",), "xyzzy": (), "lump_behnd_knee": ("lump_behind_knee",)}
    text = str(err)
    for word in ("'fevr'", "'xyzzy'", "'lump_behnd_knee'", "did you mean 'fever'", "did you mean 'lump_behind_knee'"):
        assert word in text


def test_cause_and_unknown_ids_together(model: Model) -> None:
    """A cause id and an unknown id in one call are both named."""
    err = refused(lambda: model.diagnose(present=["dvt", "fevr"]), UnknownIdError)
    assert isinstance(err, UnknownIdError)
    assert err.ids == ("dvt", "fevr") and "'dvt' is a cause" in str(err) and "'fevr'" in str(err)


def test_every_unknown_column_is_listed(model: Model) -> None:
    """diagnose_many names every unknown column, with .ids and .suggestions."""
    frame = pd.DataFrame({"fevr": [True], "fever": [True], "name": ["ann"]})
    err = refused(lambda: model.diagnose_many(frame), UnknownIdError)
    assert isinstance(err, UnknownIdError)
    assert err.ids == ("fevr", "name") and err.suggestions["fevr"] == ("fever",)
    assert "'fevr'" in str(err) and "'name'" in str(err)


# ---- item 6: number grammar in prior files --------------------------------------------------------------


def _edit(folder: Path, name: str, row_start: str, column: str, text: str) -> int:
    """Set one field of the row starting with ``row_start`` in a priors file; return its line number."""
    path = folder / name
    lines = path.read_text(encoding="utf-8").splitlines()
    header = next(i for i, line in enumerate(lines) if line and not line.startswith("#"))
    columns = lines[header].split(",")
    number = next(i for i, line in enumerate(lines) if line.startswith(row_start + ","))
    fields = lines[number].split(",")
    fields[columns.index(column)] = text
    lines[number] = ",".join(fields)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return number + 1


@pytest.mark.parametrize("text", ["4_5", "0_03", "1 000", "nan", "infinity", "0x1p-5", "1e", ".", "+", "١"],
                         ids=repr)
def test_numbers_outside_the_grammar_are_refused(text: str, tmp_path: Path) -> None:
    """Underscores, spaces, nan, infinity, hex floats and other text Python's float accepts are located problems."""
    folder = tmp_path / "mine"
    shutil.copytree(kneebayes.shipped_priors_path(), folder)
    line = _edit(folder, "cause_risks.csv", "dvt,smoking", "odds_ratio", f'"{text}"')
    with pytest.raises(PriorsError) as info:
        kneebayes.load_priors(folder)
    problems = [p for p in info.value.problems if p.file == "cause_risks.csv"]
    assert [(p.line, p.field) for p in problems] == [(line, "odds_ratio")], info.value.problems
    assert "written in decimal" in problems[0].rule


@pytest.mark.parametrize("text", ["2", "2.", "2.0", "+2.0", "0.2e1", "2E0", "20e-1"])
def test_numbers_in_the_grammar_are_read(text: str, tmp_path: Path) -> None:
    """Every form the documented grammar allows reads as the same number."""
    folder = tmp_path / "mine"
    shutil.copytree(kneebayes.shipped_priors_path(), folder)
    _edit(folder, "cause_risks.csv", "dvt,smoking", "high", "3")
    _edit(folder, "cause_risks.csv", "dvt,smoking", "odds_ratio", text)
    frame = kneebayes.load_priors(folder).to_frame().set_index(["kind", "target"])
    assert frame.loc[("odds_ratio", "dvt|smoking"), "value"] == 2.0


@pytest.mark.parametrize("text", ["4_5", "nan", "1e1_0", "0x20"], ids=repr)
def test_vignette_age_outside_the_grammar_is_refused(text: str, tmp_path: Path, model: Model) -> None:
    """A vignette age with underscores, nan or hex is a located vignette problem, not 45 or NaN."""
    path = tmp_path / "cases.csv"
    path.write_text(f"id,split,age,present,absent,diagnosis,alternatives,triage\na1,tune,{text},spasm,,cramp,,"
                    "self_care\n", encoding="utf-8")
    with pytest.raises(kneebayes.VignetteError) as info:
        kneebayes.load_vignettes(path, model)
    assert [(p.line, p.field, p.value) for p in info.value.problems] == [(2, "age", text)]


@pytest.mark.parametrize("text", ["4_5", "0x20", " 45"], ids=repr)
def test_cli_age_outside_the_grammar_is_refused(text: str, capsys: pytest.CaptureFixture[str]) -> None:
    """The command kneebayes diagnose --age 4_5 exits 2 instead of reading 45."""
    from kneebayes.cli import main

    with pytest.raises(SystemExit) as info:
        main(["diagnose", "--present", "spasm", "--age", text])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert repr(text) in err or text in err


# ---- item 9: wrong kinds, targets, columns and values ------------------------------------------------------


def test_ids_unknown_kind(model: Model) -> None:
    """Priors.ids with an unknown kind raises OptionError listing the kinds."""
    err = refused(lambda: model.priors.ids("causes"), OptionError)
    assert "'causes'" in str(err) and "'cause'" in str(err)


def test_with_value_unknown_kind(model: Model) -> None:
    """with_value with an unknown kind raises OptionError with a suggestion."""
    err = refused(lambda: model.priors.with_value("odd_ratio", "dvt|smoking", 2.0), OptionError)
    assert "'odd_ratio'" in str(err) and "did you mean 'odds_ratio'" in str(err)


def test_with_value_unknown_target(model: Model) -> None:
    """with_value with an unknown target raises UnknownIdError with a suggestion and .ids."""
    err = refused(lambda: model.priors.with_value("odds_ratio", "dvt|smokng", 2.0), UnknownIdError)
    assert isinstance(err, UnknownIdError)
    assert err.ids == ("dvt|smokng",) and "did you mean 'dvt|smoking'" in str(err)


def test_with_value_target_not_a_string(model: Model) -> None:
    """A tuple target raises OptionError showing the 'first|second' form."""
    err = refused(lambda: model.priors.with_value("odds_ratio", ("dvt", "smoking"), 2.0),  # type: ignore[arg-type]
                  OptionError)
    assert "'dvt|smoking'" in str(err)


@pytest.mark.parametrize("value", ["abc", None, [2.0], "2"], ids=repr)
def test_with_value_value_not_a_number(model: Model, value: object) -> None:
    """A value that is not a number raises OptionError naming it."""
    err = refused(lambda: model.priors.with_value("odds_ratio", "dvt|smoking", value), OptionError)  # type: ignore[arg-type]
    assert "'value'" in str(err)


@pytest.mark.parametrize("value", [float("nan"), float("inf")], ids=repr)
@pytest.mark.parametrize("where", ["value", "low", "high"])
def test_with_value_not_finite(model: Model, value: float, where: str) -> None:
    """NaN or infinity as the value or a bound raises OptionError naming the parameter."""
    arguments = {"value": 1.2, where: value}
    err = refused(lambda: model.priors.with_value("odds_ratio", "dvt|smoking", **arguments), OptionError)
    assert f"'{where}'" in str(err)


PATIENTS = pd.DataFrame({"spasm": [True], "fever": [False]})


@pytest.mark.parametrize(
    ("kind", "target", "error", "phrase"),
    [
        ("odd_ratio", "dvt|smoking", OptionError, "did you mean 'odds_ratio'"),
        ("leak", "fevr", UnknownIdError, "did you mean 'fever'"),
        ("leak", "fever|dvt", UnknownIdError, "'fever|dvt'"),
        ("finding_probability", "fever|dvtt", UnknownIdError, "did you mean 'fever|dvt'"),
        ("finding_probability", "fever", UnknownIdError, "'fever'"),
        ("base_rate", "dvtt", UnknownIdError, "did you mean 'dvt'"),
        ("odds_ratio", "dvt", UnknownIdError, "'dvt'"),
        ("prevalence", "smokin", UnknownIdError, "did you mean 'smoking'"),
    ],
)
def test_sweep_unknown_kind_or_target(model: Model, kind: str, target: str, error: type[KneeBayesError],
                                      phrase: str) -> None:
    """Model.sweep with an unknown kind or target raises OptionError or UnknownIdError, never KeyError or IndexError."""
    err = refused(lambda: model.sweep(PATIENTS, kind, target, [0.1, 0.2]), error)
    assert phrase in str(err)


@pytest.mark.parametrize("values", [["a"], [0.1, "x"], [[0.1, 0.2]], 0.5, None, [], [float("nan")]], ids=repr)
def test_sweep_bad_values(model: Model, values: object) -> None:
    """Model.sweep with values that are not a list of finite numbers raises OptionError, never a bare ValueError."""
    err = refused(lambda: model.sweep(PATIENTS, "leak", "fever", values), OptionError)  # type: ignore[arg-type]
    assert "'values'" in str(err)


def test_sweep_unknown_column(model: Model) -> None:
    """Model.sweep on a frame with an unknown column raises UnknownIdError naming it."""
    err = refused(lambda: model.sweep(pd.DataFrame({"fevr": [True]}), "leak", "fever", [0.1]), UnknownIdError)
    assert "did you mean 'fever'" in str(err)


CASES = pd.DataFrame(
    {"split": ["tune"], "present": [("spasm",)], "absent": [()], "age": [30.0], "diagnosis": ["cramp"],
     "alternatives": [()], "triage": ["self_care"]},
    index=pd.Index(["x1"], name="id"),
)


@pytest.mark.parametrize(
    ("change", "error", "phrase"),
    [
        ({"present": [("spasmm",)]}, UnknownIdError, "did you mean 'spasm'"),
        ({"absent": [("fevr",)]}, UnknownIdError, "did you mean 'fever'"),
        ({"diagnosis": ["cramps"]}, UnknownIdError, "did you mean 'cramp'"),
        ({"alternatives": [("dvtt",)]}, UnknownIdError, "did you mean 'dvt'"),
        ({"triage": ["soon"]}, OptionError, "'soon'"),
        ({"present": ["spasm sudden_onset"]}, OptionError, "tuple"),
        ({"age": [200.0]}, InvalidAgeError, "'age'"),
        ({"age": ["45"]}, InvalidAgeError, "'age'"),
        ({"present": [("fever",)], "absent": [("fever",)]}, ContradictoryEvidenceError, "both present and absent"),
    ],
    ids=["present", "absent", "diagnosis", "alternatives", "triage", "string_list", "age_range", "age_text",
         "contradiction"],
)
def test_evaluate_bad_frame(model: Model, change: dict[str, list[object]], error: type[KneeBayesError],
                            phrase: str) -> None:
    """Both evaluate and evaluate_by_split, given a frame with a bad id, cause, triage or age raise a KneeBayesError."""
    frame = CASES.copy()
    for column, values in change.items():
        frame[column] = pd.Series(values, index=frame.index, dtype=object)
    for call in (lambda: kneebayes.evaluate(model, frame), lambda: evaluate_by_split(model, frame)):
        err = refused(call, error)
        assert phrase in str(err) and "'x1'" in str(err)


def test_evaluate_missing_column(model: Model) -> None:
    """Function evaluate, given a frame without a needed column raises OptionError naming it."""
    err = refused(lambda: kneebayes.evaluate(model, CASES.drop(columns=["triage"])), OptionError)
    assert "'triage'" in str(err)


def test_evaluate_not_a_frame_or_path(model: Model) -> None:
    """Function evaluate, given something that is neither a DataFrame nor a path raises OptionError."""
    err = refused(lambda: kneebayes.evaluate(model, [1, 2]), OptionError)  # type: ignore[arg-type]
    assert "'vignettes'" in str(err)


def test_evaluate_bad_split(model: Model) -> None:
    """An unknown split stays an OptionError naming the valid ones."""
    err = refused(lambda: kneebayes.evaluate(model, CASES, split="test"), OptionError)
    assert "'tune'" in str(err)


# ---- the other public functions' arguments -------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "phrase"),
    [
        (lambda m: kneebayes.load_priors(123), "'path'"),
        (lambda m: kneebayes.load_model(["priors"]), "'path'"),
        (lambda m: Model.from_priors(None), "'priors'"),
        (lambda m: m.priors.with_value("base_rate", "dvt", 0.03, source=3), "'source'"),
        (lambda m: kneebayes.evaluate(None, CASES), "'model'"),
        (lambda m: kneebayes.load_vignettes("validation/vignettes.csv", None), "'model'"),
        (lambda m: kneebayes.load_vignettes(3, m), "'path'"),
        (lambda m: evaluate_by_split(m, "validation/vignettes.csv"), "'vignettes'"),
    ],
    ids=["load_priors_int", "load_model_list", "from_priors_none", "with_value_source_int", "evaluate_model_none",
         "load_vignettes_model_none", "load_vignettes_path_int", "evaluate_by_split_path"],
)
def test_wrong_argument_types_are_option_errors(model: Model, call: Callable[[Model], object], phrase: str) -> None:
    """Arguments of the wrong type raise OptionError naming the parameter, not TypeError or AttributeError."""
    err = refused(lambda: call(model), OptionError)
    assert phrase in str(err)


@pytest.mark.parametrize("age", ["45", "4_5", " 45"], ids=repr)
def test_many_text_age_is_refused(model: Model, age: str) -> None:
    """An age column holding text (even digits) is refused: diagnose_many reads numbers only, never parses text."""
    frame = pd.DataFrame({"spasm": [True], "age": pd.Series([age], dtype=object)})
    refused(lambda: model.diagnose_many(frame), kneebayes.InvalidAgeError)


def test_located_errors_survive_pickling(model: Model, tmp_path: Path) -> None:
    """UnknownIdError, PriorsError and VignetteError keep their attributes through pickle (process pools)."""
    import pickle

    with pytest.raises(UnknownIdError) as unknown:
        model.diagnose(present=["fevr"])
    with pytest.raises(PriorsError) as priors:
        kneebayes.load_priors(tmp_path / "nowhere")
    with pytest.raises(kneebayes.VignetteError) as vignettes:
        kneebayes.load_vignettes(tmp_path / "nowhere.csv", model)
    for err, attributes in ((unknown.value, ("ids", "suggestions")), (priors.value, ("folder", "problems")),
                            (vignettes.value, ("path", "problems"))):
        copy = pickle.loads(pickle.dumps(err))
        assert type(copy) is type(err) and str(copy) == str(err)
        for name in attributes:
            assert getattr(copy, name) == getattr(err, name)
