"""Authority, flow and confinement on hand-built graphs and on running systems."""

import networkx as nx
import pytest

import keykos_lab as kl
from keykos_lab import analysis, scenarios
from keykos_lab.analysis.summaries import origin
from keykos_lab.kernel import keys as kk
from keykos_lab.programs.factories.factory import FactoryB, FactoryR
from keykos_lab.views.schema import sensory


def graph(*edges, domains=(), kinds=None):
    """A small schema graph: edges (holder, target, key_type[, databyte[, slot_kind]])."""
    G = nx.MultiDiGraph()
    for v in domains:
        G.add_node(v, kind="domain", program=(kinds or {}).get(v, ""), label=str(v))
    for i, e in enumerate(edges):
        u, v, kt = e[:3]
        db = e[3] if len(e) > 3 else 0
        sk = e[4] if len(e) > 4 else "key_register"
        for x in (u, v):
            if x not in G:
                G.add_node(
                    x, kind="node" if kt in ("node", "fetch", "sense") else "page", label=str(x)
                )
        G.add_edge(u, v, key_type=kt, databyte=db, slot=i % 16, slot_kind=sk)
    return G


def held(G, subject):
    a = analysis.authority(G, subject)
    return set(zip(a.target, a.key_type, a.databyte))


# ------------------------------------------------------------------ sensory
def test_sensory_is_the_kernels_rule_for_every_key_and_databyte():
    for t, name in kk.TYPE_NAMES.items():
        if t == kk.MISC:
            continue
        for db in range(256):
            version = kk.sensory_version(kk.Key(t, 5, db, 1))
            mine = sensory(name, db)
            expected = (
                None
                if version == kk.DK0 and t != kk.DATA
                else (version.type_name, version.databyte)
            )
            assert mine == expected, (name, db)
    for sub, name in kk.MISC_NAMES.items():
        version = kk.sensory_version(kk.misc_key(sub))
        assert (sensory(name, 0) is not None) == (version != kk.DK0), name
    with pytest.raises(ValueError):
        sensory("page", 300)


# ---------------------------------------------------------------- the rules
def test_fetch_store_and_sense():
    G = graph(
        ("a", "n", "node"),
        ("n", "p", "page", 0, "slot"),
        ("n", "s", "start", 0, "slot"),
        ("b", "m", "sense", 0xC0),
        ("m", "n", "node", 0, "slot"),
        ("c", "q", "page"),
        ("c", "n", "node"),
        domains=("a", "b", "c", "s"),
    )
    a = held(G, "a")
    assert {("p", "page", 0), ("s", "start", 0), ("q", "page", 0)} <= a  # c stored q in n
    b = held(G, "b")
    assert ("n", "sense", 0xC0) in b and ("p", "page", 0x80) in b
    assert not any(kt in ("start", "page") and db == 0 for _, kt, db in b)


def test_a_start_key_is_a_channel_both_ways_but_a_bank_only_sells():
    G = graph(
        ("a", "b", "start"),
        ("b", "p", "page"),
        ("a", "q", "page"),
        ("a", "bank", "start"),
        ("bank", "r", "page"),
        domains=("a", "b", "bank"),
        kinds={"bank": "spacebank"},
    )
    assert ("p", "page", 0) in held(G, "a") and ("q", "page", 0) in held(G, "b")
    a = held(G, "a")
    assert ("r", "page", 0) not in a
    assert (("new", "bank", "a"), "node", 0) in a and (("new", "bank", "a"), "page", 0) in a


def test_the_keeper_gets_the_domain_key():
    G = graph(("a", "k", "start", 0, "keeper"), ("a", "p", "page"), domains=("a", "k"))
    assert {("a", "domain", 0), ("p", "page", 0)} <= held(G, "k")


def test_witness_is_a_chain_of_steps_from_a_held_key():
    G = graph(
        ("a", "n", "fetch"),
        ("n", "m", "node", 0, "slot"),
        ("m", "p", "page", 0, "slot"),
        domains=("a",),
    )
    a = analysis.authority(G, "a")
    via = a[(a.target == "p") & (a.key_type == "page")].via.iloc[0]
    assert via[0][3] == "edge" and via[-1][:3] == ("a", "p", "page")
    assert [step[3] for step in via].count("fetch") >= 2


def test_authority_refuses_what_is_not_a_domain():
    G = graph(("a", "p", "page"), domains=("a",))
    with pytest.raises(ValueError, match="not a domain"):
        analysis.authority(G, "p")
    with pytest.raises(ValueError, match="not a vertex"):
        analysis.authority(G, "zz")


def test_dc_identify_amplifies_a_start_key_of_its_own_domains():
    G = graph(
        ("a", "dc", "start"),
        ("a", "d", "start"),
        ("d", "dc", "domain", 0, "brand"),
        ("d", "p", "page"),
        domains=("a", "dc", "d"),
        kinds={"dc": "dc", "d": "echo"},
    )
    a = held(G, "a")
    assert ("d", "domain", 0) in a and ("p", "page", 0) in a


# ---------------------------------------------------------- running systems
def test_the_setuid_user_reaches_no_page_and_no_domain_key():
    rec = scenarios.tso_setuid()
    k, con = rec.kernel, rec.kernel.console
    G = k.capability_graph()
    user, page = con.target(rec.keys["user"]), con.target(rec.keys["page"])
    # The console built the user and can call it: it could hand the user
    # anything, and the analysis says so, the witness starting at the console.
    a = analysis.authority(G, user)
    via = a[a.target == page].via.iloc[0]
    assert via[0][0] == con.root and via[-1][1:3] == (page, "page")
    # Without the administrator, the user comes to hold the page or a domain key
    # only if the privileged yield itself hands them over: every witness has a
    # key the yield sent (the analysis lets every program, this one too, act freely).
    G.remove_node(con.root)
    a = analysis.authority(G, user)
    private = a[(a.target == page) | ((a.key_type == "domain") & (a.target != user))]
    assert len(private) > 0
    for via in private.via:
        assert any(step[3] == "sent" and step[0] == user for step in via)
        assert any(isinstance(step[0], tuple) and step[0][0] == "yield" for step in via)


def test_flows_matrix_and_witness():
    k = kl.Kernel()
    con = k.console
    page = con.call(con["bank"], 16).keys[0]
    writer = kl.build_domain(con, "echo", keys={0: page})
    reader = kl.build_domain(con, "echo", keys={0: con.call(page, 0).keys[0]})
    G = k.capability_graph()
    w, r = con.target(writer), con.target(reader)
    # The console built both and could hand either the other's domain key:
    assert analysis.can_flow(G, r, w)
    G.remove_node(con.root)  # as if the builder had left the scene
    assert analysis.can_flow(G, w, r, witness=True) == [w, con.target(page), r]
    assert not analysis.can_flow(G, r, w)
    m = analysis.flows(G, [w, r])
    assert m.loc[w, r] and not m.loc[r, w] and m.shape == (2, 2)


# ------------------------------------------------------------- confinement
def test_confinement_agrees_with_compare_on_the_factory_matrix(k, con):
    page = con.call(con["bank"], 16).keys[0]
    ro = con.call(page, 0).keys[0]
    node = con.call(con["bank"], 0).keys[0]
    sense = con.call(node, 36).keys[0]
    logger = kl.start_key(con, kl.build_domain(con, "echo"))
    discreet = kl.build_factory(con, "echo", components={0: ro, 1: sense})
    holed = kl.build_factory(con, "echo", holes={0: page})
    cases = {
        "discreet": discreet,
        "holed": holed,
        "nested discreet": kl.build_factory(con, "echo", components={2: discreet.requestor}),
        "nested holed": kl.build_factory(con, "echo", components={2: holed.requestor}),
        "start key hole": kl.build_factory(con, "echo", holes={0: logger}),
        "keeper hole": kl.build_factory(con, "echo", holes={16: logger}),
        "sensory hole": kl.build_factory(con, "echo", holes={4: ro}),
        "weak dc": kl.build_factory(
            con,
            "echo",
            components={
                5: con.call(con.call(con["dcc"], 0, con["bank"], con["meter"]).keys[0], 13).keys[0]
            },
        ),
    }
    trusted = kl.system.factories.trusted_factory(con)
    for name, f in cases.items():
        rc = con.call(trusted, FactoryR.Compare, f.requestor).rc
        verdict = analysis.confinement(k, f.requestor)
        assert verdict.confined == (rc == 0), (name, rc, str(verdict))
        assert bool(verdict.holes) == (rc == 1), name
    # Leaks name the party the yield could tell: the console holds the page and the logger.
    assert origin(analysis.confinement(k, holed.requestor).leaks[0][-1]) == con.root
    assert analysis.confinement(k, cases["sensory hole"].requestor).leaks == []
    not_a_factory = analysis.confinement(k, con["bank"])
    assert not not_a_factory.confined and "not a requestor's key" in not_a_factory.explanation[0]


def test_confinement_of_the_adversary_matches_what_it_did(k, con):
    """The static verdict and the adversary's run (tests/programs/test_factory.py)
    agree: a discreet factory's yield is confined, and reaches only what it may."""
    hidden = con.call(con["bank"], 0).keys[0]
    con.call(hidden, 16 + 0, con.call(con["bank"], 16).keys[0])
    f = kl.build_factory(
        con, "adversary", components={0: con["discrim"], 1: con.call(hidden, 36).keys[0]}
    )
    v = analysis.confinement(k, f.requestor)
    assert v.confined and "no flow path" in v.explanation[-1]
    assert len(v.out_of_scope) == 3 and "meter" in str(v)


def test_confinement_of_a_graph_subject():
    G = graph(
        ("y", "p", "page"), ("x", "p", "page", 0x80), ("y", "r", "start"), domains=("x", "y", "r")
    )
    v = analysis.confinement(G, "y", allowed={"r"})
    assert not v.confined and v.leaks == [["y", "p", "x"]]
    assert analysis.confinement(G, "y", allowed={"r", "x"}).confined
    with pytest.raises(ValueError):
        analysis.confinement(G, "p")


def test_requestor_compare_is_not_needed_for_a_verdict(k, con):
    f = kl.build_factory(con, "echo", complete=False)
    assert con.call(f.builder, FactoryB.InstallHole + 0, con["bank"]).rc == 0
    r = con.call(f.builder, FactoryB.MakeRequestor).keys[0]
    v = analysis.confinement(k, r)
    assert not v.confined and v.holes and "HOLE" in str(v)
