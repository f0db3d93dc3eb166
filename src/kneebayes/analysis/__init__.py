"""The researcher's bench: analyses of a model and its priors.

Each analysis is a function that returns a small frozen result object with the
numbers as pandas tables (``.table`` is the main one), a readable ``repr``, an
HTML repr for Jupyter (``_repr_html_``) and ``.plot(ax=None)``, which draws on
the given matplotlib Axes (matplotlib is imported only then; install the
``notebooks`` extra) and returns it.

Analyses live one per private module (``_diff.py``, ...), so that the public
function ``kneebayes.analysis.diff`` is never shadowed by a submodule of the
same name; shared helpers are in ``_result.py``.

Examples
--------
>>> from kneebayes import load_priors
>>> from kneebayes.analysis import diff
>>> old = load_priors()
>>> new = old.with_value("base_rate", "dvt", 0.05)
>>> diff(old, new).numbers[["kind", "target", "new"]].to_dict("records")
[{'kind': 'base_rate', 'target': 'dvt', 'new': 0.05}]
"""

from ._diff import PriorsDiff, diff
from ._plots import Calibration, calibration, plot_confusion, plot_diagnosis
from ._robustness import Robustness, robustness
from ._sampling import beta_from_interval, sample_numbers
from ._tornado import Tornado, tornado
from ._uncertainty import Uncertainty, uncertainty

__all__ = [
    "Calibration",
    "PriorsDiff",
    "Robustness",
    "Tornado",
    "Uncertainty",
    "beta_from_interval",
    "calibration",
    "diff",
    "plot_confusion",
    "plot_diagnosis",
    "robustness",
    "sample_numbers",
    "tornado",
    "uncertainty",
]
