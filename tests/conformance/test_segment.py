"""Segment, frontend and meter keys: ``Base/jsegmntc.c`` (``jsegment``, ``jfrontend``,
``check_format_key``) and ``Base/jmeterc.c``.

A segment key is black when its databyte has a size (lss) or the no-call bit, or its
node's format key names no keeper slot; then it answers MakeReadOnly and KT. A red one
sends every order on to whatever its node's keeper slot holds.
"""

import pytest

import keykos_lab as kl
from keykos_lab.kernel.keys import NOCALL, NODE, RO, SEGMENT, Key

KT = kl.oc.KT
N = kl.oc.Node
S = kl.oc.Segment
D = kl.oc.Domain
INVALID = kl.oc.RC.INVALIDOC
DATAKEY = kl.oc.RC.DATAKEY


@kl.program("cf-echo-databyte")
def echo_databyte(dom, msg):
    """Replies with the start key's databyte as rc, the first three keys and the string."""
    yield dom.return_(msg.resume, rc=msg.databyte, data=msg.data, keys=msg.keys[:3])


def keys(con, r):
    return [con.key(h) for h in r.keys]


def segment(con, node, databyte):
    return con.call(node, N.MakeSegmentKey, data=bytes([databyte])).keys[0]


def echo_start(con, databyte=0):
    return kl.start_key(con, kl.build_domain(con, "cf-echo-databyte"), databyte)


# ============================================================== black segment keys
@pytest.mark.parametrize("databyte", [3, 5, 0x0C, RO | 4, NOCALL, NOCALL | RO | 3])
def test_make_read_only(con, new_node, databyte):
    """jsegmntc.c:391-397 (format_black): the key with ``databyte |= readonly``, rc 0."""
    node = new_node()
    nk = con.key(node)
    r = con.call(segment(con, node, databyte), S.MakeReadOnly)
    assert r.rc == 0 and keys(con, r)[0] == Key(SEGMENT, nk.obj, databyte | RO, nk.alloc)


@pytest.mark.parametrize("databyte", [3, 5, 0x0C, RO | 4, NOCALL | 7, NOCALL, RO | NOCALL])
def test_kt(con, new_node, databyte):
    """jsegmntc.c:399-403: ``5 | (databyte & 15) << 8``, ``| 0x1000`` when read-only."""
    want = 5 | (databyte & 15) << 8 | (0x1000 if databyte & RO else 0)
    assert con.call(segment(con, new_node(), databyte), KT).rc == want


@pytest.mark.parametrize("order", [1, 2, 16, 39, 4096, KT + 1])
def test_other_orders_are_kt2(con, new_node, order):
    """jsegmntc.c:405: ``else simplest(KT+2)``."""
    assert con.call(segment(con, new_node(), 3), order).rc == INVALID


def test_a_red_node_through_a_nocall_key_is_black(con, red_node):
    """jsegmntc.c:41: ``key->databyte & (0x0f + nocall)`` → format_black."""
    node, _, _ = red_node(keeper=echo_start(con))
    nk = con.key(node)
    r = con.call(segment(con, node, NOCALL), S.MakeReadOnly)
    assert keys(con, r)[0] == Key(SEGMENT, nk.obj, NOCALL | RO, nk.alloc)


def test_a_red_node_with_no_keeper_slot_is_black(con, new_node, dk):
    """jsegmntc.c:45: keeper slot 15 ("No keep") → format_black."""
    node = new_node()
    con.call(node, N.Swap + 15, dk(kl.format_key_value(3, initial=14)))
    seg = segment(con, node, 0)
    assert con.call(seg, KT).rc == 5
    assert con.call(seg, 7).rc == INVALID


def test_format_the_translation_rules_refuse_is_black(con, new_node, dk):
    """Departure (docs/fidelity.md, Red segment keys): a format key address translation
    refuses makes the node black for jumps too. jsegmntc.c:44-47 asks only for a data key
    with a keeper slot other than 15: with DK(0) in slot 15 the C release would send this
    order to slot 0's key."""
    node = new_node()
    con.call(node, N.Swap + 0, echo_start(con))
    seg = segment(con, node, 0)
    assert con.call(seg, KT).rc == 5
    con.call(node, N.Swap + 15, dk(kl.format_key_value(3, keeper=0) | 0x40000000))
    assert con.call(seg, KT).rc == 5  # bit 30, the kernel supernode


# ================================================================ red segment keys
@pytest.mark.parametrize("order", [0, 5, KT, 0xFFFFFFFF])
@pytest.mark.parametrize("databyte", [0, RO])
def test_red_segment_sends_to_its_start_key_keeper(con, red_node, dk, order, databyte):
    """jsegmntc.c:346-388: the keeper slot's key is invoked with the order, the string and
    the jumper's first two keys; the third is a node key to the red node with the
    segment key's databyte (365-369)."""
    node, _, _ = red_node(keeper=echo_start(con, 9), keeper_slot=13)
    seg = segment(con, node, databyte)
    r = con.call(seg, order, dk(1), dk(2), dk(3), data=b"s")
    nk = con.key(node)
    assert (r.rc, r.data) == (9, b"s")
    assert keys(con, r)[:3] == [kl.DK(1), kl.DK(2), Key(NODE, nk.obj, databyte, nk.alloc)]


def test_red_segment_without_pass_node_passes_the_jumpers_third_key(con, red_node, dk):
    """jsegmntc.c:365, 386: format bit 28 set: no node key, the jumper's third key goes."""
    node, seg, _ = red_node(keeper=echo_start(con), pass_node=False)
    r = con.call(seg, 1, dk(1), dk(2), dk(3))
    assert keys(con, r)[:3] == [kl.DK(1), kl.DK(2), kl.DK(3)]


def test_red_segment_keeper_a_return_key(con, new_domain, red_node):
    """jsegmntc.c:387: keyjump(keeper) for a resume key too: the message resumes the
    domain it names (jresumec.c:161)."""
    dom, _ = new_domain("echo")
    ret = con.call(dom, D.MakeReturnKey).keys[0]
    _, seg, _ = red_node(keeper=ret)
    r = con.call(seg, 4)
    assert r.rc == 4 and con.key(ret) == kl.DK0  # echo answered; the key is spent


@pytest.mark.parametrize("kind", ["page", "node", "fetch", "meter", "segment"])
@pytest.mark.parametrize("order", [0, 1, KT])
def test_red_segment_keeper_of_these_types_is_dk0(con, new_node, new_page, red_node, kind, order):
    """jsegmntc.c:362-364: a page, node, fetch, meter or segment key in the keeper slot is
    treated as DK(0): KT+1 and zeros (jdatac.c)."""
    other = new_node()
    keeper = {
        "page": new_page(),
        "node": other,
        "meter": con["meter"],
        "fetch": con.call(other, N.MakeFetchKey).keys[0],
        "segment": segment(con, other, 3),
    }[kind]
    _, seg, _ = red_node(keeper=keeper)
    r = con.call(seg, order)
    assert (r.rc, r.data) == (DATAKEY, bytes(16 if order == 1 else 6))


def test_red_segment_keeper_another_key_answers_for_it(con, new_domain, new_node, red_node):
    """jsegmntc.c:387: any other key is invoked as it is — a domain key, the Discrim, a
    sense key, a data key — with the node key as third key."""
    dom, _ = new_domain()
    _, seg, _ = red_node(keeper=dom)
    assert con.call(seg, KT).rc == D.AKT
    _, seg, _ = red_node(keeper=con["discrim"])
    assert con.call(seg, KT).rc == kl.oc.Discrim.AKT
    _, seg, _ = red_node(keeper=con.call(new_node(), N.MakeSenseKey).keys[0])
    assert con.call(seg, KT).rc == N.SenseAKT


def test_red_segment_keeper_a_frontend_key(con, red_node):
    """jsegmntc.c:387 keyjump(keeper) → gatec.c:529 jfrontend: a frontend key in the keeper
    slot is invoked as a frontend key (here without passing the node, as jsegmntc.c:254
    would crash if both passed one)."""
    _, _, fe = red_node(keeper=echo_start(con, 4))
    _, seg, _ = red_node(keeper=fe, pass_node=False)
    assert con.call(seg, 0).rc == 4


# ==================================================================== frontend keys
def test_frontend_sends_to_a_start_key_keeper(con, red_node, dk):
    """jsegmntc.c:202-268: as a segment key, with a node key to the red node (248-252)."""
    node, _, fe = red_node(keeper=echo_start(con, 6), databyte=0x20)
    r = con.call(fe, 3, dk(1), data=b"f")
    nk = con.key(node)
    assert (r.rc, r.data) == (6, b"f")
    assert keys(con, r)[:3] == [kl.DK(1), kl.DK0, Key(NODE, nk.obj, 0x20, nk.alloc)]


@pytest.mark.parametrize("kind", ["return", "domain", "discrim", "none"])
def test_frontend_keeper_not_a_start_key_is_dk0(con, new_domain, red_node, kind):
    """jsegmntc.c:243-247: ``if (type != startkey) keyjump(&dk0)``: KT+1 and zeros."""
    dom, _ = new_domain()
    keeper = {
        "return": con.call(dom, D.MakeReturnKey).keys[0],
        "domain": dom,
        "discrim": con["discrim"],
        "none": None,
    }[kind]
    _, _, fe = red_node(keeper=keeper)
    r = con.call(fe, 1)
    assert (r.rc, r.data) == (DATAKEY, bytes(16))


@pytest.mark.parametrize("databyte", [3, NOCALL])
def test_black_frontend_is_dk0(con, red_node, databyte):
    """jsegmntc.c:210-213: check_format_key → format_black: ``keyjump(&dk0)``."""
    node, _, _ = red_node(keeper=echo_start(con))
    fe = con.call(node, N.MakeFrontendKey, data=bytes([databyte])).keys[0]
    r = con.call(fe, KT)
    assert (r.rc, r.data) == (DATAKEY, bytes(6))


def test_frontend_follows_a_chain_of_frontend_keepers(con, red_node):
    """jsegmntc.c:158-200 getfrontendkeeper: a frontend key in the keeper slot is followed;
    the last node (with the last frontend key's databyte, 185) is the one passed."""
    last, _, fe_last = red_node(keeper=echo_start(con, 8), databyte=0x30)
    _, _, fe_first = red_node(keeper=fe_last)
    r = con.call(fe_first, 1)
    nk = con.key(last)
    assert r.rc == 8 and keys(con, r)[2] == Key(NODE, nk.obj, 0x30, nk.alloc)


def test_frontend_chain_ending_in_a_black_one_is_dk0(con, new_node, red_node):
    """jsegmntc.c:186-188: a frontend keeper whose own format is black: -2, DK(0)."""
    plain = con.call(new_node(), N.MakeFrontendKey, data=b"\x03").keys[0]
    _, _, fe = red_node(keeper=plain)
    assert con.call(fe, 0).rc == DATAKEY


def test_frontend_chain_too_deep_traps(con, red_node):
    """jsegmntc.c:220-227: a chain of 20 frontend keepers (or a loop) is not followed:
    the jumper traps (0x600+76 there; the simulator's trap table is its own,
    docs/fidelity.md, Trap codes). The console, which has no keeper, is stopped."""
    node, _, fe = red_node()
    con.call(node, N.Swap + 14, fe)  # its own keeper: a loop
    with pytest.raises(kl.KernelError):
        con.call(fe, 0)


# ========================================================================= meters
def test_meter_kt(con):
    """jmeterc.c:14: ``simplest(6)``."""
    assert con.call(con["meter"], KT).rc == kl.oc.Meter.AKT == 6


@pytest.mark.parametrize("order", [0, 1, 3, 16, 39, KT + 1, KT + 4])
def test_meter_other_orders_are_kt2(con, order):
    """jmeterc.c:15: ``else simplest(KT+2)``."""
    assert con.call(con["meter"], order).rc == INVALID


# ======================================================== address translation, windows
# A domain running cf-peek reads (order 0) or writes (order 1) 8 bytes at the address its
# string names, through a segment whose slot 0 holds cf-peek's image; its domain keeper, a
# cf-fault-keeper, notes the trap code of a memory fault no segment keeper took
# (Trap.MEMORY + code). The segments' format keys and windows are data keys.
MARK = b"windowed"
FAULT = kl.oc.Fault


@kl.program("cf-peek")
def cf_peek(dom, msg):
    """Reads 8 bytes at the address in the string's first 8 bytes (order 0), or writes
    the next 8 bytes there (order 1); answers what it read."""
    address = int.from_bytes(msg.data[:8], "big")
    if msg.order == 1:
        yield dom.write(address, msg.data[8:16])
        got = b""
    else:
        got = yield dom.read(address, 8)
    yield dom.return_(msg.resume, data=got)


@kl.program("cf-fault-keeper")
def cf_fault_keeper(dom, msg):
    """A keeper that does not resume: r0 is 1 when called as a segment keeper (the
    fault code, in the string, in r1), 2 as a domain keeper (the trap code in r1)."""
    if msg.order == kl.oc.Keeper.Segment:
        dom.regs[0], dom.regs[1] = 1, int.from_bytes(msg.data[:2], "big")
    else:
        dom.regs[0], dom.regs[1] = 2, msg.order
    return
    yield


def fault_keeper(con):
    """(domain key, start key) of a fresh cf-fault-keeper."""
    dom = kl.build_domain(con, "cf-fault-keeper")
    return dom, kl.start_key(con, dom)


def noted(con, keeper_dom):
    """What a cf-fault-keeper noted: ``(role, code)``, (0, 0) if it was not called."""
    regs = con.call(keeper_dom, D.GetRegs).data
    return int.from_bytes(regs[:8], "big"), int.from_bytes(regs[8:16], "big")


def access(con, memory, address, write=False):
    """cf-peek through ``memory`` at ``address``: the bytes read (b"" after a write), the
    fault code its domain keeper got, or None when a segment keeper took the fault."""
    keeper_dom, keeper = fault_keeper(con)
    start = kl.start_key(con, kl.build_domain(con, memory=memory, keeper=keeper))
    try:
        return con.call(start, int(write), data=address.to_bytes(8, "big") + MARK).data
    except kl.Deadlock:
        role, code = noted(con, keeper_dom)
        return code - kl.oc.Trap.MEMORY if role == 2 else None


@pytest.fixture
def marked(con, new_page):
    """Factory: a fresh page with ``MARK`` at offset ``at`` (8 by default)."""

    def make(at=8, mark=MARK):
        page = new_page()
        con.call(page, kl.oc.Page.WriteData + at, data=mark)
        return page

    return make


@pytest.fixture
def space(con, new_node, dk):
    """Factory: ``(node key, segment key)`` to a node for cf-peek's address space:
    cf-peek's image in slot 0, ``slots`` (slot → handle, or an int: a data key of that
    value) in the others; red with format ``fmt`` (``kl.format_key_value`` arguments) in
    slot 15 unless ``lss`` is given (a black node: the segment key's size)."""

    def make(slots, lss=0, databyte=0, **fmt):
        node = new_node()
        con.call(node, N.Swap + 0, kl.image(con, "cf-peek"))
        for n, v in slots.items():
            con.call(node, N.Swap + n, dk(v) if isinstance(v, int) else v)
        if not lss:
            con.call(node, N.Swap + 15, dk(kl.format_key_value(fmt.pop("slot_lss", 3), **fmt)))
        return node, segment(con, node, lss | databyte)

    return make


def test_a_local_window_shows_another_slot_of_its_node(con, space, marked):
    """memoryc.c:473-477, 518-520: a data key whose last byte has bit 0x02 is a window;
    without bit 0x01 the walk goes on from the key in the slot its high nibble names, in
    the same node (here slot 9, past the node's 3 initial slots)."""
    page = marked()
    _, seg = space({1: kl.window_key_value(slot=9), 9: page}, initial=3)
    assert access(con, seg, 0x1008) == MARK
    assert access(con, seg, 0x1000, write=True) == b""
    assert con.call(page, kl.oc.Page.ReadData, data=(8).to_bytes(4, "big")).data == MARK


def test_a_window_offset_is_added_to_the_address(con, space, new_node, marked):
    """memoryc.c:491-497: bytes 3-10 of the window key are an offset; ``vaddr += adr &
    ~0xfff`` — the address within the window's slot, plus the offset, is looked up in the
    key it shows (here a black node of pages, lss 3: offset 0x5000 is its slot 5)."""
    pages = new_node()
    con.call(pages, N.Swap + 5, marked(at=0x10))
    _, seg = space({2: kl.window_key_value(0x5000, slot=7), 7: segment(con, pages, 3)})
    assert access(con, seg, 0x2010) == MARK


def test_a_background_window_shows_the_background_key(con, space, new_node, marked):
    """memoryc.c:460-466, 503-516: a window with bit 0x01 shows the background key of the
    nearest red node on the path that names one (``bgnode``, format bits 16-19), here the
    node itself, with the offset added (a black node of pages: its slot 4)."""
    pages = new_node()
    con.call(pages, N.Swap + 4, marked())
    _, seg = space(
        {1: kl.window_key_value(0x4000, background=True), 13: segment(con, pages, 3)},
        initial=2,
        background=13,
    )
    assert access(con, seg, 0x1008) == MARK


def test_a_background_window_below_uses_the_background_key_above(con, space, new_node, marked, dk):
    """memoryc.c:460-466: ``bgnode`` is kept as the walk goes down, so a background window
    in a red node with no background key shows the one of the red node above."""
    inner = new_node()
    con.call(inner, N.Swap + 0, dk(kl.window_key_value(background=True)))
    con.call(inner, N.Swap + 15, dk(kl.format_key_value(3, initial=1)))
    _, seg = space({1: segment(con, inner, 0), 12: marked()}, slot_lss=4, initial=2, background=12)
    assert access(con, seg, 0x10008) == MARK


def test_a_read_only_window(con, space, marked):
    """memoryc.c:477, 306-312: bit 0x08 of the window's last byte adds read-only: reads
    go through, a write faults 1."""
    _, seg = space({1: kl.window_key_value(slot=9, read_only=True), 9: marked()}, initial=3)
    assert access(con, seg, 0x1008) == MARK
    assert access(con, seg, 0x1008, write=True) == FAULT.READONLY


def test_a_no_call_window_hides_the_keepers_below(con, space, new_node, dk):
    """memoryc.c:477, 419-420: bit 0x04 adds no-call: a red node below it names no
    segment keeper (``!(seapformat & nocall)``), so a fault there goes to the domain
    keeper; through a plain window the red node's keeper is called."""
    keeper_dom, keeper = fault_keeper(con)
    inner = new_node()
    con.call(inner, N.Swap + 14, keeper)
    con.call(inner, N.Swap + 15, dk(kl.format_key_value(3, initial=1, keeper=14)))
    red = segment(con, inner, 0)
    _, seg = space({1: kl.window_key_value(slot=9, no_call=True), 9: red}, initial=3)
    assert access(con, seg, 0x1000) == FAULT.DATA
    assert noted(con, keeper_dom) == (0, 0)
    _, seg = space({1: kl.window_key_value(slot=9), 9: red}, initial=3)
    assert access(con, seg, 0x1000) is None
    assert noted(con, keeper_dom) == (1, FAULT.DATA)


@pytest.mark.parametrize("value", [1 << 48, 1 << 87 | 2, 0x1234 << 64 | 0x12])
def test_a_window_offset_of_256_to_the_6_faults_14(con, space, value):
    """memoryc.c:479-483: ``Memcmp(data, "\\0\\0\\0\\0\\0", 5)``: a window whose first 5
    value bytes are not all 0 faults 14."""
    _, seg = space({1: value | 2, 9: kl.image(con, "echo")}, initial=3)
    assert access(con, seg, 0x1000) == FAULT.WINDOW_RANGE


@pytest.mark.parametrize(
    ("lss", "value"),
    [
        (3, 0x0102),  # bits 8-11 of a local window
        (4, 0x1092),  # a local window's offset not a multiple of 16**4
        (3, 0x0013),  # a background window's slot nibble
        (4, 0x8003),  # a background window's offset not a multiple of 16**4
    ],
)
def test_window_offset_bits_below_the_slot_size_fault_10(con, space, lss, value):
    """memoryc.c:494-496: the offset's bits below the slot size (16**lss) must be 0,
    except the last byte (a local window) or its low nibble (a background window)."""
    _, seg = space({1: value, 9: kl.image(con, "echo")}, slot_lss=lss, initial=3, background=9)
    assert access(con, seg, 1 << 4 * lss) == FAULT.WINDOW_OFFSET


def test_a_background_window_with_no_background_key_faults_13(con, space):
    """memoryc.c:503-506: no red node on the path names a background slot."""
    _, seg = space({1: kl.window_key_value(background=True)}, initial=3)
    assert access(con, seg, 0x1000) == FAULT.NO_BACKGROUND


@pytest.mark.parametrize("target", [5, 1])
def test_a_window_onto_a_data_key_faults_5(con, space, target):
    """memoryc.c:518-524, 219-222: the key a window shows is checked as any key is: an
    empty slot (DK(0)), or a window itself (windows do not chain), faults 5."""
    _, seg = space({1: kl.window_key_value(slot=target)}, initial=3)
    assert access(con, seg, 0x1000) == FAULT.DATA


def test_a_window_in_a_black_node(con, space, marked):
    """memoryc.c:473: the window test is not inside the red-node tests (400-471): a data
    key with bit 0x02 in a black node's slot is a window too."""
    _, seg = space({3: kl.window_key_value(slot=6), 6: marked()}, lss=3)
    assert access(con, seg, 0x3008) == MARK


def test_an_empty_slot_faults_5(con, space):
    """memoryc.c:219-222: ``case datakey: error_code = 5``."""
    _, seg = space({}, initial=3)
    assert access(con, seg, 0x2000) == FAULT.DATA


def test_past_the_initial_slots_faults_3_background_or_not(con, space, new_node, marked):
    """memoryc.c:430, 448-450: ``if (waddr > lastinitial)`` faults 3 — a background key
    is reached only through background windows (503-516), never by the address alone."""
    pages = new_node()
    con.call(pages, N.Swap + 2, marked())
    _, seg = space({2: marked(), 13: segment(con, pages, 3)}, initial=2, background=13)
    assert access(con, seg, 0x2008) == FAULT.OUTSIDE
    _, seg = space({2: marked()}, initial=3)
    assert access(con, seg, 0x2008) == MARK


def test_past_the_initial_slots_the_red_nodes_own_keeper_is_called(con, space):
    """memoryc.c:419-428, 448-450: the red node's keeper is noted before the address is
    checked against its initial slots, so it gets the fault 3."""
    keeper_dom, keeper = fault_keeper(con)
    _, seg = space({14: keeper}, initial=2, keeper=14)
    assert access(con, seg, 0x3000) is None
    assert noted(con, keeper_dom) == (1, FAULT.OUTSIDE)


def test_zero_initial_slots_bound_nothing(con, space, marked):
    """memoryc.c:430, 448: ``lastinitial`` is ``initial - 1``, an int compared with the
    unsigned ``waddr``: with 0 initial slots it is -1 as an unsigned and no slot is past
    it."""
    _, seg = space({14: marked()}, initial=0)
    assert access(con, seg, 0xE008) == MARK


def test_a_write_below_a_read_only_key_faults_before_the_red_node(con, space):
    """memoryc.c:306-312 (checkmkey), 565-569: a write through a read-only key faults 1
    when that key is checked, before its red node names a keeper (419-428): the domain
    keeper is called, not the red node's."""
    keeper_dom, keeper = fault_keeper(con)
    _, seg = space({1: kl.image(con, "echo"), 14: keeper}, initial=2, keeper=14, databyte=RO)
    assert access(con, seg, 0x1000, write=True) == FAULT.READONLY
    assert noted(con, keeper_dom) == (0, 0)


def test_a_fault_past_4_gib_goes_to_the_domain_keeper(k, con, dk):
    """Departure (docs/fidelity.md, Segment keepers; address translation and window keys):
    the segment keeper's string carries a 32-bit address, so a fault at 4 GiB or above goes
    to the domain keeper (Trap.MEMORY + code), not to the segment keeper; C's SPARC has
    32-bit addresses and sends the low 6 bytes (memoryc.c:611-618). Told only the low 32
    bits, a VCS mended the wrong page and the write faulted again until the meter ran dry."""
    original = kl.build_red_segment(con, [kl.image(con, "cf-peek")])
    vcs = kl.build_vcs(con, original)
    meter = con.call(con["bank"], kl.oc.SB.CreateNode).keys[0]
    con.call(meter, N.Swap + 1, con["meter"])
    con.call(meter, N.Swap + 3, dk(200_000))  # a small meter: the old livelock ends
    keeper_dom, keeper = fault_keeper(con)
    dom = kl.build_domain(
        con, memory=vcs.segment, meter=con.call(meter, N.MakeMeterKey).keys[0], keeper=keeper
    )
    address = (1 << 32) + 0x10
    con.fork(kl.start_key(con, dom), 1, data=address.to_bytes(8, "big") + MARK)
    con.run(max_steps=3000)
    role, code = noted(con, keeper_dom)
    assert role == 2 and code >= kl.oc.Trap.MEMORY
    events = k.events()
    calls = events[(events["actor"] == con.target(dom)) & (events["event"] == "keeper")]
    assert len(calls) == 1  # the domain keeper's, and no segment keeper's


@kl.program("cf-write-hello")
def _write_hello(dom, msg):
    """Write b"hello" at 0x100 of its own memory, then answer."""
    yield dom.write(0x100, b"hello")
    yield dom.return_(msg.resume, rc=0)


@pytest.mark.parametrize("make, writes", [(N.MakeSegmentKey, True), (N.MakeFetchKey, False)])
def test_a_fetch_key_as_memory_is_read_only(k, con, new_node, new_page, make, writes):
    """Departure (docs/fidelity.md, A fetch key as memory): through a fetch key (databyte 3,
    no read-only bit) a domain's write to its memory faults, where a segment key with the
    same databyte writes. In C checkmkey takes read-only from the databyte alone
    (memoryc.c:250-254, 306-312), so both write. The analyses read a fetch key so too."""
    page, node = new_page(), new_node()
    con.call(page, kl.oc.Page.WriteData, data=kl.kernel.process.image_bytes("cf-write-hello"))
    con.call(node, N.Swap + 0, page)
    memory = con.call(node, make, data=bytes([3])).keys[0]
    con.fork(kl.start_key(con, kl.build_domain(con, memory=memory)), 0)
    con.run()
    got = con.call(page, kl.oc.Page.ReadData + 0x100, data=(5).to_bytes(4, "big")).data
    assert (got == b"hello") is writes
