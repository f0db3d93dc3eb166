"""Static checks: ruff and mypy (strict, as configured in pyproject.toml) report nothing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# mypy from a cold cache takes a few seconds; the limit only stops a hung run
TIMEOUT = 120


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )


@pytest.mark.parametrize(
    "command",
    [
        pytest.param(("ruff", "check", "src", "tests", "benchmarks"), id="ruff"),
        pytest.param(("mypy",), id="mypy"),
    ],
)
def test_static_check_passes(command: tuple[str, ...]) -> None:
    """The linter and the type checker exit with 0 on the sources, tests and benchmarks."""
    result = _run(*command)
    assert result.returncode == 0, (
        f"`python -m {' '.join(command)}` exited with {result.returncode}:\n{result.stdout}{result.stderr}"
    )
