"""Benchmark scoring a cohort from Parquet with Dask against pandas, and uncertainty draws on a cluster.

Run from the repository root, with the ``dask`` extra installed::

    python benchmarks/bench_dask.py                   # 200,000 rows, 200 draws
    python benchmarks/bench_dask.py --rows 20000      # a shorter run

The cohort is symptom-checker input for the shipped model (each row answers 3 random ids
present and 4 absent, no age; the answers in the nullable ``boolean`` dtype, ``sex`` as
text), written as Parquet files of ``--rows-per-file`` rows. pandas reads them, scores them
with ``Model.diagnose_many`` and writes Parquet; Dask does the same through a
``LocalCluster`` of one single-threaded worker process per core (``dd.read_parquet``,
``diagnose_many``, ``to_parquet``). Both outputs are read back and compared. Then
``kneebayes.analysis.uncertainty`` runs the same draws locally and with ``client=``.
A benchmark, not a test: it prints timings and differences, it asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import pickle
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

import kneebayes
from kneebayes._synthetic import symptom_checker_evidence
from kneebayes.analysis import uncertainty


def cohort(model: kneebayes.Model, rows: int, seed: int) -> pd.DataFrame:
    """Symptom-checker answers as diagnose_many takes them: boolean columns with missing values, and sex."""
    p = model.parameters
    ev = symptom_checker_evidence(p, rows, seed=seed)
    states = np.concatenate([ev.findings, ev.risk_factors], axis=1)
    columns = {}
    for j, ident in enumerate(p.findings + p.risk_factors):
        answers = np.where(states[:, j] == 1, True, np.where(states[:, j] == 0, False, None))
        if ident == p.sex:
            columns["sex"] = pd.array(np.where(answers == True, "female",  # noqa: E712 - elementwise
                                               np.where(answers == False, "male", None)), dtype="str")  # noqa: E712
        else:
            columns[ident] = pd.array(answers, dtype="boolean")
    return pd.DataFrame(columns)


def write_files(frame: pd.DataFrame, folder: Path, rows_per_file: int) -> None:
    folder.mkdir(parents=True)
    for n, start in enumerate(range(0, len(frame), rows_per_file)):
        frame.iloc[start:start + rows_per_file].to_parquet(folder / f"part.{n:04d}.parquet")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--rows-per-file", type=int, default=10_000)
    parser.add_argument("--draws", type=int, default=200)
    parser.add_argument("--patients", type=int, default=10, help="patients scored under every draw")
    args = parser.parse_args()

    import dask.dataframe as dd
    from distributed import Client, LocalCluster

    model = kneebayes.load_model()
    cores = os.cpu_count() or 1
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"machine: {cores} cores, load average {load:.1f} at the start; kneebayes {kneebayes.__version__}, "
          f"{len(model.causes)} causes")
    print(f"the model pickles to {len(pickle.dumps(model)) / 1e6:.2f} MB (sent once to each worker)")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "cohort"
        write_files(cohort(model, args.rows, seed=0), folder, args.rows_per_file)
        files = len(list(folder.glob("*.parquet")))
        print(f"cohort: {args.rows:,} rows of symptom-checker input in {files} Parquet files")

        start = time.perf_counter()
        scored = model.diagnose_many(pd.read_parquet(folder))
        scored.to_parquet(Path(tmp) / "pandas.parquet")
        pandas_s = time.perf_counter() - start
        print(f"pandas: read, diagnose_many, write: {pandas_s:.1f} s, {pandas_s / args.rows * 1e6:.0f} us a row")

        start = time.perf_counter()
        with LocalCluster(n_workers=cores, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
                Client(cluster) as client:
            started = time.perf_counter() - start
            start = time.perf_counter()
            model.diagnose_many(dd.read_parquet(folder)).to_parquet(Path(tmp) / "dask")
            dask_s = time.perf_counter() - start
            print(f"dask:   read, diagnose_many, write on {cores} worker processes: {dask_s:.1f} s, "
                  f"{dask_s / args.rows * 1e6:.0f} us a row, {pandas_s / dask_s:.2f}x pandas "
                  f"(cluster start {started:.1f} s, not counted)")
            # compared by patient (the index): Dask names its files part.0 ... part.19, which read back in
            # text order (part.10 before part.2), so positions differ beyond 10 partitions
            a = pd.read_parquet(Path(tmp) / "pandas.parquet").sort_index()
            b = pd.read_parquet(Path(tmp) / "dask").sort_index()
            if not a.index.equals(b.index):
                raise SystemExit("the Dask result does not hold the same patients as the pandas one")
            same_text = (a[["triage", "red_flags"]].to_numpy() == b[["triage", "red_flags"]].to_numpy()).all()
            diff = float(np.abs(a[list(model.causes)].to_numpy() - b[list(model.causes)].to_numpy()).max())
            print(f"        largest difference from pandas: {diff:.1e}; triage and red flags identical: {same_text}")

            patients = cohort(model, args.patients, seed=1)
            start = time.perf_counter()
            local = uncertainty(model, patients=patients, draws=args.draws, seed=0)
            local_s = time.perf_counter() - start
            start = time.perf_counter()
            spread = uncertainty(model, patients=patients, draws=args.draws, seed=0, client=client)
            spread_s = time.perf_counter() - start
            diff = max(float((local.table[c] - spread.table[c]).abs().max())
                       for c in ("point", "median", "low", "high"))
            print(f"uncertainty, {args.draws} draws x {args.patients} patients: local {local_s:.1f} s, "
                  f"client= {spread_s:.1f} s ({local_s / spread_s:.2f}x); largest difference {diff:.1e}")
    print(f"load average at the end: {os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") else "")


if __name__ == "__main__":
    main()
