"""Domain keys (docs/primer.md#primer-domains, jdomainc.c): every order code the kernel answers."""

import struct

import pytest

import keykos_lab as kl
from keykos_lab.kernel.keys import FAULT, RESUME, RETURN, START

KT = kl.oc.KT
D = kl.oc.Domain
N = kl.oc.Node
INVALID = kl.oc.RC.INVALIDOC


@kl.program("tk-const")
def const(dom, msg):
    yield dom.return_(msg.resume, rc=77)


def dk(con, value):
    return con.call(con["dkc"], kl.oc.DKC.Create11, data=value.to_bytes(11, "big")).keys[0]


def fetch(con, node, n):
    return con.key(con.call(node, N.Fetch + n).keys[0])


@pytest.fixture
def dom_root(new_domain):
    return new_domain()


# ------------------------------------------------------- special root slots
# Base/jdomainc.c:207-214: Get + 1, 2, 3, 10, 11 (domain.h); Get + 13 falls to md_jdomain's
# default, KT+2 (sparc_jdomain.c:572).
@pytest.mark.parametrize("n", [1, 2, 3, 10, 11])
def test_get_special_slot(con, dom_root, n):
    dom, root = dom_root
    con.call(root, N.Swap + n, dk(con, 500 + n))
    r = con.call(dom, D.Get + n)
    assert r.rc == 0 and con.key(r.keys[0]) == kl.DK(500 + n)


def test_get_meter_and_memory_after_build(con, dom_root):
    dom, root = dom_root
    assert con.key(con.call(dom, D.GetMeter).keys[0]) == con.key(con["meter"])
    assert con.key(con.call(dom, D.GetMemory).keys[0]) == fetch(con, root, 3)
    assert con.describe(con.call(dom, D.GetMemory).keys[0]).startswith("page key (ro)")


@pytest.mark.parametrize("n", [0, 4, 5, 6, 7, 8, 9, 12, 13, 14, 15])
def test_get_other_slots_is_invalid(con, dom_root, n):
    dom, root = dom_root
    if n not in (14, 15):  # leave the keys and registers nodes in place
        con.call(root, N.Swap + n, dk(con, 9))
    r = con.call(dom, D.Get + n)
    assert r.rc == INVALID and con.key(r.keys[0]) == kl.DK0


@pytest.mark.parametrize("n", [1, 2, 3, 10, 11])
def test_swap_special_slot(con, dom_root, new_page, n):
    dom, root = dom_root
    before = fetch(con, root, n)
    page = new_page()
    r = con.call(dom, D.Swap + n, page)
    assert r.rc == 0 and con.key(r.keys[0]) == before
    assert fetch(con, root, n) == con.key(page)


def test_swap_names(con, dom_root, new_page):
    dom, root = dom_root
    for order, slot in ((D.SwapMeter, 1), (D.SwapKeeper, 2), (D.SwapMemory, 3), (42, 10), (43, 11)):
        page = new_page()
        con.call(dom, order, page)
        assert fetch(con, root, slot) == con.key(page), order


@pytest.mark.parametrize("n", [0, 4, 5, 6, 7, 8, 9, 12, 13, 14, 15])
def test_swap_other_slots_is_invalid(con, dom_root, n):
    dom, root = dom_root
    before = [fetch(con, root, i) for i in range(16)]
    r = con.call(dom, D.Swap + n, dk(con, 1))
    assert r.rc == INVALID and con.key(r.keys[0]) == kl.DK0
    assert [fetch(con, root, i) for i in range(16)] == before


# ------------------------------------------------------------ key registers
@pytest.mark.parametrize("n", range(16))
def test_swap_key_and_get_key(con, dom_root, n):
    dom, root = dom_root
    keys_node = con.call(root, N.Fetch + 14).keys[0]
    r = con.call(dom, D.SwapKey + n, dk(con, 300 + n))
    assert r.rc == 0 and con.key(r.keys[0]) == kl.DK0
    assert fetch(con, keys_node, n) == kl.DK(300 + n)
    r = con.call(dom, D.GetKey + n)
    assert r.rc == 0 and con.key(r.keys[0]) == kl.DK(300 + n)
    r = con.call(dom, D.SwapKey + n, dk(con, 1))
    assert con.key(r.keys[0]) == kl.DK(300 + n)


# MakeStart does not prepare the domain (Base/jdomainc.c:226): it works on a malformed one.
# SwapMemory does (Base/sparc_jdomain.c:62, dry_run_prepare_domain).
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
        D.GetControl,
        D.PutControl,
        D.GetRegs,
        D.PutRegs,
        D.MakeReturnKey,
        D.ReplaceMemory,
        D.PutStuff,
        D.SwapMemory,
    ],
)
def test_malformed_domain_gives_rc2(con, new_domain, order):
    dom, _ = new_domain(keys_node=False)
    r = con.call(dom, order, con["meter"])
    assert r.rc == 2 and con.key(r.keys[0]) == kl.DK0


def test_malformed_domain_still_answers_get_and_kt(con, new_domain):
    dom, _ = new_domain(keys_node=False)
    assert con.key(con.call(dom, D.GetMeter).keys[0]) == con.key(con["meter"])
    assert con.call(dom, KT).rc == 7


# ------------------------------------------------------------------- gates
@pytest.mark.parametrize("data, databyte", [(b"\x07", 7), (b"\xff\x01", 255), (b"", 0)])
def test_make_start(con, dom_root, data, databyte):
    dom, root = dom_root
    r = con.call(dom, D.MakeStart, data=data)
    assert r.rc == 0
    rk = con.key(root)
    assert con.key(r.keys[0]) == kl.Key(START, rk.obj, databyte, rk.alloc)
    echoed = con.call(r.keys[0], 5, data=b"hi")  # echo answers
    assert (echoed.rc, echoed.data) == (5, b"hi")


def test_make_fault_key(con, dom_root):
    dom, root = dom_root
    r = con.call(dom, D.MakeFaultKey)
    assert r.rc == 0
    fk = con.key(r.keys[0])
    assert (fk.type, fk.obj, fk.databyte) == (RESUME, con.key(root).obj, FAULT)
    again = con.call(dom, D.MakeFaultKey)
    assert again.rc == 1 and con.key(again.keys[0]) == kl.DK0
    assert con.key(r.keys[0]) == fk  # the first one is still good


def test_make_return_key(con, dom_root):
    dom, root = dom_root
    r = con.call(dom, D.MakeReturnKey)
    assert r.rc == 0
    rk = con.key(r.keys[0])
    assert (rk.type, rk.obj, rk.databyte) == (RESUME, con.key(root).obj, RETURN)
    again = con.call(dom, D.MakeReturnKey)
    assert again.rc == 1 and con.key(again.keys[0]) == kl.DK0
    # A return key delivers the message: echo starts and replies to the console.
    echoed = con.call(r.keys[0], 9, data=b"via resume")
    assert (echoed.rc, echoed.data) == (9, b"via resume")
    assert con.key(r.keys[0]) == kl.DK0  # used once, gone


def test_make_busy(con, dom_root):
    dom, _ = dom_root
    first = con.call(dom, D.MakeBusy)
    assert first.rc == 0 and con.key(first.keys[0]).databyte == FAULT
    second = con.call(dom, D.MakeBusy)
    assert second.rc == 1 and con.key(second.keys[0]).databyte == FAULT
    assert con.key(first.keys[0]) == kl.DK0  # older resume keys are voided
    assert con.call(dom, D.MakeFaultKey).rc == 1  # it is busy


def test_make_available(con, dom_root):
    dom, _ = dom_root
    assert con.call(dom, D.MakeAvailable).rc == 0
    fault = con.call(dom, D.MakeFaultKey).keys[0]
    assert con.call(dom, D.MakeAvailable).rc == 1
    assert con.key(fault) == kl.DK0
    assert con.call(dom, D.MakeAvailable).rc == 0
    start = kl.start_key(con, dom)
    assert con.call(start, 3).rc == 3  # available again: the start key delivers


# ------------------------------------------------------- control and registers
def test_get_and_put_control(con, dom_root):
    dom, root = dom_root
    assert con.call(dom, D.GetControl).data == bytes(16)
    assert con.call(dom, D.PutControl, data=struct.pack(">QQ", 0x1234, 0x56)).rc == 0
    r = con.call(dom, D.GetControl)
    assert r.rc == 0 and struct.unpack(">QQ", r.data) == (0x1234, 0x56)
    assert (fetch(con, root, 4), fetch(con, root, 5)) == (kl.DK(0x1234), kl.DK(0x56))


@pytest.mark.parametrize(
    "put, get, need, size",
    [
        *[(D.PutControl, D.GetControl, 16, size) for size in (0, 8, 15, 17, 144)],
        *[(D.PutRegs, D.GetRegs, 128, size) for size in (0, 16, 127, 129, 144)],
    ],
)
def test_put_control_and_regs_need_exact_sizes(con, dom_root, put, get, need, size):
    dom, _ = dom_root
    assert con.call(dom, put, data=b"\1" * size).rc == kl.oc.RC.BADSTRING
    assert con.call(dom, get).data == bytes(need)


def test_get_and_put_regs(con, dom_root):
    dom, root = dom_root
    assert con.call(dom, D.GetRegs).data == bytes(128)
    values = [i * 0x0101010101 for i in range(15)] + [2**64 - 1]
    assert con.call(dom, D.PutRegs, data=struct.pack(">16Q", *values)).rc == 0
    assert list(struct.unpack(">16Q", con.call(dom, D.GetRegs).data)) == values
    regs_node = con.call(root, N.Fetch + 15).keys[0]
    assert [fetch(con, regs_node, i) for i in range(16)] == [kl.DK(v) for v in values]


def test_put_stuff(con, dom_root):
    dom, _ = dom_root
    regs = list(range(100, 116))
    data = struct.pack(">QQ", 0xABC, 0x7) + struct.pack(">16Q", *regs)
    assert con.call(dom, D.PutStuff, data=data).rc == 0
    assert struct.unpack(">QQ", con.call(dom, D.GetControl).data) == (0xABC, 0x7)
    assert list(struct.unpack(">16Q", con.call(dom, D.GetRegs).data)) == regs


@pytest.mark.parametrize("size", [0, 16, 128, 143, 145])
def test_put_stuff_needs_144_bytes(con, dom_root, size):
    dom, _ = dom_root
    assert con.call(dom, D.PutStuff, data=b"\1" * size).rc == kl.oc.RC.BADSTRING
    assert con.call(dom, D.GetControl).data == bytes(16)
    assert con.call(dom, D.GetRegs).data == bytes(128)


def test_replace_memory(con, dom_root):
    dom, root = dom_root
    start = kl.start_key(con, dom)
    assert con.call(start, 5).rc == 5  # echo
    image = kl.image(con, "tk-const")
    r = con.call(dom, D.ReplaceMemory, image, data=struct.pack(">Q", 0x4000))
    assert r.rc == 0
    assert fetch(con, root, 3) == con.key(image)
    assert struct.unpack(">QQ", con.call(dom, D.GetControl).data)[0] == 0x4000
    assert con.call(start, 5).rc == 77  # the new program runs


def test_replace_memory_without_a_string_starts_at_0(con, dom_root, new_page):
    """The start address is read as pad_move_arg reads it (sparc_jdomain.c:94): no
    string is an address of 0 (tests/conformance/test_domain.py has the other lengths)."""
    dom, root = dom_root
    con.call(dom, D.PutControl, data=struct.pack(">QQ", 0x99, 0))
    page = new_page()
    assert con.call(dom, D.ReplaceMemory, page).rc == 0
    assert fetch(con, root, 3) == con.key(page)
    assert struct.unpack(">QQ", con.call(dom, D.GetControl).data)[0] == 0


# ------------------------------------------------------------------ compare
def test_compare_start_and_return_keys(con, dom_root):
    dom, _ = dom_root
    for db in (0, 1, 255):
        assert con.call(dom, D.Compare, kl.start_key(con, dom, db)).rc == 0
    ret = con.call(dom, D.MakeReturnKey).keys[0]
    assert con.call(dom, D.Compare, ret).rc == 0


def test_compare_rejects_fault_keys_and_others(con, dom_root, new_domain):
    dom, root = dom_root
    other, _ = new_domain()
    fault = con.call(dom, D.MakeFaultKey).keys[0]
    for key in (
        fault,
        dom,
        root,
        kl.start_key(con, other),
        dk(con, con.key(root).obj),
        con["meter"],
    ):
        assert con.call(dom, D.Compare, key).rc == 1, con.describe(key)
    assert con.call(dom, D.Compare).rc == 1


# ---------------------------------------------------------- type and unknown
def test_domain_alleged_type(con, dom_root):
    assert con.call(dom_root[0], KT).rc == D.AKT == 7


@pytest.mark.parametrize("order", [72, 76, 79, 81, 150, 213, 4096, KT + 1])
def test_domain_unknown_order(con, dom_root, order):
    assert con.call(dom_root[0], order).rc == INVALID


def test_domain_key_dies_with_its_root(con, dom_root):
    dom, root = dom_root
    assert con.call(con["bank"], kl.oc.SB.DestroyNode, root).rc == 0
    assert con.describe(dom) == "DK(0)"
    assert con.call(dom, KT).rc == kl.oc.RC.DATAKEY


def test_replace_memory_on_oneself_delivers_the_entry_message(k, con, new_page):
    import programs_for_tests  # noqa: F401  (t-repmem)

    dom = kl.build_domain(con, "t-repmem", keys={0: kl.image(con, "echo")})
    con.call(dom, D.SwapKey + 3, dom)
    page = new_page()
    r = con.call(kl.start_key(con, dom), 0, page, data=b"hi")
    assert (r.rc, r.data) == (99, b"entry: hi")  # echo, started by the entry
    assert con.key(r.keys[0]) == con.key(page)
    assert all(con.key(con.call(dom, D.GetKey + n).keys[0]) == kl.DK0 for n in (12, 15))
    assert con.call(kl.start_key(con, dom), 5).rc == 5  # and echo it stays


def test_replace_memory_string_is_a_start_address(con, dom_root):
    """On another domain the string's first 8 bytes are the start address; the rest is
    not read (an entry message is only for one's own domain)."""
    dom, _ = dom_root
    data = struct.pack(">Q", 0x4000) + bytes(4)
    assert con.call(dom, D.ReplaceMemory, kl.image(con, "echo"), data=data).rc == 0
    assert struct.unpack(">QQ", con.call(dom, D.GetControl).data)[0] == 0x4000
