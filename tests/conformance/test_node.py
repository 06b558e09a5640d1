"""Node, fetch and sense keys: ``Base/jnodec.c`` (``jnode``, ``jnode1``, ``jfetch``) and
``Base/jsensec.c`` (``jsense``); order codes ``Dom/include/node.h``."""

import struct

import pytest

import keykos_lab as kl
from keykos_lab.kernel.keys import (
    FETCH,
    FRONTEND,
    METER,
    NOCALL,
    NODE,
    RO,
    SEGMENT,
    SENSE,
    Key,
)

KT = kl.oc.KT
N = kl.oc.Node
D = kl.oc.Domain
INVALID = kl.oc.RC.INVALIDOC


def keys(con, r):
    return [con.key(h) for h in r.keys]


def made(con, node, order, data=b""):
    return con.call(node, order, data=data).keys[0]


# ------------------------------------------------------------- node 0-15 Fetch
@pytest.mark.parametrize("slot", range(16))
def test_node_fetch(con, new_node, dk, slot):
    """jnodec.c:100-121 (jnode1, cpuordercode < 16): the key in the slot, rc 0
    (fastNodeFetch 66-73: keymask 8)."""
    node = new_node()
    con.call(node, N.Swap + slot, dk(100 + slot))
    r = con.call(node, N.Fetch + slot)
    assert r.rc == 0 and keys(con, r) == [kl.DK(100 + slot)] + [kl.DK0] * 3 and r.data == b""


# ------------------------------------------------------------- node 16-31 Swap
@pytest.mark.parametrize("slot", range(16))
def test_node_swap(con, new_node, new_page, slot):
    """jnodec.c:122-199: the slot's key comes back (``cpup1key = *look(s)``) and the
    first key passed goes in (``*s = *k``, k = ld1()); rc 0."""
    node, page = new_node(), new_page()
    r = con.call(node, N.Swap + slot, page)
    assert r.rc == 0 and keys(con, r)[0] == kl.DK0
    r = con.call(node, N.Swap + slot)  # no key passed: ld1() is dk0
    assert keys(con, r)[0] == con.key(page)
    assert con.key(made(con, node, N.Fetch + slot)) == kl.DK0


# ------------------------------------------------------------ node 32-37 Make…Key
@pytest.mark.parametrize(
    "order, ktype",
    [
        (N.MakeFetchKey, FETCH),
        (N.MakeSegmentKey, SEGMENT),
        (N.MakeNodeKey, NODE),
        (N.MakeFrontendKey, FRONTEND),
    ],
)
@pytest.mark.parametrize("data, databyte", [(b"", 0), (b"\x83", 0x83), (b"\x05\xff", 5)])
def test_make_key_with_databyte_from_the_string(con, new_node, order, ktype, data, databyte):
    """jnodec.c:283-326: the node key retyped; ``pad_move_arg(&databyte, 1)``
    (primcomc.c:35-56): the string's first byte, 0 when there is none."""
    node = new_node()
    nk = con.key(node)
    r = con.call(made(con, node, N.MakeNodeKey, b"\x40"), order, data=data)
    assert r.rc == 0 and keys(con, r)[0] == Key(ktype, nk.obj, databyte, nk.alloc)


@pytest.mark.parametrize("data", [b"", b"\x7f"])
def test_make_meter_key_has_databyte_0(con, new_node, data):
    """jnodec.c:310-317: ``cpup1key.databyte = 0``; the string is not read."""
    node = new_node()
    nk = con.key(node)
    r = con.call(made(con, node, N.MakeNodeKey, b"\x03"), N.MakeMeterKey, data=data)
    assert r.rc == 0 and keys(con, r)[0] == Key(METER, nk.obj, 0, nk.alloc)


@pytest.mark.parametrize("node_databyte", [0, 3, RO, 0x2C])
def test_make_sense_key_adds_readonly_and_nocall(con, new_node, node_databyte):
    """jnodec.c:328-335: the node key's databyte ``|= (readonly | nocall)``."""
    node = new_node()
    nk = con.key(node)
    src = made(con, node, N.MakeNodeKey, bytes([node_databyte]))
    r = con.call(src, N.MakeSenseKey, data=b"\x01")
    assert keys(con, r)[0] == Key(SENSE, nk.obj, node_databyte | RO | NOCALL, nk.alloc)


# --------------------------------------------------------------------- 38 Compare
@pytest.mark.parametrize(
    "order",
    [
        N.MakeFetchKey,
        N.MakeSegmentKey,
        N.MakeMeterKey,
        N.MakeNodeKey,
        N.MakeSenseKey,
        N.MakeFrontendKey,
    ],
)
def test_compare_node_like_keys_to_this_node(con, new_node, order):
    """jnodec.c:225-243: rc 0 when the key passed designates this node and is a fetch,
    node, segment, meter, sense or frontend key (235-238), whatever its databyte."""
    node = new_node()
    r = con.call(node, N.Compare, made(con, node, order, b"\x09"))
    assert (r.rc, r.data) == (0, b"")


def test_compare_anything_else_is_1(con, new_node, new_page, new_domain, dk):
    """jnodec.c:240: otherwise rc 1 — another node, a page, a data key, no key at all,
    and the domain and start keys to a domain rooted at this very node."""
    node = new_node()
    for other in (made(con, new_node(), N.MakeFetchKey), new_page(), dk(5)):
        assert con.call(node, N.Compare, other).rc == 1
    assert con.call(node, N.Compare).rc == 1
    dom, root = new_domain()
    for other in (dom, kl.start_key(con, dom)):
        assert con.call(root, N.Compare, other).rc == 1


# ----------------------------------------------------------------------- 39 Clear
def test_clear(con, new_node, new_page):
    """jnodec.c:246-277 (clearnode, 34-44): DK(0) into all 16 slots; rc 0, no keys."""
    node = new_node()
    for slot in (0, 7, 15):
        con.call(node, N.Swap + slot, new_page())
    r = con.call(node, N.Clear)
    assert (r.rc, r.data) == (0, b"") and keys(con, r) == [kl.DK0] * 4
    assert all(con.key(made(con, node, N.Fetch + s)) == kl.DK0 for s in range(16))


# -------------------------------------------------------------------- 40 DataByte
@pytest.mark.parametrize("databyte", [0, 3, 0xC5])
def test_data_byte(con, new_node, databyte):
    """jnodec.c:279-281: ``simplest(key->databyte)``."""
    key = made(con, new_node(), N.MakeNodeKey, bytes([databyte]))
    assert con.call(key, N.DataByte).rc == databyte


# ------------------------------------------------------------------- 45 WriteData
def _slots(first, last, *values, pad=b"\0" * 5):
    return struct.pack(">II", first, last) + b"".join(pad + v.to_bytes(11, "big") for v in values)


@pytest.mark.parametrize(
    "first, last, values",
    [(0, 0, [7]), (3, 5, [1, 2, 3]), (14, 1, [10, 11, 12, 13]), (6, 6, [2**88 - 1])],
)
def test_write_data(con, new_node, first, last, values):
    """jnodec.c:337-419: first and last slot (4 bytes each, pad_move_arg), then 16 bytes a
    slot (5 zero, the 11-byte value: 376-381), first to last wrapping 15 → 0 (384); rc 0."""
    node = new_node()
    r = con.call(node, N.WriteData, data=_slots(first, last, *values))
    assert (r.rc, r.data) == (0, b"")
    slots = [(first + i) % 16 for i in range(len(values))]
    assert [con.key(made(con, node, N.Fetch + s)) for s in slots] == [kl.DK(v) for v in values]


@pytest.mark.parametrize("first, last", [(16, 0), (0, 16), (2**32 - 1, 3)])
def test_write_data_bad_slot_is_1(con, new_node, first, last):
    """jnodec.c:348-351: ``if (first > 15 || last > 15) simplest(1)``; nothing written."""
    node = new_node()
    assert con.call(node, N.WriteData, data=_slots(first, last, 9)).rc == N.BAD_SLOT == 1
    assert con.key(made(con, node, N.Fetch + 0)) == kl.DK0


def test_write_data_nonzero_pad_is_2_and_still_writes(con, new_node):
    """jnodec.c:377, 405: a slot whose five leading bytes are not zero sets rc 2; the value
    is stored all the same (379)."""
    node = new_node()
    r = con.call(node, N.WriteData, data=_slots(4, 4, 77, pad=b"\0\0\0\0\1"))
    assert r.rc == N.NOT_ZERO_PAD == 2
    assert con.key(made(con, node, N.Fetch + 4)) == kl.DK(77)


@pytest.mark.parametrize(
    "data, slot_values",
    [(b"", {0: 0}), (struct.pack(">II", 2, 3) + b"\0" * 10 + b"\x05", {2: 5 << 8 * 5, 3: 0})],
)
def test_write_data_pads_a_short_string_with_zeros(con, new_node, dk, data, slot_values):
    """pad_move_arg (primcomc.c:35-56): a string too short is read as if zero-padded (an
    empty one means slots 0 to 0, DK(0))."""
    node = new_node()
    for s in slot_values:
        con.call(node, N.Swap + s, dk(1))
    assert con.call(node, N.WriteData, data=data).rc == 0
    for s, v in slot_values.items():
        assert con.key(made(con, node, N.Fetch + s)) == kl.DK(v)


# --------------------------------------------------------------------------- KT
def test_node_kt(con, new_node):
    """jnodec.c:421: ``simplest(3)``."""
    assert con.call(new_node(), KT).rc == N.AKT == 3


@pytest.mark.parametrize("order", [41, 42, 43, 44, 46, 47, 64, 4096, KT + 1, KT + 4])
def test_node_other_orders_are_kt2(con, new_node, order):
    """jnodec.c:422: ``else simplest(KT+2)``."""
    assert con.call(new_node(), order).rc == INVALID


# ================================================================= fetch keys
@pytest.mark.parametrize("slot", range(16))
def test_fetch_key_fetch(con, new_node, dk, slot):
    """jnodec.c:206-207: orders below 16 go to jnode1: the slot's key, unchanged."""
    node = new_node()
    con.call(node, N.Swap + slot, node)  # a node key comes out as it is
    r = con.call(made(con, node, N.MakeFetchKey), N.Fetch + slot)
    assert r.rc == 0 and keys(con, r)[0] == con.key(node)


@pytest.mark.parametrize("databyte", [0, 0x81])
def test_fetch_key_data_byte(con, new_node, databyte):
    """jnodec.c:208-210: ``simplest(key->databyte)``."""
    fk = made(con, new_node(), N.MakeFetchKey, bytes([databyte]))
    assert con.call(fk, N.DataByte).rc == databyte


def test_fetch_key_kt(con, new_node):
    """jnodec.c:212: ``simplest(4)``."""
    assert con.call(made(con, new_node(), N.MakeFetchKey), KT).rc == N.FetchAKT == 4


@pytest.mark.parametrize(
    "order",
    [N.Swap, N.Swap + 15, N.MakeFetchKey, N.MakeNodeKey, N.Compare, N.Clear, N.WriteData, KT + 1],
)
def test_fetch_key_other_orders_are_kt2(con, new_node, dk, order):
    """jnodec.c:213: ``else simplest(KT+2)`` — a fetch key never writes."""
    node = new_node()
    con.call(node, N.Swap + 0, dk(9))
    assert con.call(made(con, node, N.MakeFetchKey), order, dk(1)).rc == INVALID
    assert con.key(made(con, node, N.Fetch + 0)) == kl.DK(9)


# ================================================================= sense keys
def _zoo(con, new_node, new_page, new_domain, dk):
    """name -> (key put in the slot, what a sense key fetches of it: jsensec.c:17-44)."""
    node, page = new_node(), new_page()
    nk, pk = con.key(node), con.key(page)
    dom, _ = new_domain()
    seg = made(con, node, N.MakeSegmentKey, b"\x03")
    return {
        "data": (dk(42), kl.DK(42)),  # 20-21
        "page": (page, pk._replace(databyte=RO)),  # 25-27
        "ro page": (con.call(page, kl.oc.Page.MakeReadOnlyKey).keys[0], pk._replace(databyte=RO)),
        "segment": (seg, Key(SEGMENT, nk.obj, 3 | RO | NOCALL, nk.alloc)),  # 22-24
        "node": (
            made(con, node, N.MakeNodeKey, b"\x04"),
            Key(SENSE, nk.obj, 4 | RO | NOCALL, nk.alloc),
        ),  # 28-33
        "fetch": (made(con, node, N.MakeFetchKey), Key(SENSE, nk.obj, RO | NOCALL, nk.alloc)),
        "sense": (made(con, node, N.MakeSenseKey), Key(SENSE, nk.obj, RO | NOCALL, nk.alloc)),
        "returner": (con["returner"], con.key(con["returner"])),  # 34-39
        "dkc": (con["dkc"], con.key(con["dkc"])),
        "discrim": (con["discrim"], con.key(con["discrim"])),
        "keybits": (con["keybits"], kl.DK0),  # 40-42
        "domtool": (con["domtool"], kl.DK0),
        "meter": (con["meter"], kl.DK0),
        "start": (kl.start_key(con, dom), kl.DK0),
        "domain": (dom, kl.DK0),
        "resume": (con.call(dom, D.MakeFaultKey).keys[0], kl.DK0),
        "frontend": (made(con, node, N.MakeFrontendKey), kl.DK0),
    }


@pytest.mark.parametrize(
    "name",
    [
        "data",
        "page",
        "ro page",
        "segment",
        "node",
        "fetch",
        "sense",
        "returner",
        "dkc",
        "discrim",
        "keybits",
        "domtool",
        "meter",
        "start",
        "domain",
        "resume",
        "frontend",
    ],
)
def test_sense_key_fetch_gives_the_sensory_version(con, new_node, new_page, new_domain, dk, name):
    """jsensec.c:52-67 (``make_key_sensory``, 17-44): data keys as they are; page keys
    read-only; segment keys read-only and no-call; node, fetch and sense keys a
    read-only no-call sense key; Returner, DKC and Discrim as they are; the rest DK(0)."""
    put, want = _zoo(con, new_node, new_page, new_domain, dk)[name]
    holder = new_node()
    con.call(holder, N.Swap + 9, put)
    r = con.call(made(con, holder, N.MakeSenseKey), N.Fetch + 9)
    assert r.rc == 0 and keys(con, r)[0] == want


@pytest.mark.parametrize("slot", range(16))
def test_sense_key_fetch_every_slot(con, new_node, dk, slot):
    """jsensec.c:52: ``cpuordercode < 16 && cpuordercode >= 0``."""
    node = new_node()
    con.call(node, N.Swap + slot, dk(slot + 1))
    assert con.key(made(con, made(con, node, N.MakeSenseKey), N.Fetch + slot)) == kl.DK(slot + 1)


def test_sense_key_data_byte(con, new_node):
    """jsensec.c:95-97: ``simplest(key->databyte)`` (0xC0 and the node key's bits)."""
    sk = made(con, made(con, new_node(), N.MakeNodeKey, b"\x05"), N.MakeSenseKey)
    assert con.call(sk, N.DataByte).rc == 0xC5


def test_sense_key_kt(con, new_node):
    """jsensec.c:99: ``simplest(1)``."""
    assert con.call(made(con, new_node(), N.MakeSenseKey), KT).rc == N.SenseAKT == 1


@pytest.mark.parametrize(
    "order", [N.Swap, N.Swap + 3, N.MakeNodeKey, N.Compare, N.Clear, N.WriteData, KT + 2]
)
def test_sense_key_other_orders_are_kt2(con, new_node, order):
    """jsensec.c:100: ``else simplest(KT+2)``."""
    assert con.call(made(con, new_node(), N.MakeSenseKey), order).rc == INVALID
