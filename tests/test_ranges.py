"""Usable ranges: every shipped number can be set to either end of its range, and validation names both numbers."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import kneebayes
from kneebayes._priors import rescaled_shares


def test_every_shipped_number_can_be_set_to_both_ends_of_its_range() -> None:
    """with_value accepts every number's own low and high, whatever the other numbers are."""
    priors = kneebayes.load_priors()
    frame = priors.to_frame()
    assert len(frame) > 200
    for row in frame.itertuples():
        for end in (row.low, row.high):
            edited = priors.with_value(row.kind, row.target, end)
            if row.kind == "age_prevalence":
                shares = edited.age_bands["prevalence"]
                assert float(shares.sum()) == pytest.approx(1.0, abs=1e-12)
                assert float(shares[row.target]) == end


def test_links_sit_above_their_leak_range() -> None:
    """Every link's low lies above its finding's leak high, so any leak and link in range can be combined."""
    priors = kneebayes.load_priors()
    leak_high = priors.findings["high"]
    for (finding, _), low in priors.finding_links["low"].items():
        assert low > leak_high[finding]


def _copy(tmp_path: Path) -> Path:
    return Path(shutil.copytree(kneebayes.shipped_priors_path(), tmp_path / "priors"))


def _set_field(path: Path, prefix: str, column: int, value: str) -> int:
    """Set one plain field of the row starting with ``prefix``; return its line number."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    (index,) = [i for i, line in enumerate(lines) if line.startswith(prefix)]
    parts = lines[index].split(",", column + 1)
    parts[column] = value
    lines[index] = ",".join(parts)
    path.write_text("".join(lines), encoding="utf-8")
    return index + 1


def test_a_leak_range_reaching_a_link_names_both_numbers(tmp_path: Path) -> None:
    """Raising a leak's high to a link's low is refused with the link's file, line and field and the leak's."""
    folder = _copy(tmp_path)
    link_line = _set_field(folder / "finding_links.csv", "pain_bending,cramp,", 3, "0.33")
    leak_line = _set_field(folder / "findings.csv", "pain_bending,", 3, "0.40")
    with pytest.raises(kneebayes.PriorsError) as caught:
        kneebayes.load_priors(folder)
    messages = [str(p) for p in caught.value.problems]
    wanted = [m for m in messages if m.startswith(f"finding_links.csv, line {link_line}, field 'low'")]
    assert wanted and f"findings.csv, line {leak_line}, field 'high' = 0.4" in wanted[0]
    assert "got '0.33'" in wanted[0]


def test_an_age_range_that_cannot_renormalise_names_both_shares(tmp_path: Path) -> None:
    """An age share whose high leaves the others less than their lows is refused, naming its row and theirs."""
    folder = _copy(tmp_path)
    text = (folder / "age_bands.csv").read_text(encoding="utf-8").splitlines()
    bands = kneebayes.load_priors(folder).age_bands
    last = str(bands.index[-1])
    others = [str(b) for b in bands.index[:-1]]
    high = round(1.0 - float(bands.loc[others, "low"].sum()) + 0.05, 2)
    last_line = _set_field(folder / "age_bands.csv", f"{last},", 5, str(high))
    with pytest.raises(kneebayes.PriorsError) as caught:
        kneebayes.load_priors(folder)
    (problem,) = caught.value.problems
    assert (problem.file, problem.line, problem.field) == ("age_bands.csv", last_line, "high")
    lines = [str(i + 1) for i, line in enumerate(text) if line.split(",")[0] in others]
    assert f"lines {', '.join(lines)}, field 'low'" in problem.rule
    assert f"lows sum to {float(bands.loc[others, 'low'].sum()):.4g}" in problem.rule


def test_setting_an_age_share_rescales_the_others_proportionally() -> None:
    """Setting one age share keeps the others' ratios and the total of 1."""
    priors = kneebayes.load_priors()
    before = priors.age_bands["prevalence"]
    band = str(before.index[0])
    after = priors.with_value("age_prevalence", band, float(before[band]) + 0.05).age_bands["prevalence"]
    others = [b for b in before.index if b != band]
    np.testing.assert_allclose(after[others] / after[others].sum(), before[others] / before[others].sum(), atol=1e-15)
    assert float(after.sum()) == pytest.approx(1.0, abs=1e-15)
    assert rescaled_shares([0.25, 0.75], 1, 0.5) == [0.5, 0.5]


def test_a_share_that_reaches_its_bound_stops_there() -> None:
    """When proportional rescaling would push a band out of its range, it stops at the bound; the total stays 1."""
    out = rescaled_shares([0.2, 0.3, 0.5], 2, 0.2, low=[0.1, 0.1, 0.1], high=[0.3, 0.9, 0.9])
    assert out[2] == 0.2 and out[0] == 0.3 and out[1] == pytest.approx(0.5)  # 0.32 would exceed 0.3
    assert sum(out) == pytest.approx(1.0, abs=1e-15)


def test_an_age_share_can_be_swept(model: kneebayes.Model) -> None:
    """Model.sweep over an age share runs across its range and equals rebuilding the model at each value."""
    band = model.parameters.age_bands[-1]
    low, high = (float(x) for x in model.priors.age_bands.loc[band, ["low", "high"]])
    patients = pd.DataFrame({"calf_swelling": [True], "recent_immobility": [True]})
    swept = model.sweep(patients, "age_prevalence", band, [low, high])
    for value in (low, high):
        rebuilt = kneebayes.Model.from_priors(model.priors.with_value("age_prevalence", band, value))
        expected = rebuilt.diagnose_many(patients)[list(model.causes)].to_numpy(dtype=float)
        np.testing.assert_allclose(swept.xs(value, level="value").to_numpy(dtype=float), expected, atol=1e-12)
