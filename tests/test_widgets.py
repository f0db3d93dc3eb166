"""The Jupyter explorer, driven from Python: the controls change what is shown, exactly as diagnose says."""

from __future__ import annotations

import html as _html
import re

import pytest

import kneebayes
from kneebayes.widgets import STATES, Explorer


@pytest.fixture
def explorer(model: kneebayes.Model) -> Explorer:
    """Return a fresh explorer of the shipped model."""
    return Explorer(model)


def _bars(page: str) -> list[tuple[str, float]]:
    """Return (label, shown probability) pairs of the ranked bars, in display order."""
    rows = re.findall(r'<td style="padding-right:1em">(.*?)</td>.*?<td style="text-align:right;padding-left:0.5em">'
                      r"([0-9.]+)</td>", page, flags=re.S)
    return [(_html.unescape(label), float(value)) for label, value in rows]


def test_controls_are_grouped_and_start_unknown(explorer: Explorer, model: kneebayes.Model) -> None:
    """There is one three-state control per id, all unknown, and the panel shows the prior diagnosis."""
    assert set(explorer.toggles) == set(model.observable)
    assert all(tuple(t.options) == STATES and t.value == "unknown" for t in explorer.toggles.values())
    headers = [child.children[0].value for child in explorer.panel.children[0].children[1:]]
    assert [re.sub("<.*?>", "", h) for h in headers] == ["Symptoms", "Warning signs", "Risk factors"]
    assert explorer.diagnosis == model.diagnose()


def test_toggling_controls_updates_bars_banner_and_explanation(explorer: Explorer, model: kneebayes.Model) -> None:
    """Setting toggles and the age redraws the ranked bars, banner and explanation to match diagnose()."""
    explorer.toggles["calf_swelling"].value = "present"
    explorer.toggles["recent_immobility"].value = "present"
    explorer.toggles["fever"].value = "absent"
    explorer.age_known.value = True
    explorer.age.value = 64
    expected = model.diagnose(["calf_swelling", "recent_immobility"], ["fever"], 64)
    assert explorer.diagnosis == expected
    bars = _bars(explorer.result.value)
    assert [label for label, _ in bars] == [expected.labels[c] for c in expected.probabilities.index]
    assert [p for _, p in bars] == [round(float(p), 3) for p in expected.probabilities]
    assert "Urgent: get medical care today." in explorer.result.value
    assert "Deep vein thrombosis" in explorer.explanation.value
    assert explorer.why.table.equals(model.explain(["calf_swelling", "recent_immobility"], ["fever"], 64).table)
    explorer.toggles["difficulty_breathing"].value = "present"
    assert explorer.diagnosis.triage == "emergency" and "Red flag (emergency)" in explorer.result.value


def test_suggested_question_and_answer_buttons_follow_interview_step(explorer: Explorer,
                                                                     model: kneebayes.Model) -> None:
    """The suggested question is interview_step's; its buttons answer it (yes, no, don't know)."""
    explorer.set(present=["spasm"], age=30)
    step = model.interview_step(["spasm"], [], 30)
    assert explorer.step == step and step["question_text"] in explorer.question.value
    first = step["question"]
    explorer.answer_buttons["no"].click()
    assert explorer.toggles[first].value == "absent"
    second = explorer.step["question"]
    explorer.answer_buttons["don't know"].click()
    assert explorer.unknown == [second] and explorer.toggles[second].value == "unknown"
    assert explorer.step == model.interview_step(["spasm"], [first], 30, unknown=[second])
    third = explorer.step["question"]
    explorer.answer_buttons["yes"].click()
    assert explorer.toggles[third].value == "present"


def test_set_refuses_bad_ids_without_changing_anything(explorer: Explorer) -> None:
    """A bad id in set() raises the usual error and leaves the controls as they were."""
    explorer.set(present=["spasm"])
    with pytest.raises(kneebayes.UnknownIdError):
        explorer.set(present=["spsm"])
    assert explorer.toggles["spasm"].value == "present"


def test_explorer_entry_point_uses_the_shipped_model() -> None:
    """kneebayes.explorer() builds an Explorer of the shipped model; its repr carries the disclaimer."""
    panel = kneebayes.explorer()
    assert isinstance(panel, Explorer) and kneebayes._display.DISCLAIMER in repr(panel)
