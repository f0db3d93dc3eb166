"""The `kneebayes interview` command end to end: answers fed on standard input, and the JSON step.

One test pipes answers into a real ``python -m kneebayes.cli`` process; the others run the command
in-process (standard input replaced by the answers), which tests the same code without loading
Python, pandas and the model again for each test.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass

import pytest

import kneebayes
from cli_helpers import run
from conftest import assert_same_step


@dataclass
class Done:
    """What a command run left: its exit code and output."""

    returncode: int | str | None
    stdout: str
    stderr: str


#: Runs `kneebayes interview ARGS` with the answers on standard input.
Interview = Callable[[list[str], str], Done]


@pytest.fixture
def interview(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Interview:
    """Return a function running `kneebayes interview ARGS` in-process with ``answers`` on standard input."""

    def go(args: list[str], answers: str) -> Done:
        monkeypatch.setattr("sys.stdin", io.StringIO(answers))
        return Done(*run(["interview", *args], capsys))

    return go


def test_interview_asks_red_flags_first_and_stops_with_the_result(model: kneebayes.Model) -> None:
    """Fed answers on a pipe, the interview asks the age and sex, then warning signs first, and stops by the rule."""
    answers = "64\nm\n" + "y\n" + "n\n" * 60
    done = subprocess.run([sys.executable, "-m", "kneebayes.cli", "interview", "--present", "calf_swelling"],
                          input=answers, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "How old are you" in out and "What is your sex" in out and "sex male" in out
    assert out.count("Q1. [warning sign]") == 1
    assert "!! RED FLAG [EMERGENCY]" in out  # the first warning sign was answered yes
    assert "Stopped after" in out and "no single remaining answer" in out
    assert out.rstrip().endswith(kneebayes._display.DISCLAIMER)
    assert "Triage: emergency" in out and "now: dvt" in out
    asked = [line for line in out.splitlines() if line.startswith("Q")]
    assert all("[warning sign]" in line for line in asked[:5])


def test_interview_replays_to_the_same_diagnosis(model: kneebayes.Model, interview: Interview) -> None:
    """The final table printed equals diagnose() on the answers the interview collected (a simulated person)."""
    truth = {"lump_behind_knee": "y", "stiffness": "y", "grinding": "y", "overweight": "y"}
    present = ["lump_behind_knee"]
    absent: list[str] = []
    unknown: list[str] = []
    lines = []
    for _ in range(60):
        step = model.interview_step(present, absent, 70, sex="female", unknown=unknown)
        if step["should_stop"]:
            break
        q = step["question"]
        answer = truth.get(q, "n" if step["red_flag"] else "?")
        lines.append(answer)
        {"y": present, "n": absent, "?": unknown}[answer].append(q)
    run = interview(["--present", "lump_behind_knee", "--age", "70", "--sex", "female"], "\n".join(lines) + "\n")
    assert run.returncode == 0, run.stderr
    assert f"Stopped after {len(lines)} question(s)" in run.stdout and "What is your sex" not in run.stdout
    result = model.diagnose(present, absent, 70, sex="female")
    assert f"Triage: {result.triage}" in run.stdout
    top_line = next(line for line in run.stdout.splitlines() if line.startswith(result.top + " "))
    assert f"{float(result.probabilities[result.top]):.3f}" in top_line


def test_interview_reasks_after_a_bad_answer_and_can_be_stopped(interview: Interview) -> None:
    """An answer that is not y/n/? is asked again; q stops early and names the warning signs not asked."""
    run = interview(["--age", "30"], "?\nmaybe\nn\nq\n")
    assert run.returncode == 0, run.stderr
    assert "please answer y (yes), n (no) or ? (don't know)" in run.stdout
    assert "ended early, after 1 question(s)" in run.stdout and "Warning signs not asked:" in run.stdout
    assert kneebayes._display.DISCLAIMER in run.stdout


def test_interview_input_that_ends_early_still_prints_a_result(interview: Interview) -> None:
    """Closed input after the age (at the sex question) ends the interview with a warning and the result so far."""
    run = interview([], "45\n")
    assert run.returncode == 0, run.stderr
    assert "ended early, after 0 question(s)" in run.stdout and "Triage:" in run.stdout


def test_interview_json_step_is_stateless(model: kneebayes.Model, interview: Interview) -> None:
    """--json prints the same step as interview_step, for the evidence given on the command line."""
    run = interview(["--present", "calf_swelling", "--absent", "fever", "--unknown", "chest_pain", "--age", "60",
                      "--json"], "")
    assert run.returncode == 0, run.stderr
    step = json.loads(run.stdout)
    assert_same_step(step, json.loads(json.dumps(model.interview_step(["calf_swelling"], ["fever"], 60,
                                                                      unknown=["chest_pain"]))))
    assert step["question"] == "difficulty_breathing" and not step["should_stop"]


def test_interview_json_final_step(model: kneebayes.Model, interview: Interview) -> None:
    """When every question is answered, --json says to stop and carries the diagnosis."""
    everything = list(model.observable)
    run = interview(["--absent", *everything, "--age", "40", "--json"], "")
    assert run.returncode == 0, run.stderr
    step = json.loads(run.stdout)
    assert step["question"] is None and step["should_stop"] and step["reason"] == "every question has been asked"
    assert step["diagnosis"]["triage"] == model.diagnose([], everything, 40).triage


def test_interview_bad_id_is_one_line_exit_2(interview: Interview) -> None:
    """An unknown id fails before the first question, with did-you-mean and exit code 2."""
    run = interview(["--present", "fevr"], "")
    assert run.returncode == 2 and "did you mean 'fever'" in run.stderr and "Traceback" not in run.stderr


def test_interview_help_has_a_description_and_examples(interview: Interview) -> None:
    """`kneebayes interview --help` says what it does, how to answer, and shows examples."""
    run = interview(["--help"], "")
    assert run.returncode == 0
    assert "y = yes, n = no, ? = don't know" in run.stdout and "examples:" in run.stdout and "--json" in run.stdout
    assert "--sex" in run.stdout
