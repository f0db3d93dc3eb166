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

import typing as _typing

from ._diagnosis import Diagnosis
from ._errors import (
    ContradictoryEvidenceError,
    EvidenceError,
    ImpossibleEvidenceError,
    InvalidAgeError,
    InvalidSexError,
    KneeBayesError,
    KneeBayesWarning,
    OptionError,
    PriorsError,
    Problem,
    SaveError,
    UnknownIdError,
    VignetteError,
)
from ._evaluate import Evaluation, evaluate, load_vignettes
from ._explain import Explanation
from ._export import export
from ._model import Model, load_model
from ._priors import Priors, load_priors, shipped_priors_path
from ._reader import read_prior_file
from ._red_flags import FiredFlag
from ._replay import InterviewReplay, replay_interviews
from ._rule import RedFlagRule
from ._shipped import diagnose, explain, explorer, interview_step, next_questions, predict_findings
from ._vocabulary import TRIAGE_LEVELS

if _typing.TYPE_CHECKING:
    from . import analysis as analysis  # the researcher's bench: kneebayes.analysis.diff after `import kneebayes`

    __version__: str


def __getattr__(name: str) -> _typing.Any:
    """Import ``analysis`` and look up ``__version__`` on first use: both cost start-up time otherwise."""
    if name == "analysis":
        import importlib

        return importlib.import_module(".analysis", __name__)
    if name == "__version__":
        import importlib.metadata

        try:
            version = importlib.metadata.version("kneebayes")
        except importlib.metadata.PackageNotFoundError:  # pragma: no cover - running from a bare source tree
            version = "0+unknown"
        globals()["__version__"] = version
        return version
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = [
    "TRIAGE_LEVELS",
    "ContradictoryEvidenceError",
    "Diagnosis",
    "Evaluation",
    "Explanation",
    "EvidenceError",
    "FiredFlag",
    "ImpossibleEvidenceError",
    "InterviewReplay",
    "InvalidAgeError",
    "InvalidSexError",
    "KneeBayesError",
    "KneeBayesWarning",
    "Model",
    "OptionError",
    "Priors",
    "PriorsError",
    "Problem",
    "RedFlagRule",
    "SaveError",
    "UnknownIdError",
    "VignetteError",
    "__version__",
    "diagnose",
    "evaluate",
    "export",
    "explain",
    "explorer",
    "interview_step",
    "load_model",
    "load_priors",
    "load_vignettes",
    "next_questions",
    "predict_findings",
    "read_prior_file",
    "replay_interviews",
    "shipped_priors_path",
]
