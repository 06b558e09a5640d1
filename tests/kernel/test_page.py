"""Page keys (docs/primer.md#primer-page-keys, jpagec.c): every order code the kernel answers."""

import pytest

import keykos_lab as kl
from keykos_lab.kernel.keys import PAGE, RO

KT = kl.oc.KT
P = kl.oc.Page


def read(con, page, off=0, n=None):
    data = b"" if n is None else n.to_bytes(4, "big")
    r = con.call(page, P.ReadData + off, data=data)
    assert r.rc == 0
    return r.data


def test_make_read_only_key(con, new_page):
    page = new_page()
    r = con.call(page, P.MakeReadOnlyKey)
    assert r.rc == 0
    rw, ro = con.key(page), con.key(r.keys[0])
    assert (ro.type, ro.obj, ro.alloc) == (PAGE, rw.obj, rw.alloc)
    assert rw.databyte == 0 and ro.databyte == RO
    assert con.describe(r.keys[0]).startswith("page key (ro)")


def test_ro_key_of_ro_key_stays_ro(con, new_page):
    ro = con.call(new_page(), P.MakeReadOnlyKey).keys[0]
    again = con.call(ro, P.MakeReadOnlyKey).keys[0]
    assert con.key(again) == con.key(ro)


def test_write_then_read(con, new_page):
    page = new_page()
    assert con.call(page, P.WriteData + 100, data=b"hello").rc == 0
    assert read(con, page, 100, 5) == b"hello"
    assert read(con, page, 98, 9) == b"\0\0hello\0\0"


def test_write_is_seen_through_every_key_to_the_page(con, new_page):
    page = new_page()
    ro = con.call(page, P.MakeReadOnlyKey).keys[0]
    con.call(page, P.WriteData, data=b"shared")
    assert read(con, ro, 0, 6) == b"shared"


def test_write_at_last_byte(con, new_page):
    page = new_page()
    assert con.call(page, P.WriteData + 4095, data=b"z").rc == 0
    assert read(con, page, 4095) == b"z"


@pytest.mark.parametrize("off, n", [(4095, 2), (1, 4096), (4000, 97)])
def test_write_past_the_end_answers_1(con, new_page, off, n):
    page = new_page()
    # Base/jpagec.c:235: cpuordercode + cpuarglength > 8192 -> simplest(1)
    assert con.call(page, P.WriteData + off, data=b"x" * n).rc == P.PAST_END == 1
    assert con.call(page, P.TestForZeroes).rc == 0  # nothing was written


def test_write_whole_page(con, new_page):
    page = new_page()
    blob = bytes(range(256)) * 16
    assert con.call(page, P.WriteData, data=blob).rc == 0
    assert read(con, page) == blob


def test_read_without_length_reads_to_end_of_page(con, new_page):
    page = new_page()
    con.call(page, P.WriteData + 4090, data=b"abcdef")
    assert read(con, page, 4090) == b"abcdef"
    assert len(read(con, page)) == 4096


def test_read_length_is_clipped_at_end_of_page(con, new_page):
    page = new_page()
    con.call(page, P.WriteData + 4094, data=b"yz")
    assert read(con, page, 4094, 100) == b"yz"


@pytest.mark.parametrize("bad", [b"\0", b"\0\0\0", b"\0\0\0\0\x05"])
def test_read_length_must_be_four_bytes(con, new_page, bad):
    assert con.call(new_page(), P.ReadData, data=bad).rc == kl.oc.RC.BADSTRING


def test_fresh_page_reads_zero(con, new_page):
    assert read(con, new_page(), 0, 16) == bytes(16)


def test_test_for_zeroes(con, new_page):
    page = new_page()
    assert con.call(page, P.TestForZeroes).rc == 0
    con.call(page, P.WriteData + 4095, data=b"\1")
    assert con.call(page, P.TestForZeroes).rc == 1


def test_clear(con, new_page):
    page = new_page()
    con.call(page, P.WriteData + 10, data=b"data")
    assert con.call(page, P.Clear).rc == 0
    assert con.call(page, P.TestForZeroes).rc == 0
    assert read(con, page, 10, 4) == bytes(4)


def test_ro_key_reads_but_cannot_write_or_clear(con, new_page):
    page = new_page()
    con.call(page, P.WriteData, data=b"keep")
    ro = con.call(page, P.MakeReadOnlyKey).keys[0]
    assert con.call(ro, P.WriteData, data=b"XXXX").rc == kl.oc.RC.INVALIDOC
    assert con.call(ro, P.WriteData + 4000, data=b"X").rc == kl.oc.RC.INVALIDOC
    assert con.call(ro, P.Clear).rc == kl.oc.RC.INVALIDOC
    assert read(con, ro, 0, 4) == b"keep"
    assert con.call(ro, P.TestForZeroes).rc == 1


def test_alleged_type(con, new_page):
    page = new_page()
    ro = con.call(page, P.MakeReadOnlyKey).keys[0]
    assert con.call(page, KT).rc == P.AKT == 0x202
    assert con.call(ro, KT).rc == P.ROAKT == 0x1202


@pytest.mark.parametrize("order", [1, 38, 40, 42, 4095, 8192 + 4096, 0x10000, KT + 1])
def test_unknown_order_is_invalid(con, new_page, order):
    assert con.call(new_page(), order).rc == kl.oc.RC.INVALIDOC


def test_replies_carry_no_keys_except_make_read_only(con, new_page):
    page = new_page()
    r = con.call(page, P.WriteData, data=b"x")
    assert [con.describe(h) for h in r.keys] == ["DK(0)"] * 4


# ------------------------------------------------------- destroy and sever
def test_destroyed_page_makes_every_key_dk0(con, new_page):
    page = new_page()
    ro = con.call(page, P.MakeReadOnlyKey).keys[0]
    assert con.call(con["bank"], kl.oc.SB.DestroyPage, page).rc == 0
    for key in (page, ro):
        assert con.describe(key) == "DK(0)"
        assert con.key(key) == kl.DK0
        assert con.call(con["discrim"], kl.oc.Discrim.Type, key).rc == 1
        assert con.call(key, KT).rc == kl.oc.RC.DATAKEY
        assert con.call(key, P.WriteData, data=b"x").rc == kl.oc.RC.DATAKEY


def test_severed_page_keeps_contents_under_a_new_key(con, new_page):
    page = new_page()
    con.call(page, P.WriteData, data=b"kept")
    r = con.call(con["bank"], kl.oc.SB.SeverPage, page)
    assert r.rc == 0
    assert con.describe(page) == "DK(0)"
    assert con.call(page, KT).rc == kl.oc.RC.DATAKEY
    assert read(con, r.keys[0], 0, 4) == b"kept"


def test_bank_refuses_to_destroy_a_node_as_a_page(con, new_node):
    node = new_node()
    assert con.call(con["bank"], kl.oc.SB.DestroyPage, node).rc != 0
    assert con.call(node, KT).rc == kl.oc.Node.AKT
