"""The shipped model: completeness against the vocabulary, pgmpy agreement, red flags."""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

import kneebayes

SPEC_VOCABULARY = Path(__file__).resolve().parents[2] / "shared" / "spec" / "vocabulary.csv"


def _spec_ids() -> dict[str, str]:
    with SPEC_VOCABULARY.open(encoding="utf-8") as stream:
        return {row["id"]: row["kind"] for row in csv.DictReader(stream)}


@pytest.mark.skipif(not SPEC_VOCABULARY.is_file(), reason="../shared/spec is not beside this checkout")
def test_every_spec_id_is_in_the_shipped_vocabulary(model: kneebayes.Model) -> None:
    """The shipped vocabulary keeps every public id of the spec, with the same kind."""
    vocab = model.priors.vocabulary
    for ident, kind in _spec_ids().items():
        assert vocab.loc[ident, "kind"] == kind


def test_every_cause_is_in_probabilities(model: kneebayes.Model) -> None:
    """The probabilities have exactly one entry per cause id, sorted from highest to lowest."""
    result = kneebayes.diagnose(present=["difficulty_breathing"])
    assert sorted(result.probabilities.index) == sorted(model.causes)
    assert list(result.probabilities) == sorted(result.probabilities, reverse=True)
    assert result.triage == "emergency"


@pytest.mark.parametrize("ident", kneebayes.load_model().observable)
def test_every_observable_id_is_accepted(model: kneebayes.Model, ident: str) -> None:
    """Each finding and risk-factor id is accepted as present and as absent, giving finite posteriors."""
    for result in (model.diagnose(present=[ident]), model.diagnose(absent=[ident])):
        assert np.isfinite(result.probabilities.to_numpy()).all()


def test_no_evidence_gives_the_base_rates(model: kneebayes.Model) -> None:
    """With nothing reported, each cause's posterior equals its base rate (the intercepts are calibrated)."""
    result = model.diagnose(engine="pgmpy")
    expected = model.priors.causes["base_rate"]
    for cause in model.causes:
        assert result.probabilities[cause] == pytest.approx(expected[cause], abs=1e-9)


EVIDENCE = [
    ([], [], None),
    (["lump_behind_knee", "stiffness"], ["fever"], 58),
    (["calf_swelling", "recent_immobility", "pain_worse_standing"], ["direct_blow"], 64),
    (["spasm", "sudden_onset", "overuse"], ["swelling"], 25),
    (["pop_sound", "swelling", "giving_way", "pivoting_sport", "awkward_landing"], ["locking"], 19),
    (["other_joints", "stiffness", "swelling", "redness_warmth", "smoking"], [], 45),
    (["front_knee_pain", "pain_with_activity", "jumping_sport", "grinding"], ["pop_sound", "calf_swelling"], None),
    (["difficulty_breathing", "chest_pain", "calf_swelling"], ["pregnancy"], 80),
    (["locking", "twisting_injury", "pain_bending", "weakness", "trouble_walking"], ["overweight", "sedentary"], 37),
]


@pytest.mark.parametrize(("present", "absent", "age"), EVIDENCE)
def test_numpy_engine_equals_pgmpy(
    model: kneebayes.Model, present: list[str], absent: list[str], age: int | None
) -> None:
    """The kneebayes exact engine agrees with pgmpy's VariableElimination to 1e-9 on the shipped model."""
    ours = model.diagnose(present, absent, age).probabilities
    reference = model.diagnose(present, absent, age, engine="pgmpy").probabilities
    assert np.abs(ours - reference.loc[ours.index]).max() < 1e-9


def test_to_pgmpy_is_a_valid_network(model: kneebayes.Model) -> None:
    """to_pgmpy returns a DiscreteBayesianNetwork of TabularCPDs named by vocabulary ids that passes check_model."""
    network = model.to_pgmpy()
    assert network.check_model()
    nodes = set(network.nodes())
    assert set(model.priors.vocabulary.index) <= nodes and "age_band" in nodes
    assert all(type(cpd).__name__ == "TabularCPD" for cpd in network.get_cpds())
    assert network.get_cpds("dvt").state_names["dvt"] == ["absent", "present"]


FINDING_RULES = [r for r in kneebayes.load_model().priors.red_flags if r.when_present]


@pytest.mark.parametrize("rule", FINDING_RULES, ids=lambda r: r.id)
def test_each_red_flag_rule_forces_its_level(model: kneebayes.Model, rule: kneebayes.RedFlagRule) -> None:
    """Every finding rule fires on its findings and sets the triage to at least its level, listed first."""
    result = model.diagnose(present=list(rule.when_present), absent=["calf_swelling"]
                            if "calf_swelling" not in rule.when_present else [])
    assert rule.id in [flag.id for flag in result.red_flags]
    assert kneebayes.TRIAGE_LEVELS.index(result.triage) >= kneebayes.TRIAGE_LEVELS.index(rule.level)
    assert repr(result).startswith("!! RED FLAG")


def test_dvt_threshold_rule(model: kneebayes.Model) -> None:
    """The DVT rule fires exactly when P(dvt) reaches its threshold, and then the triage is at least urgent."""
    rule = next(r for r in model.priors.red_flags if r.when_cause == "dvt")
    assert rule.at_least is not None
    low = model.diagnose(present=["spasm"], age=20)
    high = model.diagnose(present=["calf_swelling", "recent_immobility", "visible_veins"], age=70)
    assert low.probabilities["dvt"] < rule.at_least and rule.id not in [f.id for f in low.red_flags]
    assert high.probabilities["dvt"] >= rule.at_least and rule.id in [f.id for f in high.red_flags]
    assert high.triage in ("urgent", "emergency")


def test_red_flag_override_beats_probabilities(model: kneebayes.Model) -> None:
    """A red flag keeps its level even when the evidence points firmly at a self-care cause."""
    result = model.diagnose(present=["spasm", "sudden_onset", "overuse", "fever"], absent=["swelling"], age=22)
    assert result.top == "cramp"
    assert result.triage == "urgent" and result.red_flags[0].id == "fever"


def test_evidence_about_a_cause_moves_it(model: kneebayes.Model) -> None:
    """A lump behind the knee raises the Baker's cyst posterior; denying it lowers it."""
    prior = model.diagnose().probabilities["bakers_cyst"]
    assert model.diagnose(present=["lump_behind_knee"]).probabilities["bakers_cyst"] > prior
    assert model.diagnose(absent=["lump_behind_knee"]).probabilities["bakers_cyst"] < prior


def test_import_does_not_import_pgmpy() -> None:
    """Importing kneebayes leaves pgmpy and Dask unimported, and so do diagnoses with the default engine."""
    code = (
        "import sys, pandas, kneebayes; kneebayes.diagnose(present=['spasm']); "
        "kneebayes.load_model().diagnose_many(pandas.DataFrame({'spasm': [True]})); "
        "print([name for name in ('pgmpy', 'dask', 'distributed') if name in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    assert out.stderr == ""


def test_public_names_match_all() -> None:
    """__all__ lists exactly the public names the package exposes."""
    public = {name for name in vars(kneebayes) if not name.startswith("_") and not isinstance(
        getattr(kneebayes, name), type(sys))}
    assert public | {"__version__"} == set(kneebayes.__all__)


def test_diagnosis_outputs(model: kneebayes.Model) -> None:
    """to_frame, to_dict and the HTML repr carry every cause, the triage and the disclaimer."""
    result = model.diagnose(present=["lump_behind_knee", "stiffness"], age=58)
    frame = result.to_frame()
    assert list(frame.index) == list(result.probabilities.index)
    assert frame.loc["dvt", "care"] == "urgent"
    data = result.to_dict()
    assert data["triage"] == result.triage and set(data["probabilities"]) == set(model.causes)
    html = result._repr_html_()
    assert "not medical advice" in html and "Baker" in html


def test_installed_package_carries_its_priors(tmp_path: Path) -> None:
    """A wheel built from this checkout holds the priors, and a diagnosis runs from it outside the repository.

    The wheel is built without build isolation (hatchling is in the dev extra), unpacked into a
    temporary folder, and imported from there by a fresh interpreter whose working directory and
    path know nothing of the checkout.
    """
    pytest.importorskip("hatchling", reason="the dev extra installs hatchling to build the wheel")
    root = Path(__file__).resolve().parents[1]
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet",
                    "--wheel-dir", str(wheels), str(root)], check=True, capture_output=True, timeout=600)
    (wheel,) = wheels.glob("kneebayes-*.whl")
    shipped = sorted(p.name for p in (root / "priors").glob("*.csv"))
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        packaged = sorted(n.rsplit("/", 1)[1] for n in names if re.fullmatch(r"kneebayes/priors/[^/]+\.csv", n))
        assert packaged == shipped and len(shipped) >= 10
        for name in shipped:  # byte for byte
            assert archive.read(f"kneebayes/priors/{name}") == (root / "priors" / name).read_bytes(), name
        assert "kneebayes/py.typed" in names and "kneebayes/cli.py" in names
        assert not any(n.startswith(("tests/", "src/")) for n in names)
        archive.extractall(tmp_path / "site")
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    code = (
        "import json, kneebayes; r = kneebayes.diagnose(present=['lump_behind_knee', 'stiffness'], age=58); "
        "print(json.dumps([kneebayes.__file__, str(kneebayes.shipped_priors_path()), r.top, r.triage, "
        "kneebayes.__version__]))"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env["PYTHONPATH"] = str(tmp_path / "site")
    done = subprocess.run([sys.executable, "-s", "-c", code], cwd=outside, env=env,
                          capture_output=True, text=True, timeout=300, check=True)
    module, priors, top, triage, version = json.loads(done.stdout)
    assert Path(module).is_relative_to(tmp_path / "site") and Path(priors) == tmp_path / "site" / "kneebayes" / "priors"
    here = kneebayes.diagnose(present=["lump_behind_knee", "stiffness"], age=58)
    assert (top, triage) == ("bakers_cyst", here.triage)
    assert version == kneebayes.__version__ or kneebayes.__version__ == "0+unknown"
