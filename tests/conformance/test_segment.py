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
