"""The exact numpy engine: pgmpy agreement on random small models, the mixture identity, batches."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kneebayes
from conftest import write_priors
from kneebayes._contraction import ConditionedPlan, Joint, network
from kneebayes._engine import UNKNOWN, EvidenceArrays

REF = "paper2020,A Author,2020,A paper,J Test,abstract,made-up test figures\n"


@st.composite
def small_models(draw: st.DrawFn) -> dict[str, str]:
    """Random valid priors folders: 1-4 causes, 0-3 risk factors, 1-4 findings, random links and numbers."""
    n_c, n_r, n_f = draw(st.integers(1, 4)), draw(st.integers(0, 3)), draw(st.integers(1, 4))
    prob = st.floats(0.01, 0.9)
    causes, rfs, fs = [f"c{i}" for i in range(n_c)], [f"r{i}" for i in range(n_r)], [f"f{i}" for i in range(n_f)]
    vocab = ["kind,id,label,question"] + [f"cause,{c},{c}," for c in causes] + [f"symptom,{f},{f},{f}?" for f in fs]
    vocab += [f"risk_factor,{r},{r},{r}?" for r in rfs]
    two_bands = draw(st.booleans())
    bands = ["id,min_age,max_age,prevalence,low,high,source,evidence"]
    band_ids = ["young", "old"] if two_bands else ["all"]
    if two_bands:
        share = draw(st.floats(0.1, 0.9))
        bands += [f"young,0,50,{share!r},0.01,0.99,paper2020,direct",
                  f"old,50,121,{1 - share!r},0.01,0.99,paper2020,direct"]
    else:
        bands += ["all,0,121,1.0,1.0,1.0,paper2020,direct"]
    odds = ["cause,factor,odds_ratio,low,high,source,evidence"]
    for i, c in enumerate(causes):
        for factor in rfs + band_ids[1:] + causes[:i]:  # earlier causes only: acyclic
            if draw(st.booleans()):
                odds.append(f"{c},{factor},{draw(st.floats(0.2, 8.0))!r},0.01,100,paper2020,direct")
    leaks = {f: draw(st.floats(0.001, 0.3)) for f in fs}
    links = ["finding,cause,probability,low,high,source,evidence"]
    for f in fs:
        for c in causes:
            if draw(st.booleans()):
                p = draw(st.floats(leaks[f] + 0.01, 0.99))
                links.append(f"{f},{c},{p!r},{leaks[f] + 0.001!r},0.999,paper2020,direct")
    return {
        "vocabulary.csv": "\n".join(vocab) + "\n",
        "references.csv": "key,authors,year,title,journal,checked,numbers\n" + REF,
        "causes.csv": "id,base_rate,low,high,care,care_source,source,evidence\n"
        + "".join(f"{c},{draw(prob)!r},0.001,0.999,see_doctor,paper2020,paper2020,direct\n" for c in causes),
        "risk_factors.csv": "id,prevalence,low,high,source,evidence\n"
        + "".join(f"{r},{draw(prob)!r},0.001,0.999,paper2020,direct\n" for r in rfs),
        "age_bands.csv": "\n".join(bands) + "\n",
        "cause_risks.csv": "\n".join(odds) + "\n",
        # each leak's range ends at its value, below every link's low (validation requires it)
        "findings.csv": "id,leak,low,high,source,evidence\n"
        + "".join(f"{f},{leaks[f]!r},0.0001,{leaks[f]!r},paper2020,direct\n" for f in fs),
        "finding_links.csv": "\n".join(links) + "\n",
        "red_flags.csv": "id,level,when_present,when_cause,at_least,low,high,message,source,evidence\n",
        "settings.csv": "name,value,low,high,source,evidence\ncare_threshold,0.3,0.2,0.5,paper2020,direct\n",
    }


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(files=small_models(), data=st.data())
def test_engine_equals_pgmpy_on_random_small_models(tmp_path: Path, files: dict[str, str], data: st.DataObject) -> None:
    """On random small networks and random evidence, the numpy engine equals pgmpy's VariableElimination to 1e-9."""
    folder = write_priors(tmp_path / f"m{abs(hash(str(files)))}", files)
    model = kneebayes.load_model(folder)
    states = data.draw(st.lists(st.sampled_from(["present", "absent", "unknown"]),
                                min_size=len(model.observable), max_size=len(model.observable)))
    present = [i for i, s in zip(model.observable, states, strict=True) if s == "present"]
    absent = [i for i, s in zip(model.observable, states, strict=True) if s == "absent"]
    age = data.draw(st.one_of(st.none(), st.integers(0, 120)))
    ours = model.diagnose(present, absent, age).probabilities
    reference = model.diagnose(present, absent, age, engine="pgmpy").probabilities
    assert np.abs(ours - reference.loc[ours.index]).max() < 1e-9


def _arrays(model: kneebayes.Model, present: list[str], absent: list[str], age: float | None) -> EvidenceArrays:
    return model._arrays([model.evidence(present, absent, age)])


@settings(max_examples=30, deadline=None)
@given(st.data())
def test_unknown_finding_is_the_mixture_of_its_answers(data: st.DataObject) -> None:
    """For an unknown finding, the posterior is the mix of the present and absent posteriors.

    The mix is weighted by the finding's predictive probability.
    """
    model = kneebayes.load_model()
    engine = model._engine
    ids = list(model.observable)
    chosen = data.draw(st.lists(st.sampled_from(ids), unique=True, max_size=6))
    split = data.draw(st.integers(0, len(chosen)))
    present, absent = chosen[:split], chosen[split:]
    age = data.draw(st.one_of(st.none(), st.integers(0, 120)))
    target = data.draw(st.sampled_from([i for i in ids if i not in chosen]))
    base = _arrays(model, present, absent, age)
    with_f = _arrays(model, present + [target], absent, age)
    without_f = _arrays(model, present, absent + [target], age)
    p_f = float(np.exp(engine.log_evidence(with_f)[0] - engine.log_evidence(base)[0]))
    mixture = p_f * engine.posteriors(with_f)[0] + (1 - p_f) * engine.posteriors(without_f)[0]
    assert 0.0 <= p_f <= 1.0 + 1e-12
    np.testing.assert_allclose(engine.posteriors(base)[0], mixture, atol=1e-12)


def test_diagnose_many_equals_diagnose(model: kneebayes.Model) -> None:
    """Each row of diagnose_many equals diagnose() on the same evidence, whatever the chunk size."""
    rng = np.random.default_rng(3)
    ids = list(model.observable)[:20]
    values = rng.choice(np.array([True, False, None], dtype=object), size=(40, len(ids)), p=[0.2, 0.2, 0.6])
    frame = pd.DataFrame(values, columns=ids)
    frame["age"] = rng.choice([np.nan, 25.0, 55.0, 80.0], size=40)
    out = model.diagnose_many(frame, chunk_size=7)
    other = model.diagnose_many(frame, chunk_size=1024)
    causes = list(model.causes)
    np.testing.assert_allclose(out[causes].to_numpy(dtype=float), other[causes].to_numpy(dtype=float), atol=1e-13)
    assert list(out["triage"]) == list(other["triage"])
    for i in range(0, 40, 9):
        row = frame.iloc[i]
        present = [c for c in ids if row[c] is True]
        absent = [c for c in ids if row[c] is False]
        single = model.diagnose(present, absent, None if np.isnan(row["age"]) else row["age"])
        np.testing.assert_allclose(out.loc[i, list(model.causes)].to_numpy(dtype=float),
                                   single.probabilities.loc[list(model.causes)].to_numpy(), atol=1e-12)
        assert out.loc[i, "triage"] == single.triage
        assert set(filter(None, out.loc[i, "red_flags"].split(";"))) == {f.id for f in single.red_flags}


def test_diagnose_many_missing_columns_are_unknown(model: kneebayes.Model) -> None:
    """An id without a column is unknown: a frame of one column equals diagnose() with that id alone."""
    out = model.diagnose_many(pd.DataFrame({"calf_swelling": [True, False]}, index=["a", "b"]))
    assert list(out.index) == ["a", "b"]
    when_present = model.diagnose(present=["calf_swelling"]).probabilities["dvt"]
    when_absent = model.diagnose(absent=["calf_swelling"]).probabilities["dvt"]
    assert out.loc["a", "dvt"] == pytest.approx(when_present, abs=1e-12)
    assert out.loc["b", "dvt"] == pytest.approx(when_absent, abs=1e-12)


def test_diagnose_many_progress(model: kneebayes.Model, capsys: pytest.CaptureFixture[str]) -> None:
    """progress=True shows a bar on stderr and returns the same result."""
    frame = pd.DataFrame({"spasm": [True] * 5})
    assert model.diagnose_many(frame, progress=True).equals(model.diagnose_many(frame))
    assert "5/5" in capsys.readouterr().err


def test_engine_rows_are_independent(model: kneebayes.Model) -> None:
    """A patient's posteriors do not depend on who else is in the batch (deduplicated root patterns included)."""
    engine = model._engine
    n = 6
    findings = np.full((n, len(model.parameters.findings)), UNKNOWN, dtype=np.int8)
    findings[:, 0] = [1, 0, 1, 0, 1, -1]
    rfs = np.full((n, len(model.parameters.risk_factors)), UNKNOWN, dtype=np.int8)
    rfs[:3, 0] = 1  # rows 0-2 share a root pattern, rows 3-5 another
    ev = EvidenceArrays(findings, rfs, np.array([0, 0, 0, -1, -1, -1]))
    together = engine.posteriors(ev)
    for i in range(n):
        np.testing.assert_allclose(together[i], engine.posteriors(ev.take(np.array([i])))[0], atol=1e-13)


@pytest.mark.parametrize(
    ("kind", "target", "values"),
    [
        ("finding_probability", "lump_behind_knee|bakers_cyst", [0.2, 0.55, 0.97]),
        ("leak", "swelling", [0.01, 0.15]),
        ("odds_ratio", "dvt|recent_immobility", [1.0, 9.0]),
        ("base_rate", "cramp", [0.02, 0.3]),
        # a cause parent of another cause: its child's table is recalibrated and swept with it
        ("base_rate", "meniscus_tear", [0.05, 0.3]),
        ("odds_ratio", "bakers_cyst|osteoarthritis", [1.5, 6.0]),
        ("odds_ratio", "osteoarthritis|70_plus", [2.0, 20.0]),
        # a root's number: every intercept is re-solved
        ("prevalence", "overweight", [0.3, 0.8]),
        # an age share: the other shares are rescaled as with_value does
        ("age_prevalence", "70_plus", [0.1, 0.28]),
        # thresholds change the triage only: the posteriors stay
        ("threshold", "dvt_probable", [0.05, 0.12]),
        ("setting", "care_threshold", [0.1, 0.4]),
    ],
)
@pytest.mark.parametrize("which", ["enumerable_model", "model"])
def test_sweep_equals_rebuilding_the_model(which: str, kind: str, target: str, values: list[float],
                                           request: pytest.FixtureRequest) -> None:
    """Each value of a sweep gives the posteriors of a model rebuilt from priors edited with with_value.

    The 12-cause model takes the enumerating shortcuts for finding and cause numbers; every other sweep, and
    every sweep of the shipped 18-cause model, scores all values at once through ExactEngine.posteriors_under.
    """
    model: kneebayes.Model = request.getfixturevalue(which)
    rng = np.random.default_rng(5)
    ids = ["lump_behind_knee", "swelling", "stiffness", "calf_swelling", "recent_immobility", "spasm"]
    frame = pd.DataFrame(rng.choice(np.array([True, False, None], dtype=object), size=(12, len(ids))), columns=ids)
    for rf in ("overweight", "smoking", "pivoting_sport", "twisting_injury"):
        frame[rf] = rng.choice(np.array([True, False, None], dtype=object), size=12)
    frame["age"] = rng.choice([np.nan, 20.0, 45.0, 62.0, 85.0], size=12)
    swept = model.sweep(frame, kind, target, values)
    assert swept.shape == (len(values) * 12, len(model.causes))
    row = model.priors.to_frame().set_index(["kind", "target"]).loc[(kind, target)]
    for value in values:
        edited = model.priors.with_value(kind, target, value, low=min(row["low"], value), high=max(row["high"], value))
        expected = kneebayes.Model.from_priors(edited).diagnose_many(frame)[list(model.causes)]
        np.testing.assert_allclose(swept.loc[value].to_numpy(), expected.to_numpy(dtype=float), atol=1e-12)


def test_sweep_refuses_invalid_values(model: kneebayes.Model) -> None:
    """A finding probability at or below its leak, or outside (0, 1), is refused with a clear error."""
    frame = pd.DataFrame({"swelling": [True]})
    with pytest.raises(kneebayes.OptionError, match="above its leak"):
        model.sweep(frame, "finding_probability", "lump_behind_knee|bakers_cyst", [0.001])
    with pytest.raises(kneebayes.OptionError, match="non-empty"):
        model.sweep(frame, "leak", "swelling", [])
    with pytest.raises(ValueError, match="did you mean"):
        model.sweep(frame, "finding_probability", "lump_behind_knee|bakers_cist", [0.5])


# ---- the conditioned contraction ---------------------------------------------------------------


def _random_batch(params: kneebayes._parameters.Parameters, n: int, seed: int) -> EvidenceArrays:
    """Return n patients with random answers (present, absent or unknown); age known 70% of the time."""
    rng = np.random.default_rng(seed)
    findings = rng.choice(np.array([1, 0, UNKNOWN], dtype=np.int8), size=(n, len(params.findings)), p=[0.1, 0.3, 0.6])
    rfs = rng.choice(np.array([1, 0, UNKNOWN], dtype=np.int8), size=(n, len(params.risk_factors)))
    ages = np.where(rng.random(n) < 0.7, rng.integers(0, len(params.age_bands), n), UNKNOWN).astype(np.int64)
    return EvidenceArrays(findings, rfs, ages)


def _in_patient_order(joint: Joint) -> np.ndarray:
    out = np.empty_like(joint.values)
    out[joint.order] = joint.values
    return out


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(files=small_models(), data=st.data())
def test_conditioning_on_any_roots_gives_the_same_joint(tmp_path: Path, files: dict[str, str],
                                                        data: st.DataObject) -> None:
    """Conditioning on any subset of roots, with any per-cause factors, gives the plain contraction's joint.

    The plain joint times the outer product of the factors is computed independently;
    the per-replica rows of the conditioned plan sum to the same joint.
    """
    folder = write_priors(tmp_path / f"m{abs(hash(str(files)))}", files)
    params = kneebayes.load_model(folder).parameters
    net = network(params)
    conditioned = tuple(sorted(data.draw(st.sets(st.sampled_from(range(len(net.roots))))) if net.roots else ()))
    ev = _random_batch(params, data.draw(st.integers(1, 12)), data.draw(st.integers(0, 1000)))
    factor = np.random.default_rng(len(ev)).uniform(0.01, 1.0, size=(len(ev), len(params.causes)))
    plain = ConditionedPlan(params, net, ())
    plan = ConditionedPlan(params, net, conditioned)
    prior = _in_patient_order(plain.joint(ev.age_band, ev.risk_factors))
    expected = prior * np.exp(np.log(factor) @ plain.configs.T)
    got = _in_patient_order(plan.joint(ev.age_band, ev.risk_factors, factor))
    # match columns through each plan's configuration order
    code = 2 ** np.arange(len(params.causes))
    columns = np.argsort(plan.configs @ code)[np.argsort(np.argsort(plain.configs @ code))]
    np.testing.assert_allclose(got[:, columns], expected, rtol=1e-12, atol=1e-300)
    replicas = plan.joint(ev.age_band, ev.risk_factors, factor, per_replica=True)
    assert replicas.patient is not None
    summed = np.zeros((len(ev), plan.configs.shape[0]))
    np.add.at(summed, replicas.order[replicas.patient], replicas.values)
    np.testing.assert_allclose(summed[:, columns], expected, rtol=1e-12, atol=1e-300)


def test_conditioned_batches_equal_pgmpy_and_the_plain_path(enumerable_model: kneebayes.Model) -> None:
    """Batches of 64+ patients take the conditioned plan: they equal pgmpy to 1e-9 and the plain plan to 1e-12."""
    from kneebayes._pgmpy_model import pgmpy_posteriors

    model = enumerable_model
    engine = model._engine
    ev = _random_batch(model.parameters, 300, seed=11)
    batched = engine.posteriors(ev)  # one chunk of 300: conditioned
    one_by_one = engine.posteriors(ev, chunk_size=7)  # chunks of 7: plain
    np.testing.assert_allclose(batched, one_by_one, rtol=0, atol=1e-12)
    network_ = model.to_pgmpy()
    frame = bench_frame(model, ev)
    for i in range(0, 300, 20):
        row = frame.iloc[i]
        evidence = model.evidence([k for k, v in row.items() if v is True], [k for k, v in row.items() if v is False],
                                  None if np.isnan(row["age"]) else row["age"],
                                  sex=row["sex"] if isinstance(row.get("sex"), str) else None)
        assert np.abs(batched[i] - pgmpy_posteriors(network_, model.parameters, evidence)).max() < 1e-9


def bench_frame(model: kneebayes.Model, ev: EvidenceArrays) -> pd.DataFrame:
    """Return the batch as a diagnose_many frame (age as each band's first year)."""
    p = model.parameters
    states = np.concatenate([ev.findings, ev.risk_factors], axis=1)
    frame = pd.DataFrame(np.where(states == 1, True, np.where(states == 0, False, None)).astype(object),
                         columns=list(p.findings + p.risk_factors))
    frame["age"] = np.where(ev.age_band >= 0, p.age_min[np.maximum(ev.age_band, 0)], np.nan)
    if p.sex is not None:  # the sex node is given as a 'sex' column of "female" / "male"
        frame["sex"] = frame.pop(p.sex).map({True: "female", False: "male"})
    return frame


def test_small_batches_reuse_pattern_priors_exactly(enumerable_model: kneebayes.Model,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Small batches keep each root-answer pattern's prior across calls: cached, fresh and batched results agree."""
    from kneebayes import _engine
    from kneebayes._engine import ExactEngine
    from kneebayes._synthetic import sample_evidence

    monkeypatch.setattr(_engine, "_PRIOR_CACHE", 5)  # small, so patterns are evicted during the test
    p = enumerable_model.parameters
    ev = sample_evidence(p, 200, seed=11)
    engine = ExactEngine(p)
    batched = engine.posteriors(ev)  # 200 patients: the conditioned contraction, no cache
    assert not engine._prior_cache
    first = np.vstack([engine.posteriors(ev.take(np.array([i]))) for i in range(40)])
    again = np.vstack([engine.posteriors(ev.take(np.array([i]))) for i in range(40)])
    assert len(engine._prior_cache) == 5
    np.testing.assert_array_equal(first, again)
    assert np.abs(first - batched[:40]).max() < 1e-12
    pairs = engine.posteriors(ev.take(np.array([0, 0, 7])))  # a repeated pattern within one small batch
    assert np.abs(pairs - batched[[0, 0, 7]]).max() < 1e-12


def test_conditioning_a_one_table_network_on_its_only_root(tmp_path: Path) -> None:
    """One cause with one root parent, conditioned on that root, leaves one term: the plan still works.

    (Found by the property test above under load: the last step needs two operands.)
    """
    files = {
        **small_models_base(),
        "cause_risks.csv": "cause,factor,odds_ratio,low,high,source,evidence\nc0,r0,3.0,0.01,100,paper2020,direct\n",
    }
    params = kneebayes.load_model(write_priors(tmp_path / "one", files)).parameters
    net = network(params)
    ev = _random_batch(params, 6, 1)
    plain = ConditionedPlan(params, net, ())
    plan = ConditionedPlan(params, net, (0,))
    np.testing.assert_allclose(_in_patient_order(plan.joint(ev.age_band, ev.risk_factors)),
                               _in_patient_order(plain.joint(ev.age_band, ev.risk_factors)), rtol=1e-13)


def small_models_base() -> dict[str, str]:
    """Return a valid folder with one cause c0, one risk factor r0 and one unlinked finding f0."""
    return {
        "vocabulary.csv": "kind,id,label,question\ncause,c0,c0,\nsymptom,f0,f0,f0?\nrisk_factor,r0,r0,r0?\n",
        "references.csv": "key,authors,year,title,journal,checked,numbers\n" + REF,
        "causes.csv": "id,base_rate,low,high,care,care_source,source,evidence\n"
                      "c0,0.5,0.001,0.999,see_doctor,paper2020,paper2020,direct\n",
        "risk_factors.csv": "id,prevalence,low,high,source,evidence\nr0,0.5,0.001,0.999,paper2020,direct\n",
        "age_bands.csv": "id,min_age,max_age,prevalence,low,high,source,evidence\n"
                         "all,0,121,1.0,1.0,1.0,paper2020,direct\n",
        "findings.csv": "id,leak,low,high,source,evidence\nf0,0.25,0.0001,0.5,paper2020,direct\n",
        "finding_links.csv": "finding,cause,probability,low,high,source,evidence\n",
        "red_flags.csv": "id,level,when_present,when_cause,at_least,low,high,message,source,evidence\n",
        "settings.csv": "name,value,low,high,source,evidence\ncare_threshold,0.3,0.2,0.5,paper2020,direct\n",
    }
