"""How the analyses read a capability graph: subjects, containers and system programs.

The rules (docs/analyses.md#analyses-rules) treat every domain as acting as freely as
its keys allow — except the system programs, whose code is part of the trusted base and
whose behaviour is known (docs/primer.md#primer-space-bank,
docs/primer.md#primer-factories): a space bank only sells fresh objects, a DC builds
fresh domains and recognises its own, a factory's requestor's key yields a fresh yield,
a KID or the SBT hands out no key. Each is modelled by what it gives the holder of a key
to it; what they do for one client stays summarised in one *summary vertex* per creator
(``("new", v)``) or per factory and requestor (``("yield", factory, requestor)``).

>>> import keykos_lab as kl
>>> k = kl.Kernel(); G = k.capability_graph()
>>> behaviour(G, k.console.target(k.console["bank"]))
'bank'
>>> behaviour(G, k.console.root)
'free'
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import TypeAlias

import networkx as nx

#: A key as the analyses name it: ``(target vertex, key_type, databyte)``.
KeyTriple: TypeAlias = tuple[Hashable, str, int]

#: Slot kinds whose keys a domain's program can use (its key registers, the keys
#: delivered to a running handler, the console's key ring).
USABLE = frozenset({"key_register", "transient", "ring"})
#: Slot kinds a domain-key holder can read (Domain Get / GetKey): not the brand.
CONTROLLED = frozenset(
    {"key_register", "transient", "ring", "meter", "keeper", "address", "general", "hook", "slot"}
)
#: Rights that carry information or authority *out* of the holder.
OUTWARD = frozenset({"write", "store", "call", "reply", "control"})
#: Rights that let the holder take information *in*.
INWARD = frozenset({"read", "fetch", "sense", "call", "control"})

#: Programs of the trusted base, by the behaviour the analyses give them.
SYSTEM_PROGRAMS = {
    "spacebank": "bank",
    "sbt": "oracle",
    "dcc": "dcc",
    "dc": "dc",
    "kidc": "kidc",
    "kid": "kid",
    "fcc": "fcc",
}

# fcc.ck key registers of a factory and the slots of its PTOOLS node.
COMP_REG, DC_REG, PTOOLS_REG = 0, 6, 11
PTOOLS_KID, PTOOLS_KEEPER, PTOOLS_PROGRAM, PTOOLS_SYMBOLS = 3, 5, 6, 7
KID_KEYS_REG = 4  # kid.py: the first node of the chain of keys
BUILDER, REQUESTOR, FETCHER, COPY = 0, 1, 2, 3

# Keeper channels (docs/analyses.md#analyses-keepers): what the kernel walks and calls.
RO, NOCALL, LSS_BITS = 0x80, 0x40, 0x0F  # databyte bits (kernel/keys.py, segments.py)
RESTART, RETURN, FAULT = 0, 2, 4  # resume-key flavours (kernel/keys.py)
#: Key types address translation walks through (kernel/keys.py SEGMODE_TYPES); a page
#: key ends the walk.
SEGMODE = frozenset({"segment", "node", "fetch", "sense", "frontend"})
#: A meter node's superior and keeper slots (kernel/meters.py).
METER_SUPERIOR, METER_KEEPER = 1, 2
ANY_SLOT = -1  # a key that could be in any slot
LOCAL_SLOT = -2  # a key a red segment's caller left in it
#: Keys a red segment's keeper slot may hold that the kernel treats as DK(0) when the
#: segment key is called (jsegmntc.c:362, ``kernel/orders/segment.py`` NOT_KEEPERS).
NOT_KEEPERS = frozenset({"page", "node", "fetch", "meter", "segment"})


def walk_step(key_type: str, databyte: int) -> tuple[bool, bool, bool] | None:
    """How address translation (``kernel/segments.py`` ``translate``) goes through a key:
    ``(read_only, no_call, red)`` — read-only and no-call accumulate down the path (a
    fetch or sense key makes everything below read-only), and a node reached by a key
    whose size bits are 0 is red, so it may name a segment keeper; None for keys the walk
    does not follow (a page key ends it: see ``key_type == "page"``). Window keys need no
    step: what one shows is the key in a slot of a node the walk has reached (the walks
    follow every slot), and it only adds read-only and no-call (docs/analyses.md,
    "Window keys need no rule").

    >>> walk_step("node", 0), walk_step("sense", 0xC0), walk_step("segment", 3)
    ((False, False, True), (True, True, True), (False, False, False))
    >>> walk_step("page", 0x80), walk_step("start", 0)
    ((True, False, False), None)
    """
    if key_type == "page":
        return bool(databyte & RO), False, False
    if key_type not in SEGMODE:
        return None
    return (
        bool(databyte & RO) or key_type in ("fetch", "sense"),
        bool(databyte & NOCALL),
        databyte & LSS_BITS == 0,
    )


def behaviour(G: nx.MultiDiGraph, v: Hashable) -> str:
    """How the analyses treat vertex ``v``: ``free`` (a domain acting as its keys
    allow), ``bank``, ``dc``, ``dcc``, ``kid``, ``oracle`` (answers, hands out
    no key), ``factory`` or ``creator`` (an FCC or FC: makes fresh objects),
    ``container`` (a node, page, segment, meter) or ``misc``.

    >>> import networkx as nx
    >>> G = nx.MultiDiGraph(); G.add_node(1, kind="domain", program="echo")
    >>> behaviour(G, 1)
    'free'
    """
    if isinstance(v, tuple):
        return "free"
    attrs = G.nodes[v] if v in G else {}
    kind = attrs.get("kind")
    if kind == "misc" or (isinstance(v, str) and v.startswith("misc:")):
        return "misc"
    if kind != "domain":
        return "container"
    role = SYSTEM_PROGRAMS.get(attrs.get("program") or "")
    if role is None:
        return "free"
    if role == "fcc":
        return "factory" if register(G, v, COMP_REG) is not None else "creator"
    if role == "bank" and not _banks_all_the_way_up(G, v):
        return "free"
    return role


#: The space bank's key register holding its parent (programs/primordial/spacebank.py).
BANK_PARENT = 2


def _banks_all_the_way_up(G: nx.MultiDiGraph, v: Hashable) -> bool:
    """A domain running the space bank behaves as one only if its parent register is
    empty or holds a gate to a domain that behaves as a bank, and so on up: a bank
    program whose parent is anything else calls it (REAP, AVAILABLE) with the bank's
    own keys and resume key, so the analyses treat it as acting freely (found by the
    red team, session 7)."""
    seen = {v}
    while True:
        parent = register(G, v, BANK_PARENT)
        if parent is None or parent[1] == "data":
            return True
        target, ktype, _ = parent
        attrs = G.nodes[target] if target in G else {}
        if ktype not in ("start", "resume") or attrs.get("kind") != "domain":
            return False
        if SYSTEM_PROGRAMS.get(attrs.get("program") or "") != "bank":
            return False
        if target in seen:
            return True  # a loop of banks: banks all the way
        seen.add(target)
        v = target


def register(G: nx.MultiDiGraph, domain: Hashable, n: int) -> KeyTriple | None:
    """The (target, key_type, databyte) in key register ``n`` of ``domain``, or None.

    >>> import networkx as nx
    >>> G = nx.MultiDiGraph()
    >>> G.add_edge(1, 2, slot=0, slot_kind="key_register", key_type="node", databyte=0)
    0
    >>> register(G, 1, 0)
    (2, 'node', 0)
    """
    for _, target, d in G.out_edges(domain, data=True):
        if d.get("slot_kind") == "key_register" and d.get("slot") == n:
            return target, d["key_type"], d["databyte"]
    return None


def slot_key(G: nx.MultiDiGraph, node: Hashable, n: int) -> KeyTriple | None:
    """The (target, key_type, databyte) in slot ``n`` of a node vertex, or None."""
    for _, target, d in G.out_edges(node, data=True):
        if d.get("slot") == n and d.get("slot_kind") == "slot":
            return target, d["key_type"], d["databyte"]
    return None


def brand(G: nx.MultiDiGraph, domain: Hashable) -> Hashable | None:
    """The vertex whose key is in ``domain``'s brand slot (its DC), or None."""
    for _, target, d in G.out_edges(domain, data=True):
        if d.get("slot_kind") == "brand":
            return target
    return None


def factory_parts(
    G: nx.MultiDiGraph, factory: Hashable
) -> tuple[KeyTriple | None, list[KeyTriple | None], KeyTriple | None]:
    """A factory's components node and the keeper, program and symbols components
    (each a (target, key_type, databyte) or None) and its weakened DC key."""
    comp = register(G, factory, COMP_REG)
    ptools = register(G, factory, PTOOLS_REG)
    extra = [
        slot_key(G, ptools[0], slot) if ptools else None
        for slot in (PTOOLS_KEEPER, PTOOLS_PROGRAM, PTOOLS_SYMBOLS)
    ]
    return comp, extra, register(G, factory, DC_REG)


def factory_holes(G: nx.MultiDiGraph, factory: Hashable) -> list[KeyTriple]:
    """The keys in a factory's hole set, read from its KID's chain of nodes
    (slots 0–14 hold entries, slot 15 the next node). Factories never delete
    holes, so every entry in the chain is one.

    >>> import keykos_lab as kl
    >>> k = kl.Kernel(); con = k.console
    >>> f = kl.build_factory(con, "echo", holes={0: con["bank"]})
    >>> G = k.capability_graph()
    >>> factory_holes(G, con.target(f.requestor)) == [(con.target(con["bank"]), "start", 0)]
    True
    """
    ptools = register(G, factory, PTOOLS_REG)
    kid = slot_key(G, ptools[0], PTOOLS_KID) if ptools else None
    node = register(G, kid[0], KID_KEYS_REG) if kid else None
    entries: list[KeyTriple] = []
    seen: set[Hashable] = set()
    while node is not None and node[0] not in seen:
        seen.add(node[0])
        entries += [key for n in range(15) if (key := slot_key(G, node[0], n)) is not None]
        node = slot_key(G, node[0], 15)
    return entries
