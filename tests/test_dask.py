"""Dask: a Dask DataFrame scored partition by partition on a local cluster, and draws spread over its workers."""

from __future__ import annotations

import pickle
import sys
from collections.abc import Iterator

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest
from distributed import Client, LocalCluster

import kneebayes
from kneebayes._synthetic import symptom_checker_evidence
from kneebayes.analysis import uncertainty


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    """Two worker processes of one thread: the model, the tasks and the errors cross process boundaries."""
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as running:
        yield running


def patients(model: kneebayes.Model, n: int, seed: int) -> pd.DataFrame:
    """Symptom-checker answers (3 present, 4 absent ids), plus ages and sexes, some missing, under string ids.

    Answers are in the nullable ``boolean`` dtype, and one column as floats 1.0/0.0/NaN.
    """
    p = model.parameters
    ev = symptom_checker_evidence(p, n, seed=seed)
    states = np.concatenate([ev.findings, ev.risk_factors], axis=1)
    ids = p.findings + p.risk_factors
    frame = pd.DataFrame({ident: pd.array(np.where(states[:, j] == 1, True, np.where(states[:, j] == 0, False, None)),
                                          dtype="boolean")
                          for j, ident in enumerate(ids) if ident != p.sex and (states[:, j] >= 0).any()},
                         index=pd.Index([f"p{i:03d}" for i in range(n)], name="patient"))
    first = frame.columns[0]
    frame[first] = frame[first].astype("Float64").astype(float)
    rng = np.random.default_rng(seed)
    frame["age"] = np.where(rng.random(n) < 0.7, rng.integers(18, 90, n).astype(float), np.nan)
    frame["sex"] = pd.array(rng.choice(["female", "male", None], n), dtype="str")
    return frame


# ---- a Dask DataFrame ----------------------------------------------------------------------------


@pytest.mark.parametrize("options", [{}, {"chunk_size": 3, "extra": "ignore"}])
def test_a_dask_frame_is_scored_like_the_pandas_frame(model: kneebayes.Model, client: Client,
                                                      options: dict[str, object]) -> None:
    """On a cluster, every partition's rows get the pandas result: same values, columns, dtypes, index and order."""
    frame = patients(model, 36, seed=1)
    if options.get("extra") == "ignore":
        frame.insert(2, "record", np.arange(len(frame)))
    source = dd.from_pandas(frame, npartitions=4)
    lazy = model.diagnose_many(source, **options)  # type: ignore[arg-type]
    # the same rows as Dask holds them (Dask stores the string index as pyarrow strings)
    expected = model.diagnose_many(source.compute(scheduler="sync"), **options)  # type: ignore[arg-type]
    assert isinstance(lazy, dd.DataFrame) and lazy.npartitions == 4
    pd.testing.assert_series_equal(lazy.dtypes, expected.dtypes)  # the meta, before computing
    got = lazy.compute()
    pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=0, atol=1e-12)
    assert got.index.tolist() == frame.index.tolist()
    # the rows exercise the triage and the red flags, not only the posteriors
    assert expected["triage"].nunique() >= 3 and (expected["red_flags"] != "").any()


def test_the_output_columns_are_known_before_computing_also_for_an_empty_frame(model: kneebayes.Model) -> None:
    """The result's meta is diagnose_many of the empty frame, whose text columns stay text (not float)."""
    frame = patients(model, 6, seed=2)
    full, empty = model.diagnose_many(frame), model.diagnose_many(frame.iloc[:0])
    pd.testing.assert_series_equal(empty.dtypes, full.dtypes)
    assert empty.index.name == "patient" and empty.empty
    source = dd.from_pandas(frame, npartitions=2)
    pd.testing.assert_series_equal(model.diagnose_many(source).dtypes, full.dtypes)
    # partitions left empty by a filter give an empty result of the same dtypes
    none = model.diagnose_many(source[source["age"] > 200]).compute(scheduler="sync")
    assert none.empty
    pd.testing.assert_series_equal(none.dtypes, full.dtypes)


def test_the_model_is_one_task_of_the_graph(model: kneebayes.Model, monkeypatch: pytest.MonkeyPatch) -> None:
    """Sending each task of a five-partition graph pickles the model once: the partitions refer to it by key."""
    calls = []
    state = kneebayes.Model.__getstate__

    def counted(self: kneebayes.Model) -> dict[str, object]:
        calls.append(1)
        return state(self)

    monkeypatch.setattr(kneebayes.Model, "__getstate__", counted)
    lazy = model.diagnose_many(dd.from_pandas(patients(model, 10, seed=3), npartitions=5))
    graph = dict(lazy.__dask_graph__())
    for task in graph.values():
        pickle.dumps(task)
    assert lazy.npartitions == 5 and len(calls) == 1


def test_a_pickled_model_leaves_its_engine_behind(enumerable_model: kneebayes.Model) -> None:
    """A model that has scored pickles (its engine holds a lock) without the engine, and scores the same again."""
    frame = patients(enumerable_model, 8, seed=4)
    before = enumerable_model.diagnose_many(frame)
    assert "_engine" in vars(enumerable_model)
    copy = pickle.loads(pickle.dumps(enumerable_model))
    assert "_engine" not in vars(copy) and copy.causes == enumerable_model.causes
    pd.testing.assert_frame_equal(copy.diagnose_many(frame), before, check_exact=False, rtol=0, atol=1e-12)


def test_unknown_columns_are_refused_before_anything_is_computed(model: kneebayes.Model) -> None:
    """A misspelt id column raises UnknownIdError, with its suggestion, when the lazy result is built."""
    frame = dd.from_pandas(pd.DataFrame({"fevr": [1.0, 0.0], "stiffness": [1.0, np.nan]}), npartitions=2)
    with pytest.raises(kneebayes.UnknownIdError) as caught:
        model.diagnose_many(frame)
    assert caught.value.suggestions == {"fevr": ("fever",)}


def test_columns_dask_turned_into_text_are_refused_with_the_fix(model: kneebayes.Model) -> None:
    """Dask turns an object column of True/None into text ('True'): refused at once, saying how to keep it."""
    frame = pd.DataFrame({"fever": [True, None, False], "stiffness": [1.0, 0.0, np.nan]})
    with pytest.raises(kneebayes.EvidenceError, match="'fever'.*convert-string.*'boolean'"):
        model.diagnose_many(dd.from_pandas(frame, npartitions=2))
    with dask.config.set({"dataframe.convert-string": False}):  # the fix the message gives
        kept = dd.from_pandas(frame, npartitions=2)
    pd.testing.assert_frame_equal(model.diagnose_many(kept).compute(scheduler="sync"), model.diagnose_many(frame))


@pytest.mark.parametrize(("column", "value", "error", "text"), [
    ("pain_bending", 3.0, kneebayes.EvidenceError, "column 'pain_bending', row 'p007': must be True, False, 1, 0"),
    ("age", 130.0, kneebayes.InvalidAgeError, "130"),
    ("sex", "F", kneebayes.InvalidSexError, "column 'sex', row 'p007'"),
])
def test_a_bad_value_raises_its_own_error_naming_the_partition(
        model: kneebayes.Model, client: Client, column: str, value: object, error: type[Exception],
        text: str) -> None:
    """A bad value found on a worker comes back as the same KneeBayesError subclass, with the partition and row."""
    frame = patients(model, 12, seed=5)
    frame["pain_bending"] = 1.0
    frame.loc["p007", column] = value
    lazy = model.diagnose_many(dd.from_pandas(frame, npartitions=3))
    with pytest.raises(error) as caught:
        lazy.compute()
    assert type(caught.value) is error
    assert str(caught.value).startswith("partition 1 of 3 (index from 'p004'): ") and text in str(caught.value)


def test_progress_is_refused_for_a_lazy_frame(model: kneebayes.Model) -> None:
    """progress=True cannot show a bar for a lazy frame: OptionError names Dask's own progress bars."""
    frame = dd.from_pandas(pd.DataFrame({"fever": [1.0]}), npartitions=1)
    with pytest.raises(kneebayes.OptionError, match="ProgressBar"):
        model.diagnose_many(frame, progress=True)


def test_a_dask_frame_elsewhere_is_refused_saying_where_it_goes(enumerable_model: kneebayes.Model) -> None:
    """A sweep of a Dask DataFrame says that only diagnose_many takes one (not 'Got DataFrame')."""
    frame = dd.from_pandas(pd.DataFrame({"fever": [1.0]}), npartitions=1)
    with pytest.raises(kneebayes.EvidenceError, match=r"Got a Dask DataFrame, which only diagnose_many takes"):
        enumerable_model.sweep(frame, "leak", "fever", [0.01, 0.02])  # type: ignore[arg-type]


# ---- parameter draws on a cluster ------------------------------------------------------------------


def assert_same_bands(one: kneebayes.analysis.Uncertainty, other: kneebayes.analysis.Uncertainty) -> None:
    """Assert two uncertainty results agree: every table equal, numbers to 1e-12."""
    assert (one.point_top, one.point_triage, one.draws, one.seed) == (
        other.point_top, other.point_triage, other.draws, other.seed)
    for name in ("table", "changes", "samples"):
        pd.testing.assert_frame_equal(getattr(one, name), getattr(other, name), check_exact=False, rtol=0, atol=1e-12)


def test_draws_on_a_cluster_equal_the_local_run(enumerable_model: kneebayes.Model, client: Client) -> None:
    """uncertainty(client=) gives the local bands, draw samples included, for one patient and for a table."""
    one = {"present": ["calf_swelling", "recent_immobility"], "absent": ["fever"], "age": 64}
    local = uncertainty(enumerable_model, **one, draws=30, seed=7)  # type: ignore[arg-type]
    spread = uncertainty(enumerable_model, **one, draws=30, seed=7, client=client)  # type: ignore[arg-type]
    assert_same_bands(spread, local)
    assert len(local.samples) == 30 and local.samples.std().max() > 0.01  # the draws moved the posteriors
    table = patients(enumerable_model, 4, seed=8).drop(columns=["sex"])
    assert_same_bands(uncertainty(enumerable_model, patients=table, draws=12, seed=1, client=client),
                      uncertainty(enumerable_model, patients=table, draws=12, seed=1))


def test_a_client_must_be_a_distributed_client(enumerable_model: kneebayes.Model,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Anything but a Client is refused; without distributed installed, the error names the extra to install."""
    with pytest.raises(kneebayes.OptionError, match="must be a dask.distributed Client.*str"):
        uncertainty(enumerable_model, present=["spasm"], draws=5, client="tcp://127.0.0.1:8786")
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed now fails
    with pytest.raises(kneebayes.OptionError, match=r"kneebayes\[dask\]"):
        uncertainty(enumerable_model, present=["spasm"], draws=5, client=object())
