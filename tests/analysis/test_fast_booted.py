"""The fast engine equals the reference on booted systems (issue 22): a ``kl.Kernel()``
with a few domains, nodes, banks, DCs and keys built by ordinary console calls.

Summary vertices (what a bank, DC, DCC, KIDC or FCC makes) are named after the client
group they were made for; the reference names them after the class that asked first,
so targets are compared with that name dropped (``("new", creator)``)."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import keykos_lab as kl
from keykos_lab import analysis, oc
from keykos_lab.analysis.convert import KEY_TYPES, to_csr
from keykos_lab.analysis.fast_booted import BootedAuthority
from keykos_lab.programs.primordial.dc import DC, DCC

OPS = (
    "node",
    "page",
    "domain",
    "start",
    "swap",
    "fetch",
    "sense",
    "keeper",
    "reg",
    "dc",
    "bank",
    "segment",
    "fault",
    "factory",
)


def canon(v):
    """A summary's name without the client it was made for."""
    return (v[0], canon(v[1])) if isinstance(v, tuple) else v


def build(k, ops):
    """Apply ``ops`` (op, a, b, c) to a booted kernel with console calls; keys kept in
    the console's ring and, through the ops, in nodes and domains."""
    con = k.console
    pool = [("bank", con["bank"]), ("meter", con["meter"]), ("tool", con["domtool"])]
    dcs = []
    factories = []

    def pick(kind, a):
        found = [h for t, h in pool if t == kind]
        return found[a % len(found)] if found else None

    for op, a, b, c in ops:
        name = OPS[op % len(OPS)]
        any_key = pool[b % len(pool)][1]
        if name == "node":
            bank = pick("bank", a)
            pool.append(("node", con.call(bank, oc.SB.CreateNode).keys[0]))
        elif name == "page":
            pool.append(("page", con.call(pick("bank", a), oc.SB.CreatePage).keys[0]))
        elif name == "domain":
            keys = {i: pool[(b + 7 * i) % len(pool)][1] for i in range(c % 3)}
            if dcs and a % 2:
                dom = con.call(dcs[a % len(dcs)], DC.CreateDomain, con["bank"]).keys[0]
                for i, h in keys.items():
                    con.call(dom, oc.Domain.SwapKey + i, h)
            else:
                dom = kl.build_domain(con, None, keys=keys)
            pool.append(("domain", dom))
        elif name == "start" and (dom := pick("domain", a)) is not None:
            pool.append(("start", kl.start_key(con, dom, c % 3)))
        elif name == "swap" and (node := pick("node", a)) is not None:
            con.call(node, oc.Node.Swap + c % 16, any_key)
        elif name in ("fetch", "sense") and (node := pick("node", a)) is not None:
            order = oc.Node.MakeFetchKey if name == "fetch" else oc.Node.MakeSenseKey
            pool.append((name, con.call(node, order).keys[0]))
        elif name == "keeper" and (dom := pick("domain", a)) is not None:
            if (start := pick("start", b)) is not None:
                con.call(dom, oc.Domain.SwapKeeper, start)
        elif name == "reg" and (dom := pick("domain", a)) is not None:
            con.call(dom, oc.Domain.SwapKey + c % 4, any_key)
        elif name == "dc" and len(dcs) < 2:
            dc = con.call(con["dcc"], DCC.Create, con["bank"], con["meter"]).keys[0]
            dcs.append(dc)
            pool.append(("dc", dc))
        elif name == "bank":
            pool.append(("bank", con.call(pick("bank", a), oc.SB.CreateBank).keys[0]))
        elif name == "segment" and (page := pick("page", a)) is not None:
            keeper = pick("start", b) if c % 2 else any_key
            seg = kl.build_red_segment(con, [page], keeper=keeper, databyte=c % 3 * 0x40)
            pool += [("segment", seg.key), ("node", seg.node)]
            if (dom := pick("domain", b)) is not None and c % 4 < 2:
                con.call(dom, oc.Domain.SwapMemory, seg.key)
        elif name == "fault" and (dom := pick("domain", a)) is not None:
            pool.append(("fault", con.call(dom, oc.Domain.MakeFaultKey).keys[0]))
        elif name == "factory" and not factories:
            holes = {0: any_key} if c % 2 else {}
            sense = pick("sense", a)
            components = {1: sense} if sense is not None and c % 3 == 0 else {}
            f = kl.build_factory(con, "echo", holes=holes, components=components)
            factories.append(f)
            pool += [("builder", f.builder), ("requestor", f.requestor), ("fetcher", f.fetcher)]
    return k


def disagreements(k, drop=0):
    """Per domain, the keys one engine finds and the other does not. ``drop``: a bit
    mask of the console's ring keys to leave out of the graph (the console holds every
    key it was given, which would make every domain it built hold everything)."""
    G = k.capability_graph()
    ring = [
        (u, v, key)
        for u, v, key, d in G.out_edges(k.console.root, keys=True, data=True)
        if d.get("slot_kind") == "ring"
    ]
    G.remove_edges_from([e for i, e in enumerate(ring) if drop >> (i % 60) & 1])
    csr = to_csr(G)
    closure = analysis.Closure(G)
    engine = BootedAuthority(csr)
    out = {}
    for s in (v for v in G if G.nodes[v]["kind"] == "domain"):
        ref = {(canon(t), kt, db) for t, kt, db in closure.held(s)}
        rows = engine.authority(csr.index_of(s)).tolist()
        fast = {(canon(engine.csr.vertices[t]), KEY_TYPES[kt], db) for t, kt, db in rows}
        if ref != fast:
            out[s] = (ref - fast, fast - ref)
    return out


ops = st.lists(
    st.tuples(
        st.integers(0, len(OPS) - 1),
        st.integers(0, 50),
        st.integers(0, 50),
        st.integers(0, 50),
    ),
    max_size=20,
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops, st.integers(0, 2**60 - 1))
def test_booted_authority_equals_the_reference(ops, drop):
    k = build(kl.Kernel(), ops)
    assert disagreements(k, drop) == {}


def test_a_booted_kernel_and_its_console():
    k = kl.Kernel()
    assert disagreements(k) == {}
    con = k.console
    engine = BootedAuthority(to_csr(k.capability_graph()))
    rows = engine.authority(engine.csr.index_of(con.root))
    targets = {canon(engine.csr.vertices[t]) for t in rows[:, 0].tolist()}
    assert ("new", con.target(con["bank"])) in targets  # the bank sells fresh nodes


def test_the_public_api_answers_booted_systems():
    k = build(kl.Kernel(), [(2, 0, 0, 2), (0, 0, 0, 0), (4, 0, 3, 1)])
    G = k.capability_graph()
    root = k.console.root
    fast = analysis.authority(to_csr(G), root)
    ref = analysis.authority(G, root)
    key = ["key_type", "databyte"]
    assert len(fast) > 0
    assert set(map(tuple, fast[key].astype({"key_type": str}).to_numpy().tolist())) == set(
        map(tuple, ref[key].astype({"key_type": str}).to_numpy().tolist())
    )
    with pytest.raises(ValueError, match="system programs"):
        analysis.flows(to_csr(G), [root])
