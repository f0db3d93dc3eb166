"""The command line's normal use: diagnose (table and JSON), findings, check-priors."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import kneebayes
from kneebayes.cli import main


def test_diagnose_prints_ranked_table(capsys: pytest.CaptureFixture[str]) -> None:
    """The diagnose command prints the triage, a ranked table with labels, and the disclaimer."""
    assert main(["diagnose", "--present", "lump_behind_knee", "stiffness", "--age", "58"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Triage: ")
    rows = [line.split()[0] for line in out.splitlines() if line.split() and line.split()[0] in {
        "bakers_cyst", "osteoarthritis", "dvt"}]
    assert rows[0] == "bakers_cyst" and "Baker's (popliteal) cyst" in out
    assert "not medical advice" in out


def test_diagnose_red_flag_comes_first(capsys: pytest.CaptureFixture[str]) -> None:
    """A red flag is the first line of the output."""
    assert main(["diagnose", "--present", "difficulty_breathing"]) == 0
    assert capsys.readouterr().out.startswith("!! RED FLAG [EMERGENCY]")


def test_diagnose_json(capsys: pytest.CaptureFixture[str]) -> None:
    """--json prints the triage, fired flags, every cause's probability and the evidence."""
    assert main(["diagnose", "--present", "fever", "--absent", "swelling", "--age", "40", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["triage"] == "urgent" and data["red_flags"][0]["id"] == "fever"
    assert len(data["probabilities"]) == len(kneebayes.load_model().causes)
    assert data["evidence"]["absent"] == ["swelling"] and data["evidence"]["sex"] is None


def test_unknown_id_suggests(capsys: pytest.CaptureFixture[str]) -> None:
    """An unknown id exits with 2 and a 'did you mean' line."""
    assert main(["diagnose", "--present", "lump_behnd_knee"]) == 2
    err = capsys.readouterr().err
    assert "did you mean 'lump_behind_knee'" in err and len(err.strip().splitlines()) == 1


def test_findings_lists_questions(capsys: pytest.CaptureFixture[str]) -> None:
    """The findings command lists every id with its question."""
    assert main(["findings"]) == 0
    out = capsys.readouterr().out
    assert "calf_swelling" in out and "Is one calf or lower leg swollen?" in out and "recent_immobility" in out


def test_check_priors_valid(capsys: pytest.CaptureFixture[str]) -> None:
    """check-priors on the shipped folder says it is valid and counts the numbers."""
    from kneebayes import shipped_priors_path

    assert main(["check-priors", str(shipped_priors_path())]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{shipped_priors_path()}: valid; "), out  # not "invalid"
    first = out.splitlines()[0]
    assert re.fullmatch(rf"{re.escape(str(shipped_priors_path()))}: valid; \d+ numbers: .*; \d+ red-flag rules", first)


def test_console_script_runs_outside_the_repository(tmp_path: Path) -> None:
    """The installed kneebayes command works from an unrelated folder."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    script = Path(sys.executable).with_name("kneebayes")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "kneebayes.cli"]
    out = subprocess.run([*command, "diagnose", "--present", "spasm"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, check=True)
    assert "cramp" in out.stdout
