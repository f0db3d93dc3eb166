"""Benchmark kneebayes' exact numpy engine against pgmpy (and pyAgrum when installed).

Run from the repository root, in the environment where kneebayes is installed::

    python benchmarks/bench_engines.py            # full run (100,000-patient batch)
    python benchmarks/bench_engines.py --quick    # smaller batches, for a smoke test

Patients are forward-sampled from the shipped model (seeded), then each finding and risk
factor is revealed with probability 0.5 and the age with probability 0.8, so the evidence
looks like real, partly answered questionnaires. Every engine scores the same patients;
the script prints time per patient, ratios against pgmpy measured in this run, the largest
difference from pgmpy, the peak memory of the largest batch, and the command line's wall
time beside ``python -c "import pandas"``. This is a benchmark, not a test: it asserts nothing.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

import kneebayes
from kneebayes._engine import UNKNOWN, EvidenceArrays, ExactEngine
from kneebayes._evidence import Evidence
from kneebayes._parameters import Parameters


def sample_patients(params: Parameters, n: int, seed: int = 0) -> EvidenceArrays:
    """Forward-sample n patients from the model and hide part of their answers."""
    rng = np.random.default_rng(seed)
    age = rng.choice(len(params.age_bands), size=n, p=params.age_prevalence)
    rf = (rng.random((n, len(params.risk_factors))) < params.rf_prevalence).astype(float)
    causes = np.zeros((n, len(params.causes)))
    for c in params.order:
        causes[:, c] = rng.random(n) < params.cause_probability(c, age, rf, causes)
    p_absent = (1 - params.leak) * np.exp(causes @ np.log1p(-params.q))
    findings = (rng.random((n, len(params.findings))) >= p_absent).astype(np.int8)
    findings[rng.random(findings.shape) < 0.5] = UNKNOWN
    rf_obs = rf.astype(np.int8)
    rf_obs[rng.random(rf_obs.shape) < 0.5] = UNKNOWN
    age_obs = np.where(rng.random(n) < 0.8, age, UNKNOWN).astype(np.int64)
    return EvidenceArrays(findings, rf_obs, age_obs)


def to_evidence(params: Parameters, ev: EvidenceArrays, i: int) -> Evidence:
    """One patient of a batch as an Evidence object (for the per-patient engines)."""
    ids = params.findings + params.risk_factors
    states = np.concatenate([ev.findings[i], ev.risk_factors[i]])
    band = params.age_bands[ev.age_band[i]] if ev.age_band[i] >= 0 else None
    age = float(params.age_min[ev.age_band[i]]) if band else None
    return Evidence(tuple(ids[j] for j in np.flatnonzero(states == 1)),
                    tuple(ids[j] for j in np.flatnonzero(states == 0)), age, band)


def to_frame(params: Parameters, ev: EvidenceArrays) -> pd.DataFrame:
    """Turn a batch into the DataFrame that Model.diagnose_many and Model.sweep take."""
    states = np.concatenate([ev.findings, ev.risk_factors], axis=1)
    values = np.where(states == 1, True, np.where(states == 0, False, None)).astype(object)
    frame = pd.DataFrame(values, columns=list(params.findings + params.risk_factors))
    frame["age"] = np.where(ev.age_band >= 0, params.age_min[np.maximum(ev.age_band, 0)], np.nan)
    return frame


def time_sweep(model: kneebayes.Model, frame: pd.DataFrame, kind: str, target: str, n_variants: int) -> float:
    """Seconds to score the patients under n_variants values of one number spread over its range."""
    row = model.priors.to_frame().set_index(["kind", "target"]).loc[(kind, target)]
    values = np.linspace(row["low"], row["high"], n_variants)
    start = time.perf_counter()
    model.sweep(frame, kind, target, values)
    return time.perf_counter() - start


def time_pgmpy(model: kneebayes.Model, ev: EvidenceArrays, n: int) -> tuple[float, np.ndarray]:
    from kneebayes._pgmpy_model import pgmpy_posteriors

    network = model.to_pgmpy()
    out = np.empty((n, len(model.causes)))
    pgmpy_posteriors(network, model.parameters, to_evidence(model.parameters, ev, 0))  # warm up
    start = time.perf_counter()
    for i in range(n):
        out[i] = pgmpy_posteriors(network, model.parameters, to_evidence(model.parameters, ev, i))
    return (time.perf_counter() - start) / n, out


def time_pyagrum(model: kneebayes.Model, ev: EvidenceArrays, n: int) -> tuple[float, np.ndarray] | None:
    try:
        import pyagrum as gum  # type: ignore[import-not-found]
    except ImportError:
        try:
            import pyAgrum as gum  # type: ignore[import-not-found,no-redef]
        except ImportError:
            return None
    from kneebayes._pgmpy_model import pgmpy_evidence

    network = model.to_pgmpy()
    bn = gum.BayesNet("kneebayes")
    for node in network.nodes():
        states = network.get_cpds(node).state_names[node]
        bn.add(gum.LabelizedVariable(node, node, [str(s) for s in states]))
    for parent, child in network.edges():
        bn.addArc(parent, child)
    for cpd in network.get_cpds():
        variables = cpd.variables  # [node, *evidence], last evidence fastest
        values = cpd.get_values()  # (card, prod of evidence cards)
        cards = [len(cpd.state_names[v]) for v in variables[1:]]
        for column, config in enumerate(np.ndindex(*cards) if cards else [()]):
            index = {v: int(s) for v, s in zip(variables[1:], config, strict=True)}
            bn.cpt(variables[0])[index] = values[:, column].tolist()
    out = np.empty((n, len(model.causes)))

    inference = gum.LazyPropagation(bn)
    inference.setTargets(set(model.causes))  # only the causes' posteriors are needed

    def run(i: int) -> np.ndarray:
        inference.eraseAllEvidence()
        inference.setEvidence(pgmpy_evidence(to_evidence(model.parameters, ev, i)))
        inference.makeInference()
        return np.array([inference.posterior(c).toarray()[1] for c in model.causes])

    run(0)
    start = time.perf_counter()
    for i in range(n):
        out[i] = run(i)
    return (time.perf_counter() - start) / n, out


def time_numpy(engine: ExactEngine, ev: EvidenceArrays, n: int, repeat: int = 1) -> tuple[float, np.ndarray, float]:
    """Median time per patient over the repeats (without tracing), the posteriors, and peak traced memory."""
    part = ev.chunk(0, n)
    engine.posteriors(part.chunk(0, min(n, 8)))  # warm up
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        out = engine.posteriors(part)
        times.append(time.perf_counter() - start)
    elapsed = statistics.median(times) / n
    tracemalloc.start()
    engine.posteriors(part)
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return elapsed, out, peak


def command_time(command: list[str], runs: int = 7) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small batches (smoke test)")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    big = 10_000 if args.quick else 100_000
    n_reference = 20 if args.quick else 100

    model = kneebayes.load_model()
    engine = ExactEngine(model.parameters)
    ev = sample_patients(model.parameters, big, seed=0)

    t_pgmpy, ref = time_pgmpy(model, ev, n_reference)
    agrum = time_pyagrum(model, ev, n_reference)
    rows = [("pgmpy VariableElimination", 1, t_pgmpy, None)]
    if agrum is not None:
        rows.append(("pyAgrum LazyPropagation", 1, agrum[0], None))
    t1 = time_numpy(engine, ev, 1, repeat=200)
    rows.append(("kneebayes numpy, batch of 1", 1, t1[0], t1[2]))
    t1k = time_numpy(engine, ev, 1000, repeat=15)
    rows.append(("kneebayes numpy, batch of 1,000", 1000, t1k[0], t1k[2]))
    tbig = time_numpy(engine, ev, big, repeat=3)
    rows.append((f"kneebayes numpy, batch of {big:,}", big, tbig[0], tbig[2]))

    diff_pgmpy = float(np.abs(tbig[1][:n_reference] - ref).max())
    diff_agrum = float(np.abs(agrum[1] - ref).max()) if agrum is not None else float("nan")

    print(f"Patients sampled from the shipped model; pgmpy and pyAgrum timed on {n_reference} of them.\n")
    print("| engine | time per patient | vs pgmpy | vs pyAgrum | peak memory |")
    print("|---|---|---|---|---|")
    for name, _, seconds, peak in rows:
        vs_agrum = f"{agrum[0] / seconds:,.1f}x" if agrum is not None else "n/a"
        memory = (f"{peak:,.0f} MB" if peak >= 1 else "<1 MB") if peak is not None else ""
        print(f"| {name} | {seconds * 1e6:,.1f} µs | {t_pgmpy / seconds:,.1f}x | {vs_agrum} | {memory} |")
    print(f"\nLargest difference from pgmpy: numpy engine {diff_pgmpy:.2e}; pyAgrum {diff_agrum:.2e}")

    n_variants, n_patients = (20, 200) if args.quick else (100, 1000)
    patients = to_frame(model.parameters, ev.chunk(0, n_patients))
    print(f"\nSweeps of {n_variants} prior variants over {n_patients:,} patients (Model.sweep):")
    for kind, target in (("finding_probability", "lump_behind_knee|bakers_cyst"), ("leak", "fever"),
                         ("base_rate", "meniscus_tear"), ("odds_ratio", "osteoarthritis|overweight"),
                         ("odds_ratio", "dvt|recent_immobility"), ("prevalence", "smoking")):
        seconds = time_sweep(model, patients, kind, target, n_variants)
        print(f"  {kind} {target}: {seconds:.2f} s ({seconds / (n_variants * n_patients) * 1e6:.1f} µs per "
              f"patient and variant)")

    cli = shutil.which("kneebayes") or shutil.which("kneebayes", path=str(Path(sys.executable).parent))
    if cli:
        t_cli = command_time([cli, "diagnose", "--present", "lump_behind_knee", "stiffness", "--age", "58"])
        t_pandas = command_time([sys.executable, "-c", "import pandas"])
        print(f"\nCommand line (median of 7): `kneebayes diagnose ...` {t_cli:.3f} s; "
              f"`python -c \"import pandas\"` {t_pandas:.3f} s; ratio {t_cli / t_pandas:.2f}")
    print(f"\n(pandas {pd.__version__}, numpy {np.__version__}, kneebayes {kneebayes.__version__})")


if __name__ == "__main__":
    main()
