"""Node, fetch and sense keys (docs/primer.md#primer-sense-keys, jnodec.c, jsensec.c)."""

import struct

import pytest

import keykos_lab as kl
from keykos_lab.kernel.keys import FETCH, FRONTEND, METER, NOCALL, NODE, RO, SEGMENT, SENSE

KT = kl.oc.KT
N = kl.oc.Node
INVALID = kl.oc.RC.INVALIDOC


def dk(con, value):
    return con.call(con["dkc"], kl.oc.DKC.Create11, data=value.to_bytes(11, "big")).keys[0]


def slots(con, node):
    return [con.key(con.call(node, N.Fetch + i).keys[0]) for i in range(16)]


def write_data(first, last, values, prefix=bytes(5)):
    return struct.pack(">II", first, last) + b"".join(
        prefix + v.to_bytes(11, "big") for v in values
    )


# ------------------------------------------------------------------ node key
def test_fresh_node_holds_dk0_everywhere(con, new_node):
    assert slots(con, new_node()) == [kl.DK0] * 16


@pytest.mark.parametrize("n", range(16))
def test_swap_stores_and_fetch_returns(con, new_node, n):
    node = new_node()
    r = con.call(node, N.Swap + n, dk(con, 100 + n))
    assert r.rc == 0 and con.key(r.keys[0]) == kl.DK0
    assert slots(con, node) == [kl.DK(100 + n) if i == n else kl.DK0 for i in range(16)]
    r = con.call(node, N.Fetch + n)
    assert r.rc == 0 and con.key(r.keys[0]) == kl.DK(100 + n)


def test_swap_returns_the_old_key(con, new_node, new_page):
    node, page = new_node(), new_page()
    con.call(node, N.Swap + 5, page)
    r = con.call(node, N.Swap + 5, dk(con, 7))
    assert con.key(r.keys[0]) == con.key(page)
    assert con.key(con.call(node, N.Fetch + 5).keys[0]) == kl.DK(7)


def test_swap_without_a_key_stores_dk0(con, new_node, new_page):
    node = new_node()
    con.call(node, N.Swap + 2, new_page())
    con.call(node, N.Swap + 2)
    assert con.key(con.call(node, N.Fetch + 2).keys[0]) == kl.DK0


def test_fetch_returns_the_key_unchanged(con, new_node):
    node, inner = new_node(), new_node()
    seg = con.call(inner, N.MakeSegmentKey, data=b"\x43").keys[0]
    con.call(node, N.Swap + 0, seg)
    assert con.key(con.call(node, N.Fetch + 0).keys[0]) == con.key(seg)


@pytest.mark.parametrize(
    "order, ktype, data, databyte",
    [
        (N.MakeFetchKey, FETCH, b"\x83", 0x83),
        (N.MakeSegmentKey, SEGMENT, b"\x05", 0x05),
        (N.MakeMeterKey, METER, b"\x05", 0),
        (N.MakeNodeKey, NODE, b"\x42", 0x42),
        (N.MakeFrontendKey, FRONTEND, b"\x07", 0x07),
        (N.MakeSegmentKey, SEGMENT, b"", 0),
    ],
)
def test_make_keys(con, new_node, order, ktype, data, databyte):
    node = new_node()
    r = con.call(node, order, data=data)
    assert r.rc == 0
    made, orig = con.key(r.keys[0]), con.key(node)
    assert made == kl.Key(ktype, orig.obj, databyte, orig.alloc)


def test_make_sense_key_adds_ro_and_nocall_to_the_node_keys_databyte(con, new_node):
    node = new_node()
    narrow = con.call(node, N.MakeNodeKey, data=b"\x03").keys[0]
    r = con.call(narrow, N.MakeSenseKey, data=b"\x00")
    orig = con.key(node)
    assert con.key(r.keys[0]) == kl.Key(SENSE, orig.obj, 0x03 | RO | NOCALL, orig.alloc)


def test_compare(con, new_node, new_page):
    node, other = new_node(), new_node()
    for order in (
        N.MakeFetchKey,
        N.MakeSegmentKey,
        N.MakeMeterKey,
        N.MakeNodeKey,
        N.MakeSenseKey,
        N.MakeFrontendKey,
    ):
        same = con.call(node, order, data=b"\x03").keys[0]
        assert con.call(node, N.Compare, same).rc == 0, order
    assert con.call(node, N.Compare, node).rc == 0
    for different in (other, new_page(), dk(con, con.key(node).obj)):
        assert con.call(node, N.Compare, different).rc == 1
    assert con.call(node, N.Compare).rc == 1


def test_compare_refuses_gate_and_domain_keys_to_the_node(con, new_domain):
    dom, root = new_domain()
    start = kl.start_key(con, dom)
    assert con.call(root, N.Compare, start).rc == 1
    assert con.call(root, N.Compare, dom).rc == 1


def test_clear(con, new_node, new_page):
    node = new_node()
    for i in (0, 7, 15):
        con.call(node, N.Swap + i, new_page())
    assert con.call(node, N.Clear).rc == 0
    assert slots(con, node) == [kl.DK0] * 16


@pytest.mark.parametrize("databyte", [0, 0x03, 0x80, 0xC5])
def test_data_byte(con, new_node, databyte):
    key = con.call(new_node(), N.MakeNodeKey, data=bytes([databyte])).keys[0]
    assert con.call(key, N.DataByte).rc == databyte


def test_write_data(con, new_node, new_page):
    node = new_node()
    con.call(node, N.Swap + 2, new_page())
    r = con.call(node, N.WriteData, data=write_data(2, 4, [1, 2**88 - 1, 3]))
    assert r.rc == 0
    want = [kl.DK0] * 16
    want[2:5] = [kl.DK(1), kl.DK(2**88 - 1), kl.DK(3)]
    assert slots(con, node) == want


def test_write_data_single_slot_15(con, new_node):
    node = new_node()
    assert con.call(node, N.WriteData, data=write_data(15, 15, [99])).rc == 0
    assert con.key(con.call(node, N.Fetch + 15).keys[0]) == kl.DK(99)


def test_write_data_nonzero_high_bytes_give_rc2(con, new_node):
    node = new_node()
    r = con.call(node, N.WriteData, data=write_data(0, 0, [5], prefix=b"\0\0\0\0\1"))
    assert r.rc == 2
    assert con.key(con.call(node, N.Fetch + 0).keys[0]) == kl.DK(5)  # low 11 bytes stored


@pytest.mark.parametrize("first, last", [(16, 16), (0, 16), (16, 0), (0xFFFFFFFF, 0)])
def test_write_data_slot_out_of_range_gives_rc1(con, new_node, first, last):
    node = new_node()
    r = con.call(node, N.WriteData, data=write_data(first, last, [1] * 17))
    assert r.rc == 1
    assert slots(con, node) == [kl.DK0] * 16


def test_write_data_wraps_from_slot_15_to_0(con, new_node):
    node = new_node()
    r = con.call(node, N.WriteData, data=write_data(14, 1, [14, 15, 0, 1]))
    assert r.rc == 0
    assert slots(con, node)[:2] + slots(con, node)[14:] == [
        kl.DK(0),
        kl.DK(1),
        kl.DK(14),
        kl.DK(15),
    ]


def test_write_data_short_string_is_padded_with_zeroes(con, new_node, new_page):
    node = new_node()
    con.call(node, N.Swap + 1, new_page())
    r = con.call(node, N.WriteData, data=write_data(0, 1, [7]))
    assert r.rc == 0
    assert slots(con, node)[:2] == [kl.DK(7), kl.DK0]


def test_node_alleged_type(con, new_node):
    assert con.call(new_node(), KT).rc == N.AKT == 3


@pytest.mark.parametrize("order", [41, 42, 44, 46, 64, 4096, KT + 1])
def test_node_unknown_order(con, new_node, order):
    assert con.call(new_node(), order).rc == INVALID


# ----------------------------------------------------------------- fetch key
@pytest.fixture
def filled(con, new_node, new_page, new_domain):
    """A node holding a RW page (0), a node key (1), a start key (2), DK(9) (3)."""
    node = new_node()
    dom, _ = new_domain()
    for i, key in enumerate((new_page(), new_node(), kl.start_key(con, dom, 5), dk(con, 9))):
        con.call(node, N.Swap + i, key)
    return node


def test_fetch_key_fetches_slots_unchanged(con, filled):
    fetch = con.call(filled, N.MakeFetchKey).keys[0]
    assert slots(con, fetch) == slots(con, filled)
    assert con.key(con.call(fetch, N.Fetch + 1).keys[0]).type == NODE


@pytest.mark.parametrize("n", range(16))
def test_fetch_key_cannot_swap(con, filled, n):
    fetch = con.call(filled, N.MakeFetchKey).keys[0]
    before = slots(con, filled)
    r = con.call(fetch, N.Swap + n, dk(con, 1))
    assert r.rc == INVALID and con.key(r.keys[0]) == kl.DK0
    assert slots(con, filled) == before


@pytest.mark.parametrize(
    "order",
    [
        N.MakeFetchKey,
        N.MakeSegmentKey,
        N.MakeMeterKey,
        N.MakeNodeKey,
        N.MakeSenseKey,
        N.MakeFrontendKey,
        N.Compare,
        N.Clear,
        N.WriteData,
        41,
    ],
)
def test_fetch_key_refuses_node_orders(con, filled, order):
    fetch = con.call(filled, N.MakeFetchKey).keys[0]
    before = slots(con, filled)
    r = con.call(fetch, order, filled, data=write_data(0, 0, [1]))
    assert r.rc == INVALID and con.key(r.keys[0]) == kl.DK0
    assert slots(con, filled) == before


def test_fetch_key_alleged_type(con, new_node):
    fetch = con.call(new_node(), N.MakeFetchKey).keys[0]
    assert con.call(fetch, KT).rc == N.FetchAKT == 4


def test_fetch_key_data_byte(con, new_node):
    fetch = con.call(new_node(), N.MakeFetchKey, data=b"\x85").keys[0]
    assert con.call(fetch, N.DataByte).rc == 0x85


# ----------------------------------------------------------------- sense key
@pytest.fixture
def zoo_node(con, new_node, new_page, new_domain):
    """A node with one key of each kind, and the sensory version expected of each."""
    node, inner = new_node(), new_node()
    dom, _ = new_domain()
    page = new_page()
    inner_key = con.key(inner)
    page_key = con.key(page)
    fault = con.call(new_domain()[0], kl.oc.Domain.MakeFaultKey).keys[0]

    def made(order, db=b"\x00"):
        return con.call(inner, order, data=db).keys[0]

    def sense(db):
        return kl.Key(SENSE, inner_key.obj, db, inner_key.alloc)

    table = [
        (dk(con, 42), kl.DK(42)),
        (page, page_key._replace(databyte=RO)),
        (con.call(page, kl.oc.Page.MakeReadOnlyKey).keys[0], page_key._replace(databyte=RO)),
        (
            made(N.MakeSegmentKey, b"\x03"),
            kl.Key(SEGMENT, inner_key.obj, 0x03 | RO | NOCALL, inner_key.alloc),
        ),
        (made(N.MakeNodeKey, b"\x04"), sense(0x04 | RO | NOCALL)),
        (made(N.MakeFetchKey), sense(RO | NOCALL)),
        (made(N.MakeSenseKey), sense(RO | NOCALL)),
        (con["returner"], con.key(con["returner"])),
        (con["dkc"], con.key(con["dkc"])),
        (con["discrim"], con.key(con["discrim"])),
        (kl.start_key(con, dom, 3), kl.DK0),
        (fault, kl.DK0),
        (dom, kl.DK0),
        (con["meter"], kl.DK0),
        (made(N.MakeFrontendKey), kl.DK0),
        (con["domtool"], kl.DK0),
    ]
    assert len(table) == 16
    for i, (key, _) in enumerate(table):
        con.call(node, N.Swap + i, key)
    return node, [want for _, want in table]


@pytest.mark.parametrize("n", range(16))
def test_sense_key_fetches_the_sensory_version(con, zoo_node, n):
    node, want = zoo_node
    sense = con.call(node, N.MakeSenseKey).keys[0]
    r = con.call(sense, N.Fetch + n)
    assert r.rc == 0
    assert con.key(r.keys[0]) == want[n]


def test_sense_key_of_keybits_is_dk0(con, new_node):
    node = new_node()
    con.call(node, N.Swap + 0, con["keybits"])
    sense = con.call(node, N.MakeSenseKey).keys[0]
    assert con.key(con.call(sense, N.Fetch + 0).keys[0]) == kl.DK0


def test_sense_key_leaves_the_node_unchanged(con, zoo_node):
    node, _ = zoo_node
    before = slots(con, node)
    sense = con.call(node, N.MakeSenseKey).keys[0]
    slots(con, sense)
    assert slots(con, node) == before


def test_sense_key_data_byte(con, new_node):
    node = con.call(new_node(), N.MakeNodeKey, data=b"\x05").keys[0]
    sense = con.call(node, N.MakeSenseKey).keys[0]
    assert con.call(sense, N.DataByte).rc == 0x05 | RO | NOCALL


@pytest.mark.parametrize(
    "order",
    [
        N.Swap,
        N.Swap + 15,
        N.MakeFetchKey,
        N.MakeNodeKey,
        N.MakeSegmentKey,
        N.MakeSenseKey,
        N.Compare,
        N.Clear,
        N.WriteData,
        41,
    ],
)
def test_sense_key_refuses_everything_else(con, new_node, order):
    node = new_node()
    con.call(node, N.Swap + 0, dk(con, 3))
    sense = con.call(node, N.MakeSenseKey).keys[0]
    r = con.call(sense, order, dk(con, 8), data=write_data(0, 0, [1]))
    assert r.rc == INVALID and con.key(r.keys[0]) == kl.DK0
    assert slots(con, node)[0] == kl.DK(3)


def test_sense_key_alleged_type(con, new_node):
    sense = con.call(new_node(), N.MakeSenseKey).keys[0]
    assert con.call(sense, KT).rc == N.SenseAKT == 1
