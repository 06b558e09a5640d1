"""Domain keys: ``Base/jdomainc.c`` (``jdomain``) and, for the machine-dependent orders,
``Base/sparc_jdomain.c`` (``md_jdomain``); order codes ``Dom/include/domain.h``.

Orders that prepare the domain (``prepare_domain``, ``dry_run_prepare_domain``:
``Base/primcomc.c:764-841``) answer 2 when it is malformed; Get, Swap of slots 1, 2,
10, 11, MakeStart, Compare and KT do not prepare it.
"""

import struct

import pytest

import keykos_lab as kl
from keykos_lab.kernel.keys import FAULT, RESTART, RESUME, RETURN, START, Key

KT = kl.oc.KT
D = kl.oc.Domain
N = kl.oc.Node
INVALID = kl.oc.RC.INVALIDOC


def keys(con, r):
    return [con.key(h) for h in r.keys]


def fetch(con, node, n):
    return con.key(con.call(node, N.Fetch + n).keys[0])


@pytest.fixture
def malformed(new_domain):
    return new_domain(keys_node=False)


# ------------------------------------------------------------------ 0 + n Get
@pytest.mark.parametrize("n", [1, 2, 3, 10, 11])
@pytest.mark.parametrize("wellformed", [True, False])
def test_get(con, new_domain, dk, n, wellformed):
    """jdomainc.c:207-214: Get + 1, 2, 3, 10, 11 fetch the root's slot (jnode1), the
    domain prepared or not: rc 0 and the key."""
    dom, root = new_domain(keys_node=wellformed)
    con.call(root, N.Swap + n, dk(50 + n))
    r = con.call(dom, D.Get + n)
    assert r.rc == 0 and keys(con, r)[0] == kl.DK(50 + n)


@pytest.mark.parametrize("n", [0, 4, 5, 6, 7, 8, 9, 12, 13, 14, 15])
def test_get_other_slots_is_kt2(con, new_domain, n):
    """jdomainc.c:258 → sparc_jdomain.c:572: no other Get is an order (Get + 13 neither,
    although the simulator's root layout calls slot 13 the hook)."""
    dom, _ = new_domain()
    r = con.call(dom, D.Get + n)
    assert r.rc == INVALID and keys(con, r)[0] == kl.DK0


# ----------------------------------------------------------------- 32 + n Swap
@pytest.mark.parametrize("n", [1, 2, 10, 11])
@pytest.mark.parametrize("wellformed", [True, False])
def test_swap(con, new_domain, new_page, n, wellformed):
    """jdomainc.c:217-223: Swap + 1, 2, 10, 11 swap the root's slot (jnode1), prepared
    or not: the old key back, rc 0."""
    dom, root = new_domain(keys_node=wellformed)
    before = fetch(con, root, n)
    page = new_page()
    r = con.call(dom, D.Swap + n, page)
    assert r.rc == 0 and keys(con, r)[0] == before
    assert fetch(con, root, n) == con.key(page)


def test_swap_memory(con, new_domain, new_page):
    """sparc_jdomain.c:57-79: Swap + 3 (SwapMemory) returns the old memory key and puts the
    first key passed in its place."""
    dom, root = new_domain()
    before, page = fetch(con, root, 3), new_page()
    r = con.call(dom, D.SwapMemory, page)
    assert r.rc == 0 and keys(con, r)[0] == before and fetch(con, root, 3) == con.key(page)


def test_swap_memory_of_a_malformed_domain_is_2(con, malformed, new_page):
    """sparc_jdomain.c:62: ``dry_run_prepare_domain`` → primcomc.c:828-835: rc 2, no key,
    nothing swapped."""
    dom, root = malformed
    before = fetch(con, root, 3)
    r = con.call(dom, D.SwapMemory, new_page())
    assert r.rc == D.MALFORMED == 2 and keys(con, r)[0] == kl.DK0
    assert fetch(con, root, 3) == before


@pytest.mark.parametrize("n", [0, 4, 5, 9, 12, 13, 14, 15])
def test_swap_other_slots_is_kt2(con, new_domain, dk, n):
    """sparc_jdomain.c:572: ``default: simplest(KT+2)``; nothing changes."""
    dom, root = new_domain()
    before = fetch(con, root, n)
    assert con.call(dom, D.Swap + n, dk(1)).rc == INVALID
    assert fetch(con, root, n) == before


# ------------------------------------------------------------- 16 + n GetKey
@pytest.mark.parametrize("n", [0, 7, 15])
def test_get_key(con, new_domain, dk, n):
    """jdomainc.c:36-64: the keys node's slot n (jnode1 on the keys node)."""
    dom, root = new_domain()
    con.call(fetch_handle(con, root, 14), N.Swap + n, dk(n + 1))
    r = con.call(dom, D.GetKey + n)
    assert r.rc == 0 and keys(con, r)[0] == kl.DK(n + 1)


def fetch_handle(con, node, n):
    return con.call(node, N.Fetch + n).keys[0]


# ------------------------------------------------------------ 48 + n SwapKey
@pytest.mark.parametrize("n", [0, 7, 15])
def test_swap_key(con, new_domain, dk, n):
    """jdomainc.c:67-95: swap the keys node's slot n."""
    dom, root = new_domain()
    r = con.call(dom, D.SwapKey + n, dk(9))
    assert r.rc == 0 and keys(con, r)[0] == kl.DK0
    assert fetch(con, fetch_handle(con, root, 14), n) == kl.DK(9)


@pytest.mark.parametrize(
    "order",
    [
        D.GetKey,
        D.GetKey + 15,
        D.SwapKey,
        D.SwapKey + 15,
        D.MakeAvailable,
        D.MakeFaultKey,
        D.MakeBusy,
        D.MakeReturnKey,
        D.ReplaceMemory,
        D.GetControl,
        D.PutControl,
        D.GetRegs,
        D.PutRegs,
        D.PutStuff,
    ],
)
def test_orders_that_prepare_a_malformed_domain_give_2(con, malformed, order):
    """jdomainc.c:52-56, 83-87 (prepare_domain → simplest(2)) and primcomc.c:828-835
    (dry_run_prepare_domain: rc 2, no keys, no string); sparc_jdomain.c:62, 87, 117-121."""
    dom, _ = malformed
    r = con.call(dom, order, con["meter"])
    assert (r.rc, r.data) == (2, b"") and keys(con, r) == [kl.DK0] * 4


# --------------------------------------------------------------- 64 MakeStart
@pytest.mark.parametrize("data, databyte", [(b"", 0), (b"\x07", 7), (b"\xff\x01", 255)])
@pytest.mark.parametrize("wellformed", [True, False])
def test_make_start(con, new_domain, data, databyte, wellformed):
    """jdomainc.c:226-235: a start key to the root with the string's first byte as
    databyte (``pad_move_arg``: 0 for an empty string); rc 0. The domain is not
    prepared, so a malformed one gets its start key too."""
    dom, root = new_domain(keys_node=wellformed)
    r = con.call(dom, D.MakeStart, data=data)
    rk = con.key(root)
    assert r.rc == 0 and keys(con, r)[0] == Key(START, rk.obj, databyte, rk.alloc)


# ------------------------------------------------------------ 65 MakeAvailable
def test_make_available(con, new_domain):
    """jdomainc.c:98-127: the resume keys die (zapresumes, 113), the process goes
    (zapprocess, 114); rc 1 if it was busy (116-119), else 0 (121); no keys."""
    dom, _ = new_domain()
    r = con.call(dom, D.MakeAvailable)
    assert r.rc == 0 and keys(con, r) == [kl.DK0] * 4
    fault = con.call(dom, D.MakeFaultKey).keys[0]
    assert con.call(dom, D.MakeAvailable).rc == D.WAS_BUSY == 1
    assert con.key(fault) == kl.DK0


# ----------------------------------------------------------- 66 MakeFaultKey
def test_make_fault_key(con, new_domain):
    """jdomainc.c:130-153: an available domain becomes busy and a fault key (resume,
    databyte faultresume) comes back, rc 0; a busy one: rc 1 and DK(0) (134-137)."""
    dom, root = new_domain()
    r = con.call(dom, D.MakeFaultKey)
    rk = con.key(root)
    assert r.rc == 0 and (keys(con, r)[0].type, keys(con, r)[0].obj, keys(con, r)[0].databyte) == (
        RESUME,
        rk.obj,
        FAULT,
    )
    again = con.call(dom, D.MakeFaultKey)
    assert again.rc == 1 and keys(con, again)[0] == kl.DK0
    assert con.key(r.keys[0]).type == RESUME  # the first one still works


# -------------------------------------------------------------- 67 MakeBusy
def test_make_busy(con, new_domain):
    """jdomainc.c:156-180: the resume keys die and the process goes (160-161); rc 1 if it
    was busy already (163-164), else 0; a fault key either way (174-177)."""
    dom, root = new_domain()
    first = con.call(dom, D.MakeBusy)
    assert first.rc == 0 and keys(con, first)[0].databyte == FAULT
    second = con.call(dom, D.MakeBusy)
    assert second.rc == 1 and keys(con, second)[0].databyte == FAULT
    assert con.key(first.keys[0]) == kl.DK0


# --------------------------------------------------------- 73 MakeReturnKey
def test_make_return_key(con, new_domain):
    """jdomainc.c:183-204: as MakeFaultKey, with a return-flavour resume key (197)."""
    dom, root = new_domain()
    r = con.call(dom, D.MakeReturnKey)
    assert r.rc == 0 and keys(con, r)[0].databyte == RETURN
    again = con.call(dom, D.MakeReturnKey)
    assert again.rc == 1 and keys(con, again)[0] == kl.DK0


# ---------------------------------------------------------- 74 ReplaceMemory
def test_replace_memory_returns_the_old_memory_key(con, new_domain, new_page):
    """sparc_jdomain.c:81-112: the first key passed becomes the memory key, the old one
    comes back (``cpup1key = rn->dommemroot``, 101), rc 0; the start address sets the
    program counter (94-95; the simulator's 8-byte form: docs/fidelity.md, Domain orders
    68-75)."""
    dom, root = new_domain()
    old, page = fetch(con, root, 3), new_page()
    r = con.call(dom, D.ReplaceMemory, page, data=struct.pack(">Q", 0x4000))
    assert r.rc == 0 and keys(con, r)[0] == old
    assert fetch(con, root, 3) == con.key(page)
    assert struct.unpack(">QQ", con.call(dom, D.GetControl).data)[0] == 0x4000


@pytest.mark.parametrize(
    "data, pc",
    [
        (b"", 0),
        (b"\x12\x34", 0x1234 << 48),
        (bytes(range(1, 8)), 0x0102030405060700),
        (struct.pack(">Q", 0x4000) + b"more", 0x4000),
    ],
)
def test_replace_memory_reads_its_string_as_pad_move_arg(con, new_domain, new_page, data, pc):
    """sparc_jdomain.c:94-95: the program counter comes from ``pad_move_arg``
    (primcomc.c:47-55), which never refuses the string: a short one is padded with zeros
    (an empty one starts at 0), the bytes after the address are not read; rc 0 and the old
    memory key (101) whatever the string's length. (The address is 8 bytes here, 4 on
    SPARC: docs/fidelity.md, Domain orders 68-75.)"""
    dom, root = new_domain()
    con.call(dom, D.PutControl, data=struct.pack(">QQ", 0x4000, 7))
    old, page = fetch(con, root, 3), new_page()
    r = con.call(dom, D.ReplaceMemory, page, data=data)
    assert r.rc == 0 and keys(con, r)[0] == old
    assert fetch(con, root, 3) == con.key(page)
    assert struct.unpack(">QQ", con.call(dom, D.GetControl).data) == (pc, 7)


# ------------------------------------------- 68-71, 75: the simulator's own form
@pytest.mark.parametrize(
    "get, put, size", [(D.GetControl, D.PutControl, 16), (D.GetRegs, D.PutRegs, 128)]
)
def test_control_and_registers_are_the_simulators_form(con, new_domain, get, put, size):
    """Departure (docs/fidelity.md, Domain orders 68-75): over the 370 root layout the
    simulator has GetControl/PutControl (PSW and trap code, 8 bytes each), GetRegs/PutRegs
    (16 registers of 8 bytes) and PutStuff (both). The SPARC release answers these codes
    KT+2 (sparc_jdomain.c:572) and has its own at 201-213."""
    dom, _ = new_domain()
    data = bytes(range(size))
    assert con.call(dom, put, data=data).rc == 0
    assert con.call(dom, get).data == data
    assert con.call(dom, put, data=data[:-1]).rc == kl.oc.RC.BADSTRING


def test_put_stuff_is_the_simulators_form(con, new_domain):
    """Departure (docs/fidelity.md, Domain orders 68-75): control then registers."""
    dom, _ = new_domain()
    data = bytes(range(144))
    assert con.call(dom, D.PutStuff, data=data).rc == 0
    assert con.call(dom, D.GetControl).data == data[:16]
    assert con.call(dom, D.GetRegs).data == data[16:]


# ---------------------------------------------------------------- 80 Compare
def test_compare(con, new_domain, raw, dk):
    """jdomainc.c:237-255: rc 0 for a start key to this domain or a resume key to it that
    is not a fault key (databyte 4), whatever the domain's state; else 1; no keys."""
    dom, root = new_domain()
    other, _ = new_domain()
    assert con.call(dom, D.Compare, kl.start_key(con, dom, 5)).rc == 0
    assert con.call(dom, D.Compare, kl.start_key(con, other)).rc == 1
    for k in (dom, root, dk(0)):
        assert con.call(dom, D.Compare, k).rc == 1
    ret = con.call(dom, D.MakeReturnKey).keys[0]
    assert con.call(dom, D.Compare, ret).rc == 0
    restart = raw(con.key(ret)._replace(databyte=RESTART))  # (the same call's restart key)
    assert con.call(dom, D.Compare, restart).rc == 0
    con.call(dom, D.MakeAvailable)
    fault = con.call(dom, D.MakeFaultKey).keys[0]
    r = con.call(dom, D.Compare, fault)
    assert r.rc == 1 and keys(con, r) == [kl.DK0] * 4


# ---------------------------------------------------------------------- KT
@pytest.mark.parametrize("wellformed", [True, False])
def test_kt(con, new_domain, wellformed):
    """jdomainc.c:257: ``simplest(7)``."""
    dom, _ = new_domain(keys_node=wellformed)
    assert con.call(dom, KT).rc == D.AKT == 7


@pytest.mark.parametrize("order", [72, 76, 79, 81, 150, 201, 204, 213, KT + 1, KT + 4])
def test_other_orders_are_kt2(con, new_domain, order):
    """sparc_jdomain.c:572 ``default: simplest(KT+2)``. 201-213 are the SPARC release's
    own register orders, not simulated (docs/fidelity.md, Domain orders 68-75)."""
    dom, _ = new_domain()
    assert con.call(dom, order).rc == INVALID
