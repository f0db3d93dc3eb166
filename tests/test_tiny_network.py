"""Posteriors of a four-node network, computed by hand and compared with both engines."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import pytest

import kneebayes

PREV_R, OR_R, BASE_C1, BASE_C2 = 0.2, 3.0, 0.1, 0.3
LEAK, S1, S2 = 0.05, 0.8, 0.5


def _intercept_c1() -> float:
    # 0.8 x/(1+x) + 0.2 * 3x/(1+3x) = 0.1 with x = exp(b) reduces to 2.7 x^2 + 1.0 x - 0.1 = 0
    x = (-1.0 + math.sqrt(1.0 + 4 * 2.7 * 0.1)) / (2 * 2.7)
    return math.log(x)


def _joint(r: int, c1: int, c2: int, f: int) -> float:
    b = _intercept_c1()
    p_r = PREV_R if r else 1 - PREV_R
    p1 = 1 / (1 + math.exp(-(b + r * math.log(OR_R))))
    p_c1 = p1 if c1 else 1 - p1
    p_c2 = BASE_C2 if c2 else 1 - BASE_C2
    q1 = 1 - (1 - S1) / (1 - LEAK)
    q2 = 1 - (1 - S2) / (1 - LEAK)
    p_f_absent = (1 - LEAK) * (1 - q1) ** c1 * (1 - q2) ** c2
    p_f = 1 - p_f_absent if f else p_f_absent
    return p_r * p_c1 * p_c2 * p_f


def _posterior(cause: str, r: int | None, f: int | None) -> float:
    num = den = 0.0
    for rr, c1, c2, ff in itertools.product((0, 1), repeat=4):
        if (r is not None and rr != r) or (f is not None and ff != f):
            continue
        p = _joint(rr, c1, c2, ff)
        den += p
        num += p * (c1 if cause == "c1" else c2)
    return num / den


CASES = [
    ([], [], None, None),
    (["f"], [], None, 1),
    ([], ["f"], None, 0),
    (["f", "r"], [], 1, 1),
    (["f"], ["r"], 0, 1),
    ([], ["r"], 0, None),
]


@pytest.mark.parametrize("engine", ["numpy", "pgmpy"])
@pytest.mark.parametrize(("present", "absent", "r", "f"), CASES)
def test_posteriors_match_hand_computation(
    tiny_folder: Path, engine: str, present: list[str], absent: list[str], r: int | None, f: int | None
) -> None:
    """Both engines give the hand-enumerated posterior of each cause to 1e-12."""
    result = kneebayes.load_model(tiny_folder).diagnose(present, absent, engine=engine)  # type: ignore[arg-type]
    assert result.probabilities["c1"] == pytest.approx(_posterior("c1", r, f), abs=1e-12)
    assert result.probabilities["c2"] == pytest.approx(_posterior("c2", r, f), abs=1e-12)


def test_intercept_reproduces_base_rate(tiny_folder: Path) -> None:
    """The solved intercept is the closed-form root, so the marginal of c1 equals its base rate."""
    params = kneebayes.load_model(tiny_folder).parameters
    assert params.intercept[0] == pytest.approx(_intercept_c1(), abs=1e-10)
    assert kneebayes.load_model(tiny_folder).diagnose().probabilities["c1"] == pytest.approx(BASE_C1, abs=1e-12)


def test_finding_raises_its_causes(tiny_folder: Path) -> None:
    """Reporting a finding raises the posterior of every cause that produces it; denying it lowers them."""
    model = kneebayes.load_model(tiny_folder)
    prior = model.diagnose().probabilities
    up = model.diagnose(present=["f"]).probabilities
    down = model.diagnose(absent=["f"]).probabilities
    assert (up > prior).all() and (down < prior).all()


def test_posterior_rule_sets_triage(tiny_folder: Path) -> None:
    """The tiny folder's posterior rule fires exactly when P(c1) reaches its threshold."""
    model = kneebayes.load_model(tiny_folder)
    with_r = model.diagnose(present=["f", "r"])
    assert with_r.probabilities["c1"] >= 0.5
    assert [f.id for f in with_r.red_flags] == ["c1_likely"] and with_r.triage == "urgent"
    without = model.diagnose(absent=["f"])
    assert without.red_flags == () and without.triage == "self_care"
