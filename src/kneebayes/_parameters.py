"""Compile validated priors into the numeric parameters of the network.

This is the one place where the numbers of the prior files become model
parameters: log odds ratios, logistic intercepts solved so that each cause
keeps its base rate, and noisy-OR parameters converted from "how often does a
person with this cause alone report this finding". Both the pgmpy export and
the numpy engine read these arrays, so they describe the same model.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace
from typing import cast

import numpy as np
import numpy.typing as npt

from ._graph import topological_order
from ._priors import Priors
from ._rule import RedFlagRule

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

#: The largest number of parent configurations enumerated to calibrate one cause.
MAX_CALIBRATION_CONFIGS = 1 << 22


@dataclass(frozen=True)
class Parameters:
    """The network's numbers as arrays, indexed in vocabulary order.

    Attributes
    ----------
    causes, risk_factors, findings, age_bands : tuple of str
        Node ids (``findings`` are symptoms then red flags).
    age_min : ndarray of int, shape (A,)
        First year of each age band.
    rf_prevalence : ndarray, shape (R,)
        P(risk factor present).
    age_prevalence : ndarray, shape (A,)
        P(age band).
    intercept : ndarray, shape (C,)
        Logistic intercept of each cause, solved to reproduce its base rate.
    w_rf, w_age, w_cause : ndarray, shapes (C, R), (C, A), (C, C)
        Log odds ratios; ``w_cause[c, p]`` is the effect of cause ``p`` on cause ``c``.
    rf_parent, age_parent, cause_parent : bool ndarrays, shapes (C, R), (C,), (C, C)
        Which edges exist in the network.
    order : tuple of int
        Cause indices with every cause after its cause parents.
    leak : ndarray, shape (F,)
        Noisy-OR leak of each finding.
    q : ndarray, shape (C, F)
        Noisy-OR activation of each link (0 where no link).
    base_rate : ndarray, shape (C,)
        The marginal each cause was calibrated to.
    care : tuple of str
        Care level each cause needs.
    care_threshold : float
        Posterior at which a cause's care enters the triage.
    rules : tuple of RedFlagRule
        Red-flag rules.
    labels : dict of str to str
        Human label of every id.
    sex : str or None
        The id of the sex node (``"female"``) when the model has one. It is the last of
        ``risk_factors``, a binary root like them, set by ``diagnose(sex=...)`` and never
        reported as a finding; None when the model does not model sex.
    """

    causes: tuple[str, ...]
    risk_factors: tuple[str, ...]
    findings: tuple[str, ...]
    age_bands: tuple[str, ...]
    age_min: npt.NDArray[np.int64]
    rf_prevalence: FloatArray
    age_prevalence: FloatArray
    intercept: FloatArray
    w_rf: FloatArray
    w_age: FloatArray
    w_cause: FloatArray
    rf_parent: BoolArray
    age_parent: BoolArray
    cause_parent: BoolArray
    order: tuple[int, ...]
    leak: FloatArray
    q: FloatArray
    base_rate: FloatArray
    care: tuple[str, ...]
    care_threshold: float
    rules: tuple[RedFlagRule, ...]
    labels: dict[str, str]
    sex: str | None = None

    def age_band_index(self, age: float) -> int:
        """Return the index of the age band that holds ``age`` (in years)."""
        return int(np.searchsorted(self.age_min, age, side="right") - 1)

    def cause_probability(
        self, c: int, age: npt.NDArray[np.int64], rf: FloatArray, causes: FloatArray, *, present: bool = True
    ) -> FloatArray:
        """Return P(cause ``c`` present | parents) for rows of parent values.

        Parameters
        ----------
        c : int
            Cause index.
        age : ndarray of int, shape (M,)
            Age-band index of each row.
        rf : ndarray, shape (M, R)
            Risk-factor values (0 or 1) of each row.
        causes : ndarray, shape (M, C)
            Cause values (0 or 1) of each row; only the parents of ``c`` are read.
        present : bool
            False returns P(cause absent | parents), computed without cancellation.
        """
        score = self.intercept[c] + self.w_age[c][age] + rf @ self.w_rf[c] + causes @ self.w_cause[c]
        return _sigmoid(score if present else -score)


@dataclass(frozen=True)
class CauseTable:
    """A cause's conditional probability table over all configurations of its parents.

    Attributes
    ----------
    age : bool
        Whether the age band is a parent (then it is the first axis).
    risk_factors, causes : tuple of int
        Indices of the risk-factor parents, then of the cause parents, in axis order.
    cards : tuple of int
        Cardinality of each parent axis.
    table : ndarray, shape (*cards, 2)
        ``table[..., 0]`` = P(absent | parents), ``table[..., 1]`` = P(present | parents),
        each computed without cancellation.
    """

    age: bool
    risk_factors: tuple[int, ...]
    causes: tuple[int, ...]
    cards: tuple[int, ...]
    table: FloatArray


def cause_table(params: Parameters, c: int) -> CauseTable:
    """Tabulate P(cause ``c`` | parents) over every configuration of its parents.

    Examples
    --------
    >>> from kneebayes import load_model
    >>> table = cause_table(load_model().parameters, 0)
    >>> bool(abs(table.table.sum(axis=-1) - 1).max() < 1e-12)
    True
    """
    rf_idx = tuple(int(i) for i in np.flatnonzero(params.rf_parent[c]))
    cause_idx = tuple(int(i) for i in np.flatnonzero(params.cause_parent[c]))
    has_age = bool(params.age_parent[c])
    cards = ((len(params.age_bands),) if has_age else ()) + (2,) * (len(rf_idx) + len(cause_idx))
    rows = list(itertools.product(*[range(k) for k in cards]))  # last parent fastest
    grid = np.array(rows, dtype=np.int64).reshape(len(rows), len(cards))
    offset = int(has_age)
    # without an age parent every band has odds ratio 1, so band 0 stands for all
    age = grid[:, 0] if has_age else np.zeros(len(grid), dtype=np.int64)
    rf = np.zeros((len(grid), len(params.risk_factors)))
    rf[:, list(rf_idx)] = grid[:, offset:offset + len(rf_idx)]
    states = np.zeros((len(grid), len(params.causes)))
    states[:, list(cause_idx)] = grid[:, offset + len(rf_idx):]
    on = params.cause_probability(c, age, rf, states)
    off = params.cause_probability(c, age, rf, states, present=False)
    return CauseTable(has_age, rf_idx, cause_idx, cards, np.stack([off, on], axis=-1).reshape(*cards, 2))


def _sigmoid(x: FloatArray | float) -> FloatArray:
    """Logistic function, accurate to a few ulps in relative terms even deep in either tail."""
    x = np.asarray(x, dtype=float)
    small = np.exp(-np.abs(x))
    return np.asarray(np.where(x >= 0, 1.0 / (1.0 + small), small / (1.0 + small)))


def compile_parameters(priors: Priors) -> Parameters:
    """Turn validated priors into :class:`Parameters`.

    Parameters
    ----------
    priors : Priors
        Validated priors (see :func:`kneebayes.load_priors`).

    Returns
    -------
    params : Parameters
        The network's numbers as arrays.

    Examples
    --------
    >>> from kneebayes import load_priors
    >>> params = compile_parameters(load_priors())
    >>> params.q.shape == (len(params.causes), len(params.findings))
    True
    """
    causes = priors.ids("cause")
    sex_ids = priors.ids("sex")
    rfs = priors.ids("risk_factor") + sex_ids  # the sex node is a binary root like the risk factors
    findings = priors.ids("finding")
    bands = tuple(priors.age_bands.index)
    c_index = {c: i for i, c in enumerate(causes)}
    r_index = {r: i for i, r in enumerate(rfs)}
    a_index = {a: i for i, a in enumerate(bands)}
    f_index = {f: i for i, f in enumerate(findings)}
    n_c, n_r, n_a, n_f = len(causes), len(rfs), len(bands), len(findings)

    w_rf = np.zeros((n_c, n_r))
    w_age = np.zeros((n_c, n_a))
    w_cause = np.zeros((n_c, n_c))
    rf_parent = np.zeros((n_c, n_r), dtype=bool)
    age_parent = np.zeros(n_c, dtype=bool)
    cause_parent = np.zeros((n_c, n_c), dtype=bool)
    # zip over the index and one column: iterrows builds a Series per row (~10 ms on the command line)
    for key, odds_ratio in zip(priors.cause_risks.index, priors.cause_risks["odds_ratio"], strict=True):
        cause, factor = cast("tuple[str, str]", key)  # the index is (cause, factor)
        c = c_index[cause]
        weight = float(np.log(odds_ratio))
        if factor in r_index:
            w_rf[c, r_index[factor]] = weight
            rf_parent[c, r_index[factor]] = True
        elif factor in a_index:
            w_age[c, a_index[factor]] = weight
            age_parent[c] = True
        else:
            w_cause[c, c_index[factor]] = weight
            cause_parent[c, c_index[factor]] = True

    leak = priors.findings.loc[list(findings), "leak"].to_numpy(dtype=float)
    q = np.zeros((n_c, n_f))
    for key, probability in zip(priors.finding_links.index, priors.finding_links["probability"], strict=True):
        finding, cause = cast("tuple[str, str]", key)  # the index is (finding, cause)
        f = f_index[finding]
        q[c_index[cause], f] = 1.0 - (1.0 - probability) / (1.0 - leak[f])

    parents = {causes[c]: [causes[p] for p in np.flatnonzero(cause_parent[c])] for c in range(n_c)}
    order = tuple(c_index[c] for c in topological_order(causes, parents))
    base_rate = priors.causes.loc[list(causes), "base_rate"].to_numpy(dtype=float)
    labels = {str(k): str(v) for k, v in priors.vocabulary["label"].items()}
    labels.update({str(band): f"age {row.min_age}-{row.max_age - 1}" for band, row in priors.age_bands.iterrows()})

    params = Parameters(
        causes=causes,
        risk_factors=rfs,
        findings=findings,
        age_bands=bands,
        age_min=priors.age_bands["min_age"].to_numpy(dtype=np.int64),
        rf_prevalence=priors.risk_factors.loc[list(rfs), "prevalence"].to_numpy(dtype=float),
        age_prevalence=priors.age_bands["prevalence"].to_numpy(dtype=float),
        intercept=np.zeros(n_c),
        w_rf=w_rf,
        w_age=w_age,
        w_cause=w_cause,
        rf_parent=rf_parent,
        age_parent=age_parent,
        cause_parent=cause_parent,
        order=order,
        leak=leak,
        q=q,
        base_rate=base_rate,
        care=tuple(priors.causes.loc[list(causes), "care"]),
        care_threshold=priors.care_threshold,
        rules=priors.red_flags,
        labels=labels,
        sex=sex_ids[0] if sex_ids else None,
    )
    for c in order:  # parents first, so their intercepts are final when a child is solved
        params.intercept[c] = _solve_intercept(params, c)
    return params


def _ancestors(params: Parameters, c: int) -> list[int]:
    """Cause ancestors of ``c`` in topological order."""
    found: set[int] = set()
    stack = [int(x) for x in np.flatnonzero(params.cause_parent[c])]
    while stack:
        p = int(stack.pop())
        if p not in found:
            found.add(p)
            stack.extend(int(x) for x in np.flatnonzero(params.cause_parent[p]))
    return [i for i in params.order if i in found]


def parent_distribution(params: Parameters, c: int) -> tuple[FloatArray, FloatArray]:
    """Enumerate the joint distribution of a cause's parents under the prior.

    Returns
    -------
    probability : ndarray, shape (M,)
        P(parent configuration) for each of M configurations.
    score : ndarray, shape (M,)
        The sum of log odds ratios of each configuration (without the intercept).
    """
    ancestors = _ancestors(params, c)
    involved = [c, *ancestors]
    roots = sorted({int(r) for i in involved for r in np.flatnonzero(params.rf_parent[i])})
    n_configs = len(params.age_bands) * 2 ** (len(roots) + len(ancestors))
    if n_configs > MAX_CALIBRATION_CONFIGS:
        raise ValueError(
            f"cause {params.causes[c]!r} has too many ancestors to calibrate exactly ({n_configs} configurations)"
        )
    grid = np.array(list(itertools.product(range(len(params.age_bands)), *[(0, 1)] * len(roots))), dtype=np.int64)
    age = grid[:, 0]
    rf = np.zeros((len(grid), len(params.risk_factors)))
    rf[:, roots] = grid[:, 1:]
    prob = params.age_prevalence[age] * np.prod(
        np.where(rf[:, roots] == 1, params.rf_prevalence[roots], 1.0 - params.rf_prevalence[roots]), axis=1
    )
    states = np.zeros((len(grid), len(params.causes)))
    for a in ancestors:
        p = params.cause_probability(a, age, rf, states)
        age, rf = np.concatenate([age, age]), np.concatenate([rf, rf])
        off, on = states.copy(), states.copy()
        off[:, a], on[:, a] = 0.0, 1.0
        states = np.concatenate([off, on])
        prob = np.concatenate([prob * (1.0 - p), prob * p])
    score = params.w_age[c][age] + rf @ params.w_rf[c] + states @ params.w_cause[c]
    return prob, score


def _solve_intercept(params: Parameters, c: int) -> float:
    """Find the intercept whose population average of P(cause) equals the base rate.

    The bracket is exact: with ``b = logit(rate) - max(score)`` every parent
    configuration's probability is at most the rate, and with
    ``b = logit(rate) - min(score)`` at least, so bisection always converges.
    Raises :class:`CalibrationError` when double precision cannot reproduce the rate.
    """
    prob, score = parent_distribution(params, c)
    target = float(params.base_rate[c])
    logit = float(np.log(target) - np.log1p(-target))
    live = score[prob > 0]
    low, high = logit - float(live.max()), logit - float(live.min())
    for _ in range(200):
        mid = 0.5 * (low + high)
        if float(prob @ _sigmoid(mid + score)) < target:
            low = mid
        else:
            high = mid
        if high - low < 1e-13 * max(1.0, abs(mid)):
            break
    intercept = 0.5 * (low + high)
    reached = float(prob @ _sigmoid(intercept + score))
    if not abs(reached - target) <= 1e-9 * target:
        raise CalibrationError(params.causes[c], target, reached)
    return intercept


class CalibrationError(ValueError):
    """A cause's base rate cannot be reproduced by its logistic table in double precision."""

    def __init__(self, cause: str, target: float, reached: float) -> None:
        self.cause = cause
        super().__init__(
            f"the base rate of {cause!r} ({target:g}) cannot be reproduced with its odds ratios "
            f"(the closest marginal is {reached:g}): narrow the odds ratios or move the base rate"
        )


def with_cause_number(params: Parameters, kind: str, target: str, value: float) -> tuple[Parameters, tuple[int, ...]]:
    """Return ``params`` with one cause-side number changed, and the causes whose tables changed.

    Only the edited cause and its cause descendants are recalibrated: every other
    intercept depends on none of their numbers, so the result equals compiling
    priors edited with :meth:`~kneebayes.Priors.with_value`. The value must be valid
    (the caller checks it with ``with_value``).

    Parameters
    ----------
    params : Parameters
        The compiled model.
    kind : {"odds_ratio", "base_rate"}
        Which number.
    target : str
        ``"cause|factor"`` for an odds ratio (the link must exist), a cause id for a base rate.
    value : float
        The new value.

    Examples
    --------
    >>> from kneebayes import load_model
    >>> params = load_model().parameters
    >>> edited, changed = with_cause_number(params, "odds_ratio", "dvt|recent_immobility", 5.0)
    >>> [params.causes[c] for c in changed]
    ['dvt']
    """
    cause, _, factor = target.partition("|")
    c = params.causes.index(cause)
    w_rf, w_age, w_cause, base_rate = params.w_rf.copy(), params.w_age.copy(), params.w_cause.copy(), params.base_rate
    if kind == "odds_ratio":
        if factor in params.risk_factors:
            w_rf[c, params.risk_factors.index(factor)] = np.log(value)
        elif factor in params.age_bands:
            w_age[c, params.age_bands.index(factor)] = np.log(value)
        else:
            w_cause[c, params.causes.index(factor)] = np.log(value)
    elif kind == "base_rate":
        base_rate = base_rate.copy()
        base_rate[c] = value
    else:  # pragma: no cover - the caller routes only these two kinds here
        raise ValueError(f"not a cause-side number: {kind!r}")
    edited = replace(params, w_rf=w_rf, w_age=w_age, w_cause=w_cause, base_rate=base_rate,
                     intercept=params.intercept.copy())
    changed = tuple(d for d in params.order if d == c or c in _ancestors(params, d))
    for d in changed:  # in topological order, so parents are final first
        edited.intercept[d] = _solve_intercept(edited, d)
    return edited, changed


def solve_intercepts(variants: list[Parameters]) -> list[Parameters]:
    """Calibrate every cause's intercept of many parameter sets of one structure at once.

    Equals solving each set alone (as :func:`compile_parameters` does), but each
    cause's equation is solved for all sets together
    (:meth:`kneebayes._variants.Variants.solve`, the one re-parameterisation
    path): arrays gain a leading axis of length D.

    Parameters
    ----------
    variants : list of Parameters
        D parameter sets with the same edges; their ``intercept`` is ignored.

    Returns
    -------
    list of Parameters
        The same sets with calibrated intercepts.

    Examples
    --------
    >>> from kneebayes import load_model
    >>> params = load_model().parameters
    >>> again = solve_intercepts([params])[0]
    >>> bool(abs(again.intercept - params.intercept).max() < 1e-10)
    True
    """
    from ._variants import Variants  # it builds on this module

    numbers = Variants.from_parameters(variants[0], variants)
    numbers.solve(every=True)
    return [replace(v, intercept=numbers.intercept[d].copy()) for d, v in enumerate(variants)]


def draw_parameters(priors: Priors, params: Parameters, n: int, *, seed: int = 0) -> list[Parameters]:
    """Draw ``n`` parameter sets, every model number uniform over its plausible range, compiled at once.

    Each number of :meth:`~kneebayes.Priors.to_frame` is drawn uniformly between
    its ``low`` and ``high`` and all the sets are built together, as
    :func:`parameters_from_numbers` does (:meth:`kneebayes._variants.Variants.draw_uniform`,
    which :meth:`~kneebayes._engine.ExactEngine.posteriors_under` also takes directly).

    Examples
    --------
    >>> from kneebayes import load_model
    >>> model = load_model()
    >>> draws = draw_parameters(model.priors, model.parameters, 4, seed=1)
    >>> len(draws), bool(abs(sum(draws[0].age_prevalence) - 1) < 1e-12)
    (4, True)
    """
    from ._variants import Variants  # it builds on this module

    drawn = Variants.draw_uniform(priors, params, n, seed=seed)
    return [drawn.parameters(d) for d in range(n)]


def parameters_from_numbers(priors: Priors, params: Parameters, values: FloatArray) -> list[Parameters]:
    """Compile many sets of values of the priors' numbers at once, without validating priors per set.

    Parameters
    ----------
    priors : Priors
        The priors whose numbers are varied (their :meth:`~kneebayes.Priors.to_frame` order).
    params : Parameters
        The priors compiled (gives the structure and the numbers not varied).
    values : ndarray, shape (D, len(priors.to_frame()))
        One row per set, one column per number. Base rates, prevalences, age
        shares, odds ratios, leaks and finding probabilities are used; the age
        shares are renormalised to sum to 1, and a finding probability at or below
        its leak is raised to just above it (the noisy-OR needs it). Red-flag
        thresholds and the care threshold are set too (they change the triage,
        not the posteriors).

    Returns
    -------
    list of Parameters
        D sets, intercepts solved together. The sets are built as a
        :class:`~kneebayes._variants.Variants` (:meth:`~kneebayes._variants.Variants.from_numbers`),
        which :meth:`~kneebayes._engine.ExactEngine.posteriors_under` also takes directly.

    Examples
    --------
    >>> from kneebayes import load_model
    >>> model = load_model()
    >>> own = model.priors.to_frame()["value"].to_numpy(dtype=float)[None]
    >>> again = parameters_from_numbers(model.priors, model.parameters, own)[0]
    >>> bool(abs(again.q - model.parameters.q).max() < 1e-12)
    True
    """
    from ._variants import Variants  # it builds on this module

    numbers = Variants.from_numbers(priors, params, values)
    numbers.solve()
    return [numbers.parameters(d) for d in range(len(numbers))]
