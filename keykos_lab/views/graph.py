"""Kernel state → networkx: the capability graph (docs/analyses.md#analyses-graph-schema).

>>> import keykos_lab as kl
>>> k = kl.Kernel()
>>> G = k.capability_graph()
>>> G.nodes[k.console.root]["kind"], G.nodes[k.console.root]["label"]
('domain', 'console')
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import TYPE_CHECKING, Any

import networkx as nx

from keykos_lab.kernel.snapshot import Snapshot
from keykos_lab.views.schema import is_sensory, rights_of

if TYPE_CHECKING:
    from keykos_lab.kernel.core import Kernel


def capability_graph(kernel: Kernel) -> nx.MultiDiGraph:
    """A vertex per live object (domains folded), an edge per key held in a slot.

    Edge attributes: ``key_type``, ``databyte``, ``slot``, ``slot_kind``
    (``key_register``, ``address``, ``meter``, ``keeper``, ``ring``, ``slot``,
    ``transient`` for keys a running handler holds outside its registers …),
    ``rights`` (frozenset) and ``sensory`` (bool).

    >>> import keykos_lab as kl
    >>> k = kl.Kernel(); con = k.console
    >>> page = con.call(con["bank"], kl.oc.SB.CreatePage).keys[0]
    >>> G = capability_graph(k)
    >>> [sorted(d["rights"]) for u, v, d in G.out_edges(con.root, data=True)
    ...  if v == con.target(page)]
    [['read', 'write']]
    """
    snap = Snapshot(kernel)
    G: nx.MultiDiGraph[Hashable] = nx.MultiDiGraph()
    for oid, kind in snap.kind.items():
        attrs: dict[str, Any] = {"kind": kind, "label": snap.label(oid)}
        if kind == "domain":
            attrs.update(snap.domain_info(oid))
        G.add_node(oid, **attrs)
    for holder, target, key, slot, slot_kind in snap.edges():
        if target not in G:
            G.add_node(target, kind="misc", label=str(target).removeprefix("misc:"))
        name, db = key.type_name, key.databyte
        G.add_edge(
            holder,
            target,
            slot=slot,
            slot_kind=slot_kind,
            key_type=name,
            databyte=db,
            rights=rights_of(name, db),
            sensory=is_sensory(name, db),
        )
    return G
