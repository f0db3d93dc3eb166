"""What a person reads: the triage banner in HTML and text, and the red flags' why in to_dict."""

from __future__ import annotations

import html
import json

import pandas as pd
import pytest

import kneebayes
from kneebayes import TRIAGE_LEVELS, Diagnosis, FiredFlag
from kneebayes._display import DISCLAIMER, TRIAGE_TEXT


def _result(triage: str, flags: tuple[FiredFlag, ...] = ()) -> Diagnosis:
    """Return a hand-built diagnosis with two causes."""
    probabilities = pd.Series({"dvt": 0.6, "cramp": 0.2}, name="probability")
    return Diagnosis(probabilities=probabilities, triage=triage, red_flags=flags, present=("calf_swelling",),
                     absent=(), age=None, labels={"dvt": "Deep vein thrombosis", "cramp": "Cramp"})


@pytest.mark.parametrize("triage", TRIAGE_LEVELS)
def test_html_opens_with_the_triage_banner(triage: str) -> None:
    """The HTML display shows the triage level's advice in a banner before the red flags and the causes."""
    flag = FiredFlag("clot", "urgent", "Get checked today.", "calf_swelling reported present")
    out = _result(triage, (flag,))._repr_html_()
    banner = html.escape(TRIAGE_TEXT[triage])
    assert banner in out
    assert out.index(banner) < out.index("Get checked today.") < out.index("Deep vein thrombosis")
    assert html.escape(DISCLAIMER) in out


def test_html_banners_differ_by_level() -> None:
    """Each triage level has its own banner text: the display cannot show one level's advice for another."""
    banners = {level: _result(level)._repr_html_() for level in TRIAGE_LEVELS}
    for level, out in banners.items():
        for other in TRIAGE_LEVELS:
            assert (html.escape(TRIAGE_TEXT[other]) in out) == (other == level), (level, other)


def test_html_shows_each_red_flag_with_its_why() -> None:
    """Every fired flag appears in the HTML with its level, message and why."""
    flags = (FiredFlag("a", "emergency", "Call now.", "chest_pain reported present"),
             FiredFlag("b", "urgent", "Go today.", "P(dvt) = 0.60 >= 0.15"))
    out = _result("emergency", flags)._repr_html_()
    for flag in flags:
        assert f"Red flag ({flag.level}):</b> {html.escape(flag.message)}" in out
        assert f"why: {html.escape(flag.why)}" in out


def test_text_starts_with_red_flags_then_triage() -> None:
    """The text display lists the flags first, then the triage line with its advice, and ends with the disclaimer."""
    flag = FiredFlag("clot", "urgent", "Get checked today.", "calf_swelling reported present")
    lines = repr(_result("urgent", (flag,))).splitlines()
    assert lines[0] == "!! RED FLAG [URGENT] Get checked today."
    assert lines[1] == "   why: calf_swelling reported present"
    assert lines[2] == f"Triage: urgent - {TRIAGE_TEXT['urgent']}"
    assert lines[-1] == DISCLAIMER


def test_to_dict_red_flags_carry_their_why_and_message_apart() -> None:
    """to_dict()['red_flags'][i] holds the rule's why (what made it fire) and its message, each in its own key."""
    result = kneebayes.diagnose(present=["fever", "calf_swelling", "recent_immobility"], age=70)
    data = json.loads(json.dumps(result.to_dict()))
    assert [f["id"] for f in data["red_flags"]] == [f.id for f in result.red_flags]
    for entry, flag in zip(data["red_flags"], result.red_flags, strict=True):
        assert entry == {"id": flag.id, "level": flag.level, "message": flag.message, "why": flag.why}
        assert entry["why"] != entry["message"]
    assert "fever reported present" in [f["why"] for f in data["red_flags"]]  # the fever rule's why, verbatim
