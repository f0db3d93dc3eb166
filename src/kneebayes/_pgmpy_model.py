"""Export the network to pgmpy, and pgmpy's exact inference as the reference engine.

pgmpy is imported here and nowhere else, only when a function of this module
runs, so that ``import kneebayes`` and the command line stay fast and quiet.
"""

from __future__ import annotations

import itertools
import warnings
from typing import TYPE_CHECKING, Any

import numpy as np

from ._errors import ImpossibleEvidenceError
from ._evidence import Evidence
from ._parameters import Parameters, cause_table
from ._vocabulary import SEX_ID

if TYPE_CHECKING:  # pragma: no cover
    from pgmpy.models import DiscreteBayesianNetwork

STATES = ["absent", "present"]
AGE_NODE = "age_band"


def _import_pgmpy() -> tuple[Any, Any, Any]:
    with warnings.catch_warnings():
        # pgmpy 1.x announces future renames on import; they are not our users' concern
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        from pgmpy.factors.discrete import TabularCPD
        from pgmpy.inference import VariableElimination
        from pgmpy.models import DiscreteBayesianNetwork
    return DiscreteBayesianNetwork, TabularCPD, VariableElimination


def to_pgmpy(params: Parameters) -> DiscreteBayesianNetwork:
    """Build a pgmpy ``DiscreteBayesianNetwork`` of plain ``TabularCPD``s.

    Node names are the vocabulary ids plus ``"age_band"``; binary nodes have the
    states ``["absent", "present"]`` and ``age_band`` has the age-band ids.
    """
    network_cls, cpd_cls, _ = _import_pgmpy()
    edges: list[tuple[str, str]] = []
    cpds = []
    bands = list(params.age_bands)
    cpds.append(cpd_cls(AGE_NODE, len(bands), params.age_prevalence.reshape(-1, 1),
                        state_names={AGE_NODE: bands}))
    for r, rf_id in enumerate(params.risk_factors):
        p = params.rf_prevalence[r]
        cpds.append(cpd_cls(rf_id, 2, [[1.0 - p], [p]], state_names={rf_id: STATES}))

    for c, cause in enumerate(params.causes):
        cpt = cause_table(params, c)
        parents = ([AGE_NODE] if cpt.age else []) + [params.risk_factors[i] for i in cpt.risk_factors] + [
            params.causes[i] for i in cpt.causes
        ]
        edges += [(p, cause) for p in parents]
        # pgmpy wants (state, parent configurations) with the last parent changing fastest
        values = cpt.table.reshape(-1, 2).T
        state_names = {cause: STATES, **{p: (bands if p == AGE_NODE else STATES) for p in parents}}
        cpds.append(cpd_cls(cause, 2, values, evidence=parents or None,
                            evidence_card=list(cpt.cards) or None, state_names=state_names))

    for f, finding in enumerate(params.findings):
        parent_idx = [int(i) for i in np.flatnonzero(params.q[:, f] > 0)]
        parents = [params.causes[i] for i in parent_idx]
        edges += [(p, finding) for p in parents]
        grid = _grid([2] * len(parent_idx)).astype(float)
        log_off = np.log1p(-params.leak[f]) + grid @ np.log1p(-params.q[parent_idx, f])
        cpds.append(cpd_cls(finding, 2, np.vstack([np.exp(log_off), -np.expm1(log_off)]), evidence=parents or None,
                            evidence_card=[2] * len(parents) or None,
                            state_names={finding: STATES, **{p: STATES for p in parents}}))

    network = network_cls()
    network.add_nodes_from([AGE_NODE, *params.risk_factors, *params.causes, *params.findings])
    network.add_edges_from(edges)
    network.add_cpds(*cpds)
    return network


def _grid(cards: list[int]) -> np.ndarray:
    """All configurations of variables with these cardinalities, the last changing fastest."""
    rows = list(itertools.product(*[range(k) for k in cards]))
    return np.array(rows, dtype=np.int64).reshape(len(rows), len(cards))


def pgmpy_evidence(evidence: Evidence) -> dict[str, str]:
    """Translate evidence into pgmpy's ``{node: state name}`` form."""
    states = {i: "present" for i in evidence.present}
    states.update({i: "absent" for i in evidence.absent})
    if evidence.age_band is not None:
        states[AGE_NODE] = evidence.age_band
    if evidence.sex is not None:
        states[SEX_ID] = "present" if evidence.sex == "female" else "absent"
    return states


def pgmpy_posteriors(network: DiscreteBayesianNetwork, params: Parameters, evidence: Evidence) -> np.ndarray:
    """P(cause present | evidence) for every cause, by pgmpy's VariableElimination.

    Examples
    --------
    >>> from kneebayes import load_model
    >>> model = load_model()
    >>> p = pgmpy_posteriors(model.to_pgmpy(), model.parameters, model.evidence(["lump_behind_knee"]))
    >>> model.causes[int(p.argmax())]
    'bakers_cyst'
    """
    _, _, ve_cls = _import_pgmpy()
    inference = ve_cls(network)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", UserWarning)
        warnings.simplefilter("ignore", RuntimeWarning)  # 0/0 on underflow: reported below as an error
        try:
            result = inference.query(list(params.causes), evidence=pgmpy_evidence(evidence), joint=False,
                                     show_progress=False)
        except (ValueError, ZeroDivisionError, FloatingPointError) as err:
            raise ImpossibleEvidenceError(f"pgmpy could not condition on this evidence: {err}") from err
    out = np.array([float(result[c].get_value(**{c: "present"})) for c in params.causes])
    if not np.all(np.isfinite(out)):
        raise ImpossibleEvidenceError("this evidence has probability zero under the model")
    return out
