"""kneebayes.analysis.uncertainty: draws that follow their declared distributions, scored exactly and reproducibly."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import beta

import kneebayes
from kneebayes._engine import ExactEngine
from kneebayes._parameters import _solve_intercept
from kneebayes.analysis import Uncertainty, beta_from_interval, sample_numbers, uncertainty
from kneebayes.analysis._variants import Variants, patient_arrays, posteriors

CLOT = {"present": ["calf_swelling", "recent_immobility"], "age": 64}


@pytest.fixture(scope="module")
def model() -> kneebayes.Model:
    return kneebayes.load_model()


@pytest.fixture(scope="module")
def drawn(model: kneebayes.Model) -> pd.DataFrame:
    return sample_numbers(model.priors, 20000, seed=0)


@pytest.mark.parametrize(("low", "high"), [(0.1, 0.3), (0.001, 0.01), (0.6, 0.99), (0.05, 0.95)])
def test_beta_from_interval_puts_the_ends_at_the_5_and_95_percent_quantiles(low: float, high: float) -> None:
    """The solved Beta's 5% and 95% quantiles are the interval's ends."""
    a, b = beta_from_interval(low, high)
    np.testing.assert_allclose(beta.ppf([0.05, 0.95], a, b), [low, high], rtol=1e-8)


def test_draws_match_their_declared_quantiles(model: kneebayes.Model, drawn: pd.DataFrame) -> None:
    """Over 20,000 draws, 5% fall below each number's low and 5% above its high (Beta and log-normal)."""
    numbers = model.priors.to_frame()
    plain = numbers[~numbers["kind"].isin(["age_prevalence", "finding_probability"])]
    assert set(plain["kind"]) >= {"base_rate", "prevalence", "odds_ratio", "leak", "threshold", "setting"}
    for row in plain.itertuples():
        x = drawn[(row.kind, row.target)].to_numpy()
        assert abs((x <= row.low).mean() - 0.05) < 0.006, (row.kind, row.target)
        assert abs((x <= row.high).mean() - 0.95) < 0.006, (row.kind, row.target)


def test_link_draws_follow_the_beta_truncated_at_their_leak(model: kneebayes.Model, drawn: pd.DataFrame) -> None:
    """A finding probability's draws follow its Beta conditioned to lie above the drawn leak."""
    numbers = model.priors.to_frame()
    links = numbers[numbers["kind"] == "finding_probability"]
    for row in links.sample(25, random_state=0).itertuples():
        x = drawn[(row.kind, row.target)].to_numpy()
        leak = drawn[("leak", row.target.partition("|")[0])].to_numpy()
        assert (x > leak).all()
        a, b = beta_from_interval(row.low, row.high)
        below = beta.cdf(leak, a, b)
        for end in (row.low, row.high):
            expected = np.mean(np.clip(beta.cdf(end, a, b) - below, 0.0, None) / (1.0 - below))
            assert abs((x <= end).mean() - expected) < 0.008, (row.target, end)


def test_age_shares_sum_to_one_and_stay_near_their_ranges(model: kneebayes.Model, drawn: pd.DataFrame) -> None:
    """Renormalised age shares sum to 1 and their central 90% lies within the stated ranges."""
    shares = drawn["age_prevalence"]
    assert np.abs(shares.sum(axis=1) - 1.0).max() < 1e-12
    bands = model.priors.age_bands
    for band in bands.index:
        q5, q95 = np.quantile(shares[band], [0.05, 0.95])
        assert bands.loc[band, "low"] <= q5 < q95 <= bands.loc[band, "high"]


def test_a_draw_is_scored_like_its_own_compiled_parameters(model: kneebayes.Model) -> None:
    """Each draw's intercepts solve the compiler's equation and its posteriors equal the numpy engine's."""
    numbers = sample_numbers(model.priors, 3, seed=5)
    var = Variants.repeat(model.parameters, 3)
    var.set_drawn(numbers, np.arange(3))
    var.solve()
    frame = pd.DataFrame({"calf_swelling": [True, None], "swelling": [None, True], "fever": [False, None],
                          "recent_immobility": [True, None], "age": [64.0, None]})
    ev, _, _ = patient_arrays(model, None, None, None, frame)
    got = posteriors(var, ev)
    for v in range(3):
        params = var.parameters(v)
        for c in range(len(params.causes)):
            assert abs(_solve_intercept(params, c) - params.intercept[c]) < 1e-9
        np.testing.assert_allclose(got[v], ExactEngine(params).posteriors(ev), rtol=0, atol=1e-12)


def test_bands_are_reproducible_with_a_seed(model: kneebayes.Model) -> None:
    """The same seed gives the same bands; another seed gives other bands."""
    one = uncertainty(model, **CLOT, draws=60, seed=11)
    two = uncertainty(model, **CLOT, draws=60, seed=11)
    other = uncertainty(model, **CLOT, draws=60, seed=12)
    pd.testing.assert_frame_equal(one.table, two.table)
    pd.testing.assert_frame_equal(one.changes, two.changes)
    assert not one.table["low"].equals(other.table["low"])


def test_the_band_holds_the_point_posterior_and_reports_changes(model: kneebayes.Model) -> None:
    """For a textbook cramp, the top cause's band contains its point posterior; changes are shares of draws."""
    result = uncertainty(model, present=["spasm", "sudden_onset"], absent=["fever"], age=45, draws=300, seed=1)
    assert isinstance(result, Uncertainty)
    top = result.table.iloc[0]
    assert top["cause"] == result.point_top == "cramp"
    assert top["low"] <= top["point"] <= top["high"]
    assert top["low"] <= top["median"] <= top["high"]
    assert 0.0 <= result.changes["top_changed"].iloc[0] <= 1.0
    levels = result.changes[["self_care", "see_doctor", "urgent", "emergency"]].iloc[0]
    assert levels.sum() == pytest.approx(1.0)
    assert result.table["top_share"].sum() == pytest.approx(1.0)
    assert len(result.samples) == 300
    assert "Uncertainty bands" in repr(result) and "<table" in result._repr_html_()


def test_a_table_of_patients_gets_one_band_per_patient_and_cause(model: kneebayes.Model) -> None:
    """patients= gives a row per (patient, cause) and a row of changes per patient."""
    frame = pd.DataFrame({"spasm": [True, None], "calf_swelling": [None, True], "age": [30.0, 70.0]},
                         index=pd.Index(["a", "b"], name="id"))
    result = uncertainty(model, patients=frame, draws=40)
    assert list(result.changes.index) == ["a", "b"]
    assert len(result.table) == 2 * len(model.causes)
    assert set(result.table["patient"]) == {"a", "b"}
    with pytest.raises(kneebayes.OptionError, match="one patient"):
        result.plot()


def test_bad_draws_are_refused(model: kneebayes.Model) -> None:
    """The draws parameter must be a whole number of at least 2."""
    for bad in (1, 2.5, True, "10"):
        with pytest.raises(kneebayes.OptionError, match="'draws' parameter"):
            uncertainty(model, **CLOT, draws=bad)  # type: ignore[arg-type]
