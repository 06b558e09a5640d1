"""Segment keys (docs/primer.md#primer-segments, jsegmntc.c) and meter keys
(docs/primer.md#primer-meters, jmeterc.c)."""

import pytest

import keykos_lab as kl
from keykos_lab.kernel.keys import NOCALL, NODE, RO, SEGMENT

KT = kl.oc.KT
N = kl.oc.Node
INVALID = kl.oc.RC.INVALIDOC


def segment(con, node, databyte):
    return con.call(node, N.MakeSegmentKey, data=bytes([databyte])).keys[0]


# ------------------------------------------------------------ black segments
@pytest.mark.parametrize("lss", [3, 5, 12])
def test_black_segment_alleged_type_carries_lss(con, new_node, lss):
    assert con.call(segment(con, new_node(), lss), KT).rc == 5 | lss << 8


@pytest.mark.parametrize("lss", [3, 7])
def test_make_read_only_segment_key(con, new_node, lss):
    seg = segment(con, new_node(), lss)
    r = con.call(seg, kl.oc.Segment.MakeReadOnly)
    assert r.rc == 0
    orig = con.key(seg)
    assert con.key(r.keys[0]) == kl.Key(SEGMENT, orig.obj, lss | RO, orig.alloc)
    assert con.call(r.keys[0], KT).rc == 0x1000 | lss << 8 | 5


def test_read_only_keeps_nocall(con, new_node):
    seg = segment(con, new_node(), 3 | NOCALL)
    ro = con.call(seg, kl.oc.Segment.MakeReadOnly).keys[0]
    assert con.key(ro).databyte == 3 | NOCALL | RO
    assert con.call(ro, KT).rc == 0x1305


@pytest.mark.parametrize("order", [1, 16, 38, 39, 40, 4096, KT + 1])
def test_segment_unknown_order(con, new_node, order):
    assert con.call(segment(con, new_node(), 3), order).rc == INVALID


def test_segment_key_does_not_act_as_a_node_key(con, new_node, new_page):
    node = new_node()
    con.call(node, N.Swap + 0, new_page())
    seg = segment(con, node, 3)
    r = con.call(seg, N.Fetch + 0)  # order 0 makes a RO segment key, never a fetch
    assert con.key(r.keys[0]).type == SEGMENT
    assert con.call(seg, N.Swap + 0).rc == INVALID


# -------------------------------------------------------------- red segments
def test_red_segment_without_keeper_is_answered_by_the_kernel(con, new_page):
    seg = kl.build_segment(con, [new_page()])
    assert con.key(seg).databyte == 0
    assert con.call(seg, KT).rc == 5
    assert con.key(con.call(seg, 0).keys[0]).databyte == RO


@pytest.mark.parametrize("databyte", [0, RO])
def test_red_segment_with_keeper_sends_to_the_keeper(con, new_page, databyte):
    keeper = kl.start_key(con, kl.build_domain(con, "echo"))
    seg = kl.build_segment(con, [new_page()], keeper=keeper, read_only=bool(databyte))
    r = con.call(seg, 1234, data=b"front end")
    assert (r.rc, r.data) == (1234, b"front end")
    orig = con.key(seg)
    assert con.key(r.keys[2]) == kl.Key(NODE, orig.obj, databyte, orig.alloc)
    assert con.call(seg, KT).rc == KT  # the keeper (echo) answers, not the kernel


def test_nocall_red_segment_is_answered_by_the_kernel(con, new_page):
    keeper = kl.start_key(con, kl.build_domain(con, "echo"))
    seg = kl.build_segment(con, [new_page()], keeper=keeper)
    node = con.call(seg, 0).keys[2]  # the keeper (echo) hands back the node key it got
    nocall = segment(con, node, NOCALL)
    assert con.call(nocall, KT).rc == 5
    r = con.call(nocall, kl.oc.Segment.MakeReadOnly)
    assert r.rc == 0 and con.key(r.keys[0]).databyte == RO | NOCALL


def test_red_segment_with_a_non_gate_keeper_acts_as_dk0(con, new_page):
    page = new_page()
    seg = kl.build_segment(con, [page], keeper=page)
    assert con.call(seg, KT).rc == kl.oc.RC.DATAKEY
    assert con.call(seg, kl.oc.Segment.MakeReadOnly).rc == kl.oc.RC.DATAKEY


def test_frontend_key_without_keeper_acts_as_dk0(con, new_node):
    fe = con.call(new_node(), N.MakeFrontendKey).keys[0]
    assert con.call(fe, KT).rc == kl.oc.RC.DATAKEY
    assert con.call(fe, 0).rc == kl.oc.RC.DATAKEY


# --------------------------------------------------------------------- meters
def test_meter_alleged_type(con, new_node):
    assert con.call(con["meter"], KT).rc == kl.oc.Meter.AKT == 6
    made = con.call(new_node(), N.MakeMeterKey).keys[0]
    assert con.call(made, KT).rc == 6


@pytest.mark.parametrize("order", [0, 1, 3, 16 + 3, 39, 40, 4096, KT + 1])
def test_meter_key_refuses_everything_else(con, new_node, order):
    node = new_node()
    con.call(node, N.Swap + 3, con.call(con["dkc"], 0, data=b"\0\0\0\0\0\x09").keys[0])
    meter = con.call(node, N.MakeMeterKey).keys[0]
    r = con.call(meter, order, con["meter"])
    assert r.rc == INVALID and con.key(r.keys[0]) == kl.DK0
    assert con.key(con.call(node, N.Fetch + 3).keys[0]) == kl.DK(9)
