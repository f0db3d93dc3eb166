"""The model built from the shipped priors, loaded once on first use."""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

from ._diagnosis import Diagnosis
from ._model import Engine, Model, load_model


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
