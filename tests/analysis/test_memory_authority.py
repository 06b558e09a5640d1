"""Memory through the address slot (docs/analyses.md#analyses-keepers): ``authority``
lists the pages a domain can read, and write, through its own address space.

A domain's program reads and writes the pages its address segment reaches, read-only
below a read-only segment key or a fetch or sense key (``kernel/segments.py``
``translate``). ``authority`` shows them as page rows — databyte 0 (read and write) or
0x80 (read only) — whose ``via`` is the path through the memory tree, each step
``"address space"``, unless the domain holds that page key anyway.
"""

from __future__ import annotations

import pytest
from schema_graph import schema

import keykos_lab as kl
from keykos_lab import analysis, oc
from keykos_lab.analysis.convert import to_csr

DATA_ADDRESS = 4096 + 16  # in the segment's page 1


@kl.program("t-mem-writer")
def writer(dom, msg):
    """Writes its message's string at the address its order names, then replies."""
    yield dom.write(msg.order, msg.data)
    yield dom.return_(msg.resume, rc=0)


@kl.program("t-mem-reader")
def reader(dom, msg):
    """Replies with the byte at the address its order names."""
    got = yield dom.read(msg.order, 1)
    yield dom.return_(msg.resume, rc=got[0])


def new_page(con):
    return con.call(con["bank"], oc.SB.CreatePage).keys[0]


def pages_of(df):
    """{page: databyte} of the rows that come from the address space."""
    return {
        t: db
        for t, kt, db, via in zip(df.target, df.key_type, df.databyte, df.via)
        if kt == "page" and via and via[-1][3] == "address space"
    }


def who_can_write(G, page):
    """The freely acting domains whose authority lets them write ``page``."""
    c = analysis.Closure(G)
    out = set()
    for v in G:
        if G.nodes[v].get("kind") == "domain" and c.behaviour(v) == "free":
            a = analysis.authority(G, v)
            if ((a.target == page) & (a.key_type == "page") & (a.databyte == 0)).any():
                out.add(v)
    return out


def sensed_segment(con, pages):
    """A red node holding ``pages`` (from slot 0), and a sense key to it."""
    node = con.call(con["bank"], oc.SB.CreateNode).keys[0]
    for i, page in enumerate(pages):
        con.call(node, oc.Node.Swap + i, page)
    fmt = kl.format_key_value(3, initial=14)
    con.call(
        node,
        oc.Node.Swap + 15,
        con.call(con["dkc"], oc.DKC.Create11, data=fmt.to_bytes(11, "big")).keys[0],
    )
    return con.call(node, oc.Node.MakeSenseKey).keys[0]


# ------------------------------------------------------------ on the kernel
def memory_system():
    """Three domains sharing page P in their memory: W through a read-write segment, R
    through a read-only one, S through a sense key."""
    k = kl.Kernel()
    con = k.console
    p = new_page(con)
    w = kl.build_domain(
        con, "t-mem-writer", memory=kl.build_segment(con, [kl.image(con, "t-mem-writer"), p])
    )
    r = kl.build_domain(
        con,
        "t-mem-writer",
        memory=kl.build_segment(con, [kl.image(con, "t-mem-writer"), p], read_only=True),
    )
    s = kl.build_domain(
        con, "t-mem-reader", memory=sensed_segment(con, [kl.image(con, "t-mem-reader"), p])
    )
    return k, p, {"W": w, "R": r, "S": s}


def test_a_domain_writes_the_pages_its_address_space_reaches():
    k, p, doms = memory_system()
    con = k.console
    v = {n: con.target(h) for n, h in doms.items()}
    page = con.target(p)
    G = k.capability_graph()
    G.remove_node(con.root)
    predicted = {n: pages_of(analysis.authority(G, d)) for n, d in v.items()}
    assert predicted["W"][page] == 0
    assert predicted["R"][page] == predicted["S"][page] == 0x80
    via = analysis.authority(G, v["W"]).set_index(["target", "key_type", "databyte"]).via
    path = via[(page, "page", 0)]
    assert path[0][0] == v["W"] and {step[3] for step in path} == {"address space"}
    assert who_can_write(G, page) == {v["W"]}

    # The run: W's write lands in P, R's faults (read-only) and P keeps W's bytes, and S
    # reads them.
    assert con.call(kl.start_key(con, doms["W"]), DATA_ADDRESS, data=b"mine").rc == 0
    con.fork(kl.start_key(con, doms["R"]), DATA_ADDRESS, data=b"ours")
    con.run()
    got = con.call(p, oc.Page.ReadData + DATA_ADDRESS - 4096, data=(4).to_bytes(4, "big"))
    assert got.data == b"mine"
    assert "memory fault" in (k.domain_state(v["R"]).error or "")
    assert con.call(kl.start_key(con, doms["S"]), DATA_ADDRESS).rc == ord("m")
    ev = k.events()
    writes = ev[ev.event.astype(str) == "write"]
    assert set(writes.actor) == {v["W"]} and set(writes.target) == {page}
    assert analysis.can_flow(G, v["W"], v["S"]) and not analysis.can_flow(G, v["R"], v["W"])


def test_the_console_reaches_its_domains_memory_only_through_keys():
    """The console's own address space maps nothing: its page rows are all keys."""
    k, _, _ = memory_system()
    a = analysis.authority(k.capability_graph(), k.console.root)
    assert not pages_of(a)


# ------------------------------------------------------- hand-built graphs


def memory_both(G, subject):
    """{page: databyte} of the address-space rows, by both engines (which agree)."""
    ref = analysis.authority(G, subject, engine="reference")
    fast = analysis.authority(to_csr(G), subject)
    key = ["target", "key_type", "databyte"]
    assert set(map(tuple, ref[key].to_numpy().tolist())) == set(
        map(tuple, fast[key].astype({"key_type": str}).to_numpy().tolist())
    )
    return pages_of(ref)


TREE = (
    ("n1", "p1", "page", 0, 0, "slot"),
    ("n1", "n2", "node", 0x80, 1, "slot"),
    ("n2", "p2", "page", 0, 0, "slot"),
    ("n1", "n3", "sense", 0xC0, 2, "slot"),
    ("n3", "p3", "page", 0, 0, "slot"),
    ("n1", "n4", "fetch", 0, 3, "slot"),
    ("n4", "p4", "page", 0, 0, "slot"),
    ("n1", "n5", "segment", 0xC3, 4, "slot"),
    ("n5", "p5", "page", 0, 0, "slot"),
    ("n1", "p6", "page", 0x80, 5, "slot"),
)


@pytest.mark.parametrize(
    "address", [("segment", 3), ("node", 0), ("segment", 0x83), ("fetch", 0), ("page", 0)]
)
def test_read_only_accumulates_down_the_path(address):
    kt, db = address
    G = schema(("D", "p1" if kt == "page" else "n1", kt, db, 3, "address"), *TREE, domains=("D",))
    got = memory_both(G, "D")
    if kt == "page":
        assert got == {"p1": 0}
        return
    top = 0x80 if db & 0x80 or kt == "fetch" else 0
    assert got == {"p1": top, "p2": 0x80, "p3": 0x80, "p4": 0x80, "p5": 0x80, "p6": 0x80}


def test_a_page_key_held_is_not_listed_again():
    G = schema(
        ("D", "n1", "segment", 3, 3, "address"),
        ("n1", "p1", "page", 0, 0, "slot"),
        ("D", "p1", "page", 0, 0, "key_register"),
        domains=("D",),
    )
    a = analysis.authority(G, "D")
    assert len(a[(a.target == "p1") & (a.databyte == 0)]) == 1
    assert pages_of(a) == {}


def test_pages_others_can_put_in_the_tree_are_reached_too():
    """W holds a node key to D's segment and a page key: it can store the page there."""
    G = schema(
        ("D", "n1", "segment", 3, 3, "address"),
        ("W", "n1", "node", 0, 0, "key_register"),
        ("W", "p9", "page", 0, 1, "key_register"),
        ("E", "n1", "segment", 0x83, 3, "address"),
        domains=("D", "W", "E"),
    )
    assert memory_both(G, "D") == {"p9": 0}
    assert memory_both(G, "E") == {"p9": 0x80}
    assert who_can_write(G, "p9") == {"D", "W"}


def test_memory_false_gives_the_keys_alone():
    G = schema(
        ("D", "n1", "segment", 3, 3, "address"),
        ("n1", "p1", "page", 0, 0, "slot"),
        ("D", "p2", "page", 0x80, 0, "key_register"),
        domains=("D",),
    )
    for system in (G, to_csr(G)):
        a = analysis.authority(system, "D", memory=False)
        assert set(zip(a.target, a.key_type.astype(str), a.databyte)) == {("p2", "page", 0x80)}
        assert len(analysis.authority(system, "D")) == 2


def test_a_domain_key_holder_can_change_the_address_space():
    G = schema(
        ("W", "D", "domain", 0, 0, "key_register"),
        ("W", "n1", "segment", 0x83, 1, "key_register"),
        ("n1", "p1", "page", 0, 0, "slot"),
        domains=("D", "W"),
    )
    assert memory_both(G, "D") == {"p1": 0x80}
    assert memory_both(G, "W") == {}
