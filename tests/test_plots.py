"""The analyses' plots: drawn with the Agg backend, checked by their content (bars, labels), not pixels."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from matplotlib.container import ErrorbarContainer  # noqa: E402

import kneebayes  # noqa: E402
from kneebayes._display import DISCLAIMER, TRIAGE_TEXT  # noqa: E402
from kneebayes.analysis import (  # noqa: E402
    calibration,
    diff,
    plot_confusion,
    plot_diagnosis,
    robustness,
    tornado,
    uncertainty,
)

VIGNETTES = Path(__file__).resolve().parents[1] / "validation" / "vignettes.csv"
CLOT = {"present": ["calf_swelling", "recent_immobility"], "age": 64}


@pytest.fixture(scope="module")
def model() -> kneebayes.Model:
    return kneebayes.load_model()


@pytest.fixture(autouse=True)
def close_figures() -> None:
    yield
    plt.close("all")


def texts(ax: plt.Axes) -> list[str]:
    return [t.get_text() for t in ax.texts]


def test_band_plot_draws_ranked_bars_with_whiskers_and_the_triage_banner(model: kneebayes.Model) -> None:
    """One bar per cause, highest on top, whiskers spanning each band, the triage banner and the disclaimer."""
    band = uncertainty(model, **CLOT, draws=50)
    ax = band.plot()
    bars = ax.patches
    assert len(bars) == len(model.causes)
    by_height = sorted(zip(ax.get_yticks(), (t.get_text() for t in ax.get_yticklabels()), strict=True), reverse=True)
    assert [label for _, label in by_height] == list(band.table["label"])  # highest posterior on top
    widths = sorted(((b.get_y(), b.get_width()) for b in bars), reverse=True)
    assert widths[0][1] == pytest.approx(band.table.iloc[0]["point"])
    assert TRIAGE_TEXT[band.point_triage] in texts(ax) and DISCLAIMER in texts(ax)
    (whiskers,) = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    segments = whiskers.lines[2][0].get_segments()
    spans = sorted(((s[0][1], s[0][0], s[1][0]) for s in segments), reverse=True)
    assert spans[0][1] == pytest.approx(band.table.iloc[0]["low"])
    assert spans[0][2] == pytest.approx(band.table.iloc[0]["high"])


def test_diagnosis_plot_has_a_bar_per_cause_and_the_banner(model: kneebayes.Model) -> None:
    """A plain diagnosis is drawn as ranked bars under its triage banner."""
    result = model.diagnose(present=["difficulty_breathing"])
    ax = plot_diagnosis(result)
    assert len(ax.patches) == len(model.causes)
    assert TRIAGE_TEXT["emergency"] in texts(ax)


def test_tornado_plot_names_each_number_with_its_source_and_grade(model: kneebayes.Model) -> None:
    """The tornado draws two bars per row (low end, high end), each row labelled with number, source and grade."""
    result = tornado(model, **CLOT, target="dvt")
    fig, ax = plt.subplots()
    assert result.plot(ax, rows=8) is ax
    assert len(ax.patches) == 16
    by_height = sorted(zip(ax.get_yticks(), (t.get_text() for t in ax.get_yticklabels()), strict=True), reverse=True)
    top = result.table.iloc[0]
    assert by_height[0][1] == f"{top['label']}\n{top['source']} ({top['evidence']})"
    assert ax.get_xlabel() == result.label


def test_robustness_plot_has_a_bar_per_flipping_number(model: kneebayes.Model) -> None:
    """The robustness plot draws one bar per number that can flip the decision (up to rows)."""
    result = robustness(model, **CLOT, flip="top")
    ax = result.plot(rows=5)
    assert len(ax.patches) == min(5, int(result.table["flips_at"].notna().sum()))


def test_calibration_and_confusion_plots(model: kneebayes.Model) -> None:
    """The reliability diagram plots one point per non-empty bin; the confusion plot labels every cause."""
    result = calibration(model, VIGNETTES, bins=5)
    ax = result.plot()
    line = ax.lines[1]
    used = result.table[result.table["n"] > 0]
    assert list(line.get_xdata()) == pytest.approx(list(used["predicted"]))
    assert list(line.get_ydata()) == pytest.approx(list(used["observed"]))
    n = len(kneebayes.load_vignettes(VIGNETTES, model))
    assert result.table["n"].sum() == n * len(model.causes)
    ax = plot_confusion(kneebayes.evaluate(model, VIGNETTES))
    assert [t.get_text() for t in ax.get_xticklabels()] == list(model.causes)
    assert sum(int(t.get_text()) for t in ax.texts) == n


def test_diff_plot_still_draws(model: kneebayes.Model) -> None:
    """The diff's plot (without vignettes) draws one bar per changed number."""
    ax = diff(model.priors, model.priors.with_value("base_rate", "dvt", 0.04)).plot()
    assert len(ax.patches) == 1
