"""Ranges and shares at their edges: a value below its low, an age-band share of 0, and the bounds themselves."""

from __future__ import annotations

from pathlib import Path

import pytest

import kneebayes
from conftest import TINY, write_priors


def _folder(tmp_path: Path, **replacements: tuple[str, str]) -> Path:
    """Return the tiny priors folder with, per file, one exact text replacement."""
    files = dict(TINY)
    for name, (old, new) in replacements.items():
        name = name.replace("_csv", ".csv")
        assert files[name].count(old) == 1, (name, old)
        files[name] = files[name].replace(old, new)
    return write_priors(tmp_path / "edited", files)


def _refusal(folder: Path) -> kneebayes.PriorsError:
    with pytest.raises(kneebayes.PriorsError) as info:
        kneebayes.load_priors(folder)
    return info.value


@pytest.mark.parametrize(("value", "side"), [("0.04", "below low"), ("0.21", "above high")], ids=["below", "above"])
def test_value_outside_its_range_is_refused(tmp_path: Path, value: str, side: str) -> None:
    """A base rate below its low is refused as surely as one above its high, naming file, line and field."""
    folder = _folder(tmp_path, causes_csv=("c1,0.1,0.05,0.2,", f"c1,{value},0.05,0.2,"))
    err = _refusal(folder)
    assert [(p.file, p.line, p.field, p.value) for p in err.problems] == [("causes.csv", 2, "base_rate", value)], side
    assert "must lie within its own range [low, high] = [0.05, 0.2]" in str(err)


@pytest.mark.parametrize(("file", "old", "new", "column"), [
    ("risk_factors_csv", "r,0.2,0.1,0.3,", "r,0.09,0.1,0.3,", "prevalence"),
    ("findings_csv", "f,0.05,0.01,0.1,", "f,0.005,0.01,0.1,", "leak"),
    ("finding_links_csv", "f,c1,0.8,0.7,0.9,", "f,c1,0.65,0.7,0.9,", "probability"),
    ("cause_risks_csv", "c1,r,3.0,2.0,4.0,", "c1,r,1.5,2.0,4.0,", "odds_ratio"),
    ("settings_csv", "care_threshold,0.3,0.2,0.5,", "care_threshold,0.1,0.2,0.5,", "value"),
])
def test_every_kind_of_number_is_checked_against_its_low(
    tmp_path: Path, file: str, old: str, new: str, column: str
) -> None:
    """Each kind of ranged number below its low is refused in its own file and field."""
    err = _refusal(_folder(tmp_path, **{file: (old, new)}))
    assert [(p.file, p.field) for p in err.problems] == [(file.replace("_csv", ".csv"), column)]


def test_values_on_their_bounds_load(tmp_path: Path) -> None:
    """A value equal to its low or to its high is inside its range."""
    folder = _folder(tmp_path, causes_csv=("c1,0.1,0.05,0.2,", "c1,0.05,0.05,0.2,"),
                     risk_factors_csv=("r,0.2,0.1,0.3,", "r,0.3,0.1,0.3,"))
    priors = kneebayes.load_priors(folder)
    assert priors.causes.loc["c1", "base_rate"] == 0.05 and priors.risk_factors.loc["r", "prevalence"] == 0.3


BANDS = "id,min_age,max_age,prevalence,low,high,source,evidence\n"


def test_age_band_share_of_zero_is_refused(tmp_path: Path) -> None:
    """An age band with a share of 0 is refused (an age in it would be impossible evidence), naming its line."""
    bands = BANDS + "young,0,18,0,0,0.1,paper2020,direct\nadult,18,121,1.0,0.9,1.0,paper2020,direct\n"
    folder = _folder(tmp_path, age_bands_csv=(TINY["age_bands.csv"], bands))
    err = _refusal(folder)
    assert {(p.file, p.line, p.field) for p in err.problems} >= {("age_bands.csv", 2, "prevalence")}
    assert all(p.file == "age_bands.csv" and p.line == 2 for p in err.problems)
    assert "must be a share above 0" in str(err)


def test_small_positive_age_band_share_loads(tmp_path: Path) -> None:
    """A small but positive share is a valid age band, and an age in it gives finite posteriors."""
    bands = BANDS + "young,0,18,1e-6,1e-7,0.1,paper2020,direct\nadult,18,121,0.999999,0.9,0.9999999,paper2020,direct\n"
    model = kneebayes.load_model(_folder(tmp_path, age_bands_csv=(TINY["age_bands.csv"], bands)))
    assert model.diagnose(present=["f"], age=10).probabilities.between(0, 1).all()


@pytest.mark.parametrize("total", ["1.01", "0.99"])
def test_age_band_shares_must_sum_to_one(tmp_path: Path, total: str) -> None:
    """Age-band shares summing to 1.01 or 0.99 are refused; the error names the file and the sum."""
    second = f"{float(total) - 0.25:.2f}"
    bands = BANDS + f"young,0,18,0.25,0.1,0.5,paper2020,direct\nadult,18,121,{second},0.5,0.9,paper2020,direct\n"
    err = _refusal(_folder(tmp_path, age_bands_csv=(TINY["age_bands.csv"], bands)))
    assert [(p.file, p.field, p.value) for p in err.problems] == [("age_bands.csv", "prevalence", total)]
    assert "must sum to 1" in str(err)


def test_spaces_around_fields_are_ignored(tmp_path: Path) -> None:
    """A hand-edited file with a space after each comma loads to the same numbers, ids and levels."""
    spaced = {name: "\n".join(line if line.startswith("#") else line.replace(",", ", ")
                               for line in text.splitlines()) + "\n" for name, text in TINY.items()}
    plain = kneebayes.load_priors(write_priors(tmp_path / "plain", TINY))
    loaded = kneebayes.load_priors(write_priors(tmp_path / "spaced", spaced))
    assert loaded.to_frame().equals(plain.to_frame())
    assert list(loaded.causes["care"]) == ["see_doctor", "self_care"]
    assert loaded.red_flags == plain.red_flags
