"""Keeper channels (docs/analyses.md#analyses-keepers): segment faults, dry meters,
traps and calls on red segment keys.

Each kernel test builds the scenario with the console's recipes, takes the capability
graph *before* anything runs (without the console: docs/analyses.md#analyses-console),
runs the kernel so the channel is really used, shows it in the event log and the state,
and checks that ``authority``, ``can_flow`` and ``confinement`` predicted it on the
graph taken before. The hand-built graphs below check the same rules on the schema the
readers write, on both engines; the property test at the end checks that the engines
agree on generated systems with keepers, meters and red segments added.
"""

from __future__ import annotations

import random
import struct

import networkx as nx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import keykos_lab as kl
from keykos_lab import analysis, oc
from keykos_lab.analysis.convert import KEY_TYPES, to_csr
from keykos_lab.analysis.fast import FastAuthority
from keykos_lab.views.schema import is_sensory, rights_of

FAULT_ADDRESS = 0x3A5A  # the address the prober chooses: nothing is mapped there
KEEPER_ORDER = 0xFFFFFFFF  # kernel/oc.py Keeper.Segment and Keeper.Meter
CODE = {name: i for i, name in enumerate(KEY_TYPES)}


# ------------------------------------------------------------------ programs
@kl.program("t-kc-prober")
def prober(dom, msg):
    """Reads a byte at the address its message's order names."""
    yield dom.read(msg.order, 1)
    yield dom.return_(msg.resume, rc=0)


@kl.program("t-kc-keeper")
def keeper(dom, msg):
    """A keeper that writes what the kernel told it (the string: a fault's code and
    address, or the time a meter ran dry) into the page in key register 0, keeps the
    two keys it was handed in registers 1 and 2, counts calls in register 0 and does
    not restart the domain."""
    yield dom.call(dom.keys[0], oc.Page.WriteData, data=msg.data[:8])
    dom.keys[1] = msg.keys[2]
    dom.keys[2] = msg.keys[3]
    dom.regs[0] = dom.regs[0] + 1
    dom.regs[1] = msg.order


@kl.program("t-kc-traplogger")
def trap_logger(dom, msg):
    """A domain keeper that keeps the fault key and the domain key it is handed (registers
    1 and 2) and does not resume the domain."""
    dom.keys[1] = msg.keys[3]
    dom.keys[2] = msg.keys[2]
    return
    yield


@kl.program("t-kc-installer")
def installer(dom, msg):
    """Installs the start key in register 1 as the keeper of the domain whose domain key
    is in register 0, then calls that domain (start key in register 2)."""
    yield dom.call(dom.keys[0], oc.Domain.SwapKeeper, dom.keys[1])
    yield dom.call(dom.keys[2], 0)
    yield dom.return_(msg.resume, rc=0)


@kl.program("t-kc-caller")
def caller(dom, msg):
    """Calls the key in register 0 (a red segment key) with the order it was sent."""
    yield dom.call(dom.keys[0], msg.order, data=b"hello")
    yield dom.return_(msg.resume, rc=0)


# ------------------------------------------------------------------- helpers
def new_page(con):
    return con.call(con["bank"], oc.SB.CreatePage).keys[0]


def before(k):
    """The graph before the run, without the console."""
    G = k.capability_graph()
    G.remove_node(k.console.root)
    return G


def rows(df):
    return set(zip(df.target, df.key_type, df.databyte))


def register_keys(k, domain):
    """{register: (target, key_type, databyte)} of a domain, from the graph now."""
    return {
        d["slot"]: (v, d["key_type"], d["databyte"])
        for _, v, d in k.capability_graph().out_edges(domain, data=True)
        if d["slot_kind"] == "key_register"
    }


def keeper_events(k, cause):
    ev = k.events()
    ev = ev[(ev.event.astype(str) == "keeper") & (ev.cause.astype(str) == cause)]
    return list(zip(ev.actor, ev.target, ev.order, ev.n_keys))


def read_page(con, page, n):
    return con.call(page, oc.Page.ReadData, data=n.to_bytes(4, "big")).data


# ------------------------------------------------------------ segment faults
def segment_fault_system():
    """A prober whose memory is a red segment (its image in page 0, nothing above)
    with a keeper; the keeper shares a page with a listener."""
    k = kl.Kernel()
    con = k.console
    shared = new_page(con)
    ro = con.call(shared, oc.Page.MakeReadOnlyKey).keys[0]
    keeper_dom = kl.build_domain(con, "t-kc-keeper", keys={0: shared})
    listener = kl.build_domain(con, "echo", keys={0: ro})
    seg = kl.build_segment(
        con, [kl.image(con, "t-kc-prober")], keeper=kl.start_key(con, keeper_dom)
    )
    prober_dom = kl.build_domain(con, "t-kc-prober", memory=seg)
    names = {"D": prober_dom, "K": keeper_dom, "L": listener, "X": seg}
    return k, {n: con.target(h) for n, h in names.items()}, shared, prober_dom


def test_a_segment_fault_hands_the_keeper_the_red_node_and_a_restart_key():
    k, v, shared, prober_dom = segment_fault_system()
    con = k.console
    G = before(k)
    predicted = rows(analysis.authority(G, v["K"]))

    con.fork(kl.start_key(con, prober_dom), FAULT_ADDRESS)
    con.run()
    # The channel, used: the kernel called the keeper for the prober (2 keys, 6 bytes) …
    assert keeper_events(k, "segfault") == [(v["D"], v["K"], KEEPER_ORDER, 2)]
    # … with the address the prober chose, which the keeper wrote into the shared page …
    assert struct.unpack(">HI", read_page(con, shared, 6))[1] == FAULT_ADDRESS
    # … and a node key to the red node and a restart key to the prober.
    got = register_keys(k, v["K"])
    assert got[1] == (v["X"], "node", 0) and got[2] == (v["D"], "resume", 0)
    # Predicted on the graph taken before the run.
    assert {got[1], got[2]} <= predicted
    via = analysis.authority(G, v["K"]).set_index(["target", "key_type", "databyte"]).via
    assert via[(v["D"], "resume", 0)][-1][3] == "segment fault"


def test_a_segment_fault_is_a_flow_to_the_keeper_and_on_to_whom_it_tells():
    k, v, shared, prober_dom = segment_fault_system()
    G = before(k)
    assert analysis.can_flow(G, v["D"], v["K"], witness=True) == [v["D"], v["K"]]
    assert analysis.can_flow(G, v["D"], v["L"])  # the keeper writes the shared page
    assert analysis.can_flow(G, v["K"], v["D"])  # and can restart the prober
    F = analysis.flow_graph(G)
    assert F.edges[v["D"], v["K"]]["how"] == "faults to its keeper"
    m = analysis.flows(G, [v["D"], v["K"], v["L"]])
    assert m.loc[v["D"], v["K"]] and m.loc[v["D"], v["L"]]


def test_a_domain_that_can_fault_into_a_keeper_is_not_confined():
    k, v, _, _ = segment_fault_system()
    G = before(k)
    verdict = analysis.confinement(G, v["D"])
    assert not verdict.confined
    assert verdict.leaks[0] == [v["D"], v["K"]]
    # Whom the keeper tells is the keeper's business once it may be told.
    assert analysis.confinement(G, v["D"], allowed={v["K"]}).confined


def test_a_keeper_gets_only_what_the_kernel_hands_it():
    """The restart key is no channel for keys: the keeper does not come to hold the
    prober's keys, nor the prober the keeper's."""
    k = kl.Kernel()
    con = k.console
    secret, mine = new_page(con), new_page(con)
    keeper_dom = kl.build_domain(con, "t-kc-keeper", keys={0: mine})
    seg = kl.build_segment(
        con, [kl.image(con, "t-kc-prober")], keeper=kl.start_key(con, keeper_dom)
    )
    prober_dom = kl.build_domain(con, "t-kc-prober", memory=seg, keys={3: secret})
    G = before(k)
    d, kp = con.target(prober_dom), con.target(keeper_dom)
    closure = analysis.Closure(G)
    assert (con.target(secret), "page", 0) not in closure.held(kp)
    assert (con.target(mine), "page", 0) not in closure.held(d)
    # The prober may come to read the keeper's page through its memory, though: the
    # keeper holds a node key to the red node, as a pager does to install a page.
    assert (con.target(mine), "page", 0) in rows(analysis.authority(G, d))


# --------------------------------------------------------------- dry meters
def meter_system(ticks=200, chain=False):
    """A spinner on a small meter whose keeper records the call; with ``chain`` the
    spinner's own meter is large and its superior small, with the keeper."""
    k = kl.Kernel()
    con = k.console
    shared = new_page(con)
    keeper_dom = kl.build_domain(con, "t-kc-keeper", keys={0: shared})
    kept = kl.build_meter(con, ticks, keeper=kl.start_key(con, keeper_dom))
    meter = kl.build_meter(con, 10**9, superior=kept.key) if chain else kept
    spinner = kl.build_domain(con, "spinner", meter=meter.key)
    v = {
        "D": con.target(spinner),
        "K": con.target(keeper_dom),
        "M": con.target(kept.node),
        "own": con.target(meter.node),
    }
    return k, v, spinner


@pytest.mark.parametrize("chain", [False, True], ids=["its meter", "its meter's superior"])
def test_a_dry_meter_hands_the_keeper_the_meter_and_a_restart_key(chain):
    k, v, spinner = meter_system(chain=chain)
    con = k.console
    G = before(k)
    predicted = rows(analysis.authority(G, v["K"]))

    con.fork(kl.start_key(con, spinner))
    con.run()
    assert keeper_events(k, "meter") == [(v["D"], v["K"], KEEPER_ORDER, 2)]
    got = register_keys(k, v["K"])
    assert got[1] == (v["M"], "node", 0) and got[2] == (v["D"], "resume", 0)
    assert {got[1], got[2]} <= predicted
    if chain:  # the spinner's own meter has no keeper: no one gets a key to it for it
        assert (v["own"], "node", 0) not in predicted
    assert analysis.can_flow(G, v["D"], v["K"]) and analysis.can_flow(G, v["K"], v["D"])
    assert not analysis.confinement(G, v["D"]).confined


# ---------------------------------------------------------------------- traps
def test_a_keeper_installed_later_gets_the_domain_key_and_a_fault_key():
    """The trapping domain has no keeper in the graph: another domain holding its domain
    key installs one, then makes it trap. The rules see it through the installer, which
    holds both keys (a start key is a channel both ways)."""
    k = kl.Kernel()
    con = k.console
    logger = kl.build_domain(con, "t-kc-traplogger")
    crasher = kl.build_domain(con, "crasher")
    inst = kl.build_domain(
        con,
        "t-kc-installer",
        keys={0: crasher, 1: kl.start_key(con, logger), 2: kl.start_key(con, crasher)},
    )
    d, kp = con.target(crasher), con.target(logger)
    G = before(k)
    assert not [e for e in G.out_edges(d, data=True) if e[2]["slot_kind"] == "keeper"]
    predicted = rows(analysis.authority(G, kp))

    con.fork(kl.start_key(con, inst))
    con.run()
    ev = k.events()
    traps = ev[(ev.event.astype(str) == "keeper") & (ev.actor == d)]
    assert list(traps.target) == [kp]
    got = register_keys(k, kp)
    assert got[1] == (d, "resume", 4) and got[2] == (d, "domain", 0)
    assert {got[1], got[2]} <= predicted
    assert analysis.can_flow(G, d, kp)


# ------------------------------------------------------ calls on red segments
def test_a_call_on_a_read_only_red_segment_key_reaches_its_keeper():
    """The front end: any order on a red segment key goes to the keeper, with a node key
    to the red node carrying the segment key's databyte."""
    k = kl.Kernel()
    con = k.console
    keeper_dom = kl.build_domain(con, "t-kc-keeper", keys={0: new_page(con)})
    seg = kl.build_segment(
        con, [new_page(con)], keeper=kl.start_key(con, keeper_dom), read_only=True
    )
    c = kl.build_domain(con, "t-kc-caller", keys={0: seg})
    x, kp, cd = con.target(seg), con.target(keeper_dom), con.target(c)
    G = before(k)
    predicted = rows(analysis.authority(G, kp))

    con.fork(kl.start_key(con, c), 7)
    con.run()
    got = register_keys(k, kp)
    assert got[1] == (x, "node", 0x80)
    assert got[1] in predicted
    assert analysis.can_flow(G, cd, kp) and analysis.can_flow(G, kp, cd)


# ------------------------------------------------------- hand-built graphs
def schema(*edges, domains=()):
    """A graph in the schema: edges (holder, target, key_type, databyte, slot, slot_kind);
    vertices named in ``domains`` are domains, ``p…`` pages, ``m…`` meters, others nodes."""
    G = nx.MultiDiGraph()
    for v in domains:
        G.add_node(v, kind="domain", program="", label=v)
    for u, v, kt, db, slot, sk in edges:
        for x in (u, v):
            if x not in G:
                kind = "page" if x.startswith("p") else "meter" if x.startswith("m") else "node"
                G.add_node(x, kind=kind, label=x)
        G.add_edge(
            u,
            v,
            key_type=kt,
            databyte=db,
            slot=slot,
            slot_kind=sk,
            rights=rights_of(kt, db),
            sensory=is_sensory(kt, db),
        )
    return G


def both(G, subject):
    """authority by both engines, as sets of (target, key_type, databyte); they agree."""
    ref = rows(analysis.authority(G, subject, engine="reference"))
    fast = rows(analysis.authority(to_csr(G), subject).astype({"key_type": str}))
    assert ref == fast
    return ref


def held(G, subject):
    """The keys ``subject`` can come to hold (its address space aside), by both engines."""
    csr = to_csr(G)
    ref = set(analysis.Closure(G).held(subject))
    fast = {
        (csr.vertices[t], KEY_TYPES[kt], db)
        for t, kt, db in FastAuthority(csr).authority(csr.index_of(subject)).tolist()
    }
    assert ref == fast
    return ref


def flows_both(G, source, sink):
    domains = [v for v in G if G.nodes[v]["kind"] == "domain"]
    ref = analysis.flows(G, domains, engine="reference")
    assert ref.equals(analysis.flows(to_csr(G), domains))
    assert bool(ref.loc[source, sink]) == analysis.can_flow(G, source, sink)
    return bool(ref.loc[source, sink])


def segment_graph(address_db=0, red_db=0, keeper_slot_kind="slot"):
    """D's address slot: a segment key to n1 (black, lss 3 unless ``address_db`` says
    otherwise); n1 slot 0: a node key to n2 (``red_db``); n2 holds a page and, in slot
    14, a start key to K; D holds page pD in a register."""
    return schema(
        ("D", "n1", "segment", address_db, 3, "address"),
        ("n1", "n2", "node", red_db, 0, "slot"),
        ("n2", "p1", "page", 0, 0, "slot"),
        ("n2", "K", "start", 0, 14, keeper_slot_kind),
        ("D", "pD", "page", 0, 0, "key_register"),
        ("K", "pK", "page", 0, 0, "key_register"),
        domains=("D", "K"),
    )


def test_segment_fault_rule_on_a_hand_built_graph():
    G = segment_graph(address_db=3)
    k = both(G, "K")
    assert {("n2", "node", 0), ("D", "resume", 0)} <= k
    assert ("n1", "node", 0) not in k  # n1 is reached by a black key
    assert ("pD", "page", 0) not in k  # the restart key carries no keys
    assert ("pK", "page", 0) not in held(G, "D")
    # (D may read pK through its memory: K can store it into n2, as a pager does.)
    assert ("pK", "page", 0) in both(G, "D")
    assert flows_both(G, "D", "K") and flows_both(G, "K", "D")
    assert not analysis.confinement(G, "D").confined


@pytest.mark.parametrize(
    "address_db, red_db",
    [(0x40 | 3, 0), (3, 0x40), (3, 3)],
    ids=["no-call above", "no-call key to the red node", "black"],
)
def test_no_keeper_is_offered_below_no_call_or_through_black_nodes(address_db, red_db):
    G = segment_graph(address_db, red_db)
    assert ("D", "resume", 0) not in both(G, "K")
    assert not flows_both(G, "D", "K")
    assert analysis.confinement(G, "D").confined


def test_a_keeper_stored_in_the_tree_later_is_a_keeper_too():
    """W can store K's start key into n2 (a node key), so a fault in D may reach K."""
    G = schema(
        ("D", "n2", "node", 0, 3, "address"),
        ("W", "n2", "node", 0, 0, "key_register"),
        ("W", "K", "start", 0, 1, "key_register"),
        domains=("D", "K", "W"),
    )
    assert ("D", "resume", 0) in both(G, "K")
    assert flows_both(G, "D", "K")


def test_a_domain_whose_address_slot_can_change_reaches_any_tree_its_writer_has():
    """W holds D's domain key and a segment key to a red node with a keeper: it can make
    that D's memory."""
    G = schema(
        ("W", "D", "domain", 0, 0, "key_register"),
        ("W", "n2", "segment", 0, 1, "key_register"),
        ("n2", "K", "start", 0, 14, "slot"),
        domains=("D", "K", "W"),
    )
    assert ("D", "resume", 0) in both(G, "K")


def meter_graph():
    """D runs under m1; m1's superior (slot 1) is m2, whose keeper (slot 2) is K; m1
    has a start key to K2 in slot 5, which is no keeper slot."""
    return schema(
        ("D", "m1", "meter", 0, 1, "meter"),
        ("m1", "m2", "meter", 0, 1, "slot"),
        ("m1", "K2", "start", 0, 5, "slot"),
        ("m2", "K", "start", 0, 2, "slot"),
        domains=("D", "K", "K2"),
    )


def test_dry_meter_rule_on_a_hand_built_graph():
    G = meter_graph()
    k = both(G, "K")
    assert {("m2", "node", 0), ("D", "resume", 0)} <= k
    assert ("m1", "node", 0) not in k
    assert ("D", "resume", 0) not in both(G, "K2")
    assert flows_both(G, "D", "K") and not flows_both(G, "D", "K2")
    assert not analysis.confinement(G, "D").confined
    assert analysis.confinement(G, "D", allowed={"K"}).confined


def test_trap_rule_on_a_hand_built_graph():
    """In the keeper slot now, or stored there later by a domain key's holder."""
    now = schema(("D", "K", "start", 0, 2, "keeper"), domains=("D", "K"))
    later = schema(
        ("W", "D", "domain", 0, 0, "key_register"),
        ("W", "K", "start", 0, 1, "key_register"),
        domains=("D", "K", "W"),
    )
    for G in (now, later):
        assert {("D", "domain", 0), ("D", "resume", 4)} <= both(G, "K")
        assert flows_both(G, "D", "K")


def test_segment_call_rule_on_a_hand_built_graph():
    """C holds a read-only red segment key to n2, whose keeper is K."""
    G = schema(
        ("C", "n2", "segment", 0x80, 0, "key_register"),
        ("n2", "K", "start", 0, 14, "slot"),
        ("n2", "p1", "page", 0, 0, "slot"),
        ("C", "pC", "page", 0, 1, "key_register"),
        domains=("C", "K"),
    )
    k = both(G, "K")
    assert ("n2", "node", 0x80) in k and ("pC", "page", 0) in k  # the call carries keys
    assert flows_both(G, "C", "K") and flows_both(G, "K", "C")
    assert ("n2", "node", 0x40) not in both(G, "C")
    nocall = schema(
        ("C", "n2", "segment", 0xC0, 0, "key_register"),
        ("n2", "K", "start", 0, 14, "slot"),
        domains=("C", "K"),
    )
    assert ("n2", "node", 0xC0) not in both(nocall, "K")
    assert not flows_both(nocall, "C", "K")


@pytest.mark.parametrize("keeper", ["start", "resume"])
def test_a_caller_leaves_keys_in_the_node_only_when_a_start_key_takes_the_call(keeper):
    """The format's local slot receives the caller's third key when the message is
    delivered to a start key (gatec.c:185): D, whose memory is n2, may then read pC. The
    keeper here is a space bank, which keeps no key it is sent."""
    G = schema(
        ("C", "n2", "segment", 0x80, 0, "key_register"),
        ("C", "pC", "page", 0, 1, "key_register"),
        ("n2", "B", keeper, 2, 14, "slot"),
        ("D", "n2", "segment", 0x80, 3, "address"),
        domains=("C", "D"),
    )
    G.add_node("B", kind="domain", program="spacebank", label="bank")
    got = rows(analysis.authority(G, "D"))
    assert (("pC", "page", 0x80) in got) == (keeper == "start")
    assert analysis.can_flow(G, "C", "D") == (keeper == "start")


def test_a_restart_key_in_the_graph_still_counts_as_a_channel():
    """Readers write reply capabilities as resume keys with databyte 0: they keep the
    meaning they had (keys both ways)."""
    G = schema(
        ("A", "B", "resume", 0, 0, "key_register"),
        ("B", "pB", "page", 0, 0, "key_register"),
        domains=("A", "B"),
    )
    assert ("pB", "page", 0) in both(G, "A")


# ------------------------------------------- the engines on generated systems
def spiced(n, density, seed, subjects, extra):
    """A generated system with ``extra`` keys added that open keeper channels: red and
    no-call segment and frontend keys, keepers in meters, node keys to meters, resume keys
    of every flavour, domain keys, address and meter slots, misc keys."""
    G = analysis.random_system(n, n * density, seed=seed, n_subjects=subjects)
    rng = random.Random(seed)
    kinds: dict[str, list] = {}
    for v, d in G.nodes(data=True):
        kinds.setdefault(d["kind"], []).append(v)
    doms = kinds["domain"]
    nodes = kinds.get("node", []) + kinds.get("segment", []) + kinds.get("meter", [])
    meters = kinds.get("meter", [])
    G.add_node("misc:discrim", kind="misc", label="discrim")
    for _ in range(extra):
        holder = rng.choice(list(G))
        if G.nodes[holder]["kind"] in ("page", "misc"):
            continue
        sk = "key_register" if G.nodes[holder]["kind"] == "domain" else "slot"
        slot, roll = rng.randrange(16), rng.random()
        if roll < 0.25 and nodes:
            kt, tgt, db = (
                rng.choice(["segment", "frontend"]),
                rng.choice(nodes + doms[:1]),
                rng.choice([0, 0x80, 0, 0x40, 3]),
            )
        elif roll < 0.4:
            kt, tgt, db = "start", rng.choice(doms), rng.choice([0, 1])
            if meters and rng.random() < 0.5:
                holder, sk, slot = rng.choice(meters), "slot", 2
        elif roll < 0.5:
            kt, tgt, db = "resume", rng.choice(doms), rng.choice([0, 2, 4])
        elif roll < 0.6 and meters:
            kt, tgt, db = "node", rng.choice(meters), 0
        elif roll < 0.7 and nodes:
            kt, tgt, db = (
                rng.choice(["sense", "fetch", "node"]),
                rng.choice(doms + nodes),
                rng.choice([0, 0xC0]),
            )
        elif roll < 0.8:
            kt, tgt, db = "domain", rng.choice(doms), 0
        elif roll < 0.9 and nodes:
            holder = rng.choice(doms)
            if meters and rng.random() < 0.5:
                kt, tgt, db, sk, slot = "meter", rng.choice(meters), 0, "meter", 1
            else:
                kt, tgt, db, sk, slot = (
                    rng.choice(["segment", "node", "fetch"]),
                    rng.choice(nodes),
                    rng.choice([0, 0x80, 0x40]),
                    "address",
                    3,
                )
        else:
            kt, tgt, db = "discrim", "misc:discrim", 0
        G.add_edge(
            holder,
            tgt,
            key_type=kt,
            databyte=db,
            slot=slot,
            slot_kind=sk,
            rights=rights_of(kt, db),
            sensory=is_sensory(kt, db),
        )
    return G


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.tuples(
        st.integers(12, 80),
        st.integers(1, 4),
        st.integers(0, 10_000),
        st.integers(1, 8),
        st.integers(0, 50),
    )
)
def test_the_engines_agree_with_keeper_channels(params):
    n, density, seed, subjects, extra = params
    G = spiced(n, density, seed, min(subjects, n // 2), extra)
    csr = to_csr(G)
    closure = analysis.Closure(G)
    engine = FastAuthority(csr)
    domains = [v for v in G if G.nodes[v]["kind"] == "domain"]
    for s in domains:
        i = csr.index_of(s)
        ref = {(csr.index_of(t), CODE[kt], db) for t, kt, db in closure.held(s)}
        assert {tuple(r) for r in engine.authority(i).tolist()} == ref, (params, s)
        pages, writable = engine.memory(i)
        assert set(zip(pages.tolist(), writable.tolist())) == {
            (csr.index_of(p), w) for p, (w, _) in closure.memory(s).items()
        }, (params, s)
    assert analysis.flows(G, domains, engine="reference").equals(analysis.flows(csr, domains))


def test_the_fast_engine_grants_keepers_on_large_systems():
    csr = analysis.random_csr(20_000, 90_000, seed=5)
    engine = FastAuthority(csr)
    keys = engine._grants.keys
    restart = keys[keys[:, 2] == CODE["resume"]]
    assert len(restart) and (restart[:, 3] == 0).all()
