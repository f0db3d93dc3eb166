"""Write the network in the file formats of other Bayesian-network tools.

Formats: BIF (the Interchange Format 0.15), XMLBIF 0.3, Hugin NET, UAI and
GeNIe's XDSL. Every format but XDSL expands each noisy-OR finding into its full
table; XDSL keeps them as GeNIe noisy-MAX nodes with their leak. Numbers are
written with every digit Python's ``repr`` keeps (positional notation, no
exponent, which some readers refuse), so a reader that parses doubles gets
the model's numbers back exactly.

Names. Node names are the vocabulary ids (lowercase letters, digits and
underscores, starting with a letter) plus ``age_band``. Binary nodes have the
states ``absent`` and ``present``. An age-band id may start with a digit
(``30_to_49``), which BIF, NET and XDSL forbid, so each age state is the band
id with the prefix ``age_`` (``age_30_to_49``); strip the prefix to get the band
back (:func:`band_of_state`). UAI has no names: variables are numbered in the
order ``age_band``, risk factors, causes, findings (vocabulary order), and
state ``k`` is the ``k``-th state named above.
"""

from __future__ import annotations

import itertools
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
import numpy.typing as npt

from ._errors import OptionError
from ._parameters import Parameters, cause_table

if TYPE_CHECKING:  # pragma: no cover
    from ._model import Model

Format = Literal["bif", "xmlbif", "net", "uai", "xdsl"]

#: The formats :func:`export` writes, and the file suffixes that select each.
SUFFIXES: dict[str, Format] = {
    ".bif": "bif",
    ".xml": "xmlbif",
    ".xmlbif": "xmlbif",
    ".bifxml": "xmlbif",
    ".net": "net",
    ".uai": "uai",
    ".xdsl": "xdsl",
}
FORMATS: tuple[Format, ...] = ("bif", "xmlbif", "net", "uai", "xdsl")

AGE_NODE = "age_band"
#: Prefix that makes an age-band id a valid state name in every format.
AGE_STATE_PREFIX = "age_"
BINARY = ("absent", "present")


def state_of_band(band: str) -> str:
    """Return the exported state name of an age band.

    Examples
    --------
    >>> state_of_band("30_to_49")
    'age_30_to_49'
    """
    return AGE_STATE_PREFIX + band


def band_of_state(state: str) -> str:
    """Return the age-band id of an exported age state (the inverse of :func:`state_of_band`).

    Examples
    --------
    >>> band_of_state("age_30_to_49")
    '30_to_49'
    """
    if not state.startswith(AGE_STATE_PREFIX):
        raise ValueError(f"not an exported age state: {state!r} (it must start with {AGE_STATE_PREFIX!r})")
    return state[len(AGE_STATE_PREFIX):]


@dataclass(frozen=True)
class Node:
    """One node of the exported network.

    Attributes
    ----------
    name : str
        Node name.
    label : str
        Human label.
    states : tuple of str
        State names, in table order.
    parents : tuple of str
        Parent names, in table order (the first parent changes slowest).
    table : ndarray, shape (*parent_cards, len(states))
        P(state | parents); the node's own state is the last axis.
    leak : float or None
        For a noisy-OR finding: the leak. None for other nodes.
    q : ndarray or None
        For a noisy-OR finding: the activation of each parent (same order as ``parents``).
    """

    name: str
    label: str
    states: tuple[str, ...]
    parents: tuple[str, ...]
    table: npt.NDArray[np.float64]
    leak: float | None = None
    q: npt.NDArray[np.float64] | None = None


def network_nodes(params: Parameters) -> list[Node]:
    """Return the network's nodes with full tables.

    The order is ``age_band``, the risk factors, the causes and the findings,
    each in vocabulary order; UAI numbers variables in this order.

    Examples
    --------
    >>> from kneebayes import load_model
    >>> nodes = network_nodes(load_model().parameters)
    >>> nodes[0].name, nodes[0].states[:2]
    ('age_band', ('age_under_30', 'age_30_to_49'))
    """
    bands = tuple(state_of_band(b) for b in params.age_bands)
    nodes = [Node(AGE_NODE, "Age band", bands, (), np.asarray(params.age_prevalence, dtype=float))]
    for r, rf in enumerate(params.risk_factors):
        p = float(params.rf_prevalence[r])
        nodes.append(Node(rf, params.labels.get(rf, rf), BINARY, (), np.array([1.0 - p, p])))
    for c in range(len(params.causes)):
        cpt = cause_table(params, c)
        parents = ((AGE_NODE,) if cpt.age else ()) + tuple(params.risk_factors[i] for i in cpt.risk_factors) + tuple(
            params.causes[i] for i in cpt.causes
        )
        cause = params.causes[c]
        nodes.append(Node(cause, params.labels.get(cause, cause), BINARY, parents, np.asarray(cpt.table)))
    for f, finding in enumerate(params.findings):
        idx = [int(i) for i in np.flatnonzero(params.q[:, f] > 0)]
        grid = np.array(list(itertools.product((0, 1), repeat=len(idx))), dtype=float).reshape(-1, len(idx))
        log_off = np.log1p(-params.leak[f]) + grid @ np.log1p(-params.q[idx, f])
        table = np.stack([np.exp(log_off), -np.expm1(log_off)], axis=-1).reshape((2,) * len(idx) + (2,))
        nodes.append(Node(finding, params.labels.get(finding, finding), BINARY, tuple(params.causes[i] for i in idx),
                          table, leak=float(params.leak[f]), q=params.q[idx, f].astype(float)))
    return nodes


def _num(x: float) -> str:
    """Every digit ``repr`` keeps, in positional notation (no exponent)."""
    return np.format_float_positional(float(x), unique=True, trim="0")


def _nums(values: npt.NDArray[np.float64]) -> str:
    return " ".join(_num(v) for v in np.asarray(values, dtype=float).ravel())


def _text(label: str) -> str:
    """Make a label safe inside double quotes."""
    return label.replace("\\", "/").replace('"', "'")


def _configurations(nodes: dict[str, Node], node: Node) -> list[tuple[str, ...]]:
    """Parent state names of every row of a node's table, the last parent changing fastest."""
    return list(itertools.product(*[nodes[p].states for p in node.parents]))


# ---- writers -----------------------------------------------------------------------


def _bif(nodes: list[Node], name: str) -> str:
    by_name = {n.name: n for n in nodes}
    out = [f"network {name} {{", "}"]
    for n in nodes:
        out += [f"variable {n.name} {{",
                f"  type discrete [ {len(n.states)} ] {{ {', '.join(n.states)} }};",
                f'  property label = "{_text(n.label)}" ;',
                "}"]
    for n in nodes:
        rows = n.table.reshape(-1, len(n.states))
        if not n.parents:
            out += [f"probability ( {n.name} ) {{", f"  table {', '.join(_num(v) for v in rows[0])};", "}"]
            continue
        out.append(f"probability ( {n.name} | {', '.join(n.parents)} ) {{")
        for config, row in zip(_configurations(by_name, n), rows, strict=True):
            out.append(f"  ({', '.join(config)}) {', '.join(_num(v) for v in row)};")
        out.append("}")
    return "\n".join(out) + "\n"


def _xmlbif(nodes: list[Node], name: str) -> str:
    import xml.etree.ElementTree as ET  # only when exporting: it costs start-up time

    root = ET.Element("BIF", VERSION="0.3")
    network = ET.SubElement(root, "NETWORK")
    ET.SubElement(network, "NAME").text = name
    for n in nodes:
        variable = ET.SubElement(network, "VARIABLE", TYPE="nature")
        ET.SubElement(variable, "NAME").text = n.name
        for state in n.states:
            ET.SubElement(variable, "OUTCOME").text = state
        ET.SubElement(variable, "PROPERTY").text = f"label = {n.label}"
    for n in nodes:
        definition = ET.SubElement(network, "DEFINITION")
        ET.SubElement(definition, "FOR").text = n.name
        for parent in n.parents:
            ET.SubElement(definition, "GIVEN").text = parent
        ET.SubElement(definition, "TABLE").text = _nums(n.table)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _net(nodes: list[Node], name: str) -> str:
    out = ["net", "{", f'  name = "{name}";', "}"]
    for n in nodes:
        states = " ".join(f'"{s}"' for s in n.states)
        out += [f"node {n.name}", "{", f'  label = "{_text(n.label)}";', f"  states = ({states});", "}"]
    for n in nodes:
        given = f" | {' '.join(n.parents)}" if n.parents else ""
        out += [f"potential ( {n.name}{given} )", "{", f"  data = {_nested(n.table)};", "}"]
    return "\n".join(out) + "\n"


def _nested(table: npt.NDArray[np.float64]) -> str:
    """Hugin's nested parentheses: the first parent outermost, the node's own states innermost."""
    if table.ndim == 1:
        return "(" + " ".join(_num(v) for v in table) + ")"
    return "(" + " ".join(_nested(sub) for sub in table) + ")"


def _uai(nodes: list[Node], name: str) -> str:
    del name  # UAI files have no names
    index = {n.name: i for i, n in enumerate(nodes)}
    out = ["BAYES", str(len(nodes)), " ".join(str(len(n.states)) for n in nodes), str(len(nodes))]
    for n in nodes:  # scope: the parents, then the node itself (the last variable changes fastest)
        scope = [index[p] for p in n.parents] + [index[n.name]]
        out.append(" ".join(str(v) for v in [len(scope), *scope]))
    out.append("")
    for n in nodes:
        rows = n.table.reshape(-1, len(n.states))
        out.append(str(rows.size))
        out += [" " + " ".join(_num(v) for v in row) for row in rows]
        out.append("")
    return "\n".join(out)


def _present_first(nodes: list[Node]) -> list[Node]:
    """Reorder binary states to (present, absent), GeNIe's order for noisy-MAX (distinguished state last)."""
    binary = {n.name for n in nodes if n.states == BINARY}
    out = []
    for n in nodes:
        table = n.table
        for axis, parent in enumerate(n.parents):
            if parent in binary:
                table = np.flip(table, axis=axis)
        if n.name in binary:
            table = np.flip(table, axis=-1)
        out.append(replace(n, states=n.states[::-1] if n.name in binary else n.states,
                           table=np.ascontiguousarray(table)))
    return out


def _parents_first(nodes: list[Node]) -> list[Node]:
    """Order the nodes each after its parents (GeNIe reads a node's parents before it)."""
    by_name = {n.name: n for n in nodes}
    done: dict[str, Node] = {}

    def place(n: Node) -> None:
        if n.name not in done:
            for parent in n.parents:
                place(by_name[parent])
            done[n.name] = n

    for n in nodes:
        place(n)
    return list(done.values())


def _xdsl(nodes: list[Node], name: str, *, noisy_or: bool) -> str:
    nodes = _present_first(_parents_first(nodes))
    labels = [n.label for n in nodes]
    use_labels = len(set(labels)) == len(labels)
    import xml.etree.ElementTree as ET  # only when exporting: it costs start-up time

    root = ET.Element("smile", version="1.0", id=name, numsamples="10000", discsamples="10000")
    elements = ET.SubElement(root, "nodes")
    for n in nodes:
        noisy = noisy_or and n.q is not None and len(n.parents) > 0
        element = ET.SubElement(elements, "noisymax" if noisy else "cpt", id=n.name)
        for state in n.states:
            ET.SubElement(element, "state", id=state)
        if n.parents:
            ET.SubElement(element, "parents").text = " ".join(n.parents)
        if noisy:
            assert n.q is not None and n.leak is not None
            # each parent's states from strongest to weakest: present (0), then absent (1), the distinguished state
            ET.SubElement(element, "strengths").text = " ".join(["0 1"] * len(n.parents))
            # Diez (net) parameters, one distribution over (present, absent) per parent state in strength
            # order, then the leak: parent present -> (q, 1 - q); parent absent -> (0, 1)
            columns = [v for q in n.q for v in (q, 1.0 - q, 0.0, 1.0)] + [n.leak, 1.0 - n.leak]
            ET.SubElement(element, "parameters").text = _nums(np.array(columns))
        else:
            ET.SubElement(element, "probabilities").text = _nums(n.table)
    extensions = ET.SubElement(root, "extensions")
    genie = ET.SubElement(extensions, "genie", version="1.0", app="kneebayes", name=name)
    for n, (left, top) in zip(nodes, _layout(nodes), strict=True):
        node = ET.SubElement(genie, "node", id=n.name)
        ET.SubElement(node, "name").text = n.label if use_labels else n.name
        ET.SubElement(node, "interior", color="e5f6f7")
        ET.SubElement(node, "outline", color="000080")
        ET.SubElement(node, "font", color="000000", name="Arial", size="8")
        ET.SubElement(node, "position").text = f"{left} {top} {left + 110} {top + 40}"
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _layout(nodes: list[Node]) -> list[tuple[int, int]]:
    """Rows on screen: age and risk factors, then causes, then findings."""
    def row(n: Node) -> int:
        if n.q is not None:
            return 2
        return 1 if n.parents else 0

    counts = [0, 0, 0]
    places = []
    for n in nodes:
        r = row(n)
        places.append((20 + 130 * counts[r], 40 + 220 * r))
        counts[r] += 1
    return places


_WRITERS: dict[str, Callable[[list[Node], str], str]] = {"bif": _bif, "xmlbif": _xmlbif, "net": _net, "uai": _uai}


def render(params: Parameters, format: Format, *, noisy_or: bool = True, name: str = "kneebayes") -> str:
    """Return the network as the text of a file in ``format``.

    Parameters
    ----------
    params : Parameters
        The compiled model.
    format : {"bif", "xmlbif", "net", "uai", "xdsl"}
        The file format.
    noisy_or : bool
        XDSL only: keep noisy-OR findings as GeNIe noisy-MAX nodes (default) rather
        than full tables.
    name : str
        The network's name, where the format has one.

    Examples
    --------
    >>> from kneebayes import load_model
    >>> text = render(load_model().parameters, "bif")
    >>> text.splitlines()[0]
    'network kneebayes {'
    """
    if format not in FORMATS:
        raise OptionError(f"The 'format' parameter must be one of {', '.join(FORMATS)}. Got {format!r} instead.")
    nodes = network_nodes(params)
    if format == "xdsl":
        return _xdsl(nodes, name, noisy_or=noisy_or)
    return _WRITERS[format](nodes, name)


def export(
    model: Model,
    path: str | os.PathLike[str],
    format: Format | None = None,
    *,
    noisy_or: bool = True,
) -> Path:
    """Write the model's network to a file another Bayesian-network tool opens.

    Parameters
    ----------
    model : Model
        The model to write (see :func:`kneebayes.load_model`).
    path : str or path-like
        The file to write; replaced atomically if it exists.
    format : {"bif", "xmlbif", "net", "uai", "xdsl"}, optional
        The file format; None takes it from the suffix (``.bif``; ``.xml``,
        ``.xmlbif`` or ``.bifxml``, the suffix pyAgrum expects; ``.net``; ``.uai``; ``.xdsl``).
    noisy_or : bool
        XDSL only: write noisy-OR findings as GeNIe noisy-MAX nodes with their
        leak (default), or as full tables (False).

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    OptionError
        An unknown format, a suffix that names none, or a path that cannot be
        written (a missing folder, no permission).

    Notes
    -----
    Age states are the band ids prefixed with ``age_`` (``age_30_to_49``); see the
    module documentation for every naming rule.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from kneebayes import load_model
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     written = export(load_model(), pathlib.Path(folder) / "knee.net")
    ...     written.read_text().startswith("net")
    True
    """
    target = Path(path)
    if format is None:
        suffix = target.suffix.lower()
        if suffix not in SUFFIXES:
            raise OptionError(
                f"cannot tell the format from the suffix {suffix or '(none)'!r} of {str(target)!r}: use one of "
                f"{', '.join(SUFFIXES)} or pass format= (one of {', '.join(FORMATS)})"
            )
        format = SUFFIXES[suffix]
    if format not in FORMATS:
        raise OptionError(f"The 'format' parameter must be one of {', '.join(FORMATS)}. Got {format!r} instead.")
    text = render(model.parameters, format, noisy_or=noisy_or)
    try:
        _write_atomically(target, text)
    except OSError as err:
        raise OptionError(f"cannot write {str(target)!r}: {err.strerror or err}") from err
    return target


def _write_atomically(target: Path, text: str) -> None:
    folder = target.parent if str(target.parent) else Path(".")
    handle, temp = tempfile.mkstemp(dir=folder, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temp, 0o644)
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
