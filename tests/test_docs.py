"""Docstring examples and the README quickstart run as written."""

from __future__ import annotations

import contextlib
import doctest
import importlib
import inspect
import io
import json
import pkgutil
import re
from pathlib import Path

import pytest

import kneebayes
from kneebayes.cli import main

README = Path(__file__).resolve().parents[1] / "README.md"
MODULES = sorted(m.name for m in pkgutil.walk_packages(kneebayes.__path__, "kneebayes."))


@pytest.mark.parametrize("name", ["kneebayes", *MODULES])
def test_docstring_examples(name: str) -> None:
    """Every module has examples in its docstrings, and every example runs and prints what it shows."""
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
    assert result.attempted > 0, f"{name} has no docstring example"


#: Public functions and classes; exceptions and warnings are shown where they are raised (KneeBayesError shows how).
DOCUMENTED = sorted(name for name in kneebayes.__all__ if inspect.isfunction(getattr(kneebayes, name)) or (
    isinstance(getattr(kneebayes, name), type) and (not issubclass(getattr(kneebayes, name), Warning | Exception)
                                                    or getattr(kneebayes, name) is kneebayes.KneeBayesError)))


@pytest.mark.parametrize("name", DOCUMENTED)
def test_every_public_function_and_class_has_an_example(name: str) -> None:
    """Each public function and class shows a runnable example in its own docstring."""
    obj = getattr(kneebayes, name)
    tests = doctest.DocTestFinder(recurse=False).find(obj, name)
    assert any(test.examples for test in tests), f"{name} has no example in its docstring"


def test_readme_python_quickstart() -> None:
    """The README's Python examples (>>> lines) run and print what they show."""
    result = doctest.testfile(str(README), module_relative=False,
                              optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


def test_readme_test_command_is_the_ci_command() -> None:
    """.ci/run runs the same test command as the README."""
    readme = README.read_text(encoding="utf-8")
    ci = (README.parent / ".ci" / "run").read_text(encoding="utf-8")
    command = re.search(r"^(python -m pytest.*)$", readme, re.MULTILINE)
    assert command is not None and command.group(1) in ci


def test_readme_figures_are_what_the_commands_print() -> None:
    """The README's provenance table and evaluation table equal what check-priors and evaluate print now."""
    readme = README.read_text(encoding="utf-8")
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        assert main(["check-priors", str(kneebayes.shipped_priors_path())]) == 0
    rows = [line.split() for line in buffer.getvalue().splitlines()[2:]]
    start = readme.index("<!-- provenance table")
    table = readme[start:readme.index("<!-- end of provenance table -->")]
    kind_rows = [line for line in table.splitlines() if line.startswith(("| `", "| **all"))]
    assert len(kind_rows) == len(rows)
    for kind, *counts in rows:
        name = "**all**" if kind == "all" else f"`{kind}`"
        assert f"| {name} | " + " | ".join(counts) + " |" in table, kind
    *grades, total = (int(c) for c in rows[-1][1:])
    assert "| share | " + " | ".join(f"{g / total:.0%}" for g in grades) + " | 100% |" in table
    model = kneebayes.load_model()
    vignettes = kneebayes.load_vignettes(README.parent / "validation" / "vignettes.csv", model)
    for label, split in (("tuning", "tune"), ("**held-out**", "heldout"), ("all", None)):
        r = kneebayes.evaluate(model, vignettes, split=split)
        top1, top3 = f"{r.top1:.1%}", f"{r.top3:.1%}"
        if label.startswith("**"):
            top1, top3 = f"**{top1}**", f"**{top3}**"
        row = (f"| {label} | {r.n} | {top1} | {top3} | {r.mean_rank:.2f} | {r.brier:.3f} | {r.log_loss:.3f} | "
               f"{r.urgent_triaged:.1%} | {r.under_triage_urgent} | {r.over_triage} |")
        assert row in readme, row


def test_notebooks_are_stored_without_outputs() -> None:
    """Notebooks are committed stripped, as the README says, so they never go stale against the priors."""
    for path in sorted((README.parent / "notebooks").glob("*.ipynb")):
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        assert all(not c.get("outputs") for c in cells if c["cell_type"] == "code"), path.name
