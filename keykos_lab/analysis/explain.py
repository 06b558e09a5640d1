"""Witnesses in words: vertices by the labels a researcher gave them (``con.name``).

>>> import networkx as nx
>>> G = nx.MultiDiGraph(); G.add_node(1, label="user"); G.add_node(2, label="BILL")
>>> explain(G, [(1, 2, "page", "edge")])
'user holds a page key to BILL (edge)'
>>> explain(G, [1, 2])
'user → BILL'
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import networkx as nx


def name(G: nx.MultiDiGraph, v: Hashable) -> str:
    """A vertex as a reader knows it: its label, else its id; summaries in words.

    >>> G = nx.MultiDiGraph(); G.add_node("f", label="factory"); G.add_node("r")
    >>> name(G, ("yield", "f", "r")), name(G, ("new", "f", "r")), name(G, 9)
    ('the yield of factory for r', 'what r made with factory', '9')
    """
    if isinstance(v, tuple) and len(v) == 3:
        if v[0] == "yield":
            return f"the yield of {name(G, v[1])} for {name(G, v[2])}"
        if v[0] == "new":
            return f"what {name(G, v[2])} made with {name(G, v[1])}"
    attrs = G.nodes[v] if v in G else {}
    return str(attrs.get("label") or v)


def explain(G: nx.MultiDiGraph, witness: Sequence[object] | None) -> str:
    """One line per step of an ``authority`` row's ``via`` (``(holder, target, key_type,
    how)``), or a flow path from ``can_flow(..., witness=True)`` joined by arrows."""
    if not witness:
        return ""
    steps = [s for s in witness if isinstance(s, tuple) and len(s) == 4]
    if len(steps) == len(witness):
        return "\n".join(
            f"{name(G, s[0])} holds a {s[2]} key to {name(G, s[1])} ({s[3]})" for s in steps
        )
    return " → ".join(name(G, v) for v in witness if isinstance(v, Hashable))
