"""The primordial system collapsed: one summary vertex per part, for readable pictures.

A booted system is some 30 vertices of machinery (banks, the SBT, the DCC and its
DCs, the KIDC, the FCC, meters, images, the kernel's misc objects) before a user
makes anything; drawn vertex by vertex it crowds out what the user built.
:func:`collapse_system` merges each part into one vertex of kind ``system``:

* domains by the program they run: ``spacebank`` → "space banks", ``sbt`` → "SBT",
  ``dcc`` and ``dc`` → "DCC and DCs", ``kidc`` and ``kid`` → "KIDC and KIDs"; the
  FCC and the console's FC (labels ``FCC``, ``fc``) → "FCC and FCs" (a factory the
  user built also runs ``fcc``, and stays);
* the kernel's misc objects (discrim, DKC, returner …) → "kernel objects";
* meters a collapsed vertex holds, and the meters they hold → "meters";
* any other object held only by collapsed vertices (a program image, the bank's
  ledger nodes, the factory tools) → the part of its first holder.

Keys between members of one part are dropped; keys into or out of a part keep their
type, holder and target, and parallel ones are drawn once with their count. Each
summary vertex has ``label`` (with its size), ``kind="system"`` and ``members``.

>>> import keykos_lab as kl
>>> G = kl.Kernel().capability_graph()
>>> H = collapse_system(G)
>>> G.number_of_nodes(), H.number_of_nodes()
(29, 8)
>>> sorted(d["label"] for _, d in H.nodes(data=True) if d["kind"] == "system")[:3]
['DCC and DCs (6)', 'FCC and FCs (3)', 'KIDC and KIDs (3)']
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from typing import Any

import networkx as nx

#: Program → the part of the system its domains collapse into.
PROGRAM_GROUPS: dict[str, str] = {
    "spacebank": "space banks",
    "sbt": "SBT",
    "dcc": "DCC and DCs",
    "dc": "DCC and DCs",
    "kidc": "KIDC and KIDs",
    "kid": "KIDC and KIDs",
}
#: Label → part, for domains whose program is not enough (user factories run ``fcc``).
LABEL_GROUPS: dict[str, str] = {"FCC": "FCC and FCs", "fc": "FCC and FCs"}
MISC_GROUP = "kernel objects"
METER_GROUP = "meters"
#: The order parts are listed and drawn in.
GROUP_ORDER = (
    "space banks",
    "SBT",
    "DCC and DCs",
    "KIDC and KIDs",
    "FCC and FCs",
    METER_GROUP,
    MISC_GROUP,
)


def system_parts(G: Any, keep: Iterable[Hashable] = ()) -> dict[Hashable, str]:
    """Vertex → the part of the primordial system it collapses into (vertices not
    listed stay as they are; nor do those in ``keep``).

    >>> import keykos_lab as kl
    >>> k = kl.Kernel()
    >>> parts = system_parts(k.capability_graph())
    >>> parts[k.console.target(k.console["bank"])], k.console.root in parts
    ('space banks', False)
    """
    kept = set(keep)
    part: dict[Hashable, str] = {}
    for v, d in G.nodes(data=True):
        if v in kept:
            continue
        kind = d.get("kind")
        if kind == "domain":
            group = LABEL_GROUPS.get(str(d.get("label", ""))) or PROGRAM_GROUPS.get(
                str(d.get("program", ""))
            )
            if group:
                part[v] = group
        elif kind == "misc":
            part[v] = MISC_GROUP
    changed = True
    while changed:  # meters the system holds, objects only the system holds
        changed = False
        for v, d in G.nodes(data=True):
            if v in part or v in kept or d.get("kind") == "domain":
                continue
            holders = [u for u in G.predecessors(v) if u != v]
            if not holders:
                continue
            if d.get("kind") == "meter" and any(u in part for u in holders):
                part[v] = METER_GROUP
                changed = True
            elif all(u in part for u in holders):
                part[v] = min((part[u] for u in holders), key=_rank)
                changed = True
    return part


def collapse_system(G: Any, keep: Iterable[Hashable] = ()) -> nx.MultiDiGraph:
    """``G`` with the primordial system's parts (:func:`system_parts`) merged into one
    vertex each (``kind="system"``, ``label`` "space banks (2)" …, ``members``: the
    vertices merged); ``keep``: vertices to leave out of the parts (a subject drawn
    highlighted, say). Everything else, attributes included, is as in ``G``."""
    part = system_parts(G, keep)
    members: dict[str, list[Hashable]] = {}
    for v, group in part.items():
        members.setdefault(group, []).append(v)
    H: nx.MultiDiGraph = nx.MultiDiGraph()
    for v, d in G.nodes(data=True):
        if v not in part:
            H.add_node(v, **d)
    for group in sorted(members, key=_rank):
        vs = members[group]
        H.add_node(
            group,
            kind="system",
            label=f"{group} ({len(vs)})",
            members=vs,
        )
    for u, v, d in G.edges(data=True):
        a, b = part.get(u, u), part.get(v, v)
        if a == b and (u in part or v in part):
            continue  # inside one part
        H.add_edge(a, b, **d)
    return H


def member_of(H: nx.MultiDiGraph) -> Mapping[Hashable, Hashable]:
    """Vertex of the full graph → the vertex of the collapsed graph ``H`` drawing it.

    >>> import keykos_lab as kl
    >>> k = kl.Kernel()
    >>> member_of(collapse_system(k.capability_graph()))[k.console.root] == k.console.root
    True
    """
    where: dict[Hashable, Hashable] = {v: v for v in H}
    for v, d in H.nodes(data=True):
        for m in d.get("members", ()):
            where[m] = v
    return where


def _rank(group: str) -> int:
    return GROUP_ORDER.index(group) if group in GROUP_ORDER else len(GROUP_ORDER)
