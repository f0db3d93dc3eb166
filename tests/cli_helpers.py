"""Run the command line in-process and check its one-line errors (shared by the CLI test files)."""

from __future__ import annotations

import pytest

from kneebayes.cli import main

PREFIX = "kneebayes: error: "


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int | str | None, str, str]:
    """Run the command line in-process; return the exit code, stdout and stderr."""
    try:
        code: int | str | None = main(argv)
    except SystemExit as exc:  # argparse exits on its own (--help, --version, errors)
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """Run ``argv``; check exit code 2, nothing on stdout and one ``kneebayes: error:`` line; return it."""
    code, out, err = run(argv, capsys)
    assert code == 2, (code, out, err)
    assert "Traceback" not in out + err
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(PREFIX), err
    assert len(lines[0]) > len(PREFIX) + 10
    return lines[0]
