"""Building capability graphs in the project's schema from other systems' terms.

The readers map what they read onto the same vertices and edges the kernel's
graphs use (docs/analyses.md#analyses-graph-schema), so one analysis runs on all:

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

from collections.abc import Hashable
from functools import cache
from typing import Any

import networkx as nx

RO, NOCALL = 0x80, 0x40  # databyte bits: read-only, no-call (docs/primer.md)

#: Key-type names; a key type's code is its index (not the kernel's type number).
KEY_TYPES = (
    "data",
    "page",
    "segment",
    "node",
    "meter",
    "fetch",
    "start",
    "resume",
    "domain",
    "hook",
    "returner",
    "domtool",
    "keybits",
    "dkc",
    "discrim",
    "misc",
    "node_range",
    "page_range",
    "sense",
    "frontend",
    "systimer",
    "calclock",
)
#: Slot kinds; ``register`` is a slot of a folded registers node.
SLOT_KINDS = (
    "key_register",
    "address",
    "meter",
    "keeper",
    "brand",
    "ring",
    "slot",
    "transient",
    "psw",
    "trapcode",
    "general",
    "priority",
    "hook",
    "keys_node",
    "regs_node",
    "register",
)
#: Rights words; bit ``i`` of a rights mask is ``RIGHTS[i]``.
RIGHTS = ("read", "write", "fetch", "store", "sense", "call", "reply", "control", "meter", "create")
#: Vertex kinds.
VERTEX_KINDS = ("domain", "node", "page", "segment", "meter", "misc")


# Rights a key conveys (kernel/snapshot.py ``rights``); RO takes ``write`` away from these.
_BASE_RIGHTS = {
    "page": ("read", "write"),
    "segment": ("read", "write"),
    "frontend": ("read", "write", "call"),
    "node": ("read", "write", "fetch", "store"),
    "fetch": ("read", "fetch"),
    "sense": ("read", "sense"),
    "meter": ("meter",),
    "start": ("call",),
    "resume": ("reply",),
    "domain": ("control",),
    "node_range": ("create",),
    "page_range": ("create",),
    **{
        name: ("call",)
        for name in (
            "returner",
            "domtool",
            "keybits",
            "dkc",
            "discrim",
            "misc",
            "systimer",
            "calclock",
        )
    },
}
_RO_DROPS_WRITE = {"page", "segment", "node", "frontend"}


@cache
def rights_of(key_type: str, databyte: int) -> frozenset[str]:
    """The rights a key of this type and databyte conveys, in the schema's words.

    >>> sorted(rights_of("page", 0)), sorted(rights_of("node", 0x80))
    (['read', 'write'], ['fetch', 'read', 'store'])
    """
    words = set(_BASE_RIGHTS.get(key_type, ()))
    if databyte & RO and key_type in _RO_DROPS_WRITE:
        words.discard("write")
    return frozenset(words)


#: Keys that pass through a sense key unchanged (docs/primer.md#primer-sense-keys).
UNCHANGED = frozenset({"data", "returner", "dkc", "discrim"})
#: Keys that become sense keys.
TO_SENSE = frozenset({"node", "fetch", "sense"})


def sensory(key_type: str, databyte: int) -> tuple[str, int] | None:
    """The sensory version of a key, as ``(key_type, databyte)``; None for DK(0).

    >>> sensory("segment", 0x03), sensory("page", 0x80), sensory("dkc", 0)
    (('segment', 195), ('page', 128), ('dkc', 0))
    """
    if not isinstance(key_type, str):
        raise TypeError(f"a key type is a name such as 'page', not {key_type!r}")
    if not isinstance(databyte, int) or not 0 <= databyte <= 255:
        raise ValueError(f"a databyte is an int in [0, 255], not {databyte!r}")
    if key_type in UNCHANGED:
        return key_type, databyte
    if key_type == "page":
        return "page", databyte | RO
    if key_type == "segment":
        return "segment", databyte | RO | NOCALL
    if key_type in TO_SENSE:
        return "sense", databyte | RO | NOCALL
    return None


#: What a fetch through a sense key does to the key fetched: the same rule.
diminish = sensory


def is_sensory(key_type: str, databyte: int) -> bool:
    """True when the key is its own sensory version (MAN m/71): it conveys no
    write or send authority, however far it is followed.

    >>> is_sensory("sense", 0xC0), is_sensory("discrim", 0), is_sensory("meter", 0)
    (True, True, False)
    """
    return sensory(key_type, databyte) == (key_type, databyte)


class SchemaGraph:
    """A ``networkx.MultiDiGraph`` in the schema, built a vertex and a key at a time."""

    def __init__(self) -> None:
        self.graph: nx.MultiDiGraph[Hashable] = nx.MultiDiGraph()

    def vertex(self, name: Hashable, kind: str, label: str | None = None, **attrs: Any) -> None:
        """Add (or update) a vertex; ``kind`` must be one of the schema's kinds."""
        if kind not in VERTEX_KINDS:
            raise ValueError(f"vertex kind {kind!r} is not one of {VERTEX_KINDS}")
        if kind == "domain":
            attrs.setdefault("program", "")
        self.graph.add_node(name, kind=kind, label=label or str(name), **attrs)

    def key(
        self,
        holder: Hashable,
        target: Hashable,
        key_type: str,
        *,
        read_only: bool = False,
        databyte: int = 0,
        slot: int = -1,
        slot_kind: str = "key_register",
        **attrs: Any,
    ) -> None:
        """Add a capability ``holder`` → ``target``; both vertices must exist."""
        if key_type not in KEY_TYPES:
            raise ValueError(f"key type {key_type!r} is not one of {KEY_TYPES}")
        if slot_kind not in SLOT_KINDS:
            raise ValueError(f"slot kind {slot_kind!r} is not one of {SLOT_KINDS}")
        for v in (holder, target):
            if v not in self.graph:
                raise ValueError(f"no vertex {v!r}: add it with vertex() first")
        db = databyte | (RO if read_only else 0)
        self.graph.add_edge(
            holder,
            target,
            key_type=key_type,
            databyte=db,
            slot=slot,
            slot_kind=slot_kind,
            rights=rights_of(key_type, db),
            sensory=is_sensory(key_type, db),
            **attrs,
        )
