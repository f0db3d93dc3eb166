"""Docstring examples and the README quickstart run as written."""

from __future__ import annotations

import doctest
import importlib
import pkgutil
import re
from pathlib import Path

import pytest

import kneebayes

README = Path(__file__).resolve().parents[1] / "README.md"
MODULES = sorted(m.name for m in pkgutil.iter_modules(kneebayes.__path__, "kneebayes."))


@pytest.mark.parametrize("name", ["kneebayes", *MODULES])
def test_docstring_examples(name: str) -> None:
    """Every example in the module's docstrings runs and prints what it shows."""
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0


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
