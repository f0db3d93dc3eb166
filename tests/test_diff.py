"""kneebayes.analysis.diff and `kneebayes diff`: the numbers, rules and vignette answers two priors differ in."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import kneebayes
from kneebayes.analysis import PriorsDiff, diff
from kneebayes.cli import main

VIGNETTES = Path(__file__).resolve().parents[1] / "validation" / "vignettes.csv"


@pytest.fixture(scope="module")
def edited(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Save the shipped priors and an edited copy: two numbers changed, one link removed, one rule reworded."""
    base = tmp_path_factory.mktemp("diff")
    old = kneebayes.load_priors()
    old_folder = old.save(base / "old")
    new = (old.with_value("odds_ratio", "dvt|recent_immobility", 9.0, high=12.0, source="expert estimate",
                           evidence="expert")
              .with_value("base_rate", "cramp", 0.35, high=0.45))
    new_folder = new.save(base / "new")
    links = new_folder / "finding_links.csv"
    lines = links.read_text(encoding="utf-8").splitlines(keepends=True)
    dropped = [i for i, line in enumerate(lines) if line.startswith("trouble_walking,cramp,")]
    assert len(dropped) == 1
    del lines[dropped[0]]
    links.write_text("".join(lines), encoding="utf-8")
    flags = new_folder / "red_flags.csv"
    rule = old.red_flags[0]
    text = flags.read_text(encoding="utf-8")
    assert text.count(rule.message) == 1
    flags.write_text(text.replace(rule.message, "Call an ambulance now."), encoding="utf-8")
    return old_folder, new_folder


def test_numbers_changed_with_their_sources_and_lines(edited: tuple[Path, Path]) -> None:
    """The diff lists exactly the edited numbers with old and new value, range, source, evidence, file and line."""
    old_folder, new_folder = edited
    result = diff(old_folder, new_folder)
    numbers = result.numbers.set_index(["kind", "target"])
    assert set(numbers.index) == {("odds_ratio", "dvt|recent_immobility"), ("base_rate", "cramp"),
                                  ("finding_probability", "trouble_walking|cramp")}
    odds = numbers.loc[("odds_ratio", "dvt|recent_immobility")]
    frame = kneebayes.load_priors(old_folder).to_frame().set_index(["kind", "target"])
    before = frame.loc[("odds_ratio", "dvt|recent_immobility")]
    assert (odds["change"], odds["old"], odds["new"], odds["new_high"]) == ("changed", before["value"], 9.0, 12.0)
    assert odds["old_source"] == before["source"] and odds["new_source"] == "expert estimate"
    assert odds["old_evidence"] == before["evidence"] and odds["new_evidence"] == "expert"
    assert (odds["file"], odds["line"]) == ("cause_risks.csv", before["line"])
    removed = numbers.loc[("finding_probability", "trouble_walking|cramp")]
    assert removed["change"] == "removed" and np.isnan(removed["new"])
    assert result.table is result.numbers


def test_added_rows_and_rules(edited: tuple[Path, Path]) -> None:
    """Read the other way, the removed link is an added one; a reworded rule is listed with both messages."""
    old_folder, new_folder = edited
    back = diff(new_folder, old_folder)
    added = back.numbers[back.numbers["change"] == "added"]
    assert list(added["target"]) == ["trouble_walking|cramp"]
    rule = kneebayes.load_priors(old_folder).red_flags[0]
    rules = diff(old_folder, new_folder).rules
    assert rules.to_dict("records") == [
        {"id": rule.id, "change": "changed", "field": "message", "old": rule.message, "new": "Call an ambulance now."}
    ]


def test_identical_priors_differ_in_nothing(model: kneebayes.Model) -> None:
    """A model compared with itself has no changed number, rule, posterior or metric."""
    result = diff(model, model.priors, VIGNETTES)
    assert result.numbers.empty and result.rules.empty
    assert float(result.posteriors["shift"].abs().max()) == 0.0
    assert not result.cases["top_flipped"].any() and (result.metrics["change"] == 0).all()


def test_vignette_answers_match_independent_runs(edited: tuple[Path, Path]) -> None:
    """Posteriors, flips and metrics on the vignettes equal what diagnose and evaluate give for each priors."""
    old_folder, new_folder = edited
    result = diff(old_folder, new_folder, VIGNETTES)
    old_model, new_model = kneebayes.load_model(old_folder), kneebayes.load_model(new_folder)
    old_eval, new_eval = kneebayes.evaluate(old_model, VIGNETTES), kneebayes.evaluate(new_model, VIGNETTES)

    metrics = result.metrics
    for name, value in new_eval.summary().items():
        assert metrics.loc[name, "new"] == pytest.approx(value, nan_ok=True)
        assert metrics.loc[name, "old"] == pytest.approx(old_eval.summary()[name], nan_ok=True)

    flipped = set(old_eval.cases.index[old_eval.cases["top"] != new_eval.cases["top"]])
    assert flipped and set(result.cases.index[result.cases["top_flipped"]]) == flipped  # cramp's base rate moves some
    triage = set(old_eval.cases.index[old_eval.cases["triage"] != new_eval.cases["triage"]])
    assert set(result.cases.index[result.cases["triage_changed"]]) == triage

    frame = kneebayes.load_vignettes(VIGNETTES, new_model)
    for ident in list(result.cases.index[:3]):
        case = frame.loc[ident]
        age = None if np.isnan(case["age"]) else float(case["age"])
        before = old_model.diagnose(case["present"], case["absent"], age).probabilities
        after = new_model.diagnose(case["present"], case["absent"], age).probabilities
        for cause in new_model.causes:
            row = result.posteriors.loc[(ident, cause)]
            assert row["old"] == pytest.approx(before[cause], abs=1e-12)
            assert row["new"] == pytest.approx(after[cause], abs=1e-12)
        top = result.cases.loc[ident]
        assert abs(top["largest_shift"]) == pytest.approx((after - before.loc[after.index]).abs().max(), abs=1e-12)
    shifts = result.posteriors["shift"].abs().to_numpy()
    assert (np.diff(shifts) <= 1e-15).all()  # largest first
    cases = result.cases["largest_shift"].abs().to_numpy()
    assert (np.diff(cases) <= 1e-15).all()


def test_diff_outputs_text_html_json_and_plot(edited: tuple[Path, Path]) -> None:
    """The result reads as text and HTML, serialises to JSON and plots one bar per vignette."""
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    old_folder, new_folder = edited
    result = diff(old_folder, new_folder, VIGNETTES)
    assert isinstance(result, PriorsDiff)
    text = repr(result)
    assert "3 changed" not in text and "2 changed, 0 added, 1 removed" in text
    assert "dvt|recent_immobility" in text and "top causes flipped" in text
    assert "4.5 [" in text and "9 [" in text and "-> expert estimate" in text  # value [low, high] and source change
    assert "<table" in result._repr_html_()
    data = json.loads(json.dumps(result.to_dict()))
    assert {row["target"] for row in data["numbers"]} >= {"cramp", "dvt|recent_immobility"}
    fig, ax = plt.subplots()
    assert result.plot(ax) is ax
    assert len(ax.patches) == len(result.cases)
    no_vignettes = diff(old_folder, new_folder)
    assert len(no_vignettes.plot().patches) == 2  # the two changed numbers
    plt.close("all")


def test_diff_command(edited: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    """`kneebayes diff OLD NEW --vignettes FILE` prints the diff; --json is machine-readable; bad folders exit 2."""
    old_folder, new_folder = edited
    assert main(["diff", str(old_folder), str(new_folder), "--vignettes", str(VIGNETTES)]) == 0
    out = capsys.readouterr().out
    assert "base_rate" in out and "vignettes" in out
    assert main(["diff", str(old_folder), str(new_folder), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert len(data["numbers"]) == 3 and data["metrics"] == []
    assert main(["diff", str(old_folder), str(old_folder / "missing")]) == 2
    assert "missing" in capsys.readouterr().err
    assert main(["diff", str(old_folder), str(new_folder), "--vignettes", str(old_folder / "none.csv")]) == 2
    assert "no vignette file at" in capsys.readouterr().err


def test_diff_accepts_a_vignette_frame(model: kneebayes.Model) -> None:
    """A vignette DataFrame works like a file, and an unknown input type is refused."""
    frame = kneebayes.load_vignettes(VIGNETTES, model).head(5)
    edited = model.priors.with_value("leak", "fever", 0.02)
    result = diff(model, edited, frame)
    assert len(result.cases) == 5 and isinstance(result.metrics, pd.DataFrame)
    with pytest.raises(TypeError, match="Model, Priors or a priors folder"):
        diff(42, model)  # type: ignore[arg-type]
