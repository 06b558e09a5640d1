"""Building capability graphs in the project's schema from other systems' terms.

The readers map what they read onto the same vertices and edges the kernel's
graphs use (DESIGN.md, graph schema), so one analysis runs on all:

* a vertex per object: ``kind`` in ``domain`` (a subject: a thread, a protection
  domain, a component), ``node`` (a container of capabilities: a CNode, a page
  table), ``page`` (memory, or a one-way data channel such as a notification),
  ``misc`` (IRQs, I/O ports, anything else); ``label`` its name, ``program``
  (domains) ``""`` so that analyses treat it as acting freely, and whatever else
  the source says (``device``, ``source_type`` …) as extra attributes;
* an edge per capability, holder → target, with ``key_type``, ``databyte``,
  ``slot``, ``slot_kind`` and the ``rights`` and ``sensory`` the key type and
  databyte give (computed here, never by hand).

>>> g = SchemaGraph()
>>> g.vertex("a", "domain"); g.vertex("f", "page")
>>> g.key("a", "f", "page", read_only=True, slot=0)
>>> G = g.graph
>>> d = next(iter(G.get_edge_data("a", "f").values()))
>>> d["key_type"], d["databyte"], sorted(d["rights"]), d["sensory"]
('page', 128, ['read'], True)
"""

from __future__ import annotations

import networkx as nx

from ..analysis.convert import KEY_TYPES, SLOT_KINDS, VERTEX_KINDS, rights_of
from ..analysis.sensory import is_sensory

RO = 0x80


class SchemaGraph:
    """A ``networkx.MultiDiGraph`` in the schema, built a vertex and a key at a time."""

    def __init__(self) -> None:
        self.graph = nx.MultiDiGraph()

    def vertex(self, name, kind: str, label: str | None = None, **attrs) -> None:
        """Add (or update) a vertex; ``kind`` must be one of the schema's kinds."""
        if kind not in VERTEX_KINDS:
            raise ValueError(f"vertex kind {kind!r} is not one of {VERTEX_KINDS}")
        if kind == "domain":
            attrs.setdefault("program", "")
        self.graph.add_node(name, kind=kind, label=label or str(name), **attrs)

    def key(self, holder, target, key_type: str, *, read_only: bool = False,
            databyte: int = 0, slot: int = -1, slot_kind: str = "key_register",
            **attrs) -> None:
        """Add a capability ``holder`` → ``target``; both vertices must exist."""
        if key_type not in KEY_TYPES:
            raise ValueError(f"key type {key_type!r} is not one of {KEY_TYPES}")
        if slot_kind not in SLOT_KINDS:
            raise ValueError(f"slot kind {slot_kind!r} is not one of {SLOT_KINDS}")
        for v in (holder, target):
            if v not in self.graph:
                raise ValueError(f"no vertex {v!r}: add it with vertex() first")
        db = databyte | (RO if read_only else 0)
        self.graph.add_edge(holder, target, key_type=key_type, databyte=db, slot=slot,
                            slot_kind=slot_kind, rights=rights_of(key_type, db),
                            sensory=is_sensory(key_type, db), **attrs)
