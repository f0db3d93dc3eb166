"""Export to BIF, XMLBIF, NET, UAI and XDSL: pyAgrum and pgmpy read the files back with kneebayes' numbers."""

from __future__ import annotations

import itertools
import warnings
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import kneebayes
from conftest import TINY, write_priors
from kneebayes._export import band_of_state, network_nodes, state_of_band

gum = pytest.importorskip("pyagrum")

PATIENTS = [
    {"present": ["lump_behind_knee", "stiffness"], "absent": ["fever"], "age": 58.0},
    {"present": ["calf_swelling", "recent_immobility", "swelling"], "absent": ["pop_sound"], "age": 64.0},
    {"present": ["pop_sound", "giving_way", "swelling", "pivoting_sport"], "absent": [], "age": 24.0},
    {"present": [], "absent": [], "age": None},
]


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory, model: kneebayes.Model) -> dict[str, Path]:
    """Write the shipped model once in every format (XMLBIF with pyAgrum's suffix)."""
    folder = tmp_path_factory.mktemp("export")
    out = {}
    for name in ("knee.bif", "knee.bifxml", "knee.net", "knee.uai", "knee.xdsl"):
        out[name.rsplit(".", 1)[1]] = kneebayes.export(model, folder / name)
    out["xdsl_tables"] = kneebayes.export(model, folder / "tables.xdsl", noisy_or=False)
    return out


def _evidence(model: kneebayes.Model, patient: dict[str, Any]) -> dict[str, str]:
    states = {i: "present" for i in patient["present"]}
    states.update({i: "absent" for i in patient["absent"]})
    if patient["age"] is not None:
        p = model.parameters
        states["age_band"] = state_of_band(p.age_bands[p.age_band_index(patient["age"])])
    return states


def _ours(model: kneebayes.Model, patient: dict[str, Any]) -> dict[str, float]:
    result = model.diagnose(patient["present"], patient["absent"], patient["age"])
    return {str(k): float(v) for k, v in result.probabilities.items()}


def _pyagrum_gap(model: kneebayes.Model, bn: Any, names: dict[str, str] | None = None) -> float:
    """Largest |P_pyAgrum(cause present | e) - P_kneebayes| over the patients and causes."""
    names = names or {}
    worst = 0.0
    for patient in PATIENTS:
        inference = gum.LazyPropagation(bn)
        inference.setEvidence({names.get(k, k): v for k, v in _evidence(model, patient).items()})
        inference.makeInference()
        ours = _ours(model, patient)
        for cause, value in ours.items():
            variable = bn.variable(names.get(cause, cause))
            posterior = inference.posterior(names.get(cause, cause))
            worst = max(worst, abs(posterior[variable.index("present")] - value))
    return worst


@pytest.mark.parametrize(("kind", "tolerance"), [("bif", 1e-6), ("net", 1e-6), ("bifxml", 1e-9)])
def test_pyagrum_reads_the_same_posteriors(model: kneebayes.Model, files: dict[str, Path], kind: str,
                                           tolerance: float) -> None:
    """PyAgrum loads BIF, NET and XMLBIF and its exact inference gives kneebayes' posteriors.

    pyAgrum's BIF and NET readers keep about 8 significant digits, hence 1e-6 there.
    """
    bn = gum.loadBN(str(files[kind]))
    assert set(bn.names()) == {"age_band", *model.parameters.risk_factors, *model.causes, *model.parameters.findings}
    assert _pyagrum_gap(model, bn) < tolerance


def _pgmpy() -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        import pgmpy.readwrite as readwrite
        from pgmpy.inference import VariableElimination
    return readwrite, VariableElimination


def _pgmpy_table(cpd: Any, node_states: list[tuple[str, ...]]) -> np.ndarray:
    """Return a pgmpy CPD's numbers with the given state order of (parents..., node)."""
    factor = cpd.to_factor()
    out = np.empty([len(s) for s in node_states])
    names = [*cpd.variables[1:], cpd.variables[0]]
    for index in itertools.product(*[range(len(s)) for s in node_states]):
        out[index] = factor.get_value(**{n: node_states[i][k] for i, (n, k) in enumerate(zip(names, index,
                                                                                                strict=True))})
    return out


@pytest.mark.parametrize("kind", ["bif", "bifxml", "xdsl_tables"])
def test_pgmpy_reads_every_table_exactly(model: kneebayes.Model, files: dict[str, Path], kind: str) -> None:
    """Pgmpy reads BIF, XMLBIF and the table XDSL with every number of every table exactly."""
    readwrite, _ = _pgmpy()
    reader = {"bif": readwrite.BIFReader, "bifxml": readwrite.XMLBIFReader, "xdsl_tables": readwrite.XDSLReader}[kind]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        network = reader(str(files[kind])).get_model()
    nodes = {n.name: n for n in network_nodes(model.parameters)}
    for name, node in nodes.items():
        cpd = network.get_cpds(name)
        assert tuple(cpd.variables[1:]) == node.parents
        states = [nodes[p].states for p in node.parents] + [node.states]
        np.testing.assert_array_equal(_pgmpy_table(cpd, states), node.table)


def test_pgmpy_posteriors_from_the_bif_file(model: kneebayes.Model, files: dict[str, Path]) -> None:
    """Pgmpy's VariableElimination on the network read from BIF gives kneebayes' posteriors to 1e-9."""
    readwrite, ve = _pgmpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        network = readwrite.BIFReader(str(files["bif"])).get_model()
        inference = ve(network)
        for patient in PATIENTS[:2]:
            result = inference.query(list(model.causes), evidence=_evidence(model, patient), joint=False,
                                     show_progress=False)
            ours = _ours(model, patient)
            for cause in model.causes:
                assert abs(result[cause].get_value(**{cause: "present"}) - ours[cause]) < 1e-9


def test_pgmpy_reads_net_on_a_small_model(tmp_path: Path) -> None:
    """The NET reader of pgmpy (100 s on the shipped model's 4096-row tables) reads a small export exactly."""
    readwrite, _ = _pgmpy()
    small = kneebayes.load_model(write_priors(tmp_path / "tiny", TINY))
    path = kneebayes.export(small, tmp_path / "tiny.net")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        network = readwrite.NETReader(str(path)).get_model()
    nodes = {n.name: n for n in network_nodes(small.parameters)}
    for name, node in nodes.items():
        cpd = network.get_cpds(name)
        states = [nodes[p].states for p in cpd.variables[1:]] + [node.states]
        table = _pgmpy_table(cpd, states)
        order = [list(cpd.variables[1:]).index(p) for p in node.parents] + [len(node.parents)]
        np.testing.assert_array_equal(np.transpose(table, order), node.table)


def _read_uai(path: Path) -> tuple[list[int], list[list[int]], list[np.ndarray]]:
    """Read a UAI file as the format specifies: the child last, the last variable fastest."""
    tokens = path.read_text().split()
    assert tokens[0] == "BAYES"
    n = int(tokens[1])
    cards = [int(t) for t in tokens[2:2 + n]]
    at = 2 + n
    assert int(tokens[at]) == n
    at += 1
    scopes = []
    for _ in range(n):
        size = int(tokens[at])
        scopes.append([int(t) for t in tokens[at + 1:at + 1 + size]])
        at += 1 + size
    tables = []
    for scope in scopes:
        count = int(tokens[at])
        values = np.array([float(t) for t in tokens[at + 1:at + 1 + count]])
        tables.append(values.reshape([cards[v] for v in scope]))
        at += 1 + count
    assert at == len(tokens)
    return cards, scopes, tables


def _pyagrum_network(names: list[str], states: list[tuple[str, ...]], parents: list[list[str]],
                     tables: list[np.ndarray]) -> Any:
    """Build a pyAgrum network from tables whose axes are (parents..., node), the last parent fastest."""
    bn = gum.BayesNet()
    for name, labels in zip(names, states, strict=True):
        bn.add(gum.LabelizedVariable(name, name, list(labels)))
    for name, ps in zip(names, parents, strict=True):
        for p in ps:
            bn.addArc(p, name)
    for name, ps, table in zip(names, parents, tables, strict=True):
        cpt = bn.cpt(name)
        sequence = [v.name() for v in cpt.variablesSequence()]  # pyAgrum: the first variable changes fastest
        axes = [*ps, name]
        cpt.fillWith(np.transpose(table, [axes.index(v) for v in reversed(sequence)]).ravel().tolist())
    return bn


def test_uai_follows_the_specification_and_gives_the_same_posteriors(model: kneebayes.Model,
                                                                    files: dict[str, Path]) -> None:
    """The UAI file read as the format specifies (child last, last variable fastest) is the model, exactly.

    pyAgrum loads the file (it refused pgmpy's UAI export), but pyAgrum 3.3 and pgmpy 1.1 read
    tables of two or more parents in other orders, so the check uses a reader written to the spec.
    """
    nodes = network_nodes(model.parameters)
    cards, scopes, tables = _read_uai(files["uai"])
    assert cards == [len(n.states) for n in nodes]
    names = [n.name for n in nodes]
    for node, scope, table in zip(nodes, scopes, tables, strict=True):
        assert [names[v] for v in scope] == [*node.parents, node.name]
        np.testing.assert_array_equal(table, node.table)
    bn = _pyagrum_network(names, [n.states for n in nodes], [[names[v] for v in s[:-1]] for s in scopes], tables)
    assert _pyagrum_gap(model, bn) < 1e-9
    loaded = gum.loadBN(str(files["uai"]))  # no longer rejected
    assert loaded.size() == len(nodes)


def _parse_xdsl(path: Path) -> ET.Element:
    root = ET.parse(path).getroot()
    assert root.tag == "smile"
    return root


def _network_from_xdsl(path: Path, p: Any) -> tuple[Any, int]:
    """Rebuild a pyAgrum network from an XDSL file: noisy-MAX nodes as noisy-OR with net weights.

    Checks on the way that every node follows its parents and that each noisy-MAX node holds
    kneebayes' leak and activations in GeNIe's layout. Returns the network and the number of
    noisy-MAX nodes.
    """
    root = _parse_xdsl(path)
    nodes_element = root.find("nodes")
    assert nodes_element is not None
    seen: dict[str, list[str]] = {}  # node -> its states in file order
    bn = gum.BayesNet()
    noisy = 0

    def canonical(states: list[str]) -> list[str]:  # pyAgrum's noisy-OR wants (absent, present)
        return ["absent", "present"] if sorted(states) == ["absent", "present"] else states

    for element in nodes_element:
        name = element.get("id", "")
        parents = (element.findtext("parents") or "").split()
        assert set(parents) <= set(seen)  # every node after its parents, as GeNIe reads them
        states = [s.get("id", "") for s in element.findall("state")]
        seen[name] = states
        if element.tag == "noisymax":
            noisy += 1
            assert states == ["present", "absent"]  # GeNIe's distinguished state last
            assert (element.findtext("strengths") or "").split() == ["0", "1"] * len(parents)
            assert all(seen[x] == ["present", "absent"] for x in parents)  # so strength 0 is "present"
            columns = np.array([float(x) for x in (element.findtext("parameters") or "").split()]).reshape(-1, 2)
            f = p.findings.index(name)
            np.testing.assert_allclose(columns[-1], [p.leak[f], 1 - p.leak[f]], rtol=0, atol=1e-15)
            bn.addNoisyORNet(gum.LabelizedVariable(name, name, canonical(states)), float(columns[-1][0]))
            for i, parent in enumerate(parents):
                present, absent = columns[2 * i], columns[2 * i + 1]
                assert present[0] == p.q[p.causes.index(parent), f]
                np.testing.assert_array_equal(absent, [0.0, 1.0])
                bn.addWeightedArc(parent, name, float(present[0]))
        else:
            assert element.tag == "cpt"
            bn.add(gum.LabelizedVariable(name, name, canonical(states)))
            for parent in parents:
                bn.addArc(parent, name)
            values = np.array([float(x) for x in (element.findtext("probabilities") or "").split()])
            axes = [*parents, name]
            table = values.reshape([len(seen[x]) for x in axes])  # SMILE: the last coordinate fastest
            for axis, x in enumerate(axes):  # file state order -> pyAgrum's
                table = np.take(table, [seen[x].index(s) for s in canonical(seen[x])], axis=axis)
            sequence = [v.name() for v in bn.cpt(name).variablesSequence()]
            bn.cpt(name).fillWith(np.transpose(table, [axes.index(v) for v in reversed(sequence)]).ravel().tolist())
    return bn, noisy


def test_xdsl_keeps_noisy_or_findings_with_their_leak(model: kneebayes.Model, files: dict[str, Path]) -> None:
    """The XDSL writes every linked finding as a noisy-MAX node whose leak and net weights are kneebayes' numbers.

    A network rebuilt from the file (pyAgrum's noisy-OR with net weights, tables in SMILE's layout)
    gives kneebayes' posteriors to 1e-9.
    """
    p = model.parameters
    bn, noisy = _network_from_xdsl(files["xdsl"], p)
    assert noisy == int((p.q > 0).any(axis=0).sum())
    assert _pyagrum_gap(model, bn) < 1e-9


def test_xdsl_tables_read_by_pgmpy_give_the_same_posteriors(model: kneebayes.Model, files: dict[str, Path]) -> None:
    """The XDSL with full tables (noisy_or=False), read by pgmpy, gives kneebayes' posteriors to 1e-9."""
    readwrite, ve = _pgmpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        network = readwrite.XDSLReader(str(files["xdsl_tables"])).get_model()
        result = ve(network).query(list(model.causes), evidence=_evidence(model, PATIENTS[1]), joint=False,
                                   show_progress=False)
    ours = _ours(model, PATIENTS[1])
    for cause in model.causes:
        assert abs(result[cause].get_value(**{cause: "present"}) - ours[cause]) < 1e-9


def test_state_names_are_identifiers_and_the_age_mapping_reverses(model: kneebayes.Model) -> None:
    """Every exported node and state name starts with a letter; age states map back to the band ids."""
    for node in network_nodes(model.parameters):
        for name in (node.name, *node.states):
            assert name[0].isalpha() and name.replace("_", "a").isalnum(), name
    bands = model.parameters.age_bands
    assert any(b[0].isdigit() for b in bands)  # the shipped bands need the prefix
    assert [band_of_state(state_of_band(b)) for b in bands] == list(bands)
    with pytest.raises(ValueError, match="not an exported age state"):
        band_of_state("30_to_49")


def test_export_refuses_an_unknown_format(model: kneebayes.Model, tmp_path: Path) -> None:
    """An unknown suffix or format name is an OptionError that lists the formats, and nothing is written."""
    with pytest.raises(kneebayes.OptionError, match=r"suffix '\.txt'.*\.bif"):
        kneebayes.export(model, tmp_path / "knee.txt")
    with pytest.raises(kneebayes.OptionError, match="must be one of bif, xmlbif, net, uai, xdsl"):
        kneebayes.export(model, tmp_path / "knee.bif", format="hugin")  # type: ignore[arg-type]
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(kneebayes.OptionError, match="cannot write .*No such file or directory"):
        kneebayes.export(model, tmp_path / "missing" / "knee.bif")


def test_export_command_writes_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`kneebayes export FORMAT PATH` writes the file and says what it wrote; a bad format exits with 2."""
    from kneebayes.cli import main

    target = tmp_path / "knee.net"
    assert main(["export", "net", str(target)]) == 0
    assert target.read_text().startswith("net")
    assert "knee.net" in capsys.readouterr().out
    assert main(["export", "xdsl", str(tmp_path / "t.xdsl"), "--tables"]) == 0
    assert "<noisymax" not in (tmp_path / "t.xdsl").read_text()
    with pytest.raises(SystemExit) as stop:
        main(["export", "hugin", str(target)])
    assert stop.value.code == 2
    assert main(["export", "bif", str(tmp_path / "missing" / "knee.bif")]) == 2
    assert "cannot write" in capsys.readouterr().err
