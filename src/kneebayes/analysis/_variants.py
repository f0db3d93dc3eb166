"""What the analyses share: the patients they score, the names of numbers, and setting numbers in variants.

The analyses (tornado, robustness, uncertainty) score the same patients under
hundreds or thousands of parameter sets that share the model's structure and
differ in their numbers. They do so through the engine's one
re-parameterisation entry point: the numbers of all sets are a
:class:`~kneebayes._variants.Variants` (arrays with a leading variant axis,
intercepts re-solved for all sets at once) and
:meth:`~kneebayes._engine.ExactEngine.posteriors_under` scores every patient
under every set exactly (:mod:`kneebayes._variant_scoring`).

Nothing here is an approximation: the tests compare it with models rebuilt
through :meth:`~kneebayes.Priors.with_value` to 1e-9.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import numpy.typing as npt
import pandas as pd

from .._engine import EvidenceArrays, ExactEngine
from .._errors import OptionError
from .._evidence import Evidence
from .._model import Model
from .._parameters import FloatArray
from .._priors import Priors
from .._variant_scoring import one_blas_thread
from .._variants import Variants

__all__ = ["Variants", "number_label", "one_blas_thread", "patient_arrays", "posteriors", "set_numbers"]


def posteriors(var: Variants, ev: EvidenceArrays, model: Model | None = None) -> FloatArray:
    """Exact P(cause | evidence) per variant, patient and cause, shape (V, N, C).

    Scored by ``model``'s engine when given (its plans are reused), else by an
    engine of ``var.base``.

    Raises
    ------
    ImpossibleEvidenceError
        When a patient's answers have probability zero under some variant.
    """
    engine = model._engine if model is not None else ExactEngine(var.base)
    return engine.posteriors_under(ev, var)


# ---- inputs shared by the analyses -------------------------------------------------------


def patient_arrays(
    model: Model,
    present: Iterable[str] | None,
    absent: Iterable[str] | None,
    age: float | None,
    patients: pd.DataFrame | None,
) -> tuple[EvidenceArrays, pd.Index, Evidence | None]:
    """Validate one patient (``present``, ``absent``, ``age``) or a table of ``patients``.

    Returns the evidence arrays, the patients' index and, for one patient, the
    validated :class:`~kneebayes._evidence.Evidence`.

    Raises
    ------
    OptionError
        When both a patient and a table are given.
    """
    if patients is not None:
        if present is not None or absent is not None or age is not None:
            raise OptionError("give either one patient (present=, absent=, age=) or patients=, not both")
        if not isinstance(patients, pd.DataFrame) or patients.empty:
            raise OptionError(f"The 'patients' parameter must be a non-empty pandas DataFrame. Got {patients!r}.")
        return model._frame_arrays(patients), patients.index, None
    evidence = model.evidence(present, absent, age)
    return model._arrays([evidence]), pd.RangeIndex(1), evidence


def number_label(kind: str, target: str, labels: dict[str, str]) -> str:
    """Name a prior number in a few words, with the vocabulary's labels.

    Examples
    --------
    >>> number_label("finding_probability", "fever|dvt", {"fever": "Fever", "dvt": "DVT"})
    'P(Fever | DVT alone)'
    >>> number_label("odds_ratio", "dvt|smoking", {"dvt": "DVT", "smoking": "Smoking"})
    'odds ratio of Smoking on DVT'
    """
    first, _, second = target.partition("|")
    a, b = labels.get(first, first), labels.get(second, second)
    return {
        "base_rate": f"base rate of {a}",
        "prevalence": f"prevalence of {a}",
        "age_prevalence": f"share of {a}",
        "odds_ratio": f"odds ratio of {b} on {a}",
        "leak": f"leak of {a}",
        "finding_probability": f"P({a} | {b} alone)",
        "threshold": f"threshold of rule {first}",
        "setting": f"setting {first}",
    }.get(kind, f"{kind} {target}")


def set_numbers(var: Variants, numbers: pd.DataFrame, rows: list[npt.NDArray[np.int64]],
                values: list[FloatArray], priors: Priors) -> None:
    """Set each number ``numbers.iloc[i]`` to ``values[i]`` in variants ``rows[i]``, then solve the intercepts."""
    share_low = priors.age_bands["low"].to_numpy(dtype=float).tolist()
    share_high = priors.age_bands["high"].to_numpy(dtype=float).tolist()
    for (kind, target), where, value in zip(numbers[["kind", "target"]].itertuples(index=False, name=None),
                                            rows, values, strict=True):
        var.set(where, kind, target, value, share_low=share_low, share_high=share_high)
    var.solve()
