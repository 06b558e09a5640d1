"""The DCC and domain creators: ``Dom/primordial/dccc.ck``; order codes ``Dom/include/dc.h``,
``Dom/include/dcc.h`` (``programs/primordial/dc.py``'s ``DC``, ``DCC``).

Every order dccc.ck handles is tested here. Declared departures (docs/fidelity.md, System
programs): a DC asks the SBT about the bank for SeverDomain and SeverMe too; a destroyed DC
sells its own nodes; SeverMe restarts the caller.
"""

import pytest

import keykos_lab as kl
from keykos_lab.programs.primordial.dc import (
    DC,
    DC_AKT,
    DCC,
    DCC_NO_SPACE,
    NOT_A_BANK,
    NOT_OURS,
    OBSOLETE_DESTROY_CALLER,
    WEAKENED,
)

KT = kl.oc.KT
SB = kl.oc.SB
NOT_MINE = kl.oc.RC.NOT_MINE
INVALID = kl.oc.RC.INVALIDOC


@pytest.fixture
def dc(con):
    r = con.call(con["dcc"], DCC.Create, con["bank"], con["meter"])
    assert r.rc == 0
    return r.keys[0]


def made(con, dc, order=DC.CreateDomain):
    keys = (con["bank"],) if order == DC.CreateDomain else (con["dkc"], con["bank"])
    r = con.call(dc, order, *keys)
    assert r.rc == 0
    return r.keys[0]


def meter_of(con, raw, start):
    """The meter a domain runs on (white-box: a domain key made from its root)."""
    root = con.key(start)
    dom = con.call(con["domtool"], 0, raw(kl.Key(3, root.obj, 0, root.alloc))).keys[0]
    return con.key(con.call(dom, kl.oc.Domain.GetMeter).keys[0])


def stranger(con):
    return kl.build_domain(con, "echo")


# ==================================================================== DCC
def test_dcc_create(con, raw):
    """dccc.ck:95-115: rc 0 and a DC; the new DC is a fork of the DCC and runs on the
    DCC's meter (cfstart.s fork: Domain_Get+1 of the forker), not the one passed."""
    node = con.call(con["bank"], SB.CreateNode).keys[0]
    other = con.call(node, kl.oc.Node.MakeMeterKey).keys[0]
    r = con.call(con["dcc"], DCC.Create, con["bank"], other)
    assert r.rc == 0 and con.call(r.keys[0], KT).rc == 0x0D
    assert meter_of(con, raw, r.keys[0]) == meter_of(con, raw, con["dcc"])


def test_dcc_create_refuses_a_bank_that_is_not_one_and_plays_dead_without_space(con):
    """dccc.ck:96-99: SBT rc & 0x80 → rc 1; 110-112: no space for the DC → KT+1."""
    assert con.call(con["dcc"], DCC.Create, con["dkc"], con["meter"]).rc == NOT_A_BANK
    bank = con.call(con["bank"], SB.CreateBank).keys[0]
    con.call(bank, SB.ChangeNodeLimit, data=(1 - SB.LIMIT).to_bytes(8, "big", signed=True))
    assert con.call(con["dcc"], DCC.Create, bank, con["meter"]).rc == DCC_NO_SPACE


def test_dcc_identify(con, dc):
    """dccc.ck:89-93: the rc of DC_IdentifyStart: the databyte, or -1."""
    weak = con.call(dc, DC.Weaken).keys[0]
    assert [con.call(con["dcc"], DCC.Identify, key).rc for key in (dc, weak, con["bank"])] == [
        0,
        WEAKENED,
        NOT_MINE,
    ]


@pytest.mark.parametrize("order, rc", [(KT, 0x10D), (2, INVALID), (KT + 4, INVALID)])
def test_dcc_other_orders(con, order, rc):
    """dccc.ck:84-87 (DCC_AKT, dcc.h:12), 117-118: KT+2."""
    assert con.call(con["dcc"], order).rc == rc


# ===================================================================== DC
@pytest.mark.parametrize("order", [DC.CreateDomain, 0])
def test_create_domain(con, dc, order):
    """dccc.ck:228-233, 162-166: 12 takes the bank as key 0, the old 0 as key 1;
    makedom: rc 0 and a domain key; testbank fails → 1 (dccc.ck:303-315)."""
    dom = made(con, dc, order)
    assert con.describe(dom).startswith("domain key")
    assert con.call(dc, order, con["dkc"], con["dkc"]).rc == NOT_A_BANK


def _bank_with(con, nodes):
    bank = con.call(con["bank"], SB.CreateBank).keys[0]
    con.call(bank, SB.ChangeNodeLimit, data=(nodes - SB.LIMIT).to_bytes(8, "big", signed=True))
    return bank


def test_create_domain_without_space_is_rc_2(con, dc):
    """dccc.ck:324-332: SB_CreateThreeNodes fails → rc 2, the nodes given back."""
    assert con.call(dc, DC.CreateDomain, _bank_with(con, 2)).rc == 2


@pytest.mark.parametrize("nodes", [3, 5])
def test_create_domain_takes_three_nodes(con, dc, nodes):
    """Departure (docs/fidelity.md, Domain creators and banks): a domain is the 370
    layout's three nodes, so a bank that can sell three to five makes one. CreateDomain
    (dccc.ck:228-233) calls makedom, which buys 3 + 3 (+ 1 unchecked, dccc.ck:319-342)
    and answers rc 2 there."""
    r = con.call(dc, DC.CreateDomain, _bank_with(con, nodes))
    assert r.rc == 0 and con.describe(r.keys[0]).startswith("domain key")


def test_destroy_domain(con, dc):
    """dccc.ck:167-172: a domain key to one of ours: zapdom, rc 0; else rc 3."""
    dom = made(con, dc)
    assert con.call(dc, DC.DestroyDomain, dom, con["bank"]).rc == 0
    assert con.key(dom) == kl.DK0
    assert con.call(dc, DC.DestroyDomain, stranger(con), con["bank"]).rc == NOT_OURS


def test_destroy_domain_with_the_wrong_bank(con, dc):
    """zapdom, dccc.ck:283 testbank → 1; 292-293 the bank refuses the nodes → 2."""
    dom = made(con, dc)
    assert con.call(dc, DC.DestroyDomain, dom, con["dkc"]).rc == NOT_A_BANK
    other = con.call(con["bank"], SB.CreateBank).keys[0]
    assert con.call(dc, DC.DestroyDomain, dom, other).rc == 2


@pytest.mark.parametrize("order", [DC.IdentifyStart, DC.IdentifyResume])
def test_identify_start_and_resume(con, dc, order):
    """dccc.ck:173-188: rc the key's databyte and a domain key; -1 and no key otherwise."""
    dom = made(con, dc)
    if order == DC.IdentifyStart:
        key = kl.start_key(con, dom, 9)
        r = con.call(dc, order, key)
        assert r.rc == 9 and con.target(r.keys[0]) == con.target(dom)
    r = con.call(dc, order, kl.start_key(con, stranger(con)))
    assert (r.rc, con.key(r.keys[0])) == (NOT_MINE, kl.DK0)


@pytest.mark.parametrize(
    "order, slot, make",
    [
        (DC.IdentifyMeter, 2, kl.oc.Node.MakeMeterKey),
        (DC.IdentifySegment, 14, kl.oc.Node.MakeSegmentKey),
    ],
)
def test_identify_keeper(con, dc, red_node, dk, order, slot, make):
    """dccc.ck:193-196, 214-217, 347-361 (doid): rc the keeper key's databyte, keys a
    domain key to the keeper and a node key to the node; the domain tool's -1 otherwise,
    as for dccc.ck:197-201, 218-222 when the keeper is no resume key."""
    keeper = made(con, dc)
    start = kl.start_key(con, keeper, 5)
    if order == DC.IdentifyMeter:
        node = con.call(con["bank"], SB.CreateNode).keys[0]
        con.call(node, kl.oc.Node.Swap + slot, start)
        key = con.call(node, make).keys[0]
    else:
        node, key, _ = red_node(keeper=start, keeper_slot=slot)
    r = con.call(dc, order, key)
    assert r.rc == 5
    assert con.target(r.keys[0]) == con.target(keeper)
    assert con.target(r.keys[1]) == con.target(node)
    assert con.call(dc, order + 1, key).rc == NOT_MINE  # the keeper is no resume key
    assert con.call(dc, order, con["bank"]).rc == NOT_MINE


@pytest.mark.parametrize(
    "order, slot, make",
    [
        (DC.IdentifyMeterWithDomainKeyKeeper, 2, kl.oc.Node.MakeMeterKey),
        (DC.IdentifySegmentWithDomainKeyKeeper, 14, kl.oc.Node.MakeSegmentKey),
    ],
)
def test_identify_keeper_domain_key(con, dc, red_node, order, slot, make):
    """dccc.ck:202-206, 223-227, 347-361 (doid, the domain tool's orders 7 and 11): a
    keeper that is a domain key to one of ours → rc its databyte (0), a domain key to the
    keeper and a node key to the node; a start key there → -1."""
    keeper = made(con, dc)
    if order == DC.IdentifyMeterWithDomainKeyKeeper:
        node = con.call(con["bank"], SB.CreateNode).keys[0]
        con.call(node, kl.oc.Node.Swap + slot, keeper)
        key = con.call(node, make).keys[0]
    else:
        node, key, _ = red_node(keeper=keeper, keeper_slot=slot)
    r = con.call(dc, order, key)
    assert r.rc == 0
    assert con.target(r.keys[0]) == con.target(keeper)
    assert con.target(r.keys[1]) == con.target(node)
    assert con.call(dc, order - 2, key).rc == NOT_MINE  # no start key in the keeper slot


@kl.program("cf-dc-destroy-me")
def destroy_me(dom, msg):
    """Asks its DC (key 0) to destroy it, its rc going to the key passed; order is
    the DC order to use."""
    yield dom.call(dom.keys[0], msg.order, msg.resume, dom.keys[1], data=b"\0\0\0\x2a")


@pytest.mark.parametrize("order, rc", [(DC.DestroyMe, 42), (OBSOLETE_DESTROY_CALLER + 7, 7)])
def test_destroy_me(con, dc, order, rc):
    """dccc.ck:207-213, 150-159: the caller, one of ours, is destroyed, and the string's
    first 4 bytes go as rc to key 0; for order 0x40000000 + n, rc n."""
    dom = made(con, dc)
    con.call(dom, kl.oc.Domain.SwapMeter, con["meter"])
    con.call(dom, kl.oc.Domain.SwapMemory, kl.image(con, "cf-dc-destroy-me"))
    con.call(dom, kl.oc.Domain.SwapKey + 0, dc)
    con.call(dom, kl.oc.Domain.SwapKey + 1, con["bank"])
    assert con.call(kl.start_key(con, dom), order).rc == rc
    assert con.key(dom) == kl.DK0


def test_destroy_me_from_a_stranger(con, dc):
    """dccc.ck:208-210: the caller is not ours → rc 3, and the DC goes on."""
    assert con.call(dc, DC.DestroyMe, con["dkc"], con["bank"]).rc == NOT_OURS
    assert con.call(dc, KT).rc == DC_AKT


def test_obsolete_destroy_caller_from_a_stranger(con, dc):
    """Departure (docs/fidelity.md, Destroying a DC): 0x40000000 + n from a
    domain the DC did not make answers -1 and the DC goes on. In dccc.ck:151-155 the
    ``break`` after the domain tool's answer is outside the switch (which begins at 161), so
    it leaves the DC's loop and the DC ends, answering nothing."""
    assert con.call(dc, OBSOLETE_DESTROY_CALLER, con["dkc"], con["bank"]).rc == NOT_MINE
    assert con.call(dc, KT).rc == DC_AKT


def test_weaken(con, dc):
    """dccc.ck:234-238: rc 0, a start key with databyte 1; dccc.ck:189-192: through it,
    order 4 answers KT+2 (the ``break`` at 190 is inside the switch) and the DC goes on."""
    r = con.call(dc, DC.Weaken)
    assert r.rc == 0 and con.key(r.keys[0]).databyte == WEAKENED
    assert con.call(r.keys[0], 4).rc == INVALID
    assert con.call(dc, KT).rc == DC_AKT


def test_weakened_key_cannot_destroy_the_dc(con, dc):
    """Departure (docs/fidelity.md, Destroying a DC): KT+4 through a weakened
    key answers KT+2 and the DC goes on. In dccc.ck:145-147 the ``break`` that would send
    KT+2 is outside the switch, so it leaves the DC's loop: the DC ends, answering nothing."""
    weak = con.call(dc, DC.Weaken).keys[0]
    assert con.call(weak, KT + 4).rc == INVALID
    assert con.call(dc, KT).rc == DC_AKT
    assert con.call(weak, KT).rc == DC_AKT


@pytest.mark.parametrize("order", [KT + 4, 4])
def test_destroy_the_dc(con, dc, order):
    """dccc.ck:145-149, 189-192: the DC goes. Departure (docs/fidelity.md, Destroying a
    DC): it sells its own nodes."""
    assert con.call(dc, order).rc == 0
    con.run()
    assert con.call(dc, KT).rc == kl.oc.RC.DATAKEY


def test_sever_domain(con, dc):
    """dccc.ck:239-253: rc 0 and a new domain key, the old keys dead; rc 3 if not ours."""
    dom = made(con, dc)
    r = con.call(dc, DC.SeverDomain, kl.start_key(con, dom), con["bank"])
    assert r.rc == 0 and con.key(dom) == kl.DK0
    assert con.call(dc, DC.SeverDomain, con["bank"], con["bank"]).rc == NOT_OURS


def test_sever_me_from_a_stranger(con, dc):
    """dccc.ck:255-257: the caller is not ours → rc 3."""
    assert con.call(dc, DC.SeverMe, con["bank"]).rc == NOT_OURS


@pytest.mark.parametrize("order, rc", [(KT, 0x0D), (16, INVALID), (99, INVALID)])
def test_dc_other_orders(con, dc, order, rc):
    """dccc.ck:140-143, 267-269: KT → DC_AKT (dc.h:34); others KT+2."""
    assert con.call(dc, order).rc == rc


@kl.program("cf-sever-waiter")
def _sever_waiter(dom, msg):
    """Order 1: CALL key register 0 and wait; anything else: answer the order."""
    if msg.order == 1:
        yield dom.call(dom.keys[0], 5)
    else:
        yield dom.return_(msg.resume, rc=msg.order)


@kl.program("cf-sever-sink")
def _sever_sink(dom, msg):
    """Keep the caller waiting: end without answering."""
    return
    yield


def _running(con, dc, program, *keys):
    """A domain of ``dc`` running ``program`` with ``keys`` in key registers 0, 1 …,
    started with order 1 and run until it stops."""
    dom = made(con, dc)
    con.call(dom, kl.oc.Domain.SwapMeter, con["meter"])
    con.call(dom, kl.oc.Domain.SwapMemory, kl.image(con, program))
    for n, key in enumerate(keys):
        con.call(dom, kl.oc.Domain.SwapKey + n, key)
    con.fork(kl.start_key(con, dom), 1)
    con.run()
    return dom


def _waiting(con, dc, sink):
    """A domain of ``dc`` waiting in a CALL to ``sink``."""
    return _running(con, dc, "cf-sever-waiter", sink)


def test_sever_domain_of_a_waiting_domain_leaves_it_available(con, dc):
    """Departure (docs/fidelity.md, Severing a domain's root): SeverDomain (dccc.ck:239-253)
    of a domain waiting in a CALL: its process ends, and under its new root it answers a
    CALL at once; in C it stays busy (jnrangec.c:135-181, domainc.c:73-75, 196-205), so the
    CALL would stall and MakeBusy answer 1."""
    sink = kl.start_key(con, kl.build_domain(con, "cf-sever-sink"))
    assert con.call(_waiting(con, dc, sink), kl.oc.Domain.MakeBusy).rc == 1  # as in C
    dom = _waiting(con, dc, sink)
    fresh = con.call(dc, DC.SeverDomain, kl.start_key(con, dom), con["bank"]).keys[0]
    assert con.call(kl.start_key(con, fresh), 2).rc == 2
    assert con.call(fresh, kl.oc.Domain.MakeBusy).rc == 0


@kl.program("cf-sever-me")
def _sever_me(dom, msg):
    """Order 1: asks its DC (key register 0) for SeverMe with the bank in key register 1.
    Severing its root ends this handler; the domain starts afresh with an empty message
    (order 0), and counts such starts in data register 0."""
    if msg.order == 0:
        dom.regs[0] = dom.regs[0] + 1
        return
    yield dom.call(dom.keys[0], DC.SeverMe, dom.keys[2], dom.keys[1])


def test_sever_me_restarts_the_caller_under_a_new_root(k, con, dc):
    """Departure (docs/fidelity.md, Severing a domain's root): SeverMe (dccc.ck:254-266)
    gives the caller a new root; its process ends with the old root, and it starts afresh
    once, with an empty message. In C the severed caller stays busy, MakeBusy answers 1
    (dccc.ck:263-264), and the reply through the fault key (271) sends it to its domain
    keeper."""
    dom = _running(con, dc, "cf-sever-me", dc, con["bank"])
    assert con.key(dom) == kl.DK0
    (root,) = [r for r, d in k.domains.items() if d.program == "cf-sever-me"]
    assert k.objs[k.objs[root].slots[15].obj].slots[0] == kl.DK(1)  # started afresh once
    assert con.call(dc, KT).rc == DC_AKT  # the DC is free
