"""Measure the engine's internal choices: the compiled kernel against einsum, and the factored path limits.

Run from the repository root, in the environment where kneebayes is installed::

    python benchmarks/bench_paths.py

Three measurements on the shipped 18-cause model, each in this one run:

* the Quickscore network's elimination (``EliminationPlan.run``) on random factors, by the
  compiled kernel and by einsum, per row at batches of 1, 4 and 1,000 rows, and the page faults
  of a 64-row call;
* ``MAX_QUICKSCORE_ALONE`` (how many present findings of two or more parents a patient who
  cannot share the padded network keeps to inclusion-exclusion) at 4, 6 and 8, on the same new
  half-answered and full questionnaires, the plan cache emptied before each timing;
* the cost of planning one chain network (min-fill and the kernel's index arrays).

A benchmark, not a test: it asserts nothing. The README's figures on these choices are its output.
"""

from __future__ import annotations

import resource
import time

import numpy as np

import kneebayes
import kneebayes._factored as factored
from kneebayes import _kernel
from kneebayes._chains import chain_plan
from kneebayes._elimination import EliminationPlan
from kneebayes._engine import ExactEngine
from kneebayes._factored import FactoredEngine
from kneebayes._synthetic import sample_evidence


def random_factors(plan: EliminationPlan, n: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Random positive factors for ``plan``, batched ones with ``n`` rows."""
    return [rng.random((n, *[plan.cards[u] for u in scope])) + 0.01 if batched
            else rng.random([plan.cards[u] for u in scope]) + 0.01
            for scope, batched in zip(plan.scopes, plan.batched, strict=True)]


def per_row(plan: EliminationPlan, n: int, compiled: bool, repeat: int = 5) -> float:
    """Median µs per row of ``plan.run`` on ``n`` rows."""
    factors = random_factors(plan, n, np.random.default_rng(n))
    plan.run(factors, compiled=compiled)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        plan.run(factors, compiled=compiled)
        times.append(time.perf_counter() - start)
    return float(np.median(times)) / n * 1e6


def main() -> None:
    model = kneebayes.load_model()
    p = model.parameters
    plan = FactoredEngine(p).plan
    print(f"Quickscore network of the shipped model: {plan.entries_per_row:,} table entries a row\n")
    print("| rows | kernel, µs a row | einsum, µs a row |\n|---|---|---|")
    for n in (1, 4, 1000):
        print(f"| {n:,} | {per_row(plan, n, True):,.1f} | {per_row(plan, n, False):,.1f} |")
    factors = random_factors(plan, 64, np.random.default_rng(0))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    start = time.perf_counter()
    for _ in range(10):
        plan.run(factors, compiled=True)
    seconds = (time.perf_counter() - start) / 10
    faults = (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 10
    print(f"\nA 64-row call: {seconds * 1e3:.1f} ms, {faults:,.0f} page faults (work arrays made by numpy)\n")

    half = sample_evidence(p, 2010, max_present=len(p.findings), answer_rate=0.5, age_rate=0.8, seed=11)
    full = sample_evidence(p, 410, max_present=len(p.findings), answer_rate=1.0, age_rate=1.0, seed=12)
    print("MAX_QUICKSCORE_ALONE on the same new patients (plan cache emptied before each timing), µs a patient:\n")
    print("| limit | half answered, batch 2,000 | half answered, one at a time | full, one at a time "
          "| full, batch 200 |\n|---|---|---|---|---|")
    default = factored.MAX_QUICKSCORE_ALONE
    for limit in (4, 6, 8):
        factored.MAX_QUICKSCORE_ALONE = limit
        engine = ExactEngine(p)
        engine.posteriors(half.chunk(2000, 2010))
        cells = []
        for ev, first, n, alone in ((half, 0, 2000, False), (half, 0, 100, True), (full, 0, 100, True),
                                    (full, 200, 200, False)):
            chain_plan.cache_clear()
            start = time.perf_counter()
            if alone:
                for i in range(first, first + n):
                    engine.posteriors(ev.chunk(i, i + 1))
            else:
                engine.posteriors(ev.chunk(first, first + n))
            cells.append(f"{(time.perf_counter() - start) / n * 1e6:,.0f}")
        print(f"| {limit}{' (default)' if limit == default else ''} | " + " | ".join(cells) + " |")
    factored.MAX_QUICKSCORE_ALONE = default

    engine = FactoredEngine(p)
    answers = engine.structure.answers(half) >= 0
    linked = tuple(tuple(int(c) for c in np.flatnonzero(p.q[:, f] > 0)) for f in engine._chainable[:6])
    chain_plan.cache_clear()
    start = time.perf_counter()
    plans = [chain_plan(engine.structure, tuple(bool(x) for x in answers[i]), linked) for i in range(20)]
    planned = time.perf_counter() - start
    start = time.perf_counter()
    for network in plans:
        _kernel.compile_plan(network.plan)
    compiled = time.perf_counter() - start
    print(f"\nPlanning a chain network (20 half-answered patients' roots, 6 findings chained): min-fill and steps "
          f"{planned / 20 * 1e3:.1f} ms a plan, the kernel's index arrays {compiled / 20 * 1e3:.1f} ms")


if __name__ == "__main__":
    main()
