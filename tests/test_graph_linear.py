"""The linear capability graph and object table ≡ the implementation they replaced.

``Snapshot.domain_info`` used to scan the whole owner map once per domain (4 s for
``k.capability_graph()`` at 10k domains); it now looks the folded nodes up in a map
built in one pass (issue 22). The old implementation is copied here verbatim as the
reference (``RefSnapshot``, ``ref_capability_graph``, ``ref_objects``; bench/graph.py
runs it for the "before" column), and the graph — nodes with attributes, edges with
keys and attributes, in networkx's order and in a canonical order — and the object
table must be exactly the same on: a fresh kernel; a booted system with factories,
red segments, domains of several programs and a waiting handler holding keys;
KeyNIX after running processes; and systems a Hypothesis script of random console
operations makes (the kernel state machine's operations, tests/test_invariants.py).
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import networkx as nx
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import keykos_lab as kl
from keykos_lab import oc
from keykos_lab.kernel.console import RING_PER_NODE
from keykos_lab.kernel.domains import KEYS_NODE, REGS_NODE, SLOT_KINDS, STATE_NAMES
from keykos_lab.kernel.keys import (
    DATA,
    DOMAIN,
    FRONTEND,
    HOOK,
    METER,
    NODE,
    NODE_RANGE,
    OBJECT_TYPES,
    PAGE_RANGE,
    RESUME,
    SEGMENT,
    START,
    Key,
)
from keykos_lab.views.frames import objects
from keykos_lab.views.graph import capability_graph
from keykos_lab.views.schema import is_sensory, rights_of


# ------------------------------------------------------------------ the reference
# keykos_lab/kernel/snapshot.py, keykos_lab/views/graph.py capability_graph and
# keykos_lab/views/frames.py objects as they were before issue 22 (commit 816c4c3).
def ref_misc_vertex(key: Key) -> str:
    if key.type == NODE_RANGE:
        return "misc:node_range"
    if key.type == PAGE_RANGE:
        return "misc:page_range"
    return f"misc:{key.type_name}"


class RefSnapshot:
    """Objects with kinds, owners and labels; ``edges()`` yields every held key."""

    def __init__(self, kernel) -> None:
        k = self.kernel = kernel
        objs = k.objs
        live = k.live
        self.console = k.console.root
        self.kind: dict[int, str] = {}
        self.owner: dict[int, int] = {}  # folded node -> domain vertex
        self.slot_kind: dict[int, str] = {}  # node -> kind of its slots when folded
        roots = {r for r in k.domains if objs[r] is not None}
        meters, segments = {k.prime_meter}, set()
        for obj in objs:
            if obj is None or obj.kind != "node":
                continue
            for key in obj.slots:
                t = key.type
                if t in (START, RESUME, DOMAIN):
                    roots.add(key.obj)
                elif t == METER:
                    meters.add(key.obj)
                elif t in (SEGMENT, FRONTEND):
                    segments.add(key.obj)
        for root in sorted(roots):
            node = objs[root]
            if node is None or node.kind != "node":
                continue
            self.kind[root] = "domain"
            for slot, kind in ((KEYS_NODE, "key_register"), (REGS_NODE, "register")):
                sub = live(node.slots[slot])
                if sub.type == NODE and sub.obj not in roots and sub.obj != root:
                    self.owner.setdefault(sub.obj, root)
                    self.slot_kind.setdefault(sub.obj, kind)
        for ring in k.console.ring_nodes:
            self.owner[ring] = self.console
            self.slot_kind[ring] = "ring"
        for obj in objs:
            if obj is None or obj.id in self.kind or obj.id in self.owner:
                continue
            if obj.kind == "page":
                self.kind[obj.id] = "page"
            elif obj.id in meters:
                self.kind[obj.id] = "meter"
            elif obj.id in segments:
                self.kind[obj.id] = "segment"
            else:
                self.kind[obj.id] = "node"

    def target(self, key: Key):
        """The graph vertex a key designates (folded nodes map to their domain)."""
        if key.type in OBJECT_TYPES:
            return self.owner.get(key.obj, key.obj)
        return ref_misc_vertex(key)

    def label(self, oid: int) -> str:
        k = self.kernel
        label = k.store.labels.get(oid)
        if label:
            return label
        ds = k.domains.get(oid)
        if ds is not None and ds.program:
            return f"{ds.program} #{oid}"
        return f"{self.kind.get(oid, 'object')} #{oid}"

    def domain_info(self, root: int) -> dict:
        k = self.kernel
        ds = k.domains.get(root)
        nodes = [root] + sorted(n for n, d in self.owner.items() if d == root)
        program = (ds.program if ds else None) or k.program_image(root) or ""
        return {
            "nodes": nodes,
            "state": STATE_NAMES[ds.state] if ds else "available",
            "program": program,
        }

    def edges(self):
        """(holder vertex, target vertex, key, slot, slot kind) for every held key."""
        k = self.kernel
        live = k.live
        for obj in k.objs:
            if obj is None or obj.kind != "node":
                continue
            oid = obj.id
            holder = self.owner.get(oid, oid)
            if oid in self.owner:
                skind = self.slot_kind[oid]
                kinds = None
            elif self.kind.get(oid) == "domain":
                skind, kinds = None, SLOT_KINDS
            else:
                skind, kinds = "slot", None
            for slot, raw in enumerate(obj.slots):
                key = live(raw)
                t = key.type
                if t == DATA or t == HOOK:
                    continue
                sk = kinds.get(slot, "slot") if kinds is not None else skind
                if oid in self.owner and sk == "ring" and slot == RING_PER_NODE:
                    continue  # the ring's own link
                if t == NODE and self.owner.get(key.obj) == holder:
                    continue  # a link inside the folded domain, not a held key
                yield holder, self.target(key), key, slot, sk
        for root, ds in k.domains.items():
            if not ds.held or ds is k.console.state or k.objs[root] is None:
                continue
            for raw in ds.held:
                key = live(raw)
                if key.type in (DATA, HOOK):
                    continue
                yield root, self.target(key), key, -1, "transient"


def ref_capability_graph(kernel) -> nx.MultiDiGraph:
    snap = RefSnapshot(kernel)
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


def ref_objects(kernel) -> pd.DataFrame:
    import numpy as np

    snap = RefSnapshot(kernel)
    ids, kinds, labels, owners, allocs, states, parked = [], [], [], [], [], [], []
    for obj in kernel.objs:
        if obj is None:
            continue
        ids.append(obj.id)
        kind = snap.kind.get(obj.id)
        owner = snap.owner.get(obj.id, -1)
        kinds.append(kind if kind else "domain_part")
        labels.append(snap.label(obj.id) if kind else snap.label(owner) + " part")
        owners.append(owner)
        allocs.append(obj.alloc)
        ds = kernel.domains.get(obj.id) if kind == "domain" else None
        states.append(STATE_NAMES[ds.state] if ds is not None else "")
        parked.append(ds.parked or "" if ds is not None else "")
    kind_cats = ["page", "node", "segment", "meter", "domain", "domain_part"]
    return pd.DataFrame(
        {
            "id": np.array(ids, dtype=np.int64),
            "kind": pd.Categorical(kinds, categories=kind_cats),
            "label": pd.array(labels, dtype="string"),
            "domain": np.array(owners, dtype=np.int64),
            "alloc": np.array(allocs, dtype=np.int64),
            "state": pd.Categorical(states, categories=["", *STATE_NAMES.values()]),
            "parked": pd.array(parked, dtype="string"),
        }
    )


# ------------------------------------------------------------------ the comparison
def _order(x: Hashable) -> tuple[int, Any]:
    return (0, x) if isinstance(x, int) else (1, str(x))


def canonical(G: nx.MultiDiGraph) -> tuple[list, list]:
    """Nodes with attributes and edges with keys and attributes, sorted."""
    nodes = sorted(
        ((n, sorted(d.items())) for n, d in G.nodes(data=True)), key=lambda r: _order(r[0])
    )
    edges = sorted(
        (
            (
                u,
                v,
                key,
                sorted(
                    (a, repr(sorted(b)) if isinstance(b, frozenset) else b) for a, b in d.items()
                ),
            )
            for u, v, key, d in G.edges(keys=True, data=True)
        ),
        key=lambda r: (_order(r[0]), _order(r[1]), r[2]),
    )
    return nodes, edges


def assert_same(kernel) -> nx.MultiDiGraph:
    """The graph and the object table are exactly the reference's; the graph."""
    new, old = capability_graph(kernel), ref_capability_graph(kernel)
    assert type(new) is type(old)
    assert new.graph == old.graph
    assert canonical(new) == canonical(old)
    # stronger: the same order of nodes and edges, the same attribute dicts
    assert list(new.nodes(data=True)) == list(old.nodes(data=True))
    assert list(new.edges(keys=True, data=True)) == list(old.edges(keys=True, data=True))
    pd.testing.assert_frame_equal(objects(kernel), ref_objects(kernel), check_exact=True)
    return new


# ------------------------------------------------------------------ the systems
def test_fresh_kernel():
    G = assert_same(kl.Kernel())
    assert G.number_of_nodes() > 10


def booted_system() -> kl.Kernel:
    """Factories, red segments, domains of several programs, one of them waiting in a
    handler that holds keys (transient edges), a revoked page, a sub-bank."""
    import programs_for_tests  # noqa: F401  (registers t-stasher)

    k = kl.Kernel()
    con = k.console
    bank = con["bank"]
    pages = [con.call(bank, oc.SB.CreatePage).keys[0] for _ in range(3)]
    echo = kl.build_domain(con, "echo")
    echo_start = kl.start_key(con, echo)
    kl.build_domain(con, "counter", keys={0: pages[0]})
    kl.build_factory(con, "echo", holes={0: pages[1]})
    ro_page = con.call(pages[0], oc.Page.MakeReadOnlyKey).keys[0]
    kl.build_factory(con, "counter", components={0: ro_page}, holes={1: echo_start})
    seg = kl.build_red_segment(con, pages[:2], databyte=0x80)
    kl.build_red_segment(con, [kl.image(con, "echo")], keeper=echo_start)
    kl.build_domain(con, "echo", memory=seg.key)
    sub = con.call(bank, oc.SB.CreateBank).keys[0]
    for _ in range(3):
        kl.build_domain(con, memory=kl.image(con, "echo"))
    con.call(sub, oc.SB.CreateNode)
    stash = kl.build_domain(con, "t-stasher")
    proxy = kl.build_domain(con, "proxy", keys={0: kl.start_key(con, stash, 0)})
    con.fork(kl.start_key(con, proxy), 1, pages[2])
    con.run()
    for i in range(3):
        con.call(echo_start, i, pages[0], data=bytes(i))
    gone = con.call(bank, oc.SB.CreatePage).keys[0]
    con.call(bank, oc.SB.DestroyPage, gone)
    return k


def test_booted_system_with_factories_and_red_segments():
    k = booted_system()
    G = assert_same(k)
    kinds = {d["kind"] for _, d in G.nodes(data=True)}
    assert {"domain", "page", "node", "segment", "meter", "misc"} <= kinds
    slot_kinds = {d["slot_kind"] for *_, d in G.edges(data=True)}
    assert {"transient", "ring", "key_register", "register"} & slot_kinds >= {"transient", "ring"}
    multi = [d["nodes"] for _, d in G.nodes(data=True) if d["kind"] == "domain"]
    assert any(len(nodes) == 3 for nodes in multi)  # root, keys node, registers node


def test_keynix():
    from keykos_lab.system import KeyNIX

    knx = KeyNIX()
    knx.spawn("/bin/sh", ["sh", "-c", "echo one two | cat | cat"])
    pid = knx.spawn("/bin/echo", ["echo", "hi"])
    knx.run()
    assert knx.status(pid)[0] == "zombie"
    G = assert_same(knx.kernel)
    assert G.number_of_nodes() > 100


def test_many_domains_share_the_console_ring():
    k = kl.Kernel()
    con = k.console
    img = kl.image(con, "echo")
    for _ in range(60):
        kl.build_domain(con, memory=img)
    G = assert_same(k)
    assert len(G.nodes[con.root]["nodes"]) > 10  # the console's ring nodes


# Hypothesis: systems made by random console operations (the kernel state machine's).
from test_invariants import SCRIPT, Driver, apply, setup_script  # noqa: E402


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(script=SCRIPT, seed=st.sampled_from([None, 3]))
def test_random_console_operations(script, seed):
    drv = Driver(seed)
    for op in setup_script() + script:
        apply(drv, op)
    assert_same(drv.k)


def test_the_comparison_sees_a_difference():
    """The check is not vacuous: a graph with one attribute changed differs."""
    k = booted_system()
    G = capability_graph(k)
    node = next(n for n, d in G.nodes(data=True) if d["kind"] == "domain" and len(d["nodes"]) > 1)
    G.nodes[node]["nodes"] = G.nodes[node]["nodes"][:1]
    assert canonical(G) != canonical(ref_capability_graph(k))
