"""The priors diff's triage step: its sign says whether the new priors send a vignette to more care or to less."""

from __future__ import annotations

from pathlib import Path

import kneebayes
from kneebayes.analysis import diff

VIGNETTES = Path(__file__).resolve().parents[1] / "validation" / "vignettes.csv"


def test_triage_step_is_new_level_minus_old_level() -> None:
    """Raising the care threshold sends some vignettes to less care: their step is negative and equals new - old."""
    old = kneebayes.load_priors()
    frame = old.to_frame().set_index(["kind", "target"])
    high = float(frame.loc[("setting", "care_threshold"), "high"])
    new = old.with_value("setting", "care_threshold", high)
    result = diff(old, new, VIGNETTES)
    levels = kneebayes.TRIAGE_LEVELS
    cases = result.cases
    expected = [levels.index(b) - levels.index(a) for a, b in zip(cases["old_triage"], cases["new_triage"],
                                                                    strict=True)]
    assert cases["triage_step"].tolist() == expected
    assert (cases["triage_step"] < 0).any()  # the edit does lower some levels: the check is not vacuous
    assert f"({int((cases['triage_step'] < 0).sum())} to less care)" in "\n".join(result.summary())
