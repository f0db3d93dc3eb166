"""Benchmark the researcher's bench (tornado, uncertainty bands) against pgmpy queries.

Run from the repository root, in the environment where kneebayes is installed::

    python benchmarks/bench_research.py

The issue's targets, each measured in this one run:

* a full tornado (every prior number at both ends of its range) for one patient in less time
  than 50 pgmpy queries of the same patient;
* a full tornado for 100 patients in less time than 500 pgmpy queries;
* 1,000 uncertainty draws for one patient in less time than 100 pgmpy queries.

A pgmpy query is ``VariableElimination.query`` of every cause's marginal (``joint=False``) given
the patient's evidence, on one VariableElimination object built once and reused (timed with BLAS
free and held to one thread, the faster counted). The one patient
is vignette v062 (a PCL tear after a motorcycle accident: a blow to the knee, giving way, age 21);
the 100 patients are forward-sampled from the shipped model with half their answers hidden, as in
``bench_engines.py``. Each kneebayes timing is the median of three runs after one warm-up call;
the first call in a fresh process (which also plans the contraction) is shown separately. This is
a benchmark, not a test: it asserts nothing.
"""

from __future__ import annotations

import statistics
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

import kneebayes
from kneebayes._pgmpy_model import pgmpy_evidence
from kneebayes.analysis import tornado, uncertainty

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_engines import sample_patients, to_evidence, to_frame  # noqa: E402

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
    frame = to_frame(p, sample_patients(p, 100, seed=1))
    sampled = sample_patients(p, 100, seed=1)
    many = [pgmpy_evidence(to_evidence(p, sampled, i)) for i in range(100)]

    cold_one, t_one = seconds(lambda: tornado(model, **PATIENT, target="pcl_injury"))
    _, t_many = seconds(lambda: tornado(model, patients=frame), repeat=1)
    _, t_draws = seconds(lambda: uncertainty(model, **PATIENT, draws=1000, seed=0))
    pg_50 = pgmpy_queries(model, [one] * 50)
    pg_500 = pgmpy_queries(model, many * 5)
    pg_100 = pgmpy_queries(model, [one] * 100)

    rows = [
        (f"tornado, 1 patient ({n_numbers} numbers x 2 ends)", t_one, "50 pgmpy queries", pg_50),
        (f"tornado, 100 patients ({n_numbers} numbers x 2 ends)", t_many, "500 pgmpy queries", pg_500),
        ("uncertainty, 1 patient, 1,000 draws", t_draws, "100 pgmpy queries", pg_100),
    ]
    table = pd.DataFrame(
        [(name, f"{t:.2f} s", ref, f"{r:.2f} s", f"{r / t:.1f}x", "yes" if t < r else "no")
         for name, t, ref, r in rows],
        columns=["analysis", "kneebayes", "target", "target time", "target / kneebayes", "met"],
    )
    print(table.to_markdown(index=False) if _has_tabulate() else table.to_string(index=False))
    print(f"\npgmpy: {1000 * pg_100 / 100:.1f} ms per query; first tornado call in this process "
          f"(plans the contraction): {cold_one:.2f} s; numpy {np.__version__}")


def _has_tabulate() -> bool:
    try:
        import tabulate  # noqa: F401
    except ImportError:
        return False
    return True


if __name__ == "__main__":
    main()
