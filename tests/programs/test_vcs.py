"""The virtual copy segment, as domain code (``programs/vcs.py``, ``vcsf.ck``): a domain
whose memory is a VCS of a read-only original."""

import struct

import pytest
from bank_helpers import sub_bank, usage

import keykos_lab as kl
from keykos_lab import oc
from keykos_lab.programs.vcs import VCS
from keykos_lab.system.vcs import build_vcs, build_vcsf

PAGE = 4096
DATA_PAGES = 3
OP = struct.Struct(">BI")  # 0 read / 1 write, address; then the bytes to write


@kl.program("vcs_test_rw")
def rw(dom, msg):
    """Order 0: read 16 bytes at the address; 1: write the rest of the string there."""
    op, address = OP.unpack(msg.data[: OP.size])
    if op:
        yield dom.write(address, msg.data[OP.size :])
        yield dom.return_(msg.resume, rc=0)
    else:
        yield dom.return_(msg.resume, rc=0, data=(yield dom.read(address, 16)))


@pytest.fixture
def original(con):
    """A red segment: the program image, then 3 data pages holding ``page n``."""
    pages = [kl.image(con, "vcs_test_rw")]
    for n in range(1, DATA_PAGES + 1):
        page = con.call(con["bank"], oc.SB.CreatePage).keys[0]
        con.call(page, oc.Page.WriteData, data=f"page {n}".encode())
        pages.append(page)
    return kl.build_red_segment(con, pages), pages


def runner(con, segment):
    start = kl.start_key(con, kl.build_domain(con, memory=segment))

    def read(address):
        r = con.call(start, 0, data=OP.pack(0, address))
        assert r.rc == 0
        return r.data

    def write(address, data):
        assert con.call(start, 0, data=OP.pack(1, address) + data).rc == 0

    return read, write


def page_text(con, page):
    return con.call(page, oc.Page.ReadData, data=(16).to_bytes(4, "big")).data


def test_reads_see_the_original_and_copy_nothing(con, original):
    seg, _ = original
    bank = sub_bank(con)
    vcs = build_vcs(con, seg, bank=bank).segment
    read, _ = runner(con, vcs)
    assert [read(n * PAGE)[:6] for n in range(1, DATA_PAGES + 1)] == [
        b"page 1",
        b"page 2",
        b"page 3",
    ]
    assert usage(con, bank)[1] == 0


def test_first_write_copies_one_page_later_writes_none(con, original):
    seg, pages = original
    bank = sub_bank(con)
    vcs = build_vcs(con, seg, bank=bank).segment
    read, write = runner(con, vcs)
    write(2 * PAGE + 8, b"changed")
    assert usage(con, bank)[1] == 1
    assert read(2 * PAGE) == b"page 2\0\0changed\0"  # the rest of the page was copied
    write(2 * PAGE + 100, b"again")
    write(2 * PAGE, b"PAGE")
    assert usage(con, bank)[1] == 1
    assert read(2 * PAGE)[:6] == b"PAGE 2"
    assert page_text(con, pages[2])[:6] == b"page 2"  # never reaches the original


def test_two_vcs_over_one_original_are_independent(con, original):
    seg, pages = original
    vcsf = build_vcsf(con, seg)
    read_a, write_a = runner(con, build_vcs(con, vcsf=vcsf).segment)
    read_b, write_b = runner(con, build_vcs(con, vcsf=vcsf).segment)
    write_a(PAGE, b"A")
    write_b(PAGE, b"B")
    assert (read_a(PAGE)[:6], read_b(PAGE)[:6]) == (b"Aage 1", b"Bage 1")
    assert page_text(con, pages[1])[:6] == b"page 1"


def test_the_bank_pays_and_destroying_returns_its_pages(con, original):
    seg, _ = original
    vcsf = build_vcsf(con, seg)
    bank = sub_bank(con)
    vcs = build_vcs(con, bank=bank, vcsf=vcsf).segment
    _, write = runner(con, vcs)
    nodes0, pages0 = usage(con, bank)
    assert nodes0 > 0 and pages0 == 0  # the VCS's domain and red node
    for n in (1, 3):
        write(n * PAGE, b"x")
    assert usage(con, bank) == (nodes0, 2)
    assert con.call(vcs, oc.DESTROY).rc == 0
    assert usage(con, bank) == (0, 0)
    assert con.describe(vcs) == "DK(0)"


def test_a_write_past_the_original_grows_the_tree(con, original):
    seg, _ = original
    bank = sub_bank(con)
    vcs = build_vcs(con, seg, bank=bank).segment
    read, write = runner(con, vcs)
    write(0x123456, b"far")
    assert read(0x123456)[:3] == b"far" and read(PAGE)[:6] == b"page 1"
    assert struct.unpack(">Q", con.call(vcs, VCS.ReturnLength).data) == (0x123456 + 3,)
    assert con.call(vcs, oc.DESTROY).rc == 0
    assert usage(con, bank) == (0, 0)


def test_a_bank_with_no_pages_leaves_the_original_untouched(con, original):
    seg, pages = original
    bank = sub_bank(con, pages=0)
    vcs = build_vcs(con, seg, bank=bank).segment
    start = kl.start_key(con, kl.build_domain(con, memory=vcs))
    con.fork(start, 0, data=OP.pack(1, PAGE) + b"no")
    con.run()
    assert page_text(con, pages[1])[:6] == b"page 1"
    assert usage(con, bank)[1] == 0  # STORAGEFAULT (vcsf.ck:405): the faulter waits


def test_the_vcsf_is_discreet(con, original):
    seg, _ = original
    assert kl.is_discreet(con, build_vcsf(con, seg).requestor)


def _subject(con, original, hold: bool):
    seg, _ = original
    vcs = build_vcs(con, seg).segment
    dom = kl.build_domain(con, memory=vcs, keys={0: vcs} if hold else None)
    return con.target(dom)


def test_soundness_of_a_domain_whose_memory_is_a_vcs(k, con, original):
    """The referee finds nothing the static analyses did not predict."""
    r = kl.analysis.soundness(k, _subject(con, original, False), 2, console=False)
    assert r["missing"] == [] and r["flow_missing"] == []


def test_soundness_of_a_domain_holding_the_vcs_key(k, con, original):
    """The VCS makes a no-call segment key (databyte 0x40) for CreateNCSegmentKey; the
    static answer's node key stands for every databyte a Make…Key order can choose
    (``referee.compare``)."""
    r = kl.analysis.soundness(k, _subject(con, original, True), 2, console=False)
    assert r["missing"] == [] and r["flow_missing"] == []
