"""The virtual copy segment and its factory: ``Dom/fundamental/vcsf.ck``; order codes
``Dom/include/vcs.h`` (``programs/vcs.py``'s ``VCS``, ``VCSF``). Declared departures
(docs/fidelity.md, Virtual copy segment): Freeze answers KT+2; a fault the VCS cannot
mend leaves the faulter waiting."""

import struct

import pytest
from bank_helpers import sub_bank, usage

import keykos_lab as kl
from keykos_lab import oc
from keykos_lab.programs.vcs import VCS, VCSF
from keykos_lab.system.vcs import build_vcs, build_vcsf

KT = oc.KT
PAGE = 4096
U64 = struct.Struct(">Q")


@kl.program("vcs_conf_writer")
def writer(dom, msg):
    """Writes the string at the address its order names."""
    yield dom.write(msg.order, msg.data)
    yield dom.return_(msg.resume, rc=0)


@pytest.fixture
def original(con):
    pages = [kl.image(con, "vcs_conf_writer")]
    for n in (1, 2):
        page = con.call(con["bank"], oc.SB.CreatePage).keys[0]
        con.call(page, oc.Page.WriteData, data=b"original %d" % n)
        pages.append(page)
    return kl.build_red_segment(con, pages), pages


@pytest.fixture
def vcs(con, original):
    return build_vcs(con, original[0]).segment


def run_writer(con, segment, address, data):
    start = kl.start_key(con, kl.build_domain(con, memory=segment))
    return con.call(start, address, data=data).rc


def length(con, vcs):
    r = con.call(vcs, VCS.ReturnLength)
    assert r.rc == 0
    return U64.unpack(r.data)[0]


# ==================================================================== VCSF
def test_vcsf_create(con, original):
    """vcsf.ck:101-149: the yield buys a node from the bank, copies the original's root
    into it, puts a start key to itself in slot 14 (vcsf.ck:144-145) and answers rc 0 with
    a segment key to it (vcsf.ck:147, 149)."""
    seg, _ = original
    vcsf = build_vcsf(con, seg)
    bank = sub_bank(con)
    r = con.call(vcsf.requestor, VCSF.Create, bank, con["meter"], bank)
    assert r.rc == 0 and con.describe(r.keys[0]).startswith("segment key (lss 0)")
    assert con.call(r.keys[0], KT).rc == VCS.AKT
    assert usage(con, bank)[0] > 0


def test_vcsf_create_from_the_box(con):
    """vcsf.ck:109-135: with no segment component the VCS is lss 3, all zero stems."""
    vcs = build_vcs(con).segment
    assert con.call(vcs, KT).rc == VCS.AKT and length(con, vcs) == 0
    assert con.describe(con.call(vcs, VCS.ReturnBaseSegmentKey).keys[0]) == "DK(0)"


def test_vcsf_create_no_node(con, original):
    """vcsf.ck:102-105: no node for the segment: the yield exits NODEFAULT (KT+6)."""
    seg, _ = original
    vcsf = build_vcsf(con, seg)
    bank = sub_bank(con)
    # The factory buys the yield's domain from the bank; the VCS's red node from the
    # third key (vcsf.ck:29, 102): a bank with no nodes left.
    empty = sub_bank(con, nodes=0)
    assert con.call(vcsf.requestor, VCSF.Create, bank, con["meter"], empty).rc == VCS.NODEFAULT


# ===================================================================== VCS
def test_vcs_kt(con, vcs):
    """vcsf.ck:156-158: KT answers VCS_AKT (vcs.h:26)."""
    assert con.call(vcs, KT).rc == 0xB0D


@pytest.mark.parametrize(
    "order, databyte",
    [
        (VCS.CreateROSegmentKey, "ro"),
        (VCS.CreateNCSegmentKey, "nocall"),
        (VCS.CreateRONCSegmentKey, "ro, nocall"),
    ],
)
def test_vcs_weaker_segment_keys(con, vcs, order, databyte):
    """vcsf.ck:199-215: MakeSegmentKey with databyte 0x80, 0x40, 0xC0 on the red node."""
    r = con.call(vcs, order)
    assert r.rc == 0
    assert con.describe(r.keys[0]).startswith(f"segment key ({databyte}, lss 0)")


def test_vcs_return_base_segment_key(con, vcs, original):
    """vcsf.ck:217-220: component 0, the sense key to the original's root."""
    r = con.call(vcs, VCS.ReturnBaseSegmentKey)
    assert r.rc == 0 and con.describe(r.keys[0]).startswith("sense key")
    assert con.call(r.keys[0], oc.Node.Fetch + 1).keys[0].key.obj == original[1][1].key.obj


def test_vcs_return_length(con, vcs):
    """vcsf.ck:240-254, 566-617: the highest non-zero byte + 1, walking down from the top."""
    assert length(con, vcs) == 2 * PAGE + len(b"original 2")
    assert run_writer(con, vcs, 2 * PAGE + 100, b"z") == 0
    assert length(con, vcs) == 2 * PAGE + 101


def test_vcs_truncate(con, vcs, original):
    """vcsf.ck:222-238, 578-602, 611: pages past the address are replaced by zero stems (a
    bought one sold), a bought page holding it zeroed above it (zappage); a string shorter
    than 8 bytes answers KT+2 (vcsf.ck:227-230); a longer one is read for its first 8, as
    CHARTO(&parm,8,actlen) moves them (vcsf.ck:152; gatec.c:209-216, 235)."""
    assert run_writer(con, vcs, PAGE + 5, b"written") == 0
    assert run_writer(con, vcs, 2 * PAGE, b"ORIGINAL") == 0
    assert con.call(vcs, VCS.TruncateSegment, data=U64.pack(PAGE + 3)).rc == 0
    assert length(con, vcs) == PAGE + 4
    assert con.call(vcs, VCS.TruncateSegment, data=b"1234").rc == KT + 2
    assert con.call(vcs, VCS.TruncateSegment, data=U64.pack(PAGE + 4) + b"extra").rc == 0
    assert length(con, vcs) == PAGE + 4
    assert con.call(original[1][2], oc.Page.ReadData, data=(10).to_bytes(4, "big")).data == (
        b"original 2"
    )


def test_vcs_truncate_in_an_original_page(con, vcs):
    """vcsf.ck:603-611: the page holding the address is still the original's: a page is
    bought and the first non-zero bytes copied into it, all of them (``CHARFROM(page,
    bytes)``), so nothing is cut off that page."""
    assert con.call(vcs, VCS.TruncateSegment, data=U64.pack(PAGE + 3)).rc == 0
    assert length(con, vcs) == PAGE + len(b"original 1")


def test_vcs_fault_copies_the_page(con, original):
    """vcsf.ck:178-195, 398-411: a write fault on a read-only page buys a page, copies the
    original into it, swaps it into the node and restarts the faulter (rc 0)."""
    seg, pages = original
    bank = sub_bank(con)
    vcs = build_vcs(con, seg, bank=bank).segment
    assert run_writer(con, vcs, PAGE + 9, b"X") == 0
    assert usage(con, bank)[1] == 1
    page = con.call(vcs, VCS.ReturnBaseSegmentKey).keys[0]
    assert con.call(page, oc.Node.Fetch + 1).keys[0].key.obj == pages[1].key.obj


def test_vcs_fault_grows_the_tree(con, vcs):
    """vcsf.ck:346-382, 446-464: an address past the root's 14 slots grows the tree with
    zero stems (lss + 1 per round) and restarts; the write then faults again and copies."""
    assert run_writer(con, vcs, 0xE000, b"far") == 0
    assert length(con, vcs) == 0xE000 + 3


def test_vcs_fault_no_page(con, original):
    """vcsf.ck:403-405: no page from the bank: STORAGEFAULT. Departure (docs/fidelity.md,
    Virtual copy segment): the restart key cannot send the faulter to its domain keeper,
    so it is left waiting; the original is untouched."""
    seg, pages = original
    vcs = build_vcs(con, seg, bank=sub_bank(con, pages=0)).segment
    start = kl.start_key(con, kl.build_domain(con, memory=vcs))
    con.fork(start, PAGE, data=b"no")
    con.run()
    assert con.call(pages[1], oc.Page.ReadData, data=(2).to_bytes(4, "big")).data == b"or"


def test_vcs_destroy(con, original):
    """vcsf.ck:161-176, 310: KT+4 sells every page and node the VCS bought (treewalk with
    zero set), the red node, and exits: the segment key is DK(0)."""
    seg, _ = original
    bank = sub_bank(con)
    vcs = build_vcs(con, seg, bank=bank).segment
    assert run_writer(con, vcs, 0x30000, b"deep") == 0
    assert usage(con, bank)[1] == 1
    assert con.call(vcs, oc.DESTROY).rc == 0
    assert usage(con, bank) == (0, 0) and con.describe(vcs) == "DK(0)"


def test_vcs_freeze(con, vcs):
    """vcsf.ck:256-303: Freeze makes a VCSF of the segment. Departure (docs/fidelity.md,
    Virtual copy segment): not yet simulated, KT+2."""
    assert con.call(vcs, VCS.Freeze, con["bank"]).rc == KT + 2


@pytest.mark.parametrize("order", [4, 7, 16, 18, 0x7FFFFFFF])
def test_vcs_other_orders(con, vcs, order):
    """vcsf.ck:305-307: any other order below KT answers KT+2."""
    assert con.call(vcs, order).rc == KT + 2
