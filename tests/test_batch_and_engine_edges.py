"""Batch results equal single diagnoses, log P(evidence) against enumeration, and the engine's safety nets.

Each test here targets a fault that the rest of the suite let through (see issue 9,
item 10): a collision in the batch engine's answer-pattern code, unused roots whose
present and absent terms are swapped in ``log_evidence``, an age on a band boundary
put in the wrong band, and posteriors no longer clipped to [0, 1].
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import kneebayes
from conftest import TINY, write_priors
from kneebayes._engine import _CONDITIONED_FROM, EvidenceArrays, ExactEngine, _posteriors_from

ROOT = Path(__file__).resolve().parents[1]
VIGNETTES = ROOT / "validation" / "vignettes.csv"


def _single(model: kneebayes.Model, present: list[str], absent: list[str], age: float | None) -> kneebayes.Diagnosis:
    return model.diagnose(present, absent, age)


def _assert_rows_equal_single(model: kneebayes.Model, frame: pd.DataFrame, out: pd.DataFrame) -> None:
    """Check every row of diagnose_many's output against diagnose() on that row's answers."""
    causes = list(model.causes)
    ids = [c for c in frame.columns if c != "age"]
    for i, (label, row) in enumerate(frame.iterrows()):
        present = [c for c in ids if row[c] is True]
        absent = [c for c in ids if row[c] is False]
        age = row["age"] if "age" in frame.columns and not pd.isna(row["age"]) else None
        single = _single(model, present, absent, age)
        got = out.loc[label, causes].to_numpy(dtype=float)
        want = single.probabilities.loc[causes].to_numpy()
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-12, err_msg=f"row {i}: {present} / {absent} / {age}")
        assert out.loc[label, "triage"] == single.triage, (i, present, absent, age)
        fired = [f for f in str(out.loc[label, "red_flags"]).split(";") if f]
        assert sorted(fired) == sorted(f.id for f in single.red_flags), (i, present, absent, age)


def test_diagnose_many_equals_diagnose_on_the_shipped_vignettes(model: kneebayes.Model) -> None:
    """On every shipped vignette, diagnose_many's row equals diagnose(): posteriors to 1e-12, triage and red flags."""
    vignettes = kneebayes.load_vignettes(VIGNETTES, model)
    data: dict[str, list[object]] = {ident: [None] * len(vignettes) for ident in model.observable}
    for i, (present, absent) in enumerate(zip(vignettes["present"], vignettes["absent"], strict=True)):
        for ident in present:
            data[ident][i] = True
        for ident in absent:
            data[ident][i] = False
    frame = pd.DataFrame(data, index=vignettes.index, dtype=object)
    frame["age"] = vignettes["age"].astype(float)
    assert len(frame) >= 64  # large enough for the conditioned contraction plan
    out = model.diagnose_many(frame)
    _assert_rows_equal_single(model, frame, out)
    assert (out["triage"] != "self_care").any() and (out["red_flags"] != "").any()  # the comparison is not vacuous


def _root_grid(model: kneebayes.Model, roots: list[str], ages: list[float | None]) -> pd.DataFrame:
    """Return every combination of unknown / absent / present over ``roots``, crossed with ``ages``."""
    rows = []
    for states in itertools.product((None, False, True), repeat=len(roots)):
        for age in ages:
            rows.append({**dict(zip(roots, states, strict=True)), "age": np.nan if age is None else age})
    frame = pd.DataFrame(rows)
    for ident in roots:
        frame[ident] = frame[ident].astype(object).where(frame[ident].notna(), None)
    return frame


@pytest.mark.parametrize("n_ages", [1, 5], ids=["plain plan", "conditioned plan"])
def test_distinct_answer_patterns_never_share_a_batch_slot(enumerable_model: kneebayes.Model, n_ages: int) -> None:
    model = enumerable_model  # the pattern code belongs to the enumerating engine
    """Patients whose root answers differ get their own results in one batch (no collision of the pattern code).

    Every mix of unknown, absent and present over three risk factors that the causes depend
    on (and over ages on band boundaries) is scored in one batch and each row compared with
    diagnose(): a radix too small for three answer states would merge, for example,
    (unknown, present) with (absent, unknown).
    """
    roots = [model.parameters.risk_factors[r] for r in model._engine._network.roots
             if r >= 0 and model.parameters.risk_factors[r] in model.observable][-3:]  # sex is set by sex=
    assert len(roots) == 3
    bounds = [float(x) for x in model.parameters.age_min[1:]]
    ages: list[float | None] = [None, *bounds][:n_ages]
    frame = _root_grid(model, roots, ages)
    frame["spasm"] = True  # one present finding, so the per-pattern joint is used, not only the prior
    out = model.diagnose_many(frame)
    _assert_rows_equal_single(model, frame, out)


def test_ages_on_band_boundaries_belong_to_the_upper_band(model: kneebayes.Model) -> None:
    """An age equal to a band's min_age falls in that band, in diagnose() and in diagnose_many()."""
    p = model.parameters
    for i, low in enumerate(p.age_min):
        assert p.age_band_index(float(low)) == i
        if i:
            assert p.age_band_index(float(np.nextafter(low, 0.0))) == i - 1
    frame = pd.DataFrame({"age": [float(a) for a in p.age_min]})
    batch = model._frame_arrays(frame).age_band
    assert batch.tolist() == list(range(len(p.age_min)))


# ---- log P(evidence) against enumeration on a tiny network with unused roots -----------------------------------

PREV_R, PREV_U, OR_R, BASE_C1, BASE_C2, LEAK, S1, S2 = 0.2, 0.35, 3.0, 0.1, 0.3, 0.05, 0.8, 0.5
BANDS = {"child": (0, 18, 0.25), "adult": (18, 121, 0.75)}


def _unused_roots_folder(tmp_path: Path) -> Path:
    """Return the tiny network plus a risk factor ``u`` and two age bands that no cause depends on."""
    files = dict(TINY)
    files["vocabulary.csv"] += "risk_factor,u,An unused risk factor,Do you have u?\n"
    files["risk_factors.csv"] += f"u,{PREV_U},0.3,0.4,paper2020,direct\n"
    files["age_bands.csv"] = "id,min_age,max_age,prevalence,low,high,source,evidence\n" + "".join(
        f"{ident},{lo},{hi},{share},{share},{share},paper2020,direct\n" for ident, (lo, hi, share) in BANDS.items())
    return write_priors(tmp_path / "unused", files)


def _p_evidence(r: int | None, f: int | None, u: int | None, age: float | None) -> float:
    """P(evidence) by enumerating r, c1, c2 and f (u and the age band are independent roots)."""
    x = (-1.0 + math.sqrt(1.0 + 4 * 2.7 * 0.1)) / (2 * 2.7)  # intercept of c1, solved in test_tiny_network
    b = math.log(x)
    q1, q2 = 1 - (1 - S1) / (1 - LEAK), 1 - (1 - S2) / (1 - LEAK)
    total = 0.0
    for rr, c1, c2, ff in itertools.product((0, 1), repeat=4):
        if (r is not None and rr != r) or (f is not None and ff != f):
            continue
        p1 = 1 / (1 + math.exp(-(b + rr * math.log(OR_R))))
        off = (1 - LEAK) * (1 - q1) ** c1 * (1 - q2) ** c2
        total += ((PREV_R if rr else 1 - PREV_R) * (p1 if c1 else 1 - p1) * (BASE_C2 if c2 else 1 - BASE_C2)
                  * (1 - off if ff else off))
    if u is not None:
        total *= PREV_U if u else 1 - PREV_U
    if age is not None:
        total *= next(share for lo, hi, share in BANDS.values() if lo <= age < hi)
    return total


@pytest.mark.parametrize("u", [None, 0, 1])
@pytest.mark.parametrize("r", [None, 0, 1])
@pytest.mark.parametrize("age", [None, 10.0, 17.5, 18.0, 60.0])
def test_log_evidence_equals_enumeration(tmp_path: Path, u: int | None, r: int | None, age: float | None) -> None:
    """log_evidence equals log P(evidence) by brute-force enumeration, with unused roots answered or not."""
    model = kneebayes.load_model(_unused_roots_folder(tmp_path))
    assert "u" not in [model.parameters.risk_factors[i] for i in model._engine._network.roots]
    for f in (None, 0, 1):
        answers = {"u": u, "r": r, "f": f}
        present = [k for k, v in answers.items() if v == 1]
        absent = [k for k, v in answers.items() if v == 0]
        ev = model._arrays([model.evidence(present, absent, age)])
        got = float(model._engine.log_evidence(ev)[0])
        assert got == pytest.approx(math.log(_p_evidence(r, f, u, age)), abs=1e-12), answers


# ---- the [0, 1] safety net ----------------------------------------------------------------------------------


def test_posteriors_from_clips_a_rounded_normaliser() -> None:
    """If rounding leaves a numerator above its normaliser, the posterior is still clipped to at most 1.

    No input of the shipped model was found to round above 1 (the docstring names one ulp), so
    the rounding is simulated: the normaliser column is made slightly too small.
    """
    configs = np.array([[0.0], [1.0]])
    configs_and_ones = np.hstack([configs, np.full((2, 1), 1.0 - 1e-9)])
    prior = np.array([[1e-300, 1.0]])
    out = _posteriors_from(np.zeros((1, 2)), prior, configs_and_ones, np.array([0]))
    assert out.tolist() == [[1.0]]
    negative = np.hstack([np.array([[-1e-9], [0.0]]), np.ones((2, 1))])  # a numerator rounded below 0
    out = _posteriors_from(np.zeros((1, 2)), np.array([[1.0, 1.0]]), negative, np.array([0]))
    assert out.tolist() == [[0.0]]


def test_engine_batch_clips_a_rounded_normaliser(tiny_folder: Path) -> None:
    """The batch path clips too: with a normaliser rounded low, a near-certain cause stays at most 1."""
    model = kneebayes.load_model(tiny_folder)
    engine = ExactEngine(model.parameters)
    engine._plain.configs_and_ones[:, -1] *= 0.5  # simulate a normaliser that rounded far too low
    ev = EvidenceArrays(np.array([[1]], dtype=np.int8), np.array([[1]], dtype=np.int8), np.array([-1]))
    out = engine.posteriors(ev)
    assert ((out >= 0.0) & (out <= 1.0)).all(), out
    assert out.max() == 1.0  # P(c1 | f, r) is about 0.6 > 0.5, doubled then clipped


def test_engine_chunk_clips_a_rounded_normaliser(tiny_folder: Path) -> None:
    """A chunk large enough for the conditioned contraction clips too (the path of large batches)."""
    model = kneebayes.load_model(tiny_folder)
    engine = ExactEngine(model.parameters)
    engine._conditioned.configs_and_ones[:, -1] *= 0.5  # simulate a normaliser that rounded far too low
    n = _CONDITIONED_FROM
    ev = EvidenceArrays(np.ones((n, 1), dtype=np.int8), np.ones((n, 1), dtype=np.int8), np.full(n, -1))
    out = engine.posteriors(ev)
    assert ((out >= 0.0) & (out <= 1.0)).all(), out
    assert (out.max(axis=1) == 1.0).all()  # P(c1 | f, r) is about 0.6 > 0.5, doubled then clipped
