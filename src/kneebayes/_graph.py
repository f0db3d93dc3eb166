"""Order the causes so that every cause comes after the causes it depends on."""

from __future__ import annotations

from collections.abc import Iterable, Mapping


def find_cycle(nodes: Iterable[str], parents: Mapping[str, Iterable[str]]) -> list[str] | None:
    """Return one cycle as a list of nodes, or None when the graph is acyclic.

    Parameters
    ----------
    nodes : iterable of str
        All nodes.
    parents : mapping of str to iterable of str
        ``parents[child]`` lists the nodes ``child`` depends on.

    Examples
    --------
    >>> find_cycle(["a", "b"], {"a": ["b"], "b": ["a"]})
    ['a', 'b']
    >>> find_cycle(["a", "b"], {"b": ["a"]}) is None
    True
    """
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for parent in parents.get(node, ()):
            if state.get(parent) == 1:
                return path[path.index(parent):]
            if parent not in state:
                found = visit(parent)
                if found:
                    return found
        state[node] = 2
        path.pop()
        return None

    for node in nodes:
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def topological_order(nodes: Iterable[str], parents: Mapping[str, Iterable[str]]) -> list[str]:
    """Return the nodes with every node after its parents, keeping the given order otherwise.

    Examples
    --------
    >>> topological_order(["b", "a"], {"b": ["a"]})
    ['a', 'b']
    """
    done: list[str] = []
    seen: set[str] = set()

    def place(node: str) -> None:
        if node in seen:
            return
        seen.add(node)
        for parent in parents.get(node, ()):
            place(parent)
        done.append(node)

    for node in nodes:
        place(node)
    return done
