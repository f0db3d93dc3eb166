"""Shared fixtures: the shipped model, and a tiny priors folder written from inline text."""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

import kneebayes

TINY = {
    "vocabulary.csv": """kind,id,label,question
cause,c1,First cause,
cause,c2,Second cause,
symptom,f,A finding,Do you have f?
risk_factor,r,A risk factor,Do you have r?
""",
    "references.csv": """key,authors,year,title,journal,checked,numbers
paper2020,A Author,2020,A paper,J Test,abstract,made-up test figures
""",
    "causes.csv": """id,base_rate,low,high,care,care_source,source,evidence
c1,0.1,0.05,0.2,see_doctor,paper2020,paper2020,direct
c2,0.3,0.2,0.4,self_care,paper2020,expert estimate,expert
""",
    "risk_factors.csv": """id,prevalence,low,high,source,evidence
r,0.2,0.1,0.3,paper2020,direct
""",
    "age_bands.csv": """id,min_age,max_age,prevalence,low,high,source,evidence
all_ages,0,121,1.0,1.0,1.0,paper2020,direct
""",
    "cause_risks.csv": """cause,factor,odds_ratio,low,high,source,evidence
c1,r,3.0,2.0,4.0,paper2020,direct
""",
    "findings.csv": """id,leak,low,high,source,evidence
f,0.05,0.01,0.1,paper2020,direct
""",
    "finding_links.csv": """finding,cause,probability,low,high,source,evidence
f,c1,0.8,0.7,0.9,paper2020,direct
f,c2,0.5,0.4,0.6,expert estimate,expert
""",
    "red_flags.csv": """id,level,when_present,when_cause,at_least,low,high,message,source,evidence
c1_likely,urgent,,c1,0.5,0.3,0.7,Get care today.,paper2020,direct
""",
    "settings.csv": """name,value,low,high,source,evidence
care_threshold,0.3,0.2,0.5,expert estimate,expert
""",
}


def write_priors(folder: Path, files: dict[str, str]) -> Path:
    """Write a priors folder from a mapping of file name to text."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def assert_same_step(one: Any, other: Any, path: str = "step") -> None:
    """Assert two JSON-ready results agree: every field equal, numbers to 1e-12.

    Two models may compute a risk-factor pattern's prior in batches of different
    sizes (the engine caches them), so probabilities can differ in the last bits.
    """
    if isinstance(one, float) or isinstance(other, float):
        assert one == pytest.approx(other, rel=0, abs=1e-12), path
    elif isinstance(one, dict) and isinstance(other, dict):
        assert one.keys() == other.keys(), path
        for key in one:
            assert_same_step(one[key], other[key], f"{path}[{key!r}]")
    elif isinstance(one, (list, tuple)) and isinstance(other, (list, tuple)):
        assert len(one) == len(other), path
        for i, (a, b) in enumerate(zip(one, other, strict=True)):
            assert_same_step(a, b, f"{path}[{i}]")
    else:
        assert one == other, path


@pytest.fixture
def tiny_folder(tmp_path: Path) -> Path:
    """Return a four-node priors folder (r -> c1 -> f <- c2) small enough to solve by hand."""
    return write_priors(tmp_path / "tiny", TINY)


@pytest.fixture(scope="session")
def model() -> kneebayes.Model:
    """Return the model of the shipped priors."""
    return kneebayes.load_model()


#: The causes issue 13 added; without them the shipped model has 12 causes, few enough to enumerate.
ISSUE13_CAUSES = ("gastrocnemius_tear", "popliteal_aneurysm", "septic_arthritis", "crystal_arthritis",
                  "lumbar_radiculopathy", "superficial_thrombophlebitis")


def without_causes(source: Path, target: Path, causes: tuple[str, ...]) -> Path:
    """Copy a priors folder leaving out some causes and every row that names them (their odds ratios and links)."""
    keys = {"vocabulary.csv": ("id",), "causes.csv": ("id",), "cause_risks.csv": ("cause", "factor"),
            "finding_links.csv": ("cause",)}
    target.mkdir(parents=True, exist_ok=True)
    for path in sorted(source.glob("*.csv")):
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        if path.name in keys:
            header_at = next(i for i, line in enumerate(lines) if not line.startswith("#"))
            header = next(csv.reader([lines[header_at]]))
            columns = [header.index(k) for k in keys[path.name]]
            lines = lines[:header_at + 1] + [
                line for line in lines[header_at + 1:]
                if line.startswith("#") or not any(next(csv.reader([line]))[c] in causes for c in columns)
            ]
        (target / path.name).write_text("".join(lines), encoding="utf-8")
    return target


@pytest.fixture(scope="session")
def enumerable_model(tmp_path_factory: pytest.TempPathFactory) -> kneebayes.Model:
    """Return the shipped model without the six issue-13 causes: 12 causes, which the engine enumerates."""
    folder = without_causes(kneebayes.shipped_priors_path(), tmp_path_factory.mktemp("priors12") / "priors",
                            ISSUE13_CAUSES)
    built = kneebayes.load_model(folder)
    assert len(built.causes) == 12 and built._engine.method == "enumerate"
    return built


# ---- Hypothesis profiles ------------------------------------------------------------------------
# "ci" (the default) is deterministic: the same examples on every run and no example database, so
# a run's duration and outcome never change; HYPOTHESIS_PROFILE=dev draws fresh random examples.
settings.register_profile("ci", derandomize=True, database=None, deadline=None, print_blob=False)
settings.register_profile("dev", deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

#: tests/mutation holds the mutation harness (python tests/mutation/run.py), not tests.
collect_ignore = ["mutation"]
