"""Window keys and the static walks (docs/analyses.md#analyses-keepers).

A window key is a data key in a node's slot (``kernel/segments.py`` ``translate``,
memoryc.c:473-520): address translation goes on from another slot of the same node (a
local window) or from the background key of the nearest red node on the path that names
one (a background window), only adding read-only and no-call. Data keys are not edges of
the capability graph, and the walks need none: they follow every key that can be in every
slot of every node they reach, so what a window shows (a slot of a node the walk is in, or
of a red node it passed) is already reached, by a path no more restricted. These tests build
systems where pages and keepers are reached *only* through windows — past a node's initial
slots, or in its background slot — run the kernel through them, and check that the
analyses, on the graph taken before, predicted it; the referee checks the same.
"""

from __future__ import annotations

from schema_graph import schema

import keykos_lab as kl
from keykos_lab import analysis, oc
from keykos_lab.analysis import explore, soundness
from keykos_lab.analysis.authority import _Walk
from keykos_lab.analysis.convert import to_csr

N = oc.Node
MARK = b"through!"
LOCAL_ADDRESS = 0x1010  # slot 1: a local window onto slot 9
BACKGROUND_ADDRESS = 0x2010  # slot 2: a background window onto slot 13


@kl.program("t-win-user")
def win_user(dom, msg):
    """Writes its string at the address its order names (reads 8 bytes there when the
    string is empty) and answers what it read."""
    if msg.data:
        yield dom.write(msg.order, msg.data)
        got = b""
    else:
        got = yield dom.read(msg.order, 8)
    yield dom.return_(msg.resume, data=got)


@kl.program("t-win-keeper")
def win_keeper(dom, msg):
    """A segment keeper that keeps the two keys the kernel hands it (registers 1 and 2),
    counts its calls in register 0 and does not restart the domain."""
    dom.keys[1] = msg.keys[2]
    dom.keys[2] = msg.keys[3]
    dom.regs[0] = dom.regs[0] + 1
    return
    yield


def data_key(con, value):
    return con.call(con["dkc"], oc.DKC.Create11, data=value.to_bytes(11, "big")).keys[0]


def new(con, order):
    return con.call(con["bank"], order).keys[0]


def window_system(keeper_program="t-win-keeper"):
    """D (t-win-user) has for memory a red node N: 3 initial slots, background slot 13,
    no keeper. Slot 0: D's image; slot 1: a local window onto slot 9, page P; slot 2: a
    background window onto slot 13, a segment key to a red node B whose keeper slot 14
    holds a start key to K and whose slot 0 is empty. P and B are past N's initial slots:
    only the windows reach them. L holds a read-only key to P."""
    k = kl.Kernel()
    con = k.console
    p = new(con, oc.SB.CreatePage)
    keeper_dom = kl.build_domain(con, keeper_program)
    b = new(con, oc.SB.CreateNode)
    con.call(b, N.Swap + 14, kl.start_key(con, keeper_dom))
    con.call(b, N.Swap + 15, data_key(con, kl.format_key_value(3, initial=2, keeper=14)))
    n = new(con, oc.SB.CreateNode)
    con.call(n, N.Swap + 0, kl.image(con, "t-win-user"))
    con.call(n, N.Swap + 1, data_key(con, kl.window_key_value(slot=9)))
    con.call(n, N.Swap + 2, data_key(con, kl.window_key_value(background=True)))
    con.call(n, N.Swap + 9, p)
    con.call(n, N.Swap + 13, con.call(b, N.MakeSegmentKey, data=b"\0").keys[0])
    fmt = kl.format_key_value(3, initial=3, background=13)
    con.call(n, N.Swap + 15, data_key(con, fmt))
    seg = con.call(n, N.MakeSegmentKey, data=b"\0").keys[0]
    d = kl.build_domain(con, memory=seg)
    ro = con.call(p, oc.Page.MakeReadOnlyKey).keys[0]
    listener = kl.build_domain(con, "echo", keys={0: ro})
    names = {"D": d, "K": keeper_dom, "L": listener, "P": p, "B": b, "N": n}
    return k, {name: con.target(h) for name, h in names.items()}, names


def before(k):
    """The capability graph before anything runs, without the console."""
    G = k.capability_graph()
    G.remove_node(k.console.root)
    return G


def register_keys(k, root):
    """Key registers 1 and 2 of a domain as {slot: (target, key_type, databyte)}."""
    return {
        d["slot"]: (t, d["key_type"], d["databyte"])
        for _, t, d in k.capability_graph().out_edges(root, data=True)
        if d["slot_kind"] == "key_register" and d["slot"] in (1, 2)
    }


def test_the_kernel_goes_through_both_windows():
    """The system does what the tests below predict: D writes P through the local window,
    and a read through the background window faults in B (slot 0 is empty), calling K."""
    k, v, h = window_system()
    con = k.console
    start = kl.start_key(con, h["D"])
    assert con.call(start, LOCAL_ADDRESS, data=MARK).data == b""
    got = con.call(h["P"], oc.Page.ReadData + 0x10, data=(8).to_bytes(4, "big")).data
    assert got == MARK
    assert con.call(start, LOCAL_ADDRESS).data == MARK
    con.fork(start, BACKGROUND_ADDRESS)
    con.run()
    keys = register_keys(k, v["K"])
    assert keys[1] == (v["B"], "node", 0) and keys[2] == (v["D"], "resume", 0)


def test_a_page_only_a_window_reaches_is_in_the_domains_memory():
    """``Closure.memory``: P, in a slot past N's initial slots, is a read-write page of D,
    and what D writes there flows to L, who can read P. (The fast engine is for systems
    without the system programs: the hand-built graph below checks it.)"""
    k, v, _ = window_system()
    G = before(k)
    pages = analysis.Closure(G).memory(v["D"])
    assert pages[v["P"]][0] is True
    assert analysis.can_flow(G, v["D"], v["L"])


def test_a_keeper_only_a_background_window_reaches_is_granted():
    """``_Walk.sites``: B, in N's background slot, is a red node D's faults can offer to
    its keeper; K is predicted the node key to B and a restart key to D, and the fault
    is a flow D → K."""
    k, v, _ = window_system()
    G = before(k)
    c = analysis.Closure(G)
    assert v["B"] in _Walk(c).sites(v["D"])
    a = analysis.authority(G, v["K"])
    assert {(v["B"], "node", 0), (v["D"], "resume", 0)} <= set(
        zip(a.target, a.key_type, a.databyte)
    )
    assert analysis.can_flow(G, v["D"], v["K"])
    assert not analysis.confinement(G, v["D"]).confined


# --------------------------------------------------------------- a hand-built graph


def test_a_hand_graph_where_only_windows_reach():
    """The graph of ``window_system`` by hand, the windows left out as data keys are: the
    walks reach P and B by their slots (9 and 13) all the same, on both engines."""
    G = schema(
        ("D", "n", "segment", 0, 3, "address"),
        ("n", "p", "page", 0, 9, "slot"),
        ("n", "b", "segment", 0, 13, "slot"),
        ("b", "K", "start", 0, 14, "slot"),
        ("L", "p", "page", 0x80, 0, "key_register"),
        domains=("D", "K", "L"),
    )
    c = analysis.Closure(G)
    assert c.memory("D")["p"][0] is True
    assert set(_Walk(c).sites("D")) == {"n", "b"}
    want = {("b", "node", 0), ("D", "resume", 0)}
    a = analysis.authority(G, "K")
    ref = set(zip(a.target, a.key_type, a.databyte))
    fast = analysis.authority(to_csr(G), "K").astype({"key_type": str})
    assert want <= ref and want <= set(zip(fast.target, fast.key_type, fast.databyte))
    assert analysis.can_flow(G, "D", "L") and analysis.can_flow(G, "D", "K")


# ------------------------------------------------------------------------ referee
def test_the_referee_finds_the_windows_predicted():
    """The referee drives D's memory with the kernel's own translation, windows and all:
    its writes through the local window and its fault through the background window (an
    ``echo`` keeper here, which D can call and which hands the keys back) bring nothing the
    analyses did not predict."""
    k, v, h = window_system("echo")
    con = k.console
    con.call(h["D"], oc.Domain.SwapKey + 0, kl.start_key(con, h["K"]))
    found = explore(k, v["D"], 2)
    rows = set(zip(found.target, found.key_type, found.databyte))
    assert {(v["B"], "node", 0), (v["D"], "resume", 0)} <= rows
    report = soundness(k, v["D"], 2, console=False)
    assert report["missing"] == [] and report["flow_missing"] == []


def test_the_referee_writes_and_faults_through_the_windows():
    """D holds no key: the referee's marker reaches P only through the local window, and
    K only by the fault through the background window; both flows were predicted."""
    k, v, _ = window_system()
    sinks = {f["sink"] for f in explore(k, v["D"], 2).attrs["flows"]}
    assert {v["P"], v["K"]} <= sinks
    report = soundness(k, v["D"], 2, console=False)
    assert report["missing"] == [] and report["flow_missing"] == []
