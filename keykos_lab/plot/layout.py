"""A layered layout for capability graphs: columns by distance from some roots.

Layer 0 holds the roots (a highlighted subject, else every domain); layer ``i``
what the roots reach by ``i`` keys (following keys forward), then whatever is
only connected the other way, then what is not connected at all. Inside a
layer vertices are grouped by kind and ordered by the mean row of their
neighbours in earlier layers (fewer crossings); a tall layer wraps into
staggered sub-columns.

>>> import networkx as nx
>>> G = nx.MultiDiGraph()
>>> G.add_node("a", kind="domain"); G.add_node("p", kind="page"); G.add_node("q", kind="page")
>>> _ = G.add_edge("a", "p")
>>> layers(G, ["a"])
{'a': 0, 'p': 1, 'q': 2}
>>> pos = layered_layout(G, ["a"]); pos["a"][0] < pos["p"][0] < pos["q"][0]
True
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Hashable, Iterable

from keykos_lab.plot.style import kind_rank

SUB_GAP = 0.45  # x offset between the sub-columns of a wrapped layer


def layers(G, roots: Iterable[Hashable]) -> dict:
    """Vertex → layer: forward BFS from ``roots``, then undirected, then leftovers."""
    layer: dict = {}
    todo: deque = deque()
    for r in roots:
        if r not in layer:
            layer[r] = 0
            todo.append(r)
    while todo:  # what the roots reach, following keys
        u = todo.popleft()
        for v in G.successors(u):
            if v not in layer:
                layer[v] = layer[u] + 1
                todo.append(v)
    todo = deque(layer)
    while todo:  # then anything linked either way
        u = todo.popleft()
        for v in (*G.successors(u), *G.predecessors(u)):
            if v not in layer:
                layer[v] = layer[u] + 1
                todo.append(v)
    last = max(layer.values(), default=-1) + 1
    for v in G:  # unconnected to the roots
        layer.setdefault(v, last)
    return layer


def layered_layout(G, roots: Iterable[Hashable], max_rows: int | None = None) -> dict:
    """Vertex → (x, y); ``max_rows`` vertices per column before a layer wraps
    (default about 1.5·√n, at least 12)."""
    n = G.number_of_nodes()
    if max_rows is None:
        max_rows = max(12, math.ceil(1.5 * math.sqrt(n)))
    layer = layers(G, roots)
    by_layer: dict[int, list] = {}
    for v, i in layer.items():
        by_layer.setdefault(i, []).append(v)
    row: dict = {}
    pos: dict = {}
    x = 0.0
    for i in sorted(by_layer):

        def order(v, i=i):
            near = [
                row[u] for u in (*G.predecessors(v), *G.successors(v)) if u in row and layer[u] < i
            ]
            centre = sum(near) / len(near) if near else 0.0
            return (kind_rank(G.nodes[v].get("kind", "")), centre, str(G.nodes[v].get("label", v)))

        members = sorted(by_layer[i], key=order)
        subs = math.ceil(len(members) / max_rows)
        rows = math.ceil(len(members) / subs)
        for j, v in enumerate(members):
            r, s = divmod(j, subs)
            y = (rows - 1) / 2 - r
            row[v] = y
            pos[v] = (x + s * SUB_GAP, y - 0.5 * (s / subs) if subs > 1 else y)
        x += 1.0 + SUB_GAP * (subs - 1)
    return pos
