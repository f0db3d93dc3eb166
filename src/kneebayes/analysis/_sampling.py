"""Draw every prior number within its stated range: the distributions behind the uncertainty bands.

The convention (also written in each prior file's header and in the README):

* ``[low, high]`` is a **central 90% interval**: the 5% and 95% quantiles of the
  number's distribution.
* A **probability** (base rate, prevalence, leak, finding probability, rule
  threshold, care threshold) follows the Beta distribution whose 5% and 95%
  quantiles are ``low`` and ``high`` (its two parameters solved from the two
  quantiles, :func:`beta_from_interval`).
* An **odds ratio** is log-normal: ``log(OR)`` is normal with mean
  ``(log low + log high) / 2`` and standard deviation
  ``(log high - log low) / (2 * 1.6449)``; draws are clipped to the
  ``[1e-4, 1e4]`` that a cause's table can honour.
* **Age shares** are drawn each from its own Beta (as a probability), then
  divided by their sum so that they sum to 1 (their marginals are therefore
  close to, not exactly, the stated intervals).
* **Constraints**: a finding's probability given a cause must stay above the
  finding's leak. Leaks are drawn first; a link probability drawn at or below
  its leak is drawn again (up to 100 times), so those draws follow the Beta
  truncated at the leak.
* The point value in the file is not used by the draws (it need not be the
  median).

Draws are independent between numbers and reproducible with a seed
(``numpy.random.default_rng(seed)``, numbers drawn in the order of
:meth:`kneebayes.Priors.to_frame`).
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from .._parameters import FloatArray
from .._priors import MAX_ODDS_RATIO, MIN_ODDS_RATIO, Priors

#: The central probability of the interval [low, high], and its normal quantile.
LEVEL = 0.90
Z = 1.6448536269514722  # the 95% quantile of the standard normal

#: Kinds of number drawn from a Beta.
PROBABILITY_KINDS = ("base_rate", "prevalence", "age_prevalence", "leak", "finding_probability", "threshold",
                     "setting")


@functools.lru_cache(maxsize=1024)
def beta_from_interval(low: float, high: float) -> tuple[float, float]:
    """Return the Beta parameters ``(a, b)`` whose 5% and 95% quantiles are ``low`` and ``high``.

    Solved by Newton's method on ``(log a, log b)`` from the logit-normal with
    the same interval; the result is checked to 1e-9.

    Raises
    ------
    ValueError
        When ``0 < low < high < 1`` does not hold, or the solve fails.

    Examples
    --------
    >>> from scipy.stats import beta
    >>> a, b = beta_from_interval(0.1, 0.3)
    >>> [round(float(x), 6) for x in beta.ppf([0.05, 0.95], a, b)]
    [0.1, 0.3]
    """
    from scipy.optimize import fsolve
    from scipy.special import betaincinv

    if not 0.0 < low < high < 1.0:
        raise ValueError(f"a Beta needs 0 < low < high < 1; got [{low}, {high}]")
    logit_low, logit_high = np.log(low / (1 - low)), np.log(high / (1 - high))
    mu, sigma = (logit_low + logit_high) / 2, (logit_high - logit_low) / (2 * Z)
    m = 1.0 / (1.0 + np.exp(-mu))
    var = (m * (1 - m) * sigma) ** 2
    concentration = max(m * (1 - m) / var - 1.0, 0.5)
    start = np.log([m * concentration, (1 - m) * concentration])

    def gap(x: FloatArray) -> FloatArray:
        a, b = np.exp(x)
        q = betaincinv(a, b, np.array([0.05, 0.95]))
        q = np.clip(q, 1e-300, 1 - 1e-16)
        out: FloatArray = np.log(q / (1 - q)) - np.array([logit_low, logit_high])
        return out

    solution = fsolve(gap, start, xtol=1e-13)
    if not np.all(np.abs(gap(solution)) < 1e-9):
        raise ValueError(f"could not fit a Beta to the interval [{low}, {high}]")
    a, b = np.exp(solution)
    return float(a), float(b)


def sample_numbers(priors: Priors, draws: int, seed: int | None = 0) -> pd.DataFrame:
    """Draw every number of ``priors`` ``draws`` times, by the convention of this module.

    Parameters
    ----------
    priors : Priors
    draws : int
    seed : int or None
        For ``numpy.random.default_rng``; None draws differently each time.

    Returns
    -------
    pandas.DataFrame
        One row per draw, one column per number (a MultiIndex ``(kind, target)``
        in the order of :meth:`~kneebayes.Priors.to_frame`).

    Examples
    --------
    >>> from kneebayes import load_priors
    >>> drawn = sample_numbers(load_priors(), 5, seed=1)
    >>> drawn.shape[0], bool((drawn["age_prevalence"].sum(axis=1) - 1).abs().max() < 1e-12)
    (5, True)
    """
    numbers = priors.to_frame()
    rng = np.random.default_rng(seed)
    out = np.empty((draws, len(numbers)))
    kinds = numbers["kind"].to_numpy()
    lows, highs = numbers["low"].to_numpy(dtype=float), numbers["high"].to_numpy(dtype=float)
    for j, kind in enumerate(kinds):
        low, high = float(lows[j]), float(highs[j])
        if low == high:
            out[:, j] = low
        elif kind == "odds_ratio":
            mu, sigma = (np.log(low) + np.log(high)) / 2, (np.log(high) - np.log(low)) / (2 * Z)
            out[:, j] = np.clip(np.exp(rng.normal(mu, sigma, draws)), MIN_ODDS_RATIO, MAX_ODDS_RATIO)
        else:
            a, b = beta_from_interval(low, high)
            out[:, j] = rng.beta(a, b, draws)
    frame = pd.DataFrame(out, columns=pd.MultiIndex.from_frame(numbers[["kind", "target"]]))
    ages = kinds == "age_prevalence"
    if ages.any():
        shares = out[:, ages]
        out[:, ages] = shares / shares.sum(axis=1, keepdims=True)
    leak_of = {t: j for j, (k, t) in enumerate(zip(kinds, numbers["target"], strict=True)) if k == "leak"}
    for j, (kind, target) in enumerate(zip(kinds, numbers["target"], strict=True)):
        if kind != "finding_probability":
            continue
        leak = out[:, leak_of[target.partition("|")[0]]]
        a, b = beta_from_interval(float(lows[j]), float(highs[j]))
        for _ in range(100):
            bad = np.flatnonzero(out[:, j] <= leak)
            if not len(bad):
                break
            out[bad, j] = rng.beta(a, b, len(bad))
        else:
            raise ValueError(f"finding_probability {target!r}: draws keep falling below the leak; widen its range")
    frame.iloc[:, :] = out
    return frame
