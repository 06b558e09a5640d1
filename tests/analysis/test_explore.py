"""explore: bounded exhaustive exploration on a copy of a running kernel, and the soundness
cross-check of the static authority against it (docs/analyses.md#analyses-rules).

The first run of these checks found keys the kernel really hands out that the static
fixpoint did not predict (G1–G10 below); each now has a minimal system, a test that the key
is really obtained and one that authority predicts it. The soundness checks then run
explore's whole vocabulary over the scenarios, factory set-ups and random systems.
"""

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import keykos_lab as kl
from keykos_lab import oc, scenarios
from keykos_lab.analysis import explore, soundness
from keykos_lab.analysis.model import behaviour
from keykos_lab.kernel.keys import DK0, Key

KT = oc.KT


# ------------------------------------------------------------------ helpers
def rows(df) -> set:
    return set(zip(df.target, df.key_type, df.databyte))


def drop_keys(con) -> None:
    """The console forgets every key but its named ones (test-only: it pokes the key ring).

    A console can never drop a key. While it keeps the domain and node keys of what it
    built, the static authority of every domain it built includes all it holds (it could
    store any of its keys there), which would hide what the model misses about the domain.
    """
    named = {con[name].index for name in con.names()}
    for idx in range(con._count):
        key = con._slot(idx)
        if idx not in named and key != DK0:
            node, slot = divmod(idx, 15)
            con._ring[node].slots[slot] = DK0
            con._where.pop(key, None)
            con.state.held.discard(key)


def free_domains(k) -> list:
    G = k.capability_graph()
    return [v for v in G if G.nodes[v].get("kind") == "domain" and behaviour(G, v) == "free"]


def check(k, subjects, orders=None) -> dict:
    """soundness for each subject; {subject: missing rows} for those with any."""
    out = {}
    for s in subjects:
        r = soundness(k, s, orders=orders)
        if r["missing"]:
            out[s] = r["missing"]
        else:
            assert r["precision"] <= 1
    return out


def state(k):
    G = k.capability_graph()
    edges = sorted(
        (str(u), str(v), d["key_type"], d["databyte"], d["slot"], d["slot_kind"])
        for u, v, d in G.edges(data=True)
    )
    return len(k.events()), len(k.objs), edges, sorted(map(str, G.nodes))


# --------------------------------------------------- explore on small systems
def test_node_key_fetches_slots_and_makes_weaker_keys():
    k = kl.Kernel()
    con = k.console
    node = con.call(con["bank"], oc.SB.CreateNode).keys[0]
    page = con.call(con["bank"], oc.SB.CreatePage).keys[0]
    echo = kl.build_domain(con, "echo")
    con.call(node, oc.Node.Swap + 2, page)
    con.call(node, oc.Node.Swap + 5, kl.start_key(con, echo))
    s = con.target(kl.build_domain(con, "echo", keys={0: node}))
    n, p, e = con.target(node), con.target(page), con.target(echo)
    df = explore(k, s)
    assert rows(df) == {
        (n, "node", 0),
        (p, "page", 0),
        (e, "start", 0),
        (n, "fetch", 0),
        (n, "segment", 0),
        (n, "meter", 0),
        (n, "sense", 0xC0),
        (n, "frontend", 0),  # round 1
        (p, "page", 0x80),
        (n, "segment", 0x80),
    }  # round 2
    by_row = {(t, kt, db): (r, how) for t, kt, db, r, how in df.itertuples(index=False)}
    assert by_row[n, "node", 0] == (0, "held")
    assert by_row[p, "page", 0] == (1, f"node Fetch+2 on node #{n}")
    assert by_row[p, "page", 0x80] == (2, f"page MakeReadOnlyKey on page #{p}")
    assert df.attrs["calls"] > 0 and df.attrs["deadlock"] == 0


def test_sense_key_sees_sensory_versions_only():
    k = kl.Kernel()
    con = k.console
    outer, inner = (con.call(con["bank"], oc.SB.CreateNode).keys[0] for _ in range(2))
    page = con.call(con["bank"], oc.SB.CreatePage).keys[0]
    echo = kl.build_domain(con, "echo")
    con.call(outer, oc.Node.Swap + 0, inner)
    con.call(outer, oc.Node.Swap + 1, page)
    con.call(outer, oc.Node.Swap + 2, kl.start_key(con, echo))  # sensed: DK(0)
    con.call(inner, oc.Node.Swap + 7, page)
    sense = con.call(outer, oc.Node.MakeSenseKey).keys[0]
    s = con.target(kl.build_domain(con, "echo", keys={3: sense}))
    o, i, p = con.target(outer), con.target(inner), con.target(page)
    df = explore(k, s)
    assert rows(df) == {(o, "sense", 0xC0), (i, "sense", 0xC0), (p, "page", 0x80)}
    assert dict(zip(df.target, df["round"])) == {o: 0, i: 1, p: 1}
    assert rows(explore(k, s, depth=0)) == {(o, "sense", 0xC0)}


def test_echo_returns_only_what_it_is_given_and_a_domain_key_reads_registers():
    k = kl.Kernel()
    con = k.console
    page = con.call(con["bank"], oc.SB.CreatePage).keys[0]
    echo = kl.build_domain(con, "echo", keys={0: page})
    e, p = con.target(echo), con.target(page)
    caller = con.target(kl.build_domain(con, "echo", keys={0: kl.start_key(con, echo), 1: page}))
    assert rows(explore(k, caller)) == {(e, "start", 0), (p, "page", 0), (p, "page", 0x80)}
    ctl = con.target(kl.build_domain(con, "echo", keys={0: echo}))
    meter = con.target(con["meter"])
    found = rows(explore(k, ctl))
    image = {t for t, kt, db in found if kt == "page" and db == 0x80 and t != p}  # Get+3
    assert len(image) == 1
    assert found == {
        (e, "domain", 0),
        (p, "page", 0),
        (meter, "meter", 0),
        (e, "start", 0),
        (e, "resume", 2),
        (e, "resume", 4),
        (p, "page", 0x80),
        *((t, "page", 0x80) for t in image),
    }


def test_created_objects_are_named_by_their_creator_even_through_a_proxy():
    k = kl.Kernel()
    con = k.console
    bank = con.target(con["bank"])
    direct = con.target(kl.build_domain(con, "echo", keys={0: con["bank"]}))
    found = rows(explore(k, direct, depth=1))
    assert {(("new", bank, direct), "node", 0), (("new", bank, direct), "page", 0)} <= found
    proxy = kl.build_domain(con, "proxy", keys={0: con["bank"]})
    relay = con.target(kl.build_domain(con, "echo", keys={0: kl.start_key(con, proxy)}))
    found = rows(explore(k, relay, depth=1))
    assert (("new", bank, relay), "node", 0) in found  # the bank sold it (event log)
    assert not [t for t, *_ in found if isinstance(t, int) and t >= len(k.objs)]


def test_console_subject_uses_its_key_ring_and_creations_compare_by_creator():
    k = kl.Kernel()
    con = k.console
    df = explore(
        k,
        con.root,
        depth=1,
    )
    found = rows(df)
    held = {(t, kt, db) for t, kt, db, r, _ in df.itertuples(index=False) if r == 0}
    G = k.capability_graph()
    assert held == {
        (v, d["key_type"], d["databyte"])
        for _, v, d in G.out_edges(con.root, data=True)
        if d["slot_kind"] == "ring"
    }
    dcc = con.target(con["dcc"])
    assert (("new", dcc, con.root), "start", 0) in found  # DCC Create(bank, meter): a DC
    assert (
        soundness(
            k,
            con.root,
            1,
        )["missing"]
        == []
    )


def test_keys_to_the_console_stand_for_the_subject_and_are_not_invoked():
    k = kl.Kernel()
    con = k.console
    dom = kl.build_domain(con, "echo")
    s = con.target(dom)
    keys_node = k.objs[k.objs[s].slots[14].obj]
    console = k.objs[con.root]  # no program hands out a key to the console:
    keys_node.slots[0] = Key(6, con.root, 0, console.alloc)  # put one there by hand
    keys_node.slots[1] = Key(8, con.root, 0, console.alloc)
    df = explore(k, s, depth=1)
    assert rows(df) >= {(s, "start", 0), (s, "domain", 0)}
    assert not [t for t in df.target if t == con.root]
    assert (s, "resume", 2) not in rows(df)  # the console is never reset
    assert {
        (r, how)
        for t, kt, r, how in zip(df.target, df.key_type, df["round"], df.how)
        if kt == "start"
    } == {(0, "held")}


def test_explore_never_changes_the_original():
    rec = scenarios.tso_setuid()
    k = rec.kernel
    before = state(k)
    for s in free_domains(k):
        explore(k, s)
    assert state(k) == before
    con = k.console  # the password the scenario set still checks
    assert (
        con.call(rec.keys["requestor"], 0, con["bank"], con["meter"], data=b"correct horse").rc == 0
    )


def test_hangs_and_traps_are_counted_and_exploration_goes_on():
    k = kl.Kernel()
    con = k.console
    page = con.call(con["bank"], oc.SB.CreatePage).keys[0]
    crasher = kl.build_domain(con, "crasher")  # no keeper: parked
    busy = kl.build_domain(con, "echo")
    con.call(busy, oc.Domain.MakeBusy)
    spinner = kl.build_domain(con, "spinner")  # runs until stopped
    late = kl.build_domain(con, "echo", keys={0: page})
    keys = {
        0: kl.start_key(con, crasher),
        1: kl.start_key(con, busy),
        2: kl.start_key(con, spinner),
        3: late,
    }
    s = con.target(kl.build_domain(con, "echo", keys=keys))
    df = explore(k, s, depth=1)
    assert (df.attrs["deadlock"], df.attrs["step_limit"]) == (1, 1)
    assert df.attrs["busy"] > 0 and df.attrs["kernel_error"] == 0
    assert (con.target(page), "page", 0) in rows(df)  # obtained after the failures
    assert k.console.call(k.console["discrim"], KT).rc == oc.Discrim.AKT


def test_copy_refuses_a_kernel_with_handlers_mid_flight():
    k = kl.Kernel()
    con = k.console
    busy = kl.build_domain(con, "echo")
    target = kl.start_key(con, busy)
    con.call(busy, oc.Domain.MakeBusy)
    proxy = kl.build_domain(con, "proxy", keys={0: target})
    with pytest.raises(kl.Deadlock):
        con.call(kl.start_key(con, proxy), 0)  # the proxy stalls on busy
    with pytest.raises(kl.KernelError, match=f"#{con.target(proxy)} \\(proxy\\)"):
        explore(k, con.root)


def test_arguments_are_checked():
    k = kl.Kernel()
    con = k.console
    with pytest.raises(ValueError, match="would destroy"):
        explore(k, con.root, orders={"node": [oc.Node.Swap + 1]})
    with pytest.raises(ValueError, match="would destroy"):
        explore(k, con.root, orders={"start:bank": [64]})
    with pytest.raises(ValueError, match="would destroy"):
        explore(k, con.root, orders={"start": [oc.DESTROY]})
    with pytest.raises(ValueError, match="no orders"):
        explore(k, con.root, orders={"hook": [0]})
    with pytest.raises(ValueError, match="not a domain"):
        explore(k, con.target(con["meter"]))
    df = explore(k, con.root, max_calls=3)
    assert df.attrs["calls"] == 3 and df.attrs["truncated"] > 0


# ------------------------------------------------------------ the known gaps
def _subject(con, **keys):
    s = con.target(kl.build_domain(con, "echo", keys=dict(enumerate(keys.values()))))
    drop_keys(con)
    return s


def _g1(k, con):
    node = con.call(con["bank"], oc.SB.CreateNode).keys[0]
    key = (con.target(node), "domain", 0)
    return _subject(con, tool=con["domtool"], node=node), key


def _g2(k, con):
    node = con.call(con["bank"], oc.SB.CreateNode).keys[0]
    key = (con.target(node), "frontend", 0)
    return _subject(con, node=node), key


def _g3(k, con):
    seg = kl.build_segment(con, [con.call(con["bank"], oc.SB.CreatePage).keys[0]])
    key = (con.target(seg), "segment", 0x80)
    return _subject(con, seg=seg), key


def _g4(k, con):
    echo = kl.build_domain(con, "echo")
    key = (con.target(echo), "resume", 2)
    return _subject(con, dom=echo), key


def _g5(k, con):
    dc = con.call(con["dcc"], 0, con["bank"], con["meter"]).keys[0]
    key = (con.target(dc), "start", 1)
    return _subject(con, dc=dc), key


def _g6(k, con):
    s = _subject(con, kidc=con["kidc"], bank=con["bank"])
    return s, (("new", con.target(con["kidc"]), s), "start", 0)


def _g7(k, con):
    f = kl.build_factory(con, "echo")
    key = (con.target(f.builder), "start", 1)  # MakeRequestor
    return _subject(con, builder=f.builder), key


def _g8(k, con):
    s = _subject(con, fcc=con["fcc"], bank=con["bank"], meter=con["meter"])
    fc = ("new", con.target(con["fcc"]), s)
    return s, (("new", fc, s), "start", 0)  # the builder's key an FC makes


def _g9(k, con):
    echo = kl.build_domain(con, "echo")
    key = (con.target(echo), "node", 0)
    return _subject(con, tool=con["domtool"], start=kl.start_key(con, echo)), key


def _g10(k, con):
    node = con.call(con["bank"], oc.SB.CreateNode).keys[0]
    lss3 = con.call(node, oc.Node.MakeNodeKey, data=b"\3").keys[0]
    key = (con.target(node), "fetch", 0)
    return _subject(con, node=lss3), key


#: id: (minimal system → (subject, the key it obtains), depth, why authority misses it).
GAPS = {
    "G1": (
        _g1,
        1,
        "the domain tool's MakeDomainKey works on any node key; authority gives a "
        "domain key only to nodes that already are domain vertices",
    ),
    "G2": (_g2, 1, "node MakeFrontendKey is not among the keys derived from a node key"),
    "G3": (_g3, 1, "segment MakeReadOnly is not derived: no (S, segment, db | RO)"),
    "G4": (
        _g4,
        1,
        "domain MakeReturnKey gives a resume key of the return flavour (databyte "
        "2); authority derives only the fault flavour (4)",
    ),
    "G5": (_g5, 1, "DC Weaken hands out a start key with databyte 1 to the DC"),
    "G6": (
        _g6,
        1,
        "KIDC is modelled as an oracle that hands out no key, but Create returns a "
        "start key to a new KID",
    ),
    "G7": (
        _g7,
        1,
        "a factory's builder's key hands out the requestor's key and the fetcher "
        "(MakeRequestor), the copy key (MakeCopy) and the factory's weakened DC "
        "key (GetDC), its fetcher the requestor's key; authority derives none of "
        "them (the copy key only as component 3)",
    ),
    "G8": (
        _g8,
        2,
        "what a creator makes is summarised as a free domain holding nothing: an "
        "FC made by the FCC creates factories that are not predicted at all; of a "
        "factory an FC makes, only the builder's key is; a copy key's Copy makes a "
        "factory that is not predicted",
    ),
    "G9": (
        _g9,
        1,
        "the domain tool's IdentifyStart/Resume/Domain with DK(0) as the brand "
        "matches every domain whose brand slot is empty and returns a node key to "
        "its root; authority amplifies only with a real brand",
    ),
    "G10": (
        _g10,
        1,
        "Make…Key takes the new key's databyte from the string, not from the "
        "node key: a node key with databyte 3 makes (N, fetch, 0), authority "
        "predicts only (N, fetch, 3)",
    ),
}


@pytest.mark.parametrize("gap", GAPS)
def test_gap_is_real(gap):
    make, depth, _ = GAPS[gap]
    k = kl.Kernel()
    s, key = make(k, k.console)
    assert key in rows(explore(k, s, depth))


@pytest.mark.parametrize("gap", GAPS)
def test_gap_is_predicted(gap):
    make, depth, _ = GAPS[gap]
    k = kl.Kernel()
    s, key = make(k, k.console)
    missing = {
        (m["target"], m["key_type"], m["databyte"]) for m in soundness(k, s, depth)["missing"]
    }
    assert key not in missing


# ------------------------------------------------------ soundness on systems
def _factory(holes: bool, drop: bool):
    k = kl.Kernel()
    con = k.console
    page = con.call(con["bank"], oc.SB.CreatePage).keys[0]
    f = kl.build_factory(con, "echo", holes={0: page, 3: con["bank"]} if holes else None)
    kl.build_domain(con, "client", keys={0: f.requestor, 1: con["bank"], 2: con["meter"]})
    kl.build_domain(con, "echo", keys={0: f.fetcher, 1: f.builder})
    if drop:
        drop_keys(con)
    return k


SYSTEMS = {
    "empty_child": lambda: scenarios.empty_child().kernel,
    "tso_domain_key": lambda: scenarios.tso_domain_key().kernel,
    "tso_setuid": lambda: scenarios.tso_setuid().kernel,
    "factory": lambda: _factory(False, False),
    "factory with holes": lambda: _factory(True, False),
    "factory with holes, console keys dropped": lambda: _factory(True, True),
}


@pytest.mark.parametrize("system", SYSTEMS)
def test_soundness(system):
    k = SYSTEMS[system]()
    subjects = free_domains(k)
    assert len(subjects) >= 2
    assert check(k, subjects) == {}


# ------------------------------------------------------- random small systems
PROGRAMS = ("echo", "holder", "proxy")
EXTRAS = ("bank", "meter", "domtool", "dcc", "kidc")


@st.composite
def recipes(draw):
    return {
        "programs": draw(st.lists(st.sampled_from(PROGRAMS), min_size=1, max_size=3)),
        "nodes": draw(st.lists(st.sampled_from([0, 3, 0x80]), max_size=2)),  # node databytes
        "pages": draw(st.integers(0, 2)),
        "segments": draw(st.lists(st.booleans(), max_size=1)),  # read-only?
        "extras": draw(st.lists(st.sampled_from(EXTRAS), max_size=2, unique=True)),
        "facets": draw(st.lists(st.sampled_from([0, 0, 1]), min_size=3, max_size=3)),
        "stores": draw(
            st.lists(
                st.tuples(st.integers(0, 99), st.sampled_from([0, 1, 2, 3, 9]), st.integers(0, 99)),
                min_size=1,
                max_size=10,
            )
        ),
        "drop": draw(st.booleans()),
    }


def build(recipe: dict):
    """A small system through the console: bank nodes and pages, derived keys, domains
    running echo, holder or proxy, keys stored in node slots and key registers."""
    k = kl.Kernel()
    con = k.console
    bank = con["bank"]
    pool, kinds, nodes = [], [], []

    def add(handle, kind):
        pool.append(handle)
        kinds.append(kind)

    for db in recipe["nodes"]:
        node = con.call(bank, oc.SB.CreateNode).keys[0]
        nodes.append(node)
        add(con.call(node, oc.Node.MakeNodeKey, data=bytes([db])).keys[0], "node")
        add(con.call(node, oc.Node.MakeSenseKey).keys[0], "sense")
        add(con.call(node, oc.Node.MakeFetchKey).keys[0], "fetch")
    for _ in range(recipe["pages"]):
        page = con.call(bank, oc.SB.CreatePage).keys[0]
        add(page, "page")
        add(con.call(page, oc.Page.MakeReadOnlyKey).keys[0], "page")
    for ro in recipe["segments"]:
        add(
            kl.build_segment(con, [con.call(bank, oc.SB.CreatePage).keys[0]], read_only=ro),
            "segment",
        )
    domains = []
    for program, facet in zip(recipe["programs"], recipe["facets"]):
        dom = kl.build_domain(con, program)
        domains.append((dom, program))
        add(dom, "domain")
        add(kl.start_key(con, dom, facet), "start")
    for name in recipe["extras"]:
        add(con[name], name)
    holders = [(node, "node", None) for node in nodes] + [
        (dom, "domain", program) for dom, program in domains
    ]
    for h, slot, i in recipe["stores"]:
        holder, kind, program = holders[h % len(holders)]
        key = pool[i % len(pool)]
        con.call(holder, (oc.Node.Swap if kind == "node" else oc.Domain.SwapKey) + slot, key)
    subjects = [con.target(dom) for dom, _ in domains]
    if recipe["drop"]:
        drop_keys(con)
    return k, subjects


RANDOM = settings(
    max_examples=50,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
    phases=[Phase.explicit, Phase.generate],
)


@RANDOM
@given(recipes())
def test_soundness_on_random_systems(recipe):
    k, subjects = build(recipe)
    assert check(k, subjects) == {}
