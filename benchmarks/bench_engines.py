"""Benchmark kneebayes' exact numpy engine against pgmpy (and pyAgrum when installed).

Run from the repository root, in the environment where kneebayes is installed::

    python benchmarks/bench_engines.py            # full run (100,000-patient batch)
    python benchmarks/bench_engines.py --quick    # smaller batches, for a smoke test

Three kinds of input, each scored by every engine on the same patients (seeded):
symptom-checker input (each patient answers 7 random ids of the 42, 3 present and 4 absent,
no age), half-answered questionnaires (patients forward-sampled from the model, each id
revealed with probability 1/2 and the age with 4/5) and full questionnaires. pgmpy reuses one
VariableElimination object and pyAgrum one LazyPropagation with the causes as targets. The
script prints what the compiled kernel's first use costs, then time per patient at batches of 1,
1,000 and 100,000 (the half-answered and full questionnaires, which cost the factored engine
most, at 10,000 and 2,000), and at 1,000 on the einsum path alone (as without numba, on the same
patients), every timed batch with no elimination plan cached (as for a user's new patients),
ratios measured in this run, the largest differences, peak memory, one patient
through ``Model.diagnose`` with and without the kernel, a 24-cause synthetic network (the
factored engine), sweep timings, the command line beside ``python -c "import pandas"``, and
every target of issue 10 with its measured value. A benchmark, not a test: it asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

import kneebayes
from kneebayes import _kernel
from kneebayes._batch import EvidenceArrays
from kneebayes._chains import chain_plan
from kneebayes._engine import ExactEngine
from kneebayes._evidence import Evidence
from kneebayes._parameters import Parameters, draw_parameters
from kneebayes._synthetic import sample_evidence, symptom_checker_evidence, synthetic_parameters


def reportable(params: Parameters) -> list[int]:
    """Columns of ``findings + risk_factors`` reported as ids (the sex node is given as ``sex=``)."""
    return [j for j, ident in enumerate(params.findings + params.risk_factors) if ident != params.sex]


def sex_of(params: Parameters, ev: EvidenceArrays, i: int) -> str | None:
    """Patient ``i``'s sex ("female", "male" or None) from the model's sex node, if it has one."""
    if params.sex is None:
        return None
    state = ev.risk_factors[i, params.risk_factors.index(params.sex)]
    return None if state < 0 else ("female" if state == 1 else "male")


def to_evidence(params: Parameters, ev: EvidenceArrays, i: int) -> Evidence:
    """One patient of a batch as an Evidence object (for the per-patient engines)."""
    ids = params.findings + params.risk_factors
    states = np.concatenate([ev.findings[i], ev.risk_factors[i]])
    keep = reportable(params)
    band = params.age_bands[ev.age_band[i]] if ev.age_band[i] >= 0 else None
    age = float(params.age_min[ev.age_band[i]]) if band else None
    return Evidence(tuple(ids[j] for j in keep if states[j] == 1),
                    tuple(ids[j] for j in keep if states[j] == 0), age, band, sex_of(params, ev, i))


def to_frame(params: Parameters, ev: EvidenceArrays) -> pd.DataFrame:
    """Turn a batch into the DataFrame that Model.diagnose_many and Model.sweep take (sex in a ``sex`` column)."""
    ids = params.findings + params.risk_factors
    keep = reportable(params)
    states = np.concatenate([ev.findings, ev.risk_factors], axis=1)[:, keep]
    values = np.where(states == 1, True, np.where(states == 0, False, None)).astype(object)
    frame = pd.DataFrame(values, columns=[ids[j] for j in keep])
    frame["age"] = np.where(ev.age_band >= 0, params.age_min[np.maximum(ev.age_band, 0)], np.nan)
    if params.sex is not None:
        frame["sex"] = [sex_of(params, ev, i) for i in range(len(ev))]
    return frame


def time_sweep(model: kneebayes.Model, frame: pd.DataFrame, kind: str, target: str, n_variants: int) -> float:
    """Seconds to score the patients under n_variants values of one number spread over its range."""
    row = model.priors.to_frame().set_index(["kind", "target"]).loc[(kind, target)]
    values = np.linspace(row["low"], row["high"], n_variants)
    start = time.perf_counter()
    model.sweep(frame, kind, target, values)
    return time.perf_counter() - start


def time_pgmpy(model: kneebayes.Model, ev: EvidenceArrays, n: int) -> tuple[float, np.ndarray]:
    """Time pgmpy's VariableElimination, one object reused for every query (building one per query is slower)."""
    from pgmpy.inference import VariableElimination

    from kneebayes._pgmpy_model import pgmpy_evidence

    inference = VariableElimination(model.to_pgmpy())
    causes = list(model.causes)

    def run(i: int) -> np.ndarray:
        result = inference.query(causes, evidence=pgmpy_evidence(to_evidence(model.parameters, ev, i)),
                                 joint=False, show_progress=False)
        return np.array([float(result[c].get_value(**{c: "present"})) for c in causes])

    run(0)  # warm up
    out = np.empty((n, len(causes)))
    start = time.perf_counter()
    for i in range(n):
        out[i] = run(i)
    return (time.perf_counter() - start) / n, out


def time_pyagrum(params: Parameters, ev: EvidenceArrays, n: int) -> tuple[float, np.ndarray] | None:
    """Time pyAgrum's LazyPropagation, one object reused, targets set to the causes."""
    try:
        import pyagrum as gum  # type: ignore[import-not-found]
    except ImportError:
        return None
    from kneebayes._pyagrum import pyagrum_posteriors, to_pyagrum

    inference = gum.LazyPropagation(to_pyagrum(params))
    inference.setTargets(set(params.causes))  # only the causes' posteriors are needed
    pyagrum_posteriors(inference, params, ev, 0)  # warm up
    out = np.empty((n, len(params.causes)))
    start = time.perf_counter()
    for i in range(n):
        out[i] = pyagrum_posteriors(inference, params, ev, i)
    return (time.perf_counter() - start) / n, out


def time_numpy(engine: ExactEngine, ev: EvidenceArrays, first: int, n: int, repeat: int = 1,
               ) -> tuple[float, np.ndarray, float]:
    """Median time per patient over the repeats (without tracing), the first repeat's posteriors, and peak memory.

    Repeat ``r`` scores patients ``first + r * n`` to ``first + (r + 1) * n``, as a user's new
    patients: the cache of elimination plans (one per pattern of answered roots and present
    findings) is emptied before each repeat, so every plan those patients need is made and
    compiled within the timing. Peak memory is traced on the first repeat's patients again.
    """
    engine.posteriors(ev.chunk(len(ev) - 8, len(ev)))  # warm up on the last patients, never timed
    times = []
    out = np.empty(0)
    for r in range(repeat):
        part = ev.chunk(first + r * n, first + (r + 1) * n)
        chain_plan.cache_clear()
        start = time.perf_counter()
        scored = engine.posteriors(part)
        times.append(time.perf_counter() - start)
        out = scored if r == 0 else out
    elapsed = statistics.median(times) / n
    tracemalloc.start()
    engine.posteriors(ev.chunk(first, first + n))
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return elapsed, out, peak


def time_one_by_one(engine: ExactEngine, ev: EvidenceArrays, n: int) -> float:
    """Time per patient when each of n different patients is its own call (batch of 1)."""
    engine.posteriors(ev.chunk(n, n + 1))  # warm up on a patient outside the timed ones
    start = time.perf_counter()
    for i in range(n):
        engine.posteriors(ev.chunk(i, i + 1))
    return (time.perf_counter() - start) / n


def time_diagnose(model: kneebayes.Model, ev: EvidenceArrays, n: int) -> tuple[float, int]:
    """Time per patient of kneebayes.Model.diagnose (validation and the Diagnosis object included).

    Random answers can contradict each other ("pregnancy" present with sex="male"), which
    diagnose refuses: such patients are skipped (their count is returned) and the next ones taken.
    """
    people: list[Evidence] = []
    skipped = 0
    for i in range(len(ev)):
        person = to_evidence(model.parameters, ev, i)
        try:
            model.evidence(person.present, person.absent, person.age, sex=person.sex)
        except kneebayes.KneeBayesError:
            skipped += 1
            continue
        people.append(person)
        if len(people) > n:
            break
    model.diagnose(people[n].present, people[n].absent, people[n].age, sex=people[n].sex)  # warm up
    start = time.perf_counter()
    for person in people[:n]:
        model.diagnose(person.present, person.absent, person.age, sex=person.sex)
    return (time.perf_counter() - start) / n, skipped


def command_time(command: list[str], runs: int = 7) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def kernel_start_up() -> str:
    """Describe the compiled kernel and what its first use costs: compiling (a fresh cache) and loading (cached)."""
    if not _kernel.available():
        return "Compiled kernel: not in use (numba is not installed, or KNEEBAYES_COMPILED=0): the einsum path ran."
    import numba

    code = ("import time, numpy as np\nfrom kneebayes._elimination import EliminationPlan\n"
            "plan = EliminationPlan((2, 2), [(0,), (0, 1), (1,)], [False, False, True], targets=(2,))\n"
            "start = time.perf_counter()\n"
            "plan.run([np.ones(2), np.ones((2, 2)), np.ones((1, 2))], compiled=True)\n"
            "print(time.perf_counter() - start)\n")
    with tempfile.TemporaryDirectory() as cache:
        fresh = float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                                     env={**os.environ, "NUMBA_CACHE_DIR": cache}).stdout)
        cached = float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                                      env={**os.environ, "NUMBA_CACHE_DIR": cache}).stdout)
    return (f"Compiled kernel: numba {numba.__version__} (the `fast` extra). Its first use in a process costs "
            f"{cached:.2f} s (import and load from numba's cache), {fresh:.2f} s the very first time (compile). "
            "Every kneebayes row below takes it except those marked einsum.")


#: The three kinds of input, by name.
WORKLOADS = ("symptom checker (7 random ids answered: 3 present, 4 absent; no age)",
             "half answered (each id with probability 1/2, age 4 in 5)",
             "full questionnaire (every id and the age)")


def workload(params: Parameters, name: str, n: int) -> EvidenceArrays:
    """Return ``n`` patients of the input ``name`` (one of :data:`WORKLOADS`)."""
    every = len(params.findings)
    if name == WORKLOADS[0]:
        return symptom_checker_evidence(params, n)
    rate = 0.5 if name == WORKLOADS[1] else 1.0
    return sample_evidence(params, n, max_present=every, answer_rate=rate, age_rate=0.8 if rate < 1 else 1.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small batches (smoke test)")
    parser.add_argument("--no-sweeps", action="store_true", help="skip the sweep timings")
    parser.add_argument("--batch", type=int, default=None,
                        help="the large symptom-checker batch (default 100,000; 10,000 with --quick)")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    big = args.batch if args.batch is not None else (10_000 if args.quick else 100_000)
    n_reference = 20 if args.quick else 100

    model = kneebayes.load_model()
    p = model.parameters
    print(f"kneebayes {kneebayes.__version__}, numpy {np.__version__}, pandas {pd.__version__}; "
          f"{os.cpu_count()} cores. pgmpy and pyAgrum score {n_reference} patients one at a time.\n")
    print(kernel_start_up() + "\n")
    targets: list[tuple[str, str, bool]] = []
    # many present findings cost the factored engine (the 18-cause model) most: the half-answered and full
    # questionnaires are timed on smaller batches so that the whole run stays within minutes
    sizes = {"symptom": (1000, big), "half": (1000, 1000 if args.quick else 10_000),
             "full": (200, 200 if args.quick else 2000)}
    for name, (small, large) in zip(WORKLOADS, sizes.values(), strict=True):
        # 3 large batches (the first holds the patients pgmpy and pyAgrum score), then 5 small ones (the
        # einsum path scores the first 3 of them again, its plans made anew too), and 8 patients to warm up
        ev = workload(p, name, 3 * large + 5 * small + 8)
        engine = ExactEngine(p)  # a fresh engine per workload: nothing cached from another one
        t_pgmpy, ref = time_pgmpy(model, ev, n_reference)
        agrum = time_pyagrum(p, ev, n_reference)
        t_agrum = agrum[0] if agrum is not None else float("nan")
        rows = [("pgmpy VariableElimination (one object reused)", t_pgmpy, None)]
        if agrum is not None:
            rows.append(("pyAgrum LazyPropagation (targets: the causes)", t_agrum, None))
        t1 = time_one_by_one(engine, ev, n_reference)
        rows.append(("kneebayes, batch of 1 (each patient its own call)", t1, None))
        t1k = time_numpy(engine, ev, 3 * large, small, repeat=5)
        rows.append((f"kneebayes, batch of {small:,}", t1k[0], t1k[2]))
        if _kernel.available():
            with _kernel.switched_off():
                t_einsum = time_numpy(engine, ev, 3 * large, small, repeat=3)
            rows.append((f"kneebayes without numba (einsum), batch of {small:,}", t_einsum[0], t_einsum[2]))
        tbig = time_numpy(engine, ev, 0, large, repeat=3)
        rows.append((f"kneebayes, batch of {large:,}", tbig[0], tbig[2]))
        diff_pgmpy = float(np.abs(tbig[1][:n_reference] - ref).max())
        diff_agrum = float(np.abs(tbig[1][:n_reference] - agrum[1]).max()) if agrum is not None else float("nan")
        print(f"### {name}\n")
        print("| engine | time per patient | vs pgmpy | vs pyAgrum | peak memory |")
        print("|---|---|---|---|---|")
        for label, seconds, peak in rows:
            memory = (f"{peak:,.0f} MB" if peak >= 1 else "<1 MB") if peak is not None else ""
            print(f"| {label} | {seconds * 1e6:,.1f} µs | {t_pgmpy / seconds:,.1f}x | {t_agrum / seconds:,.1f}x "
                  f"| {memory} |")
        print(f"\nLargest difference of the kneebayes batch from pgmpy: {diff_pgmpy:.1e}; from pyAgrum: "
              f"{diff_agrum:.1e}\n")
        if name.startswith("symptom"):
            ratio_pgmpy, ratio_agrum = t_pgmpy / tbig[0], t_agrum / tbig[0]
            targets.append((f"symptom checker, batch of {big:,}: >= 300x pgmpy", f"{ratio_pgmpy:,.0f}x",
                            ratio_pgmpy >= 300))
            targets.append((f"symptom checker, batch of {big:,}: >= 150x pyAgrum", f"{ratio_agrum:,.0f}x",
                            ratio_agrum >= 150))
            targets.append(("agreement with pgmpy and pyAgrum <= 1e-9", f"{max(diff_pgmpy, diff_agrum):.1e}",
                            max(diff_pgmpy, diff_agrum) <= 1e-9))
            targets.append((f"peak memory at batch {big:,} < 500 MB", f"{tbig[2]:,.0f} MB", tbig[2] < 500))
            t_diag, skipped = time_diagnose(model, ev, n_reference)
            with _kernel.switched_off():
                t_diag_einsum = time_diagnose(model, ev, n_reference)[0]
            print(f"`Model.diagnose` one patient at a time, Diagnosis included: {t_diag * 1e6:,.0f} µs "
                  f"({t_agrum / t_diag:.1f}x pyAgrum; {skipped} contradictory patient(s) skipped); without numba "
                  f"(einsum, as the command line): {t_diag_einsum * 1e6:,.0f} µs ({t_agrum / t_diag_einsum:.1f}x)\n")
            targets.append(("one patient through diagnose: >= 5x pyAgrum", f"{t_agrum / t_diag:.1f}x",
                            t_agrum / t_diag >= 5))

    # a network built like the shipped one but with 24 causes and 20 roots: the factored engine
    synthetic = synthetic_parameters(n_causes=24, n_risk_factors=20, n_findings=30, seed=2)
    engine = ExactEngine(synthetic)
    ev = symptom_checker_evidence(synthetic, 2000, seed=1)
    t_syn = time_numpy(engine, ev, 0, 2000)[0]
    agrum = time_pyagrum(synthetic, ev, 10)
    diff = float(np.abs(engine.posteriors(ev.chunk(0, 10)) - agrum[1]).max()) if agrum is not None else float("nan")
    t_agrum = agrum[0] if agrum is not None else float("nan")
    print(f"24-cause synthetic network (20 roots, findings with up to 12 parents), symptom-checker input, "
          f"method {engine.method!r}: {t_syn * 1e6:,.0f} µs a patient at batch 2,000; pyAgrum {t_agrum * 1e6:,.0f} µs "
          f"({t_agrum / t_syn:.1f}x); largest difference {diff:.1e}\n")
    targets.append(("24-cause synthetic network runs exactly (no refusal)", f"{diff:.1e} from pyAgrum", diff <= 1e-9))
    # prior draws: every number drawn over its range, intercepts solved together, 100 patients scored per draw
    n_draws = 50 if args.quick else 1000
    patients = symptom_checker_evidence(p, 100, seed=3)
    t_query = time_pgmpy(model, patients, 20)[0]
    start = time.perf_counter()
    draws = draw_parameters(model.priors, p, n_draws, seed=0)
    t_compile = time.perf_counter() - start
    ExactEngine(p).posteriors_under(patients, draws)
    t_total = time.perf_counter() - start
    per = t_total / (n_draws * 100)
    print(f"Prior draws: {n_draws:,} draws over every number's range, each scoring 100 symptom-checker patients: "
          f"{t_total:.1f} s ({t_compile:.2f} s drawing and compiling), {per * 1e6:,.0f} µs per (draw, patient) = "
          f"{per / t_query:.1%} of a pgmpy query ({t_query * 1e6:,.0f} µs)\n")
    targets.append((f"prior draws ({n_draws:,} x 100 patients): under 1% of a pgmpy query per (draw, patient)",
                    f"{per / t_query:.1%}", per / t_query < 0.01))

    if not args.no_sweeps:
        n_variants, n_patients = (5, 100) if args.quick else (20, 500)
        patients = to_frame(p, workload(p, WORKLOADS[1], n_patients))
        print(f"Sweeps of {n_variants} prior variants over {n_patients:,} half-answered patients (Model.sweep):")
        for kind, target in (("finding_probability", "lump_behind_knee|bakers_cyst"), ("leak", "fever"),
                             ("base_rate", "meniscus_tear"), ("odds_ratio", "osteoarthritis|overweight"),
                             ("odds_ratio", "dvt|recent_immobility"), ("prevalence", "smoking")):
            seconds = time_sweep(model, patients, kind, target, n_variants)
            print(f"  {kind} {target}: {seconds:.2f} s ({seconds / (n_variants * n_patients) * 1e6:.1f} µs per "
                  f"patient and variant)")
        print()

    cli = shutil.which("kneebayes") or shutil.which("kneebayes", path=str(Path(sys.executable).parent))
    if cli:
        t_cli = command_time([cli, "diagnose", "--present", "lump_behind_knee", "stiffness", "--age", "58"])
        t_pandas = command_time([sys.executable, "-c", "import pandas"])
        print(f"Command line (median of 7): `kneebayes diagnose ...` {t_cli:.3f} s; "
              f"`python -c \"import pandas\"` {t_pandas:.3f} s; ratio {t_cli / t_pandas:.2f}\n")
        targets.append(("`kneebayes diagnose` <= 1.5x `python -c \"import pandas\"`", f"{t_cli / t_pandas:.2f}x",
                        t_cli / t_pandas <= 1.5))

    print("Targets of issue 10:")
    for label, measured, met in targets:
        print(f"  [{'met' if met else 'NOT met'}] {label}: {measured}")


if __name__ == "__main__":
    main()
