"""Page keys: ``Base/jpagec.c`` ``jpage``; order codes ``Dom/include/page.h``."""

import pytest

import keykos_lab as kl
from keykos_lab.kernel.keys import PAGE, RO, Key

KT = kl.oc.KT
P = kl.oc.Page
INVALID = kl.oc.RC.INVALIDOC


def ro_of(con, page):
    return con.call(page, P.MakeReadOnlyKey).keys[0]


def read(con, page, off=0, n=16):
    return con.call(page, P.ReadData + off, data=n.to_bytes(4, "big")).data


# ------------------------------------------------------------- 0 MakeReadOnlyKey
@pytest.mark.parametrize("databyte", [0, RO, 0x40, 0x41, 0xFF])
def test_make_read_only_key_sets_databyte_to_readonly(con, new_page, raw, databyte):
    """jpagec.c:143-148: a copy of the key with ``databyte = readonly`` (145) — exactly
    0x80, whatever other bits the key had — rc 0, one key (jsimple(8))."""
    page = con.key(new_page())
    r = con.call(raw(page._replace(databyte=databyte)), P.MakeReadOnlyKey, data=b"x")
    assert r.rc == 0
    assert con.key(r.keys[0]) == Key(PAGE, page.obj, RO, page.alloc)
    assert [con.key(h) for h in r.keys[1:]] == [kl.DK0] * 3 and r.data == b""


# --------------------------------------------------------------------- 39 Clear
def test_clear_zeroes_the_page(con, new_page):
    """jpagec.c:151, 185-187: alter_page_state(clear_page); rc 0."""
    page = new_page()
    con.call(page, P.WriteData + 100, data=b"dirty")
    r = con.call(page, P.Clear)
    assert (r.rc, r.data) == (0, b"") and con.key(r.keys[0]) == kl.DK0
    assert read(con, page, 100, 5) == bytes(5)


def test_clear_through_a_read_only_key_is_kt2(con, new_page):
    """jpagec.c:152-154: ``if (key->databyte & readonly) simplest(KT+2)``."""
    page = new_page()
    con.call(page, P.WriteData, data=b"keep")
    assert con.call(ro_of(con, page), P.Clear).rc == INVALID
    assert read(con, page, 0, 4) == b"keep"


# -------------------------------------------------------------- 41 TestForZeroes
@pytest.mark.parametrize("write, rc", [(None, 0), (b"\x01", P.NOT_ZERO), (b"\0", 0)])
@pytest.mark.parametrize("readonly", [False, True])
def test_test_for_zeroes(con, new_page, write, rc, readonly):
    """jpagec.c:190-208: rc 1 when the page holds a nonzero byte, else 0, through any page
    key. Departure (docs/fidelity.md, Page TestForZeroes): jpagec.c:199's loop
    ``for (; i == 0; i--)`` never runs, so there an in-core page always answers 0; the
    simulator tests every byte."""
    page = new_page()
    if write is not None:
        con.call(page, P.WriteData + 4095, data=write)
    key = ro_of(con, page) if readonly else page
    assert con.call(key, P.TestForZeroes).rc == rc


# ---------------------------------------------------------- 4096 + n WriteData
@pytest.mark.parametrize("off, n", [(0, 0), (0, 1), (0, 4096), (4095, 1), (1000, 3000)])
def test_write_data_within_the_page(con, new_page, off, n):
    """jpagec.c:210-240: 4096 <= order < 8192 on a read-write key copies the string to
    offset order - 4096 (write_data, 36-52); rc 0."""
    page = new_page()
    data = bytes((i * 7 + 1) % 256 for i in range(n))
    r = con.call(page, P.WriteData + off, data=data)
    assert (r.rc, r.data) == (0, b"")
    assert read(con, page, off, n) == data


@pytest.mark.parametrize("off, n", [(4095, 2), (1, 4096), (4000, 97), (4086, 11)])
def test_write_data_past_the_end_answers_1(con, new_page, off, n):
    """jpagec.c:235-237: ``cpuordercode + cpuarglength > 8192`` → ``simplest(1)``;
    nothing is written."""
    page = new_page()
    assert con.call(page, P.WriteData + off, data=b"x" * n).rc == P.PAST_END == 1
    assert con.call(page, P.TestForZeroes).rc == 0


@pytest.mark.parametrize("off", [0, 4095])
def test_write_data_through_a_read_only_key_is_kt2(con, new_page, off):
    """jpagec.c:212: the WriteData case needs ``!(key->databyte & readonly)``; a read-only
    key falls to ``simplest(KT+2)`` (246)."""
    page = new_page()
    assert con.call(ro_of(con, page), P.WriteData + off, data=b"x").rc == INVALID
    assert con.call(page, P.TestForZeroes).rc == 0


# ------------------------------------------------------------ 8192 + n ReadData
@pytest.mark.parametrize("off, length, want", [(0, None, 4096), (10, 5, 5), (4090, 100, 6)])
def test_read_data_is_the_simulators_extension(con, new_page, off, length, want):
    """Extension (docs/fidelity.md, Page ReadData): 8192 + offset reads the page from
    ``offset``, at most the 4-byte length given. jpagec.c:246 answers KT+2 there."""
    page = new_page()
    con.call(page, P.WriteData, data=bytes(range(256)) * 16)
    data = b"" if length is None else length.to_bytes(4, "big")
    r = con.call(ro_of(con, page), P.ReadData + off, data=data)
    assert r.rc == 0 and r.data == (bytes(range(256)) * 16)[off : off + want]


# --------------------------------------------------------------------------- KT
@pytest.mark.parametrize("readonly, akt", [(False, 0x202), (True, 0x1202)])
def test_kt(con, new_page, readonly, akt):
    """jpagec.c:242-244: 0x1202 for a read-only key, else 0x202."""
    page = new_page()
    key = ro_of(con, page) if readonly else page
    r = con.call(key, KT)
    assert (r.rc, r.data) == (akt, b"") and r.rc == (P.ROAKT if readonly else P.AKT)


# -------------------------------------------------------------------- unknown
@pytest.mark.parametrize(
    "order", [1, 38, 40, 42, 4095, 12288, 0x7FFFFFFF, KT + 1, KT + 4, 0xFFFFFFFF]
)
@pytest.mark.parametrize("readonly", [False, True])
def test_other_orders_are_kt2(con, new_page, order, readonly):
    """jpagec.c:246: ``else simplest(KT+2)``."""
    page = new_page()
    key = ro_of(con, page) if readonly else page
    r = con.call(key, order)
    assert (r.rc, r.data) == (INVALID, b"") and con.key(r.keys[0]) == kl.DK0
