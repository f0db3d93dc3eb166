"""kneebayes.analysis.robustness: the smallest single-number change that flips the decision, against brute force."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import kneebayes
from kneebayes.analysis import Robustness, robustness

PATIENT = {"present": ["lump_behind_knee", "stiffness"], "absent": ["fever"], "age": 58}


@pytest.fixture(scope="module")
def model() -> kneebayes.Model:
    return kneebayes.load_model()


@pytest.fixture(scope="module")
def result(model: kneebayes.Model) -> Robustness:
    return robustness(model, **PATIENT)


def logit(x: np.ndarray) -> np.ndarray:
    return np.log(x) - np.log1p(-x)


def expit(t: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-t))


def with_priors(model: kneebayes.Model, kind: str, target: str, value: float) -> kneebayes.Model:
    row = model.priors.to_frame().set_index(["kind", "target"]).loc[(kind, target)]
    priors = model.priors
    if kind == "finding_probability":  # a link's range must stay above its leak's: narrow the leak's first
        finding = target.partition("|")[0]
        leak = priors.findings.loc[finding]
        if float(leak["high"]) >= value:
            priors = priors.with_value("leak", finding, float(leak["leak"]),
                                       high=max(float(leak["leak"]), float(np.nextafter(value, 0.0))))
    return kneebayes.Model.from_priors(priors.with_value(
        kind, target, value, low=min(float(row["low"]), value), high=max(float(row["high"]), value)))


@pytest.mark.parametrize(("kind", "target", "end"), [
    ("base_rate", "bakers_cyst", 1e-4),
    ("finding_probability", "lump_behind_knee|bakers_cyst", None),  # down to the finding's leak
    ("base_rate", "osteoarthritis", 1 - 1e-4),
])
def test_the_flip_matches_a_brute_force_sweep(model: kneebayes.Model, result: Robustness, kind: str, target: str,
                                              end: float | None) -> None:
    """A fine sweep from the value towards the end finds its first flip right where the bisection put it."""
    row = result.table.set_index(["kind", "target"]).loc[(kind, target)]
    value = float(row["value"])
    if end is None:
        end = float(model.priors.findings.loc[target.partition("|")[0], "high"]) * 1.001  # above the leak range
    grid = expit(np.linspace(logit(np.array(value)), logit(np.array(end)), 401)[1:])
    frame = pd.DataFrame({"lump_behind_knee": [True], "stiffness": [True], "fever": [False], "age": [58.0]})
    swept = model.sweep(frame, kind, target, grid.tolist())
    top = swept.astype(float).idxmax(axis=1).to_numpy()
    flips = top != result.top
    assert flips.any()
    first = int(np.argmax(flips))
    crossing = float(row["flips_at"])
    lo, hi = sorted([grid[first], grid[first - 1] if first else value])
    assert lo <= crossing <= hi
    assert row["flips"] == "top" and row["top_after"] == top[first]
    # on either side of the reported value, rebuilt models disagree about the top cause
    before = crossing * (1 + 1e-7) if crossing < value else crossing * (1 - 1e-7)
    after = crossing * (1 - 1e-7) if crossing < value else crossing * (1 + 1e-7)
    assert with_priors(model, kind, target, before).diagnose(**PATIENT).top == result.top
    assert with_priors(model, kind, target, after).diagnose(**PATIENT).top != result.top


def test_a_triage_flip_is_located_on_the_rebuilt_model(model: kneebayes.Model, result: Robustness) -> None:
    """The DVT-rule threshold at which the triage changes is exact to 1e-7 on rebuilt models."""
    row = result.table.set_index(["kind", "target"]).loc[("threshold", "dvt_probable")]
    crossing = float(row["flips_at"])
    assert row["flips"] == "triage" and row["direction"] == "down"
    assert with_priors(model, "threshold", "dvt_probable", crossing + 1e-7).diagnose(**PATIENT).triage == result.triage
    assert with_priors(model, "threshold", "dvt_probable", crossing - 1e-7).diagnose(**PATIENT).triage == row[
        "triage_after"] != result.triage


def test_table_order_and_range_flags(result: Robustness) -> None:
    """Rows are sorted by the size of the change; in_range says whether the flip lies in the stated range."""
    table = result.table
    sizes = table["relative_change"].abs().to_numpy()
    known = sizes[~np.isnan(sizes)]
    assert (np.diff(known) >= 0).all() and np.isnan(sizes[len(known):]).all()
    flipping = table[table["flips_at"].notna()]
    inside = (flipping["flips_at"] >= flipping["low"]) & (flipping["flips_at"] <= flipping["high"])
    assert (inside == flipping["in_range"]).all()
    # a finding the patient did not answer cannot flip anything
    assert table.set_index(["kind", "target"]).loc[("leak", "chest_pain"), "flips"] == ""
    assert "Decision robustness" in repr(result)


def test_flip_option_is_checked(model: kneebayes.Model) -> None:
    """An unknown flip option is refused with the allowed values."""
    with pytest.raises(kneebayes.OptionError, match="'either', 'top' or 'triage'"):
        robustness(model, present=["spasm"], flip="diagnosis")  # type: ignore[arg-type]
