"""The compiled kernel computes what the einsum elimination computes, on every shape of plan."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import kneebayes
from kneebayes import _elimination, _kernel
from kneebayes._elimination import EliminationPlan
from kneebayes._factored import FactoredEngine
from kneebayes._synthetic import sample_evidence, symptom_checker_evidence

pytest.importorskip("numba")


def random_factors(plan: EliminationPlan, n: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Random positive factors for ``plan``, batched ones with ``n`` rows."""
    out = []
    for scope, batched in zip(plan.scopes, plan.batched, strict=True):
        shape = tuple(plan.cards[u] for u in scope)
        out.append(rng.random((n, *shape)) + 0.01 if batched else rng.random(shape) + 0.01)
    return out


def assert_same(plan: EliminationPlan, factors: list[np.ndarray]) -> None:
    """Both paths give the same ``Z`` and the same derivatives, to rounding."""
    z_einsum, grads_einsum = plan.run(factors, compiled=False)
    z_kernel, grads_kernel = plan.run(factors, compiled=True)
    assert z_kernel.shape == z_einsum.shape
    np.testing.assert_allclose(z_kernel, z_einsum, rtol=1e-12, atol=0)
    assert len(grads_kernel) == len(grads_einsum)
    for mine, theirs in zip(grads_kernel, grads_einsum, strict=True):
        assert mine.shape == theirs.shape
        np.testing.assert_allclose(mine, theirs, rtol=1e-12, atol=0)


@pytest.mark.parametrize("n", [1, 63, 64, 65, 200])
def test_kernel_equals_einsum_on_the_shipped_plan(n: int) -> None:
    """The 18-cause network's plan, with batches that fill blocks exactly, leave one short, or span several."""
    plan = FactoredEngine(kneebayes.load_model().parameters).plan
    assert_same(plan, random_factors(plan, n, np.random.default_rng(n)))


def test_kernel_equals_einsum_on_random_networks() -> None:
    """Random factor graphs: shared and batched tables, a ternary variable, steps over shared tables only."""
    rng = np.random.default_rng(7)
    for _ in range(40):
        n_vars = int(rng.integers(2, 8))
        cards = tuple(int(c) for c in rng.choice([2, 2, 3], size=n_vars))
        widths = rng.integers(1, min(4, n_vars) + 1, size=int(rng.integers(1, 7)))
        scopes = [tuple(int(v) for v in rng.choice(n_vars, size=int(w), replace=False)) for w in widths]
        batched = [bool(b) for b in rng.random(len(scopes)) < 0.5]
        scopes += [(v,) for v in range(n_vars)]  # a batched unary factor per variable, the targets
        batched += [True] * n_vars
        targets = tuple(range(len(scopes) - n_vars, len(scopes)))
        plan = EliminationPlan(cards, scopes, batched, targets=targets)
        assert_same(plan, random_factors(plan, int(rng.integers(1, 150)), rng))


def test_steps_on_shared_tables_and_a_shared_final_scalar() -> None:
    """A prior times a table (no row axis) is summed once, and a separate shared component scales every Z."""
    cards = (2, 2, 3)
    scopes = [(0,), (0, 1), (1,), (2,)]
    plan = EliminationPlan(cards, scopes, [False, False, True, False], targets=(2,))
    program = _kernel.compile_plan(plan)
    assert program.shared_steps  # variable 0 (or 2) is summed out of shared factors only
    prior, table, spare = np.array([0.3, 0.7]), np.array([[0.9, 0.1], [0.2, 0.8]]), np.array([0.5, 0.25, 0.5])
    evidence = np.random.default_rng(3).random((70, 2))
    z, (grad,) = plan.run([prior, table, evidence, spare], compiled=True)
    np.testing.assert_allclose(z, (prior @ table @ evidence.T) * spare.sum(), rtol=1e-13)
    np.testing.assert_allclose(grad, np.broadcast_to(prior @ table * spare.sum(), (70, 2)), rtol=1e-13)


def test_engine_scores_the_same_either_way(monkeypatch: pytest.MonkeyPatch) -> None:
    """Symptom-checker and half-answered patients (Quickscore and the chain fallback) score alike on both paths."""
    params = kneebayes.load_model().parameters
    engine = FactoredEngine(params)
    for ev in (symptom_checker_evidence(params, 300, seed=4), sample_evidence(params, 300, seed=5)):
        with _kernel.switched_off():
            reference = engine.score(ev)
        monkeypatch.setattr(_elimination, "COMPILED_FROM", 1)  # every plan compiled at its first use
        scores = engine.score(ev)
        np.testing.assert_allclose(scores.posteriors, reference.posteriors, rtol=0, atol=1e-12)
        np.testing.assert_allclose(scores.log_evidence, reference.log_evidence, rtol=1e-12)


def test_without_numba_the_einsum_path_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Where numba cannot be imported, large batches take the einsum path instead of failing."""
    plan = FactoredEngine(kneebayes.load_model().parameters).plan
    factors = random_factors(plan, 300, np.random.default_rng(1))
    expected = plan.run(factors, compiled=False)[0]
    monkeypatch.setattr(_kernel, "available", lambda: False)
    monkeypatch.setattr(_kernel, "run", lambda *args: pytest.fail("the compiled path ran"))
    np.testing.assert_array_equal(plan.run(factors)[0], expected)


def test_extended_precision_and_the_switch_keep_to_einsum(monkeypatch: pytest.MonkeyPatch) -> None:
    """Factors in longdouble, ``switched_off()`` and ``KNEEBAYES_COMPILED=0`` never reach the kernel."""
    plan = FactoredEngine(kneebayes.load_model().parameters).plan
    factors = random_factors(plan, 3, np.random.default_rng(2))
    with monkeypatch.context() as patch:
        patch.setattr(_kernel, "run", lambda *args: pytest.fail("the compiled path ran"))
        plan.run([f.astype(np.longdouble) for f in factors])
        with _kernel.switched_off():
            plan.run(factors)
        patch.setenv(_kernel.SWITCH, "0")
        plan.run(factors)
    assert _kernel.available()  # the context manager restored the default
    calls: list[int] = []
    real = _kernel.run
    monkeypatch.setattr(_kernel, "run", lambda *args: calls.append(1) or real(*args))
    plan.run(factors)  # the engine's own plan (reused=True): the kernel, even for a few rows
    assert calls == [1]


def test_command_line_diagnose_never_imports_numba() -> None:
    """``kneebayes diagnose`` scores one patient and exits: numba's import (~0.4 s) would triple its time."""
    code = ("import sys\nfrom kneebayes.cli import main\n"
            "main(['diagnose', '--present', 'lump_behind_knee', 'stiffness', '--age', '58'])\n"
            "assert 'numba' not in sys.modules, 'numba was imported'\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "bakers_cyst" in done.stdout


def test_a_broken_numba_warns_and_falls_back(monkeypatch: pytest.MonkeyPatch) -> None:
    """A numba that is installed but fails to import (built for another numpy) is said in a warning, not a crash."""
    import builtins

    real_import = builtins.__import__

    def broken(name: str, *args: object, **kwargs: object) -> object:
        if name == "numba":
            raise ImportError("numba needs numpy < 2.5")
        return real_import(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(builtins, "__import__", broken)
    _kernel._importable.cache_clear()
    try:
        with pytest.warns(kneebayes.KneeBayesWarning, match="numba is installed but could not be imported"):
            assert not _kernel.available()
    finally:
        monkeypatch.undo()
        _kernel._importable.cache_clear()
    assert _kernel.available()


def test_a_plan_is_compiled_when_reused_or_for_a_large_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    """A plan made for one patient's row or two stays with einsum; an engine's own plan, or a large batch, is compiled.

    Compiling costs more than einsum on a row or two of a plan used once (the fallback's own plans).
    The choice never depends on earlier calls: the same call gives the same digits every time.
    """
    params = kneebayes.load_model().parameters
    calls: list[int] = []
    real = _kernel.run
    monkeypatch.setattr(_kernel, "run", lambda *args: calls.append(len(args[2][-1])) or real(*args))
    engine_plan = FactoredEngine(params).plan
    assert engine_plan.reused
    engine_plan.run(random_factors(engine_plan, 2, np.random.default_rng(5)))
    assert calls == [2]  # the engine's own network: compiled for two rows
    made = EliminationPlan(engine_plan.cards, engine_plan.scopes, engine_plan.batched, engine_plan.targets)
    factors = random_factors(made, 2, np.random.default_rng(5))
    first = made.run(factors)
    second = made.run(factors)
    assert calls == [2]  # a plan made for a row or two: einsum, and again einsum
    assert np.array_equal(first[0], second[0])
    made.run(random_factors(made, _elimination.COMPILED_FROM, np.random.default_rng(6)))
    assert calls == [2, _elimination.COMPILED_FROM]  # a large batch: compiled


def test_a_large_network_runs_in_small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each work array stays within WORK_ENTRIES: a network of many entries a row runs in blocks of fewer rows."""
    plan = FactoredEngine(kneebayes.load_model().parameters).plan
    program = _kernel.compile_plan(plan)
    monkeypatch.setattr(_kernel, "WORK_ENTRIES", program.size * 5)  # blocks of 5 rows, not 64
    widths: list[int] = []
    kernel = _kernel._kernel()
    monkeypatch.setattr(_kernel, "_kernel", lambda: lambda *args: widths.append(args[-1].shape[1]) or kernel(*args))
    assert_same(plan, random_factors(plan, 23, np.random.default_rng(9)))  # blocks of 5, 5, 5, 5 and 3 rows
    assert widths == [5]
