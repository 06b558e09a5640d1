"""Soundness bugs the referee found (issue 16), each as the smallest system that shows it.

Every test builds one system, lets the referee act in it (``soundness(…, console=False)``:
static answers without the console that built the system) and checks both halves: the
kernel really does it (the key is among the explored rows, the vertex among the flows), and
the static analyses predict it (it is not among ``missing`` or ``flow_missing``).

The keeper-channel cases (R1–R6) were found against the analyses of commit ``cdd769c`` by
the referee's segment faults, dry meters and front-end calls (and by
``test_referee_differential.py``); the keeper rules of ``authority.py`` and ``flow.py``
cover them now (docs/analyses.md#analyses-referee). R7 was found by the differential test
on those rules; ``authority._derived`` has it now. R8, found once the builder's AssignKT and
AssignOrdinal were in the referee's vocabulary, is closed by ``flow._factory_flows``: a
factory carries 32 bits from its builder's holder to every holder of its keys and to what
it makes.
"""

import keykos_lab as kl
from keykos_lab import oc
from keykos_lab.analysis import explore, soundness
from keykos_lab.analysis.model import behaviour
from keykos_lab.kernel.process import program
from keykos_lab.programs.factories.fcc import FCC


def new_page(con):
    return con.call(con["bank"], oc.SB.CreatePage).keys[0]


def referee(k, subject, depth=1):
    """(rows explored, sinks reached, the soundness report)."""
    found = explore(k, subject, depth)
    rows = set(zip(found.target, found.key_type, found.databyte))
    sinks = {f["sink"] for f in found.attrs["flows"]}
    return rows, sinks, soundness(k, subject, depth, console=False)


def missed(report) -> set:
    return {(m["target"], m["key_type"], m["databyte"]) for m in report["missing"]}


def flow_missed(report) -> set:
    return {m["sink"] for m in report["flow_missing"]}


# ------------------------------------------------------------ keeper channels
def test_R1_a_segment_keeper_gets_a_node_key_to_its_red_node_and_a_restart_key():
    """The subject's memory is a red segment whose keeper it can call: a write to the
    read-only image page faults, the kernel calls the keeper with a node key to the red
    node and a restart key to the subject. Missed before the keeper rules."""
    k = kl.Kernel()
    con = k.console
    keeper = kl.start_key(con, kl.build_domain(con, "echo"))
    seg, node = kl.build_red_segment(con, [kl.image(con, "echo")], keeper=keeper)
    s = con.target(kl.build_domain(con, memory=seg, keys={0: keeper}))
    rows, _, report = referee(k, s)
    wanted = {(con.target(node), "node", 0), (s, "resume", 0)}
    assert wanted <= rows
    assert not wanted & missed(report) and report["missing"] == []


def test_R2_the_subject_tells_a_segment_keeper_it_has_no_key_to():
    """The same segment, but the subject holds nothing: its fault still sends the keeper
    a message (the fault code and address it chose). A flow the rules did not have."""
    k = kl.Kernel()
    con = k.console
    keeper = kl.start_key(con, kl.build_domain(con, "pager", keys={0: con["bank"]}))
    seg, _ = kl.build_red_segment(con, [kl.image(con, "echo")], keeper=keeper)
    s = con.target(kl.build_domain(con, memory=seg))
    _, sinks, report = referee(k, s)
    assert con.target(keeper) in sinks
    assert report["flow_missing"] == [] and report["missing"] == []


def test_R3_a_meter_keeper_gets_the_meter_node_and_a_restart_key():
    """The subject runs on a meter of 300 ticks whose keeper it can call; spinning runs the
    meter dry and the kernel hands the keeper a node key to the meter and a restart key."""
    k = kl.Kernel()
    con = k.console
    keeper = kl.start_key(con, kl.build_domain(con, "refiller", keys={0: con["dkc"]}))
    meter = kl.build_meter(con, 300, keeper=keeper)
    s = con.target(kl.build_domain(con, "echo", meter=meter.key, keys={0: keeper}))
    rows, _, report = referee(k, s)
    wanted = {(con.target(meter.node), "node", 0), (s, "resume", 0)}
    assert wanted <= rows
    assert report["missing"] == []


def test_R4_a_dry_meter_tells_its_keeper():
    """The same meter, the keeper out of the subject's reach: the keeper call is a message
    from the subject (when it ran the meter dry)."""
    k = kl.Kernel()
    con = k.console
    keeper = kl.start_key(con, kl.build_domain(con, "refiller", keys={0: con["dkc"]}))
    meter = kl.build_meter(con, 300, keeper=keeper)
    s = con.target(kl.build_domain(con, "echo", meter=meter.key))
    _, sinks, report = referee(k, s)
    assert con.target(keeper) in sinks
    assert report["flow_missing"] == []


def test_R5_a_red_segment_key_calls_its_keeper_which_can_hand_back_the_node():
    """The front-end pattern: a segment key to a red node whose keeper is an ``echo``. Any
    order on the key goes to the keeper with a node key to the red node as third key, and
    echo returns it: the holder gets the node (and all below it), and tells the keeper."""
    k = kl.Kernel()
    con = k.console
    keeper = kl.start_key(con, kl.build_domain(con, "echo"))
    page = new_page(con)
    seg, node = kl.build_red_segment(con, [page], keeper=keeper)
    s = con.target(kl.build_domain(con, "echo", keys={0: seg}))
    rows, sinks, report = referee(k, s, 2)
    wanted = {(con.target(node), "node", 0), (con.target(page), "page", 0)}
    assert wanted <= rows and con.target(keeper) in sinks
    assert report["missing"] == [] and report["flow_missing"] == []


def test_R6_the_keeper_of_a_red_segment_the_subject_can_call_is_handed_the_node():
    """The subject keeps a red segment that another domain holds a key to: when that domain
    calls the segment key (here the referee, acting for the domain it reaches), the subject
    receives a node key to the red node."""
    k = kl.Kernel()
    con = k.console
    s_dom = kl.build_domain(con, "echo")
    seg, node = kl.build_red_segment(con, [new_page(con)], keeper=kl.start_key(con, s_dom))
    holder = kl.build_domain(con, "echo", keys={0: seg})
    con.call(s_dom, oc.Domain.SwapKey + 0, kl.start_key(con, holder))
    s = con.target(s_dom)
    rows, _, report = referee(k, s, 2)
    assert (con.target(node), "node", 0) in rows
    assert report["missing"] == []


# ------------------------------------------------------------------- others
def test_R7_make_node_key_takes_its_databyte_from_the_string():
    """A node key with databyte 0x80 (or 3) makes a node key with databyte 0 — any
    databyte: Node MakeNodeKey takes it from the string (jnodec.c), like the other
    Make…Key orders (G10). The rules derived fetch, segment and frontend keys with
    databyte 0, but no other node key."""
    k = kl.Kernel()
    con = k.console
    node = con.call(con["bank"], oc.SB.CreateNode).keys[0]
    ro = con.call(node, oc.Node.MakeNodeKey, data=b"\x80").keys[0]
    s = con.target(kl.build_domain(con, "echo", keys={0: ro}))
    rows, _, report = referee(k, s)
    assert (con.target(node), "node", 0) in rows
    assert report["missing"] == []


def test_R8_a_builder_key_tells_every_requestor_through_the_alleged_type():
    """AssignKT (order 64) stores 32 bits of the builder's choosing in the factory, at any
    time (after completion too), and every holder of the requestor's key reads them back
    as the answer to KT; AssignOrdinal reaches every yield as its ordinal. The flow rules
    once said a factory passes nothing on, so ``can_flow`` from a holder of the builder's
    key to a holder of the requestor's key was False."""
    k = kl.Kernel()
    con = k.console
    f = kl.build_factory(con, "echo")
    client = kl.build_domain(con, "client", keys={0: f.requestor, 1: con["bank"], 2: con["meter"]})
    s = con.target(kl.build_domain(con, "echo", keys={0: f.builder}))
    _, sinks, report = referee(k, s)
    G = k.capability_graph()
    G.remove_node(con.root)
    assert kl.analysis.can_flow(G, s, con.target(client))
    assert con.target(f.requestor) in sinks  # the factory holds it
    c = k.copy().console  # and shows it to requestors
    builder, requestor = (kl.KeyHandle(c, h.index) for h in (f.builder, f.requestor))
    assert c.call(builder, 64, data=b"\x12\x34\x56\x78").rc == 0
    assert c.call(requestor, oc.KT).rc == 0x12345678
    assert report["flow_missing"] == []


@program("r9_stash_resume")
def _stash_resume(dom, msg):
    """Stores the resume key of the message it serves in slot 0 of the node in key
    register 0, and becomes available without answering (an answer would use the
    resume key up, and the stored copy with it)."""
    yield dom.call(dom.keys[0], oc.Node.Swap + 0, msg.resume)
    yield dom.return_(dom.keys[15], rc=0)


@program("r9_call_reg1")
def _call_reg1(dom, msg):
    """CALLs key register 1 with no key, then answers its caller."""
    yield dom.call(dom.keys[1], 0)
    yield dom.return_(msg.resume, rc=0)


def test_R9_a_callee_can_store_the_resume_key_its_caller_handed_it():
    """Found by the red team and a newcomer's review (session 6). d CALLs e; the kernel
    hands e a resume key to d, which e stores in a node the subject can fetch from. The
    rules joined free caller and callee into one class (the channel both ways) but gave no
    one the resume key itself, so ``authority`` missed ``(d, resume, 2)`` when it was
    stored. Fixed by a class-level rule in both engines: a class joined through a gate
    holds a return key to each of its members (``Closure._link``; the fast engine's
    ``calling`` groups). A described callee gets one to every member of its caller's
    class, including members joined later."""
    k = kl.Kernel()
    con = k.console
    n = con.call(con["bank"], oc.SB.CreateNode).keys[0]
    outer = con.call(con["bank"], oc.SB.CreateNode).keys[0]
    con.call(outer, oc.Node.Swap + 0, con.call(n, oc.Node.MakeFetchKey).keys[0])
    e = kl.start_key(con, kl.build_domain(con, "r9_stash_resume", keys={0: n}))
    d = kl.start_key(con, kl.build_domain(con, "r9_call_reg1", keys={1: e}))
    fetch = con.call(outer, oc.Node.MakeFetchKey).keys[0]
    s = con.target(kl.build_domain(con, "echo", keys={0: d, 1: fetch}))
    rows, _, report = referee(k, s, depth=2)
    assert (con.target(d), "resume", 2) in rows  # the kernel really hands it over
    assert report["missing"] == []


def test_R10_a_factory_made_while_exploring_carries_its_builders_32_bits():
    """Found by the exhaustive differential at fuzz size (session 6): the subject makes a
    factory with an FC it holds, then assigns its alleged type through the builder's key.
    The static rules summarise what an FC makes (role ``creator``), and R8's flow through
    a factory's AssignKT applied only to real factories, so the marker in the made
    factory's registers was a flow they missed."""
    k = kl.Kernel()
    con = k.console
    fc = con.call(con["fcc"], FCC.Create, con["bank"], con["meter"]).keys[0]
    s = con.target(kl.build_domain(con, "echo", keys={0: fc, 1: con["bank"], 2: con["meter"]}))
    report = soundness(k, s, 2, console=False)
    assert report["flow_missing"] == [] and report["missing"] == []


@program("r11_stash_resume")
def _r11_stash(dom, msg):
    """Stores the resume key of the message it serves, and stays busy (see R9)."""
    yield dom.call(dom.keys[0], oc.Node.Swap + 0, msg.resume)
    yield dom.return_(dom.keys[15], rc=0)


def test_R11_a_bank_program_whose_parent_is_no_bank_acts_freely():
    """Found by the red team (session 7): a domain running the space bank's program was
    trusted as a bank by its program alone; with a free domain as its parent it CALLs that
    domain (AVAILABLE) with its own resume key, which the domain stores where the subject
    fetches it. A bank is now one only if its parents are banks all the way up."""
    import struct

    from keykos_lab.programs.primordial import spacebank as sbp

    k = kl.Kernel()
    con = k.console
    n = con.call(con["bank"], oc.SB.CreateNode).keys[0]
    outer = con.call(con["bank"], oc.SB.CreateNode).keys[0]
    con.call(outer, oc.Node.Swap + 0, con.call(n, oc.Node.MakeFetchKey).keys[0])
    stash = kl.start_key(con, kl.build_domain(con, "r11_stash_resume", keys={0: n}))
    fake = kl.build_domain(con, "spacebank", keys={sbp.PARENT: stash})
    regs = struct.pack(">16Q", sbp.UNLIMITED, sbp.UNLIMITED, *([0] * 14))
    con.call(fake, oc.Domain.PutRegs, data=regs)
    bank = kl.start_key(con, fake)
    fetch = con.call(outer, oc.Node.MakeFetchKey).keys[0]
    s = con.target(kl.build_domain(con, "echo", keys={0: bank, 1: fetch}))
    rows, _, report = referee(k, s, depth=2)
    assert (con.target(bank), "resume", 2) in rows  # the kernel hands it over
    assert report["missing"] == []
    G = k.capability_graph()
    assert behaviour(G, con.target(fake)) == "free"
    assert behaviour(G, con.target(con["bank"])) == "bank"


@program("r12_writer")
def _r12_writer(dom, msg):
    """Writes a marker at 0x1010 of its address space, and answers."""
    yield dom.write(0x1010, b"SECRET")
    yield dom.return_(msg.resume, rc=0)


def test_R12_a_frontend_key_in_a_segment_slot_is_part_of_the_memory_tree():
    """Found by the red team (session 7): address translation walks frontend keys
    (kernel/segments.py), but the flow rules' memory trees did not, so data written
    through a frontend key in a segment slot reached a page no rule connected."""
    k = kl.Kernel()
    con = k.console
    inner = con.call(con["bank"], oc.SB.CreateNode).keys[0]
    page = con.call(con["bank"], oc.SB.CreatePage).keys[0]
    con.call(inner, oc.Node.Swap + 0, kl.image(con, "r12_writer"))
    con.call(inner, oc.Node.Swap + 1, page)
    top = con.call(con["bank"], oc.SB.CreateNode).keys[0]
    front = con.call(inner, oc.Node.MakeFrontendKey, data=bytes([3])).keys[0]
    con.call(top, oc.Node.Swap + 0, front)
    memory = con.call(top, oc.Node.MakeSegmentKey, data=bytes([4])).keys[0]
    writer = kl.build_domain(con, memory=memory)
    assert con.call(kl.start_key(con, writer), 0).rc == 0
    assert bytes(k.objs[con.target(page)].data[16:22]) == b"SECRET"  # the kernel writes it
    G = k.capability_graph()
    G.remove_node(con.root)
    assert kl.analysis.can_flow(G, con.target(writer), con.target(page))
    s = con.target(kl.build_domain(con, "echo", keys={0: memory}))
    assert soundness(k, s, 1, console=False)["flow_missing"] == []
