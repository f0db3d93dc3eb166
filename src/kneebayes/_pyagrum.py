"""The network as a pyAgrum ``BayesNet``: an independent exact reference for tests and benchmarks.

pyAgrum is optional (the ``pyagrum`` extra); nothing in the library's normal use imports it.
"""

from __future__ import annotations

import importlib
import itertools
from typing import Any

import numpy as np

from ._batch import EvidenceArrays
from ._parameters import FloatArray, Parameters, cause_table

AGE = "age_band"


def to_pyagrum(params: Parameters) -> Any:
    """Build a pyAgrum ``BayesNet`` from compiled parameters (full tables, noisy-ORs tabulated).

    Node names are the ids plus ``"age_band"``; binary nodes have states absent (0), present (1).

    Examples
    --------
    >>> from kneebayes import load_model
    >>> bn = to_pyagrum(load_model().parameters)  # doctest: +SKIP
    """
    gum: Any = importlib.import_module("pyagrum")

    bn = gum.BayesNet("kneebayes")
    bn.add(gum.LabelizedVariable(AGE, AGE, list(params.age_bands)))
    for name in params.risk_factors + params.causes + params.findings:
        bn.add(gum.LabelizedVariable(name, name, ["absent", "present"]))
    # the tables' parent order: age, risk factors, causes (as cause_table lays them out)
    for c, cause in enumerate(params.causes):
        cpt = cause_table(params, c)
        parents = ([AGE] if cpt.age else []) + [params.risk_factors[r] for r in cpt.risk_factors] + [
            params.causes[p] for p in cpt.causes]
        for parent in parents:
            bn.addArc(parent, cause)
        _fill(bn, cause, parents, cpt.table)
    for f, finding in enumerate(params.findings):
        linked = [int(c) for c in np.flatnonzero(params.q[:, f] > 0)]
        for c in linked:
            bn.addArc(params.causes[c], finding)
        grid = np.array(list(itertools.product((0.0, 1.0), repeat=len(linked)))).reshape(1 << len(linked), -1)
        absent = (1 - params.leak[f]) * np.prod(np.where(grid == 1, 1 - params.q[linked, f], 1.0), axis=1)
        table = np.stack([absent, 1 - absent], axis=-1).reshape(*(2,) * len(linked), 2)
        _fill(bn, finding, [params.causes[c] for c in linked], table)
    bn.cpt(AGE).fillWith(params.age_prevalence.tolist())
    for r, name in enumerate(params.risk_factors):
        bn.cpt(name).fillWith([1 - params.rf_prevalence[r], params.rf_prevalence[r]])
    return bn


def _fill(bn: Any, node: str, parents: list[str], table: FloatArray) -> None:
    """Fill ``node``'s table, given with axes (*parents, node), whatever pyAgrum's variable order."""
    cpt = bn.cpt(node)
    axes = [*parents, node]
    ordered = table.transpose([axes.index(name) for name in cpt.names])
    cpt.fillWith(ordered.transpose(list(reversed(range(ordered.ndim)))).ravel().tolist())  # first name fastest


def pyagrum_posteriors(inference: Any, params: Parameters, ev: EvidenceArrays, i: int) -> FloatArray:
    """Posteriors of every cause for patient ``i`` of a batch, with a ``LazyPropagation`` reused across calls."""
    evidence: dict[str, int] = {}
    for names, states in ((params.findings, ev.findings[i]), (params.risk_factors, ev.risk_factors[i])):
        evidence.update({names[j]: int(states[j]) for j in np.flatnonzero(states >= 0)})
    if ev.age_band[i] >= 0:
        evidence[AGE] = int(ev.age_band[i])
    inference.eraseAllEvidence()
    inference.setEvidence(evidence)
    inference.makeInference()
    return np.array([inference.posterior(c).toarray()[1] for c in params.causes])
