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

from keykos_lab.kernel.collector import gc_paused
from keykos_lab.kernel.keys import MISC
from keykos_lab.kernel.past import past
from keykos_lab.kernel.snapshot import Snapshot
from keykos_lab.views.schema import is_sensory, rights_of

if TYPE_CHECKING:
    from keykos_lab.kernel.core import Kernel


def capability_graph(kernel: Kernel, at: int | None = None) -> nx.MultiDiGraph:
    """A vertex per live object (domains folded), an edge per key held in a slot.

    Linear in the number of objects and keys: one snapshot, one pass over the slots.
    ``at=seq`` gives the graph as it was when event ``seq`` was logged (what the kernel
    did after it shows from the next event on), rebuilt from the kernel's history without
    running anything again
    (``keykos_lab.kernel.history``; ``HistoryUnavailable`` outside what it covers).

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
    source: Any = kernel if at is None else past(kernel, at)
    with gc_paused():
        return _build(source)


def _build(kernel: Any) -> nx.MultiDiGraph:
    snap = Snapshot(kernel)
    G: nx.MultiDiGraph[Hashable] = nx.MultiDiGraph()
    add_node, add_edge = G.add_node, G.add_edge
    label, domain_info = snap.label, snap.domain_info
    for oid, kind in snap.kind.items():
        attrs: dict[str, Any] = {"kind": kind, "label": label(oid)}
        if kind == "domain":
            attrs.update(domain_info(oid))
        add_node(oid, **attrs)
    # What a key's type and databyte give its edge, worked out once per distinct pair
    # (misc keys are told apart by their object: their type name depends on it).
    seen: dict[tuple[int, int, int], tuple[str, int, frozenset[str], bool]] = {}
    for holder, target, key, slot, slot_kind in snap.edges():
        if target not in G:
            add_node(target, kind="misc", label=str(target).removeprefix("misc:"))
        t, db = key.type, key.databyte
        which = (t, db, key.obj if t == MISC else 0)
        found = seen.get(which)
        if found is None:
            name = key.type_name
            found = seen[which] = (name, db, rights_of(name, db), is_sensory(name, db))
        name, db, rights, sensory = found
        add_edge(
            holder,
            target,
            slot=slot,
            slot_kind=slot_kind,
            key_type=name,
            databyte=db,
            rights=rights,
            sensory=sensory,
        )
    return G
