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
from ._model import Model, load_model
from ._priors import Priors, load_priors, shipped_priors_path
from ._reader import read_prior_file
from ._red_flags import FiredFlag
from ._rule import RedFlagRule
from ._shipped import diagnose, explain, explorer, interview_step, next_questions, predict_findings
from ._vocabulary import TRIAGE_LEVELS

if _typing.TYPE_CHECKING:
    from . import analysis as analysis  # the researcher's bench: kneebayes.analysis.diff after `import kneebayes`
    from ._evaluate import Evaluation, evaluate, load_vignettes
    from ._explain import Explanation
    from ._export import export
    from ._replay import InterviewReplay, replay_interviews

    __version__: str

#: Names whose modules load on first use (the command line's ``diagnose`` needs none of them).
_LAZY = {"analysis": ".analysis", "Evaluation": "._evaluate", "evaluate": "._evaluate",
         "load_vignettes": "._evaluate", "Explanation": "._explain", "export": "._export",
         "InterviewReplay": "._replay", "replay_interviews": "._replay"}


def __getattr__(name: str) -> _typing.Any:
    """Import the modules of :data:`_LAZY` and look up ``__version__`` on first use (start-up time otherwise)."""
    if name in _LAZY:
        import importlib

        module = importlib.import_module(_LAZY[name], __name__)
        value = module if name == "analysis" else getattr(module, name)
        globals()[name] = value
        return value
    if name == "__version__":
        import importlib.metadata

        try:
            version = importlib.metadata.version("kneebayes")
        except importlib.metadata.PackageNotFoundError:  # pragma: no cover - running from a bare source tree
            version = "0+unknown"
        globals()["__version__"] = version
        return version
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    """List the lazy names too (tab completion in a notebook)."""
    return sorted(set(globals()) | set(__all__))

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
