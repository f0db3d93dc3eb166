"""The model built from the shipped priors, loaded once on first use."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import pandas as pd

from ._diagnosis import Diagnosis
from ._model import Engine, Model, load_model
from ._vocabulary import DEFAULT_MIN_GAIN

if TYPE_CHECKING:  # pragma: no cover
    from ._explain import Explanation
    from .widgets import Explorer


@lru_cache(maxsize=1)
def shipped_model() -> Model:
    """Return the model of the shipped priors (built once per process)."""
    return load_model()


def diagnose(
    present: Iterable[str] | None = None,
    absent: Iterable[str] | None = None,
    age: float | None = None,
    *,
    sex: str | None = None,
    engine: Engine = "numpy",
) -> Diagnosis:
    """Diagnose with the shipped priors; see :meth:`kneebayes.Model.diagnose`.

    Examples
    --------
    >>> diagnose(present=["difficulty_breathing"]).triage
    'emergency'
    >>> "popliteal_aneurysm" in diagnose(present=["pulsating_lump"], age=72, sex="male").probabilities.index[:3]
    True
    """
    return shipped_model().diagnose(present, absent, age, sex=sex, engine=engine)


def predict_findings(
    present: Iterable[str] | None = None,
    absent: Iterable[str] | None = None,
    age: float | None = None,
    *,
    sex: str | None = None,
) -> pd.Series:
    """Predictive probabilities with the shipped priors; see :meth:`kneebayes.Model.predict_findings`.

    Examples
    --------
    >>> bool(predict_findings(present=["spasm"])["sudden_onset"] > 0.5)
    True
    """
    return shipped_model().predict_findings(present, absent, age, sex=sex)


def explain(
    present: Iterable[str] | None = None,
    absent: Iterable[str] | None = None,
    age: float | None = None,
    cause: str | None = None,
    *,
    sex: str | None = None,
) -> Explanation:
    """Explain a diagnosis with the shipped priors; see :meth:`kneebayes.Model.explain`.

    Examples
    --------
    >>> explain(present=["spasm", "sudden_onset"]).cause
    'cramp'
    """
    return shipped_model().explain(present, absent, age, cause, sex=sex)


def next_questions(
    present: Iterable[str] | None = None,
    absent: Iterable[str] | None = None,
    age: float | None = None,
    *,
    sex: str | None = None,
    unknown: Iterable[str] | None = None,
    costs: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """Rank the next questions with the shipped priors; see :meth:`kneebayes.Model.next_questions`.

    Examples
    --------
    >>> next_questions(present=["spasm"]).index[0]
    'difficulty_breathing'
    """
    return shipped_model().next_questions(present, absent, age, sex=sex, unknown=unknown, costs=costs)


def interview_step(
    present: Iterable[str] | None = None,
    absent: Iterable[str] | None = None,
    age: float | None = None,
    *,
    sex: str | None = None,
    unknown: Iterable[str] | None = None,
    costs: Mapping[str, float] | None = None,
    min_gain: float = DEFAULT_MIN_GAIN,
    explain: bool = False,
) -> dict[str, Any]:
    """One interview step with the shipped priors; see :meth:`kneebayes.Model.interview_step`.

    Examples
    --------
    >>> interview_step(present=["spasm"])["should_stop"]
    False
    """
    return shipped_model().interview_step(present, absent, age, sex=sex, unknown=unknown, costs=costs,
                                          min_gain=min_gain, explain=explain)


def explorer(model: Model | None = None) -> Explorer:
    """Return the Jupyter explorer (needs ipywidgets); see :class:`kneebayes.widgets.Explorer`.

    Examples
    --------
    >>> explorer().diagnosis.top
    'osteoarthritis'
    """
    from .widgets import Explorer

    return Explorer(model)
