"""kneebayes: probabilistic diagnosis of pain behind the knee with a Bayesian network.

Hand-set, sourced priors (plain files under ``priors/``) define a network of risk
factors, causes and findings. Given what a person reports, kneebayes returns a
probability for each cause, a triage level, and a red-flag override that says to
seek care now when a dangerous sign is present.

Examples
--------
>>> import kneebayes
>>> result = kneebayes.diagnose(present=["lump_behind_knee", "stiffness"], age=58)
>>> result.top
'bakers_cyst'
"""

import importlib.metadata as _metadata

from . import analysis as analysis  # the researcher's bench: kneebayes.analysis.diff after `import kneebayes`
from ._diagnosis import Diagnosis
from ._errors import (
    ContradictoryEvidenceError,
    EvidenceError,
    ImpossibleEvidenceError,
    InvalidAgeError,
    KneeBayesError,
    KneeBayesWarning,
    OptionError,
    PriorsError,
    Problem,
    UnknownIdError,
    VignetteError,
)
from ._evaluate import Evaluation, evaluate, load_vignettes
from ._export import export
from ._model import Model, load_model
from ._priors import Priors, load_priors, shipped_priors_path
from ._red_flags import FiredFlag
from ._rule import RedFlagRule
from ._shipped import diagnose
from ._vocabulary import TRIAGE_LEVELS

try:
    __version__ = _metadata.version("kneebayes")
except _metadata.PackageNotFoundError:  # pragma: no cover - running from a bare source tree
    __version__ = "0+unknown"

__all__ = [
    "TRIAGE_LEVELS",
    "ContradictoryEvidenceError",
    "Diagnosis",
    "Evaluation",
    "EvidenceError",
    "FiredFlag",
    "ImpossibleEvidenceError",
    "InvalidAgeError",
    "KneeBayesError",
    "KneeBayesWarning",
    "Model",
    "OptionError",
    "Priors",
    "PriorsError",
    "Problem",
    "RedFlagRule",
    "UnknownIdError",
    "VignetteError",
    "__version__",
    "diagnose",
    "evaluate",
    "export",
    "load_model",
    "load_priors",
    "load_vignettes",
    "shipped_priors_path",
]
