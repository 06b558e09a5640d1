"""Red team of the fast engine's flows and confinement on booted systems (issue 22).

Each finding was a small deterministic system on which ``engine="csr"`` (a
``CapabilityCSR``) and the reference (the networkx graph) disagreed; all four are fixed
and their tests hold. The other tests are attacks that held.

Systems are built with console calls on a ``kl.Kernel()``; the console's key ring is left
out of the graph (it holds every key it was given, which would join everything)."""

import dataclasses
import random

import numpy as np
import pytest

import keykos_lab as kl
from keykos_lab import analysis, oc
from keykos_lab.analysis.convert import CapabilityCSR, to_csr
from keykos_lab.analysis.summaries import origin
from keykos_lab.programs.factories.factory import FactoryB
from keykos_lab.programs.primordial.dc import DC, DCC
from keykos_lab.programs.primordial.kid import KID, KIDC
from keykos_lab.system.factories import factory_creator


def _graph(k):
    """The capability graph without the console's key ring."""
    G = k.capability_graph()
    G.remove_edges_from(
        [
            (u, v, key)
            for u, v, key, d in G.out_edges(k.console.root, keys=True, data=True)
            if d.get("slot_kind") == "ring"
        ]
    )
    return G


def _leakers(verdict):
    return {origin(path[-1]) for path in verdict.leaks}


def _verdicts(G, subject, allowed=()):
    ref = analysis.confinement(G, subject, allowed=set(allowed))
    fast = analysis.confinement(to_csr(G), subject, allowed=set(allowed))
    return (ref.confined, _leakers(ref)), (fast.confined, _leakers(fast))


def _flows(G, subjects):
    ref = analysis.flows(G, subjects)
    fast = analysis.flows(to_csr(G), subjects)
    return ref, fast


def _page(con):
    return con.call(con["bank"], oc.SB.CreatePage).keys[0]


# ------------------------------------------------------------------------------ findings
@pytest.mark.parametrize("keeper", ["bank", "sbt", "kidc"])
def test_a_key_left_in_a_red_node_kept_by_a_system_program(keeper):
    """Finding 1 (was unsound, fixed): d2 calls its red segment (keeper: the bank's, SBT's
    or KIDC's start key), which leaves its read-write page key in the node; d0 fetches it
    from the node and writes the page, which d5 reads. The reference: d0 leaks to d5 (d2
    allowed); the fast engine said confined, as it counted only start keys to free
    domains as taking the message (FastAuthority._keeper_channels)."""
    k = kl.Kernel()
    con = k.console
    page = _page(con)
    ro = con.call(page, oc.Page.MakeReadOnlyKey).keys[0]
    seg = kl.build_red_segment(con, [_page(con)], keeper=con[keeper])
    fetch = con.call(seg.node, oc.Node.MakeFetchKey).keys[0]
    d2 = con.target(kl.build_domain(con, None, keys={0: seg.key, 1: page}))
    d5 = con.target(kl.build_domain(con, None, keys={0: ro}))
    d0 = con.target(kl.build_domain(con, None, keys={0: fetch}))
    G = _graph(k)
    ref, fast = _verdicts(G, d0, allowed={d2})
    assert ref == (False, {d5})  # the reference's answer: the leak is real to it
    assert fast == ref


def test_a_key_left_in_a_red_node_flow_matrix():
    """Finding 1 as a flow matrix, on a graph built by hand."""
    k = kl.Kernel()
    G = _graph(k)
    bank = k.console.target(k.console["bank"])
    for d in ("d0", "d2", "d5"):
        G.add_node(d, kind="domain", label=d, program="")
    G.add_node("x", kind="node", label="x")
    G.add_node("P", kind="page", label="P")
    edges = [
        ("x", bank, "start", 0, 14, "slot"),
        ("d2", "x", "segment", 0, 0, "key_register"),
        ("d2", "P", "page", 0, 1, "key_register"),
        ("d5", "P", "page", 0x80, 0, "key_register"),
        ("d0", "x", "fetch", 0, 0, "key_register"),
    ]
    for u, v, kt, db, slot, sk in edges:
        G.add_edge(u, v, key_type=kt, databyte=db, slot=slot, slot_kind=sk)
    ref, fast = _flows(G, ["d0", "d2", "d5"])
    assert bool(ref.loc["d0", "d5"])  # d0 writes the page d2 left it
    assert bool(fast.loc["d0", "d5"])


def test_a_creator_called_through_a_red_segment():
    """Finding 2 (was imprecise, fixed): an FCC reached only as a red segment's keeper
    makes a creator for the caller, but gives it its ordinal in the reference only when
    some subject holds a key to the FCC (flow._factory_flows); the fast engine linked
    every creator to all it made."""
    k = kl.Kernel()
    con = k.console
    seg = kl.build_red_segment(con, [_page(con)], keeper=con["fcc"])
    d0 = con.target(kl.build_domain(con, None, keys={0: seg.key}))
    fcc = con.target(con["fcc"])
    G = _graph(k)
    ref, fast = _flows(G, [fcc, d0])
    assert not ref.loc[fcc, d0]
    assert fast.equals(ref)
    ref_v, fast_v = _verdicts(G, fcc)
    assert fast_v == ref_v


def test_a_frontend_key_seen_through_a_sense_key():
    """Finding 3 (was imprecise, fixed): through a sense key the fast engine read what a
    frontend key below reads; its sensory version is no key (schema.sensory), so the
    reference sees no flow. The flow graph now has a sensory reader per group."""
    k = kl.Kernel()
    con = k.console
    page = _page(con)
    n1 = con.call(con["bank"], oc.SB.CreateNode).keys[0]
    con.call(n1, oc.Node.Swap + 0, page)
    frontend = con.call(n1, oc.Node.MakeFrontendKey).keys[0]
    n2 = con.call(con["bank"], oc.SB.CreateNode).keys[0]
    con.call(n2, oc.Node.Swap + 0, frontend)
    sense = con.call(n2, oc.Node.MakeSenseKey).keys[0]
    writer = con.target(kl.build_domain(con, None, keys={0: page}))
    reader = con.target(kl.build_domain(con, None, keys={0: sense}))
    G = _graph(k)
    ref, fast = _flows(G, [writer, reader])
    assert not ref.loc[writer, reader]
    assert fast.equals(ref)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("key_type", 60),
        ("slot_kind", 60),
        ("kind", 9),
        ("indices", "n+5"),
        ("indices", -1),
        ("databyte", 300),
        ("databyte", -1),
        ("indptr", "decreasing"),
        ("key_type", "float"),
        ("slot", 40_000),
        ("rights", 70_000),
    ],
)
def test_hostile_csr_arrays_give_a_clear_error(field, value):
    """Finding 4 (fixed): a CapabilityCSR checks its arrays when it is made, so codes,
    vertex positions and databytes out of range are a clear ValueError, not an IndexError
    deep in an engine (nor a databyte wrapped into the key type's bits, nor a slot or a
    rights mask wrapped by the dtype)."""
    k = kl.Kernel()
    con = k.console
    kl.build_domain(con, None, keys={0: con["bank"]})
    csr = to_csr(_graph(k))
    arrays = {f.name: getattr(csr, f.name) for f in dataclasses.fields(csr) if f.init}
    bad = arrays[field].astype(np.float64 if value == "float" else np.int64)
    if value == "decreasing":
        bad[1], bad[2] = bad[2], bad[1] - 1
    elif value == "float":
        bad[-1] += 0.5
    else:
        bad[-1] = csr.n_vertices + 5 if value == "n+5" else value
    arrays[field] = bad
    with pytest.raises(ValueError, match="CapabilityCSR"):
        CapabilityCSR(**arrays)


# ------------------------------------------------------------------- attacks that held
def _factory_cases(con):
    d = kl.build_domain(con, None)
    start = kl.start_key(con, d)
    inner = kl.build_factory(con, "echo")
    node = con.call(con["bank"], oc.SB.CreateNode).keys[0]
    con.call(node, oc.Node.Swap + 0, start)
    sense = con.call(node, oc.Node.MakeSenseKey).keys[0]
    kid = con.call(con["kidc"], KIDC.Create, con["bank"], con["meter"]).keys[0]
    con.call(kid, KID.AddEntry, start)
    dc = con.call(con["dcc"], DCC.Create, con["bank"], con["meter"]).keys[0]
    seg = kl.build_red_segment(con, [_page(con)], keeper=start)
    return {
        "nested factory": {"components": {2: inner.requestor}},
        "sensed gate": {"components": {3: sense}},
        "keeper hole": {"holes": {16: start}},
        "kid hole": {"holes": {3: kid}},
        "segment hole": {"holes": {3: seg.key}},
        "domain hole": {"holes": {3: d}},
        "dc hole": {"holes": {3: dc}},
        "kidc hole": {"holes": {3: con["kidc"]}},
        "fcc hole": {"holes": {3: con["fcc"]}},
        "fc hole": {"holes": {3: factory_creator(con)}},
    }


@pytest.mark.parametrize(
    "case",
    [
        "nested factory",
        "sensed gate",
        "keeper hole",
        "kid hole",
        "segment hole",
        "domain hole",
        "dc hole",
        "kidc hole",
        "fcc hole",
        "fc hole",
    ],
)
def test_factory_verdicts_held(case):
    """A kernel's factory verdict by the fast engine: the reference's answer, holes and
    parties, for factories the generator never builds."""
    k = kl.Kernel()
    con = k.console
    f = kl.build_factory(con, "echo", **_factory_cases(con)[case])
    ref = analysis.confinement(k, f.requestor)
    fast = analysis.confinement(k, f.requestor, engine="csr")
    assert (fast.confined, fast.holes, _leakers(fast)) == (
        ref.confined,
        ref.holes,
        _leakers(ref),
    )


def _keeper_gate(con, which):
    if which == "kid":
        return con.call(con["kidc"], KIDC.Create, con["bank"], con["meter"]).keys[0]
    if which == "requestor":
        return kl.build_factory(con, "echo").requestor
    if which == "dc":
        return con.call(con["dcc"], DCC.Create, con["bank"], con["meter"]).keys[0]
    return con[which]


@pytest.mark.parametrize("which", ["kid", "requestor", "dc", "kidc", "dcc"])
def test_system_programs_as_keepers_held(which):
    """A domain whose keeper is a system program, and a red segment whose keeper slot
    holds one (a KID passes messages on; the others do not): the same flows and verdicts.
    (A reader of the red node as well finds finding 1: it misses the caller's keys left
    in the node.)"""
    k = kl.Kernel()
    con = k.console
    gate = _keeper_gate(con, which)
    page = _page(con)
    ro = con.call(page, oc.Page.MakeReadOnlyKey).keys[0]
    faulter = kl.build_domain(con, None, keeper=gate, keys={0: page})
    seg = kl.build_red_segment(con, [_page(con)], keeper=gate)
    caller = kl.build_domain(con, None, keys={0: seg.key, 1: ro})
    G = _graph(k)
    doms = [con.target(h) for h in (faulter, caller)]
    ref, fast = _flows(G, doms)
    assert fast.equals(ref)
    for s in doms:
        ref_v, fast_v = _verdicts(G, s)
        assert fast_v == ref_v, s


def test_allowed_summaries_and_odd_values_held():
    """``allowed`` holding summaries (what a DC made for someone), a yield's name, None,
    a huge int and a string that names nothing: the same verdicts; a page or a name that
    is no vertex as the subject is refused by both engines. (A summary as the subject is
    answered by the fast engine, refused by the reference: by design, a yield can be one.)"""
    k = kl.Kernel()
    con = k.console
    dc = con.call(con["dcc"], DCC.Create, con["bank"], con["meter"]).keys[0]
    made = con.call(dc, DC.CreateDomain, con["bank"]).keys[0]
    a = kl.build_domain(con, None, keys={0: dc, 1: _page(con)})
    b = kl.build_domain(con, None, keys={0: kl.start_key(con, made)})
    G = _graph(k)
    s, t = con.target(a), con.target(b)
    dcv = con.target(dc)
    odd = [("new", dcv, s), ("new", dcv, t), ("yield", 1, 2), None, 10**30, "nobody"]
    for allowed in ([], odd, [t, *odd]):
        for subject in (s, t):
            ref_v, fast_v = _verdicts(G, subject, allowed)
            assert fast_v == ref_v, (subject, allowed)
    page = next(v for v in G if G.nodes[v]["kind"] == "page")
    for subject in (page, "nobody"):
        with pytest.raises(ValueError, match="not a domain"):
            analysis.confinement(to_csr(G), subject)
        with pytest.raises(ValueError, match="not a domain"):
            analysis.confinement(G, subject)


def _random_system(seed, n_ops=24):
    """A booted kernel built by ``n_ops`` random console calls the Hypothesis generator
    does not make: SBT, KIDC, FCC and FC keys in registers, KID entries, domains made by
    DCs, factory copies, return keys, keepers and red segment keepers that are gates to
    system programs and facets."""
    rng = random.Random(seed)
    k = kl.Kernel()
    con = k.console
    pool = [
        ("bank", con["bank"]),
        ("sbt", con["sbt"]),
        ("dcc", con["dcc"]),
        ("kidc", con["kidc"]),
        ("fcc", con["fcc"]),
        ("meter", con["meter"]),
    ]
    gates = ("start", "bank", "sbt", "dcc", "kidc", "fcc", "fc", "kid", "dc", "req")
    gates += ("builder", "fetcher", "copy", "fault", "resume")
    factories = 0

    def pick(*kinds):
        found = [h for t, h in pool if t in kinds]
        return rng.choice(found) if found else None

    for _ in range(n_ops):
        op = rng.choice(
            "domain domain start node page swap fetch sense keeper reg dc dcdom kid kidadd "
            "factory seg mem fc copy ret".split()
        )
        d = pick("domain")
        if op == "domain":
            keys = {i: rng.choice(pool)[1] for i in range(rng.randint(0, 3))}
            pool.append(("domain", kl.build_domain(con, None, keys=keys)))
        elif op == "start" and d is not None:
            pool.append(("start", kl.start_key(con, d, rng.choice([0, 0, 1, 2, 3]))))
        elif op == "ret" and d is not None:
            pool.append(("resume", con.call(d, oc.Domain.MakeReturnKey).keys[0]))
        elif op in ("node", "page"):
            order = oc.SB.CreateNode if op == "node" else oc.SB.CreatePage
            pool.append((op, con.call(con["bank"], order).keys[0]))
        elif op == "swap" and (n := pick("node")) is not None:
            con.call(n, oc.Node.Swap + rng.randrange(16), rng.choice(pool)[1])
        elif op in ("fetch", "sense") and (n := pick("node")) is not None:
            order = oc.Node.MakeFetchKey if op == "fetch" else oc.Node.MakeSenseKey
            pool.append((op, con.call(n, order).keys[0]))
        elif op == "keeper" and d is not None and (g := pick(*gates)) is not None:
            con.call(d, oc.Domain.SwapKeeper, g)
        elif op == "reg" and d is not None:
            con.call(d, oc.Domain.SwapKey + rng.randrange(4), rng.choice(pool)[1])
        elif op == "dc":
            dc = con.call(con["dcc"], DCC.Create, con["bank"], con["meter"]).keys[0]
            pool.append(("dc", dc))
        elif op == "dcdom" and (dc := pick("dc")) is not None:
            made = con.call(dc, DC.CreateDomain, con["bank"]).keys[0]
            for i in range(rng.randint(0, 2)):
                con.call(made, oc.Domain.SwapKey + i, rng.choice(pool)[1])
            pool.append(("domain", made))
        elif op == "kid":
            kid = con.call(con["kidc"], KIDC.Create, con["bank"], con["meter"]).keys[0]
            pool.append(("kid", kid))
        elif op == "kidadd" and (kid := pick("kid")) is not None:
            con.call(kid, KID.AddEntry, rng.choice(pool)[1])
        elif op == "factory" and factories < 2:
            holes = {0: rng.choice(pool)[1]} if rng.random() < 0.4 else {}
            sensed = pick("sense", "req")
            components = {1: sensed} if sensed is not None and rng.random() < 0.5 else {}
            f = kl.build_factory(con, "echo", holes=holes, components=components)
            factories += 1
            pool += [("builder", f.builder), ("req", f.requestor), ("fetcher", f.fetcher)]
        elif op == "fc":
            pool.append(("fc", factory_creator(con)))
        elif op == "copy" and (b := pick("builder")) is not None:
            r = con.call(b, FactoryB.MakeCopy)
            if r.rc == 0:
                pool.append(("copy", r.keys[0]))
        elif op == "seg" and (p := pick("page")) is not None:
            keeper = pick(*gates) if rng.random() < 0.8 else None
            db = rng.choice([0, 0, 0x80, 0x40])
            seg = kl.build_red_segment(con, [p], keeper=keeper, databyte=db)
            pool += [("segment", seg.key), ("node", seg.node)]
        elif op == "mem" and d is not None and (s := pick("segment")) is not None:
            con.call(d, oc.Domain.SwapMemory, s)
    return k


@pytest.mark.parametrize("seed", range(8))
def test_random_booted_systems_held(seed):
    """Flow matrices and every domain's verdict on random console-built systems."""
    G = _graph(_random_system(seed))
    doms = [v for v in G if G.nodes[v]["kind"] == "domain"]
    ref, fast = _flows(G, doms)
    assert fast.equals(ref)
    csr = to_csr(G)
    for s in doms:
        r = analysis.confinement(G, s)
        f = analysis.confinement(csr, s)
        assert (f.confined, _leakers(f)) == (r.confined, _leakers(r)), s


def test_odd_databytes_are_refused():
    """Databytes out of a byte's range (-1, 300) in every key: refused when the CSR is
    made (they would wrap into the key type's bits where the engine packs a key)."""
    k = kl.Kernel()
    con = k.console
    kl.build_domain(con, None, keys={0: con["bank"]})
    csr = to_csr(_graph(k))
    for value in (-1, 300):
        with pytest.raises(ValueError, match="databyte"):
            CapabilityCSR(
                csr.vertices,
                csr.kind,
                csr.indptr,
                csr.indices,
                csr.key_type,
                np.full(csr.n_edges, value),
                csr.slot,
                csr.slot_kind,
                csr.rights,
                csr.sensory,
                csr.label,
                csr.program,
            )


def test_an_empty_tuple_vertex_is_a_vertex_not_a_summary():
    """Summaries are tuples; a graph's own vertex may be one too, even an empty one:
    both engines answer (origin() used to index into it)."""
    import networkx as nx

    G = nx.MultiDiGraph()
    for v in ((), "b"):
        G.add_node(v, kind="domain", program="")
    G.add_node(7, kind="page")
    G.add_edge("b", 7, key_type="page", databyte=0, slot=0, slot_kind="key_register")
    G.add_edge((), 7, key_type="page", databyte=0x80, slot=0, slot_kind="key_register")
    ref = analysis.confinement(G, "b")
    fast = analysis.confinement(to_csr(G), "b")
    assert (ref.confined, _leakers(ref)) == (fast.confined, _leakers(fast)) == (False, {()})
