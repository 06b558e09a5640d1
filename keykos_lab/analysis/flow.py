"""Information flow over overt channels: who can come to tell whom.

Built on :class:`~keykos_lab.analysis.authority.Closure`: once every subject's
authority is known, information can move

* from a subject into an object it can write (page and segment writes, node
  stores — data keys are data too), and out of an object to a subject that can
  read, fetch or sense it;
* both ways between two freely acting domains joined by a start or resume key
  (the message and its reply) or by a domain key;
* through a KID, whose membership answers are overt;
* through a memory tree someone can address: from a node to the pages and nodes in
  its slots through keys that write, and back through keys that read;
* through keepers (docs/analyses.md#analyses-keepers): both ways between a domain and
  the keeper its faults or dry meters call (the keeper holds a restart key to it), and
  between the holder of a red segment key and the red node's keeper (a call on the
  key); the holder can also leave a key in the node.

Banks, DCs, the SBT and factories pass nothing on: what a bank's counters or a
meter could tell is a covert channel (named in confinement verdicts, not
followed here).

>>> import keykos_lab as kl
>>> k = kl.Kernel(); con = k.console
>>> page = con.call(con["bank"], kl.oc.SB.CreatePage).keys[0]
>>> echo = kl.start_key(con, kl.build_domain(con, "echo", keys={0: page}))
>>> G = k.capability_graph()
>>> can_flow(G, con.root, con.target(echo))
True
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Container, Hashable, Iterable, Iterator, Mapping
from typing import Literal, overload

import networkx as nx
import pandas as pd

from keykos_lab.analysis.authority import Closure, pick_engine
from keykos_lab.analysis.behaviour import without
from keykos_lab.analysis.convert import CapabilityCSR, rights_of
from keykos_lab.analysis.model import BUILDER, LSS_BITS, NOCALL, KeyTriple, register

_OUT = frozenset({"write", "store"})
#: A factory, and the summary of what an FCC or FC makes (an FC or a factory: its builder
#: facet can assign a factory's alleged type and ordinal too).
_FACTORIES = frozenset({"factory", "creator"})
_IN = frozenset({"read", "fetch", "sense"})
_MEMORY = frozenset({"page", "segment", "frontend", "node", "fetch", "sense"})


def flow_graph(G: nx.MultiDiGraph, closure: Closure | None = None) -> nx.DiGraph:
    """A directed graph with an edge u → v wherever information can move from u
    to v in one step; each edge has ``how`` (a short phrase) and ``key_type``.

    >>> import networkx as nx
    >>> G = nx.MultiDiGraph()
    >>> G.add_node("a", kind="domain"); G.add_node(7, kind="page")
    >>> _ = G.add_edge("a", 7, key_type="page", databyte=0x80, slot=0, slot_kind="key_register")
    >>> sorted(flow_graph(G).edges())
    [(7, 'a')]
    """
    c = closure if closure is not None else Closure(G)
    F: nx.DiGraph[Hashable] = nx.DiGraph()
    F.add_nodes_from(G.nodes)
    calls: dict[KeyTriple, frozenset[Hashable]] = {}
    for s, held in c.subjects():
        called: set[Hashable] = set()
        acts = _acts_through(c, s)
        for key in held:
            target, ktype, db = key
            r = rights_of(ktype, db)
            if acts is not None and key not in acts:  # a caller_keys deputy only reads
                if r & _IN or ktype == "domain":
                    F.add_edge(target, s, how="is read by", key_type=ktype)
                if ktype in ("start", "resume") and c.behaviour(target) in _FACTORIES:
                    F.add_edge(target, s, how="answers KT", key_type=ktype)
                continue
            if ktype in ("segment", "frontend") and not db & (NOCALL | LSS_BITS):
                # A call on a red segment key goes to the red node's keeper (a message
                # and its reply), as through a key to the keeper itself.
                if (target, ktype, 0) not in calls:
                    calls[(target, ktype, 0)] = _keepers_called(c, target, ktype)
                    # ... and its third key can be left in the node (the format's local
                    # slot), when a start key takes the message.
                    if any(gate[1] == "start" for gate, _ in c.keepers(target)):
                        calls[(target, "local", 0)] = frozenset([target])
                called |= calls[(target, ktype, 0)]
                if (target, "local", 0) in calls:
                    F.add_edge(s, target, how="leaves a key in it", key_type=ktype)
            if ktype in ("start", "resume"):
                role = c.behaviour(target)
                if role in _FACTORIES:
                    _factory_flows(F, c, s, key)
                elif role in ("free", "kid") and not c.delivers(key):
                    # A restart key the kernel handed a keeper: the domain told it of a
                    # fault (the address it chose) or a dry meter; the keeper restarts it.
                    F.add_edge(s, target, how="restarts", key_type=ktype)
                    F.add_edge(target, s, how="faults to its keeper", key_type=ktype)
                elif role in ("free", "kid"):
                    F.add_edge(s, target, how="sends to", key_type=ktype)
                    F.add_edge(target, s, how="replies to", key_type=ktype)
            elif ktype == "domain":
                F.add_edge(s, target, how="controls", key_type=ktype)
                F.add_edge(target, s, how="is read by its controller", key_type=ktype)
            else:
                if r & _OUT:
                    F.add_edge(s, target, how="writes", key_type=ktype)
                if r & _IN:
                    F.add_edge(target, s, how="is read by", key_type=ktype)
        for k in called:
            F.add_edge(s, k, how="calls its segment's keeper", key_type="segment")
            F.add_edge(k, s, how="answers a call on its segment", key_type="segment")
    for u, v, d in G.edges(data=True):
        if d.get("slot_kind") == "address" and c.behaviour(u) == "free":  # its own memory
            if _acts_through(c, u) is not None:  # caller_keys: its memory is read only
                if rights_of(d["key_type"], d["databyte"]) & _IN:
                    F.add_edge(v, u, how="reads its memory", key_type=d["key_type"])
                continue
            r = rights_of(d["key_type"], d["databyte"])
            if r & _OUT:
                F.add_edge(u, v, how="writes its memory", key_type=d["key_type"])
            if r & _IN:
                F.add_edge(v, u, how="reads its memory", key_type=d["key_type"])
    for u, v, ktype, db in _memory_trees(G, c):
        r = rights_of(ktype, db)
        if r & _OUT:  # written through the top, down a key that writes
            F.add_edge(u, v, how="memory tree", key_type=ktype)
        if r & _IN:  # read through the top, up a key that reads
            F.add_edge(v, u, how="memory tree", key_type=ktype)
    return F


def _acts_through(c: Closure, s: Hashable) -> set[KeyTriple] | None:
    """The keys a ``caller_keys`` deputy may act through (what it received, and its own
    registers' keys); None for a domain free to act through anything it holds."""
    b = c.described.get(s)
    if b is None or b.acts_for_callers:
        return None
    own = {register(c.G, s, n) for n in b.own}
    return set(c.received(s)) | {key for key in own if key is not None}


def _factory_flows(F: nx.DiGraph, c: Closure, s: Hashable, key: KeyTriple) -> None:
    """A factory's keys carry 32-bit values both ways (``programs/factories/factory.py``):
    the builder's AssignKT and AssignOrdinal store what its holder chooses, at any time;
    every facet answers KT with the alleged type, and every yield (and copy) gets the
    ordinal and type: so the factory flows to holders of its keys and to what it makes."""
    f, _, db = key
    if db == BUILDER:
        F.add_edge(s, f, how="assigns the alleged type or ordinal", key_type="start")
    F.add_edge(f, s, how="answers KT", key_type="start")
    for v in c.summary:
        if isinstance(v, tuple) and len(v) == 3 and v[0] in ("yield", "new") and v[1] == f:
            F.add_edge(f, v, how="gives its ordinal", key_type="start")


def _keepers_called(c: Closure, x: Hashable, ktype: str) -> frozenset[Hashable]:
    """The parties a call on a red ``ktype`` key to ``x`` talks to: its keepers (a
    frontend key calls start keys only) that pass information on."""
    return frozenset(
        k
        for (k, kind, _), _ in c.keepers(x)
        if (ktype == "segment" or kind == "start") and c.behaviour(k) in ("free", "kid")
    )


def _memory_trees(G: nx.MultiDiGraph, c: Closure) -> Iterator[tuple[Hashable, Hashable, str, int]]:
    """Links inside the segments someone can address (a memory or segment key), with
    the slot key's type and databyte: data written through the top reaches the pages
    below through keys that write, and data below is read back through keys that read
    (a sense or read-only key passes nothing down)."""
    roots: set[Hashable] = {
        v
        for u, v, d in G.edges(data=True)
        if d.get("slot_kind") == "address" or d["key_type"] in ("segment", "frontend")
    }
    roots |= {
        key[0] for _, held in c.subjects() for key in held if key[1] in ("segment", "frontend")
    }
    seen, todo = set(roots), list(roots)
    while todo:
        u = todo.pop()
        if u not in G or G.nodes[u].get("kind") == "domain":
            continue
        for _, v, d in G.out_edges(u, data=True):
            if d.get("slot_kind") == "slot" and d["key_type"] in _MEMORY:
                yield u, v, d["key_type"], d["databyte"]
                if v not in seen:
                    seen.add(v)
                    todo.append(v)


def flow_path(
    F: nx.DiGraph, source: Hashable, sink: Hashable, avoid: Container[Hashable] = ()
) -> list[Hashable] | None:
    """A shortest path source → sink in a flow graph, not passing through
    ``avoid`` (the ends may be in it), as a list of vertices; None if none.

    >>> F = nx.DiGraph([(1, 2), (2, 3)])
    >>> flow_path(F, 1, 3), flow_path(F, 1, 3, avoid={2})
    ([1, 2, 3], None)
    """
    if source not in F or sink not in F:
        return None
    for u, parent in searched(F, source, stop=lambda v: v in avoid):
        if u == sink:
            return path_to(parent, u)
    return None


def searched(
    F: nx.DiGraph, source: Hashable, stop: Callable[[Hashable], bool] = lambda v: False
) -> Iterator[tuple[Hashable, dict[Hashable, Hashable | None]]]:
    """Breadth-first search from ``source``: yields each vertex as it is reached,
    with the parent links so far (for :func:`path_to`); it does not go on past a
    vertex for which ``stop`` is true (the source excepted).

    >>> F = nx.DiGraph([(1, 2), (2, 3), (1, 4)])
    >>> [u for u, _ in searched(F, 1, stop=lambda v: v == 2)]
    [1, 2, 4]
    """
    parent: dict[Hashable, Hashable | None] = {source: None}
    todo = deque([source])
    while todo:
        u = todo.popleft()
        yield u, parent
        if u != source and stop(u):
            continue
        for v in F.successors(u):
            if v not in parent:
                parent[v] = u
                todo.append(v)


def path_to(parent: Mapping[Hashable, Hashable | None], v: Hashable) -> list[Hashable]:
    """The path a breadth-first search's ``parent`` links give from its start to ``v``.

    >>> path_to({1: None, 2: 1, 3: 2}, 3)
    [1, 2, 3]
    """
    path = [v]
    while parent[path[-1]] is not None:
        path.append(parent[path[-1]])
    return path[::-1]


@overload
def can_flow(
    G: nx.MultiDiGraph,
    source: Hashable,
    sink: Hashable,
    *,
    witness: Literal[False] = False,
    behaviour: Mapping[Hashable, object] | None = None,
) -> bool: ...
@overload
def can_flow(
    G: nx.MultiDiGraph,
    source: Hashable,
    sink: Hashable,
    *,
    witness: Literal[True],
    behaviour: Mapping[Hashable, object] | None = None,
) -> list[Hashable] | None: ...
@overload
def can_flow(
    G: nx.MultiDiGraph,
    source: Hashable,
    sink: Hashable,
    *,
    witness: bool,
    behaviour: Mapping[Hashable, object] | None = None,
) -> bool | list[Hashable] | None: ...
def can_flow(
    G: nx.MultiDiGraph,
    source: Hashable,
    sink: Hashable,
    *,
    witness: bool = False,
    behaviour: Mapping[Hashable, object] | None = None,
) -> bool | list[Hashable] | None:
    """Whether information can move from ``source`` to ``sink`` over overt
    channels; with ``witness=True``, the path (a list of vertices) or None.
    ``behaviour`` declares what trusted domains do, as for :func:`~.authority.authority`
    (the source's own declaration is not used; ``flows`` uses every declaration).

    >>> import keykos_lab as kl
    >>> k = kl.Kernel(); con = k.console
    >>> page = con.call(con["bank"], kl.oc.SB.CreatePage).keys[0]
    >>> ro = con.call(page, kl.oc.Page.MakeReadOnlyKey).keys[0]
    >>> w = con.target(kl.build_domain(con, "echo", keys={0: page}))
    >>> r = con.target(kl.build_domain(con, "echo", keys={0: ro}))
    >>> G = k.capability_graph(); G.remove_node(con.root)    # the builder leaves the scene
    >>> can_flow(G, w, r), can_flow(G, r, w)
    (True, False)
    """
    for v in (source, sink):
        if v not in G:
            raise ValueError(f"{v!r} is not a vertex of the graph")
    path = flow_path(flow_graph(G, Closure(G, without(behaviour, source))), source, sink)
    return path if witness else path is not None


def flows(
    G: nx.MultiDiGraph | CapabilityCSR,
    subjects: Iterable[Hashable] | None = None,
    *,
    engine: str = "auto",
    behaviour: Mapping[Hashable, object] | None = None,
) -> pd.DataFrame:
    """The flow matrix: rows are sources, columns sinks, True where information
    can move (default subjects: every freely acting domain). ``engine`` and
    ``behaviour`` as for :func:`~.authority.authority`: ``"csr"`` (the default for a
    ``CapabilityCSR``) computes it on arrays.

    >>> import keykos_lab as kl
    >>> k = kl.Kernel(); con = k.console
    >>> m = flows(k.capability_graph())
    >>> bool(m.loc[con.root, con.root])
    True
    """
    if pick_engine(G, engine) == "csr":
        if behaviour:
            raise ValueError("declared behaviour needs the reference engine (a networkx graph)")
        from keykos_lab.analysis.fast_frames import flows_frame

        return flows_frame(G, subjects)
    if isinstance(G, CapabilityCSR):
        raise ValueError(
            "the reference engine works on networkx graphs; use engine='csr' for a CapabilityCSR"
        )
    c = Closure(G, behaviour)
    F = flow_graph(G, c)
    if subjects is None:
        subjects = [v for v in G if G.nodes[v].get("kind") == "domain" and c.behaviour(v) == "free"]
    subjects = list(subjects)
    rows: list[list[bool]] = []
    for s in subjects:
        reach = nx.descendants(F, s) | {s} if s in F else {s}
        rows.append([t in reach for t in subjects])
    return pd.DataFrame(rows, index=subjects, columns=subjects, dtype=bool)
