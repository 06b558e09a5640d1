"""Gates (start and resume keys), CALL/RETURN/FORK, stall queues, keepers, meters."""

import struct

import programs_for_tests  # noqa: F401  (registers the t-* programs)
import pytest

import keykos_lab as kl
from keykos_lab import oc

KT = oc.KT


def domain(con, program, **kw):
    dom = kl.build_domain(con, program, **kw)
    return dom, kl.start_key(con, dom)


def regs(con, dom):
    return struct.unpack(">16Q", con.call(dom, oc.Domain.GetRegs).data)


def events_of(k, **where):
    ev = k.events()
    for col, val in where.items():
        ev = ev[ev[col] == val]
    return ev


# ------------------------------------------------------------------ start keys
def test_call_through_start_key_delivers_order_data_and_keys(k, con):
    _, echo = domain(con, "echo")
    page = con.call(con["bank"], oc.SB.CreatePage).keys[0]
    r = con.call(echo, 1234, page, data=b"ping")
    assert (r.rc, r.data) == (1234, b"ping")
    assert con.key(r.keys[0]) == con.key(page)
    deliver = events_of(k, event="deliver", key_type="start", target=con.target(echo))
    assert len(deliver) == 1 and deliver.iloc[0]["state_before"] == "available"


def test_start_key_databyte_is_a_facet(con):
    dom, _ = domain(con, "t-facets")
    for db in (0, 1, 200):
        assert con.call(kl.start_key(con, dom, db), 0).rc == db


def test_call_passes_at_most_three_keys_and_string_at_most_4096(con):
    _, echo = domain(con, "echo")
    with pytest.raises(ValueError, match="at most 3 keys"):
        con.call(echo, 0, echo, echo, echo, echo)
    with pytest.raises(ValueError, match="4096"):
        con.call(echo, 0, data=b"x" * 4097)
    assert con.call(echo, 0, data=b"x" * 4096).data == b"x" * 4096


def test_resume_key_is_one_shot(k, con):
    stash_dom, _ = domain(con, "t-stasher")
    _, client = domain(con, "proxy", keys={0: kl.start_key(con, stash_dom, 0)})
    con.fork(client, 77)
    con.run()  # client CALLs the stasher, which keeps the resume key
    release = kl.start_key(con, stash_dom, 1)
    r = con.call(release, 5)  # FORK the kept resume key, then CALL it again
    assert r.rc == oc.RC.DATAKEY  # the second use finds a dead key
    delivered = events_of(k, event="deliver", key_type="resume")
    assert (delivered["order"] == 5).any()


def test_resume_keys_to_a_domain_die_together(k, con):
    dom, _ = domain(con, "echo")
    first = con.call(dom, oc.Domain.MakeFaultKey).keys[0]
    assert con.call(dom, oc.Domain.MakeFaultKey).rc == 1  # already busy
    again = con.call(dom, oc.Domain.MakeBusy)
    assert again.rc == 1
    assert con.key(first) == kl.DK0  # MakeBusy voided it
    assert con.describe(again.keys[0]).startswith("resume key (fault)")


def test_fork_from_console_and_run(k, con):
    _, echo = domain(con, "echo")
    assert con.fork(echo, 9, data=b"f") is None
    assert con.run() > 0
    ev = events_of(k, jump="fork")
    assert len(ev) >= 1 and ev.iloc[0]["order"] == 9


def test_returner_server_idiom(con):
    _, server = domain(con, "t-returner-server", keys={0: con["returner"]})
    page = con.call(con["bank"], oc.SB.CreatePage).keys[0]
    r = con.call(server, 41, page)
    assert r.rc == 42 and con.key(r.keys[0]) == con.key(page)


def test_returner_call_returns_the_keys(con):
    page = con.call(con["bank"], oc.SB.CreatePage).keys[0]
    r = con.call(con["returner"], 3, page, data=b"d")
    assert (r.rc, r.data) == (3, b"d") and con.key(r.keys[0]) == con.key(page)


# ---------------------------------------------------------------- stall queue
def test_call_into_a_busy_server_stalls_then_drains(k, con):
    stash_dom, _ = domain(con, "t-stasher")
    server_dom, server = domain(con, "proxy", keys={0: kl.start_key(con, stash_dom, 0)})
    _, c1 = domain(con, "proxy", keys={0: server})
    _, c2 = domain(con, "proxy", keys={0: server})
    con.fork(c1, 1)
    con.fork(c2, 2)
    con.run()
    stalls = events_of(k, event="stall")
    assert len(stalls) == 1 and stalls.iloc[0]["target"] == con.target(server_dom)
    # Release the first request: the server answers c1, becomes available, c2 gets in.
    con.call(kl.start_key(con, stash_dom, 1), 0)
    con.run()
    into_server = events_of(k, event="deliver", key_type="start", target=con.target(server_dom))
    assert list(into_server["order"]) == [1, 2]


def test_console_stalled_on_a_busy_domain_reports_deadlock(con):
    stash_dom, _ = domain(con, "t-stasher")
    server_dom, server = domain(con, "proxy", keys={0: kl.start_key(con, stash_dom, 0)})
    con.fork(server, 1)
    con.run()
    with pytest.raises(kl.Deadlock, match="stalled on busy domain"):
        con.call(server, 2)
    # The console is usable afterwards.
    assert con.call(con["discrim"], KT).rc == oc.Discrim.AKT


def test_self_call_traps_to_the_keeper_with_0x300(k, con):
    keeper_dom, keeper = domain(con, "t-trap-logger")
    dom = kl.build_domain(con, "self_caller", keeper=keeper)
    me = kl.start_key(con, dom)
    con.call(dom, oc.Domain.SwapKey + 0, me)
    with pytest.raises(kl.Deadlock):
        con.call(me, 0)
    r = regs(con, keeper_dom)
    assert r[0] == 1 and r[1] == oc.Trap.SELFCALL
    assert len(events_of(k, cause="selfcall")) == 1


# -------------------------------------------------------------------- keepers
def test_exception_traps_to_domain_keeper_with_domain_and_fault_key(k, con):
    keeper_dom, keeper = domain(con, "t-trap-logger")
    _, crasher = domain(con, "crasher", keeper=keeper)
    with pytest.raises(kl.Deadlock):
        con.call(crasher, 0)
    r = regs(con, keeper_dom)
    assert r[1] == oc.Trap.EXCEPTION and r[2] > 0  # the error text came along
    fault = con.call(keeper_dom, oc.Domain.GetKey + 1).keys[0]
    dkey = con.call(keeper_dom, oc.Domain.GetKey + 2).keys[0]
    assert con.describe(fault).startswith("resume key (fault)")
    assert con.describe(dkey).startswith("domain key")
    assert (events_of(k, event="keeper")["cause"] == "exception").all()


def test_trap_with_no_keeper_parks_the_domain(k, con):
    _, crasher = domain(con, "crasher")
    with pytest.raises(kl.Deadlock, match="parked"):
        con.call(crasher, 0)
    assert len(events_of(k, cause="nokeeper")) == 1


def test_keeper_slot_holding_a_page_key_parks(con):
    page = con.call(con["bank"], oc.SB.CreatePage).keys[0]
    _, crasher = domain(con, "crasher", keeper=page)
    with pytest.raises(kl.Deadlock, match="no keeper"):
        con.call(crasher, 0)


def test_svc_trap_answered_by_keeper_through_the_domain_key(con):
    _, keeper = domain(con, "svc_keeper")
    _, user = domain(con, "svc_user", keeper=keeper)
    assert con.call(user, 0, data=b"12345").rc == 1005


@pytest.mark.parametrize(
    "program,trap",
    [
        ("t-garbage", oc.Trap.BADJUMP),
        ("t-forger", oc.Trap.BADKEY),
        ("t-longstring", oc.Trap.BADJUMP),
    ],
)
def test_misbehaving_programs_trap(con, program, trap):
    keeper_dom, keeper = domain(con, "t-trap-logger")
    _, bad = domain(con, program, keeper=keeper)
    with pytest.raises(kl.Deadlock):
        con.call(bad, 0)
    assert regs(con, keeper_dom)[1] == trap


def test_no_program_image_is_an_illegal_instruction(con):
    keeper_dom, keeper = domain(con, "t-trap-logger")
    page = con.call(con["bank"], oc.SB.CreatePage).keys[0]  # zero page: no image
    _, dom = domain(con, None, memory=page, keeper=keeper)
    with pytest.raises(kl.Deadlock):
        con.call(dom, 0)
    assert regs(con, keeper_dom)[1] == oc.Trap.ILLEGAL


def test_fault_key_with_order_code_sends_domain_to_its_keeper(con):
    keeper_dom, keeper = domain(con, "t-trap-logger")
    dom = kl.build_domain(con, "t-marker", keeper=keeper)
    fault = con.call(dom, oc.Domain.MakeBusy).keys[0]
    con.fork(fault, 0x123)
    con.run()
    assert regs(con, keeper_dom)[1] == 0x123


# --------------------------------------------------------------------- meters
def make_meter(con, ticks, keeper=None, superior=None):
    node = con.call(con["bank"], oc.SB.CreateNode).keys[0]
    con.call(node, oc.Node.Swap + 1, superior or con["meter"])
    dk = con.call(con["dkc"], oc.DKC.Create11, data=ticks.to_bytes(11, "big")).keys[0]
    con.call(node, oc.Node.Swap + 3, dk)
    if keeper is not None:
        con.call(node, oc.Node.Swap + 2, keeper)
    return node, con.call(node, oc.Node.MakeMeterKey).keys[0]


def test_meter_keeper_refills_and_restarts(k, con):
    refill_dom, refiller = domain(con, "refiller", keys={0: con["dkc"]})
    con.call(refill_dom, oc.Domain.PutRegs, data=struct.pack(">16Q", 30, *[0] * 15))
    _, meter = make_meter(con, 30, keeper=refiller)
    _, work = domain(con, "t-worker", meter=meter)
    assert con.call(work, 100).rc == 100
    refills = regs(con, refill_dom)[1]
    assert refills >= 3
    assert len(events_of(k, cause="meter")) == refills


def test_dry_meter_without_keeper_stops_the_domain(con):
    _, meter = make_meter(con, 10)
    _, work = domain(con, "t-worker", meter=meter)
    with pytest.raises(kl.Deadlock, match="no keeper"):
        con.call(work, 100)


def test_meter_counter_is_charged_and_exact_when_read(con):
    node, meter = make_meter(con, 10_000)
    _, work = domain(con, "t-worker", meter=meter)
    con.call(work, 50)
    left = con.key(con.call(node, oc.Node.Fetch + 3).keys[0]).obj
    assert 10_000 - 60 < left < 10_000 - 50


def test_meter_chain_deeper_than_20_cannot_run(con):
    meter = con["meter"]
    for _ in range(21):
        _, meter = make_meter(con, 1000, superior=meter)
    _, work = domain(con, "t-worker", meter=meter)
    with pytest.raises(kl.Deadlock, match="meter chain"):
        con.call(work, 1)


def test_stopping_a_meter_stops_its_domains_and_refilling_resumes_them(k, con):
    node, meter = make_meter(con, 1000)
    _, work = domain(con, "t-worker", meter=meter)
    assert con.call(work, 5).rc == 5
    con.call(node, oc.Node.Swap + 3, con.call(con["dkc"], 0).keys[0])  # counter := 0
    with pytest.raises(kl.Deadlock, match="meter .* is dry"):
        con.call(work, 5)
    # The console gave up waiting, but the worker is only stopped: refill the meter
    # and it finishes the request (its reply finds the console's old resume key dead).
    refill = con.call(con["dkc"], oc.DKC.Create11, data=(1000).to_bytes(11, "big")).keys[0]
    con.call(node, oc.Node.Swap + 3, refill)
    con.run()
    done = events_of(k, event="invoke", jump="return", actor=con.target(work))
    assert list(done["order"]) == [5, 5]
    assert con.call(work, 7).rc == 7


# ------------------------------------------------------------------- segments
def test_segment_keeper_supplies_a_missing_page(k, con):
    pager_dom, pager = domain(con, "pager", keys={0: con["bank"]})
    seg = kl.build_segment(con, [kl.image(con, "counter")], keeper=pager)
    _, counter = domain(con, None, memory=seg)
    assert con.call(counter, 0).data == (1).to_bytes(8, "big")
    assert con.call(counter, 0).data == (2).to_bytes(8, "big")
    assert regs(con, pager_dom)[0] == 1  # one fault, one page
    assert len(events_of(k, cause="segfault")) == 1


def test_no_call_segment_key_bypasses_the_segment_keeper(con):
    pager_dom, pager = domain(con, "pager", keys={0: con["bank"]})
    keeper_dom, keeper = domain(con, "t-trap-logger")
    seg = kl.build_red_segment(con, [kl.image(con, "counter")], keeper=pager, databyte=0x40).key
    _, counter = domain(con, None, memory=seg, keeper=keeper)
    with pytest.raises(kl.Deadlock):
        con.call(counter, 0)
    # An empty slot (DK(0)) faults 5 (memoryc.c:219-222).
    assert regs(con, keeper_dom)[1] == oc.Trap.MEMORY + oc.Fault.DATA
    assert regs(con, pager_dom)[0] == 0


def test_write_through_read_only_segment_traps(con):
    keeper_dom, keeper = domain(con, "t-trap-logger")
    page = con.call(con["bank"], oc.SB.CreatePage).keys[0]
    seg = kl.build_segment(con, [kl.image(con, "counter"), page], read_only=True)
    _, counter = domain(con, None, memory=seg, keeper=keeper)
    with pytest.raises(kl.Deadlock):
        con.call(counter, 0)
    assert regs(con, keeper_dom)[1] == oc.Trap.MEMORY + oc.Fault.READONLY


def test_front_end_segment_key_sends_to_its_keeper(con):
    _, echo = domain(con, "echo")
    seg = kl.build_segment(con, [], keeper=echo)
    r = con.call(seg, 55, data=b"fe")
    assert (r.rc, r.data) == (55, b"fe")
    assert con.describe(r.keys[2]).startswith("node key")  # key 3: the red node


# ------------------------------------------------------------- empty child
def test_empty_child_started_with_a_fault_key(k, con):
    dom = kl.build_domain(con, "t-marker")
    fault = con.call(dom, oc.Domain.MakeBusy).keys[0]
    assert regs(con, dom)[0] == 0
    con.fork(fault, 0)
    con.run()
    assert regs(con, dom)[0] == 42


def test_domain_key_works_while_the_domain_waits(con):
    stash_dom, _ = domain(con, "t-stasher")
    dom, client = domain(con, "proxy", keys={0: kl.start_key(con, stash_dom, 0)})
    con.fork(client, 1)
    con.run()
    assert con.call(dom, oc.Domain.GetKey + 0).rc == 0  # running program, key works
    _, echo = domain(con, "echo")
    con.call(dom, oc.Domain.SwapKey + 0, echo)  # takes effect at once
    assert con.key(con.call(dom, oc.Domain.GetKey + 0).keys[0]) == con.key(echo)
