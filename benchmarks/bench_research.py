"""Benchmark the researcher's bench (tornado, uncertainty bands, prior draws) against pgmpy queries.

Run from the repository root, in the environment where kneebayes is installed::

    python benchmarks/bench_research.py

On the shipped model (18 causes, scored by the factored engine), the targets of issues 11 and 10,
each measured in this one run:

* a full tornado (every prior number at both ends of its range) for one patient in less time
  than 50 pgmpy queries of the same patient;
* a full tornado for 100 patients in less time than 500 pgmpy queries (5 of each patient);
* 1,000 uncertainty draws for one patient in less time than 100 pgmpy queries;
* 1,000 draws over every number's range (uniform, as ``draw_parameters``), each scored on 100
  symptom-checker patients, draws and intercepts included, at under 1% of a pgmpy query's time
  per (draw, patient), the query timed on those same patients.

A pgmpy query is ``VariableElimination.query`` of every cause's marginal (``joint=False``) given
the patient's evidence, on one VariableElimination object built once and reused (timed with BLAS
free and held to one thread, the faster counted). The one patient is vignette v062 (a PCL tear
after a motorcycle accident: a blow to the knee, giving way, age 21); the 100 patients of the
tornado are forward-sampled from the shipped model with each answer kept with probability 1/2
(the age with 4/5), as the "half answered" input of ``bench_engines.py``; the draws' patients are
its symptom-checker input (3 random ids present, 4 absent, no age). Each kneebayes timing is the
median of three runs after one warm-up call (one run for the two large ones); the first call in a
fresh process (which also plans the eliminations) is shown separately. This is a benchmark, not a
test: it asserts nothing.
"""

from __future__ import annotations

import os
import statistics
import time
import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd

import kneebayes
from kneebayes._batch import EvidenceArrays
from kneebayes._evidence import Evidence
from kneebayes._parameters import Parameters
from kneebayes._pgmpy_model import pgmpy_evidence
from kneebayes._synthetic import sample_evidence, symptom_checker_evidence
from kneebayes._variants import Variants
from kneebayes.analysis import tornado, uncertainty

PATIENT = {"present": ["direct_blow", "giving_way"], "absent": [], "age": 21.0}


def seconds(task: Callable[[], object], repeat: int = 3) -> tuple[float, float]:
    """Return the first call's time and the median of ``repeat`` further calls."""
    start = time.perf_counter()
    task()
    first = time.perf_counter() - start
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        task()
        times.append(time.perf_counter() - start)
    return first, statistics.median(times)


def to_evidence(params: Parameters, ev: EvidenceArrays, i: int) -> Evidence:
    """Return one patient of a batch as an Evidence object (for pgmpy)."""
    ids = params.findings + params.risk_factors
    states = np.concatenate([ev.findings[i], ev.risk_factors[i]])
    sex = None
    if params.sex is not None:
        r = params.risk_factors.index(params.sex)
        sex = {1: "female", 0: "male"}.get(int(ev.risk_factors[i, r]))
        states[len(params.findings) + r] = -1
    band = params.age_bands[ev.age_band[i]] if ev.age_band[i] >= 0 else None
    age = float(params.age_min[ev.age_band[i]]) if band else None
    return Evidence(tuple(ids[j] for j in np.flatnonzero(states == 1)),
                    tuple(ids[j] for j in np.flatnonzero(states == 0)), age, band, sex)


def to_frame(params: Parameters, ev: EvidenceArrays) -> pd.DataFrame:
    """Return a batch as the DataFrame that the analyses take (the sex node as a ``sex`` column)."""
    states = np.concatenate([ev.findings, ev.risk_factors], axis=1)
    values = np.where(states == 1, True, np.where(states == 0, False, None)).astype(object)
    frame = pd.DataFrame(values, columns=list(params.findings + params.risk_factors))
    if params.sex is not None:
        frame["sex"] = frame.pop(params.sex).map({True: "female", False: "male", None: None})
    frame["age"] = np.where(ev.age_band >= 0, params.age_min[np.maximum(ev.age_band, 0)], np.nan)
    return frame


def pgmpy_queries(model: kneebayes.Model, evidences: list[dict[str, str]]) -> float:
    """Seconds for one pgmpy query per evidence, on one reused VariableElimination object.

    Timed with BLAS free and with BLAS held to one thread (as kneebayes' analyses
    hold it); the faster of the two is returned, so pgmpy gets the same advantage.
    """
    from pgmpy.inference import VariableElimination
    from threadpoolctl import threadpool_limits

    inference = VariableElimination(model.to_pgmpy())
    causes = list(model.causes)

    def run() -> float:
        inference.query(causes, evidence=evidences[0], joint=False, show_progress=False)  # warm-up
        start = time.perf_counter()
        for evidence in evidences:
            inference.query(causes, evidence=evidence, joint=False, show_progress=False)
        return time.perf_counter() - start

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        free = run()
        with threadpool_limits(limits=1, user_api="blas"):
            held = run()
    return min(free, held)


def main() -> None:
    model = kneebayes.load_model()
    p = model.parameters
    n_numbers = len(model.priors.to_frame())
    one = pgmpy_evidence(model.evidence(**PATIENT))
    sampled = sample_evidence(p, 100, max_present=len(p.findings), answer_rate=0.5, age_rate=0.8, seed=1)
    frame = to_frame(p, sampled)
    many = [pgmpy_evidence(to_evidence(p, sampled, i)) for i in range(100)]
    checker = symptom_checker_evidence(p, 100, seed=1)
    checker_queries = [pgmpy_evidence(to_evidence(p, checker, i)) for i in range(100)]
    engine = model._engine

    def draws() -> object:
        variants = Variants.draw_uniform(model.priors, p, 1000, seed=0)
        return engine.posteriors_under(checker, variants)

    cold_one, t_one = seconds(lambda: tornado(model, **PATIENT, target="pcl_injury"))
    _, t_many = seconds(lambda: tornado(model, patients=frame), repeat=1)
    _, t_bands = seconds(lambda: uncertainty(model, **PATIENT, draws=1000, seed=0))
    start = time.perf_counter()
    Variants.draw_uniform(model.priors, p, 1000, seed=0)
    t_compile = time.perf_counter() - start
    _, t_draws = seconds(draws, repeat=1)
    pg_50 = pgmpy_queries(model, [one] * 50)
    pg_500 = pgmpy_queries(model, many * 5)
    pg_100 = pgmpy_queries(model, [one] * 100)
    pg_checker = pgmpy_queries(model, checker_queries)

    rows = [
        (f"tornado, 1 patient ({n_numbers} numbers x 2 ends)", t_one, "50 pgmpy queries", pg_50),
        (f"tornado, 100 patients ({n_numbers} numbers x 2 ends)", t_many, "500 pgmpy queries", pg_500),
        ("uncertainty, 1 patient, 1,000 draws", t_bands, "100 pgmpy queries", pg_100),
        ("1,000 draws x 100 patients, draws included", t_draws, "1% of 100,000 pgmpy queries",
         pg_checker / 100 * 1000),
    ]
    print("| analysis | kneebayes | target | target time | target / kneebayes | met |")
    print("|---|---|---|---|---|---|")
    for name, t, ref, r in rows:
        print(f"| {name} | {t:.2f} s | {ref} | {r:.2f} s | {r / t:.1f}x | {'yes' if t < r else 'no'} |")
    per_pair = t_draws / 100_000
    query = pg_checker / 100
    print(f"\nShipped model: {len(p.causes)} causes, {n_numbers} numbers, engine method {engine.method!r}; "
          f"{os.cpu_count()} cores.")
    print(f"pgmpy: {1000 * pg_100 / 100:.1f} ms per query of the one patient, {1000 * pg_500 / 500:.1f} ms "
          f"(half answered), {1000 * query:.1f} ms (symptom checker).")
    print(f"Draws: {1e6 * per_pair:.1f} µs per (draw, patient) = {100 * per_pair / query:.2f}% of a pgmpy query "
          f"(target: under 1%); drawing 1,000 sets and solving their intercepts took {t_compile:.2f} s of it.")
    print(f"First tornado call in this process (plans the eliminations): {cold_one:.2f} s; numpy {np.__version__}.")
    sweeps(model, to_frame(p, sample_evidence(p, 200, max_present=len(p.findings), seed=2)))


#: The numbers swept by :func:`sweeps`: one or two of each kind.
SWEPT = (("finding_probability", "lump_behind_knee|bakers_cyst"), ("leak", "fever"), ("base_rate", "meniscus_tear"),
         ("odds_ratio", "dvt|recent_immobility"), ("prevalence", "smoking"), ("age_prevalence", "70_plus"))


def sweeps(model: kneebayes.Model, frame: pd.DataFrame, n_values: int = 20) -> None:
    """Print Model.sweep timings (n_values values over the frame's patients), and one rebuild per value."""
    known = model.priors.to_frame().set_index(["kind", "target"])
    print(f"\nModel.sweep, {n_values} values over each number's range, {len(frame)} half-answered patients:\n")
    print("| number swept | time | per patient and value |")
    print("|---|---|---|")
    for kind, target in SWEPT:
        low, high = known.loc[(kind, target), ["low", "high"]].to_numpy(dtype=float)
        values = np.linspace(low, high, n_values).tolist()
        start = time.perf_counter()
        model.sweep(frame, kind, target, values)
        took = time.perf_counter() - start
        print(f"| `{kind}` `{target.replace('|', chr(92) + '|')}` | {took:.2f} s | "
              f"{took / (n_values * len(frame)) * 1e6:,.0f} µs |")
    kind, target = SWEPT[4]
    low, high = known.loc[(kind, target), ["low", "high"]].to_numpy(dtype=float)
    start = time.perf_counter()
    for value in np.linspace(low, high, n_values):
        kneebayes.Model.from_priors(model.priors.with_value(kind, target, float(value))).diagnose_many(frame)
    took = time.perf_counter() - start
    print(f"\nThe same {kind} {target} sweep by rebuilding the model per value (the former path): {took:.2f} s.")


if __name__ == "__main__":
    main()
