"""Run the hand-made mutants of ``mutants.py`` against the test suite and report which tests kill them.

Usage (from anywhere; the repository is this file's grandparent)::

    python tests/mutation/run.py                 # every mutant, 2 workers, writes tests/mutation/RESULTS.md
    python tests/mutation/run.py --only ID ...   # some mutants, results printed only
    python tests/mutation/run.py --list          # list the mutants and whether each still applies

How it works: each worker copies the repository (without .git, caches and virtual
environments) to a temporary folder once. For each mutant it replaces the mutant's
snippet in the copy (the snippet must occur exactly once, else the mutant is "stale"),
runs ``python -m pytest -x`` on the copy's ``tests/`` with the copy's ``src`` first on the
path (the test files most likely to catch a fault of that module first, see ``FIRST``: only
the order changes), and puts the file back. The first run leaves out the test that compares README
figures with command output (and the lint test, which judges style, not behaviour);
only if the mutant survives it is the README-figures test run, so a mutant caught only
there is reported as such: regenerating the README would hide it. Notebooks are not run.

The interpreter is the one running this script: use the project's environment
(``.venv/bin/python tests/mutation/run.py``).
"""

from __future__ import annotations

import argparse
import datetime
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))

from mutants import MUTANTS, Mutant  # noqa: E402

README_TEST = "tests/test_docs.py::test_readme_figures_are_what_the_commands_print"
#: Left out of every run: style checks (ruff, mypy) judge how code is written, not what it does.
IGNORED = ("tests/test_lint.py",)
#: Tests that run the kneebayes installed in the environment, not the mutated copy: they cannot catch a
#: mutant, only fail for reasons of their own (another checkout being edited), which would count as a kill.
NOT_THE_COPY = ("tests/test_cli.py::test_console_script_runs_outside_the_repository",)
#: Test files run first for a mutant of each module (only the order changes: every test file still runs until
#: one fails, and the one that fails is reported). Files not listed, new ones included, run after, by name.
FIRST = {
    "_red_flags.py": ("test_red_flag_edges.py", "test_safety_floor.py"),
    "_safety.py": ("test_safety_floor.py", "test_malformed_priors.py"),
    "_diagnosis.py": ("test_display.py",),
    "_display.py": ("test_display.py", "test_cli.py"),
    "_engine.py": ("test_batch_and_engine_edges.py", "test_engine.py"),
    "_contraction.py": ("test_batch_and_engine_edges.py", "test_engine.py"),
    "_parameters.py": ("test_tiny_network.py", "test_batch_and_engine_edges.py"),
    "_graph.py": ("test_tiny_network.py", "test_malformed_priors.py"),
    "_model.py": ("test_batch_and_engine_edges.py", "test_red_flag_edges.py", "test_engine.py"),
    "_evaluate.py": ("test_evaluate.py",),
    "_evidence.py": ("test_bad_input.py",),
    "_vocabulary.py": ("test_bad_input.py",),
    "_priors.py": ("test_validation_edges.py", "test_malformed_priors.py", "test_save.py"),
    "_csvfile.py": ("test_csvfile.py", "test_save.py", "test_malformed_priors.py"),
    "_folder.py": ("test_save_crash.py", "test_save.py"),
    "cli.py": ("test_cli.py", "test_cli_errors.py"),
    "_pgmpy_model.py": ("test_tiny_network.py",),
    "_progress.py": ("test_engine.py",),
    "_numbers.py": ("test_input_shapes.py", "test_malformed_priors.py"),
    "_export.py": ("test_export.py",),
    "_diff.py": ("test_diff_triage.py", "test_diff.py"),
    "_result.py": ("test_diff.py",),
    "_rule.py": ("test_safety_floor.py", "test_red_flag_edges.py"),
    "_kernel.py": ("test_kernel.py",),
    "_elimination.py": ("test_factored.py", "test_kernel.py"),
    "_block_kernel.py": ("test_kernel.py",),
}
_CHILDREN: set[subprocess.Popen[str]] = set()
COPY_IGNORE = shutil.ignore_patterns(".git", ".venv", "venv", "__pycache__", ".pytest_cache", ".hypothesis",
                                     ".mypy_cache", ".ruff_cache", "*.egg-info", "build", "dist", ".ipynb_checkpoints")


@dataclass
class Outcome:
    """What happened to one mutant."""

    mutant: Mutant
    status: str  # "killed", "killed by README only", "SURVIVED", "stale", "baseline"
    by: str = ""
    seconds: float = 0.0


def pytest_command(copy: Path, only_readme: bool, module: str = "") -> list[str]:
    """Return the pytest command line of the first (or the README-only) run, test files in run order."""
    command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "-o", "addopts=",
               "--strict-markers", "-rfE", "--no-header"]
    if only_readme:
        return [*command, README_TEST]
    files = sorted(p.name for p in (copy / "tests").glob("test_*.py") if f"tests/{p.name}" not in IGNORED)
    first = [name for name in FIRST.get(Path(module).name, ()) if name in files]
    ordered = [f"tests/{name}" for name in [*first, *[f for f in files if f not in first]]]
    deselected = [arg for test in (README_TEST, *NOT_THE_COPY) for arg in ("--deselect", test)]
    return [*command, *ordered, *deselected]


def run_pytest(copy: Path, only_readme: bool, timeout: float, module: str = "") -> tuple[bool, str]:
    """Run pytest in ``copy``; return (failed, the first failing test or a reason)."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "HYPOTHESIS_PROFILE")}
    env.update(PYTHONPATH=str(copy / "src"), PYTHONDONTWRITEBYTECODE="1", HYPOTHESIS_PROFILE="ci")
    process = subprocess.Popen(pytest_command(copy, only_readme, module), cwd=copy, env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    _CHILDREN.add(process)
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _stop(process)
        return True, f"timeout after {timeout:.0f} s"
    finally:
        _CHILDREN.discard(process)
    if process.returncode == 0:
        return False, ""
    for line in stdout.splitlines():
        match = re.match(r"^(FAILED|ERROR) (.+?)(?: - .*)?$", line)
        if match:
            return True, match.group(2)
    tail = (stdout.strip().splitlines() or stderr.strip().splitlines() or ["?"])[-1]
    return True, f"exit {process.returncode}: {tail[:100]}"


def _stop(process: subprocess.Popen[str]) -> None:
    """End a pytest run and everything it started (it runs in its own session)."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()


def _on_signal(signum: int, frame: object) -> None:
    for process in list(_CHILDREN):
        _stop(process)
    raise SystemExit(128 + signum)


def apply(copy: Path, mutant: Mutant) -> str | None:
    """Write the mutant into ``copy``; return the original text, or None when the snippet is stale."""
    path = copy / mutant.file
    if not path.is_file():
        return None
    text = path.read_text(encoding="utf-8")
    if text.count(mutant.old) != 1:
        return None
    path.write_text(text.replace(mutant.old, mutant.new), encoding="utf-8")
    return text


def judge(copy: Path, mutant: Mutant, timeout: float) -> Outcome:
    """Apply one mutant in ``copy``, run the tests, and put the file back whatever happens."""
    start = time.monotonic()
    original = apply(copy, mutant)
    if original is None:
        return Outcome(mutant, "stale", "snippet not found exactly once in " + mutant.file)
    try:
        failed, by = run_pytest(copy, only_readme=False, timeout=timeout, module=mutant.file)
        if failed:
            return Outcome(mutant, "killed", by, time.monotonic() - start)
        failed, by = run_pytest(copy, only_readme=True, timeout=timeout)
        status = "killed by README only" if failed else "SURVIVED"
        return Outcome(mutant, status, by, time.monotonic() - start)
    finally:
        (copy / mutant.file).write_text(original, encoding="utf-8")


def make_copy(parent: Path, name: str) -> Path:
    """Copy the repository into ``parent / name``."""
    target = parent / name
    shutil.copytree(ROOT, target, ignore=COPY_IGNORE)
    return target


def run_all(mutants: list[Mutant], workers: int, timeout: float, baseline: bool) -> list[Outcome]:
    """Judge every mutant with ``workers`` repository copies side by side; print each outcome as it comes."""
    todo: queue.Queue[Mutant] = queue.Queue()
    for mutant in mutants:
        todo.put(mutant)
    outcomes: list[Outcome] = []
    lock = threading.Lock()
    stopping = threading.Event()
    with tempfile.TemporaryDirectory(prefix="kneebayes-mutation-") as scratch:
        copies = [make_copy(Path(scratch), f"copy{i}") for i in range(workers)]
        if baseline:
            failed, by = run_pytest(copies[0], only_readme=False, timeout=timeout)
            if not failed:
                failed, by = run_pytest(copies[0], only_readme=True, timeout=timeout)
            if failed:
                print(f"the unmutated suite fails ({by}): fix that first; no mutant was run", file=sys.stderr)
                return [Outcome(Mutant("baseline", "", "", "", "the unmutated code"), "baseline", by)]
            print("baseline: the unmutated suite passes", flush=True)

        def work(copy: Path) -> None:
            while not stopping.is_set():
                try:
                    mutant = todo.get_nowait()
                except queue.Empty:
                    return
                outcome = judge(copy, mutant, timeout)
                with lock:
                    outcomes.append(outcome)
                    print(f"[{len(outcomes)}/{len(mutants)}] {mutant.id}: {outcome.status} {outcome.by} "
                          f"({outcome.seconds:.0f} s)", flush=True)

        threads = [threading.Thread(target=work, args=(copy,), daemon=True) for copy in copies]
        for thread in threads:
            thread.start()
        try:
            while any(thread.is_alive() for thread in threads):
                time.sleep(0.5)
        finally:  # on a signal: no new mutant starts, running pytest processes are ended by _on_signal
            stopping.set()
    order = {m.id: i for i, m in enumerate(mutants)}
    return sorted(outcomes, key=lambda o: order[o.mutant.id])


def snapshot() -> str:
    """Name the code the copies are taken from: the commit, and whether tracked files differ from it."""
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                            check=False).stdout.strip() or "unknown"
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True,
                           text=True, check=False).stdout.strip().splitlines()
    dirty = [line for line in dirty if not line.endswith("RESULTS.md")]
    return f"commit {commit}{' with uncommitted changes' if dirty else ''}"


def report(outcomes: list[Outcome], code: str) -> str:
    """Return the results as a Markdown table with the score (``code`` from :func:`snapshot`, taken at the start)."""
    live = [o for o in outcomes if o.status != "stale"]
    killed = [o for o in live if o.status == "killed"]
    readme_only = [o for o in live if o.status == "killed by README only"]
    survived = [o for o in live if o.status == "SURVIVED"]
    stale = [o for o in outcomes if o.status == "stale"]
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Mutation results",
        "",
        f"Run {when} on {code} (the copies' code, as it was when the run started) by "
        "`python tests/mutation/run.py` (mutants in `tests/mutation/mutants.py`).",
        "",
        f"**Score: {len(killed)} of {len(live)} mutants killed by the suite without the README-figures test"
        f"**; {len(readme_only)} killed only by the README-figures test, {len(survived)} survived, "
        f"{len(stale)} stale (snippet no longer found: update it in mutants.py).",
        "",
        "| id | file | fault | result | killed by |",
        "|---|---|---|---|---|",
    ]
    for o in outcomes:
        m = o.mutant
        by = o.by.replace("|", "\\|")
        lines.append(f"| {m.id} | {m.file.removeprefix('src/kneebayes/')} | {m.description} | {o.status} | {by} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Run the mutants; exit 1 when a mutant survives or is caught only by the README-figures test."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", metavar="ID", help="run only these mutants (results are not written)")
    parser.add_argument("--workers", type=int, default=2, choices=[1, 2], help="repository copies run side by side")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds per pytest run before giving up")
    parser.add_argument("--no-baseline", action="store_true", help="skip the run of the unmutated suite")
    parser.add_argument("--list", action="store_true", help="list the mutants and whether each still applies")
    parser.add_argument("--results", type=Path, default=HERE / "RESULTS.md", help="where to write the table")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    ids = [m.id for m in MUTANTS]
    if len(set(ids)) != len(ids):
        parser.error("mutant ids must be unique")
    if args.list:
        for m in MUTANTS:
            path = ROOT / m.file
            ok = path.is_file() and path.read_text(encoding="utf-8").count(m.old) == 1
            print(f"{m.id:<36} {m.file:<32} {'ok' if ok else 'STALE'}  {m.description}")
        return 0
    chosen = MUTANTS
    if args.only:
        unknown = sorted(set(args.only) - set(ids))
        if unknown:
            parser.error(f"unknown mutant id(s): {', '.join(unknown)}")
        chosen = [m for m in MUTANTS if m.id in args.only]
    code = snapshot()  # before the copies are taken: the repository may change while the run goes on
    outcomes = run_all(chosen, args.workers, args.timeout, baseline=not args.no_baseline)
    if outcomes and outcomes[0].status == "baseline":
        return 2
    table = report(outcomes, code)
    print()
    print(table)
    if not args.only:
        args.results.write_text(table, encoding="utf-8")
        print(f"written to {args.results}")
    return 0 if all(o.status in ("killed", "stale") for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
