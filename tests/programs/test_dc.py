"""The domain creator creator and domain creators, as domain code
(docs/primer.md#primer-domain-creators)."""

import pytest
from bank_helpers import sub_bank, usage

import keykos_lab as kl
from keykos_lab import oc
from keykos_lab.programs.primordial.dc import DC, DCC, NOT_A_BANK, WEAKENED

NOT_MINE = oc.RC.NOT_MINE


@pytest.fixture
def dc(con):
    r = con.call(con["dcc"], DCC.Create, con["bank"], con["meter"])
    assert r.rc == 0
    return r.keys[0]


def new_domain(con, dc, program="echo"):
    r = con.call(dc, DC.CreateDomain, con["bank"])
    assert r.rc == 0
    dom = r.keys[0]
    con.call(dom, oc.Domain.SwapMeter, con["meter"])
    con.call(dom, oc.Domain.SwapMemory, kl.image(con, program))
    return dom


def test_alleged_types(con, dc):
    assert con.call(con["dcc"], oc.KT).rc == 0x10D
    assert con.call(dc, oc.KT).rc == 0x0D
    assert con.call(dc, 99).rc == oc.RC.INVALIDOC


def test_create_domain_brands_it_and_keeps_no_key(k, con, dc):
    dom = new_domain(con, dc)
    assert con.describe(dom).startswith("domain key")
    assert con.call(kl.start_key(con, dom), 7, data=b"x").rc == 7
    root = con.target(dom)
    # The brand in root slot 0 is the DC's own domain key, and only the DC holds it.
    brand = k.objs[root].slots[0]
    assert brand.type_name == "domain" and brand.obj == con.target(dc)
    # The DC kept nothing that designates the new domain.
    G = k.capability_graph()
    holders = {u for u, v in G.in_edges(root)}
    assert con.target(dc) not in holders


def test_identify_start_and_resume(con, dc):
    dom = new_domain(con, dc)
    start = kl.start_key(con, dom, 42)
    r = con.call(dc, DC.IdentifyStart, start)
    assert r.rc == 42 and con.key(r.keys[0]) == con.key(dom)
    fault = con.call(dom, oc.Domain.MakeFaultKey).keys[0]
    assert con.call(dc, DC.IdentifyResume, fault).rc == 4  # the fault flavour
    assert con.call(dc, DC.IdentifyStart, fault).rc == NOT_MINE


def test_a_domain_built_by_hand_is_not_identified(con, dc):
    other = kl.start_key(con, kl.build_domain(con, "echo"))
    assert con.call(dc, DC.IdentifyStart, other).rc == NOT_MINE
    other_dc = con.call(con["dcc"], DCC.Create, con["bank"], con["meter"]).keys[0]
    theirs = kl.start_key(con, new_domain(con, other_dc))
    assert con.call(dc, DC.IdentifyStart, theirs).rc == NOT_MINE  # another DC's brand


def test_destroy_domain_revokes_every_key(con, dc):
    dom = new_domain(con, dc)
    start = kl.start_key(con, dom)
    assert con.call(dc, DC.DestroyDomain, dom, con["bank"]).rc == 0
    assert con.key(start) == kl.DK0 and con.key(dom) == kl.DK0
    assert con.call(start, 1).rc == oc.RC.DATAKEY


def test_destroy_domain_refuses_strangers(con, dc):
    other = kl.build_domain(con, "echo")
    assert con.call(dc, DC.DestroyDomain, other, con["bank"]).rc == 3  # dccc.ck:170
    assert con.call(kl.start_key(con, other), 3).rc == 3


@kl.program("t-destroy-me")
def destroy_me(dom, msg):
    """Asks its DC (key register 0) to destroy it, answering the caller with rc 77."""
    yield dom.call(dom.keys[0], DC.DestroyMe, msg.resume, dom.keys[1], data=(77).to_bytes(4, "big"))


def test_destroy_me_answers_the_caller_and_the_domain_is_gone(con, dc):
    weak = con.call(dc, DC.Weaken).keys[0]
    dom = new_domain(con, dc, "t-destroy-me")
    con.call(dom, oc.Domain.SwapKey + 0, weak)
    con.call(dom, oc.Domain.SwapKey + 1, con["bank"])
    start = kl.start_key(con, dom)
    assert con.call(start, 0).rc == 77
    assert con.key(start) == kl.DK0


def test_weakened_dc_still_creates_and_is_a_dc(con, dc):
    weak = con.call(dc, DC.Weaken).keys[0]
    assert con.key(weak).databyte == WEAKENED
    dom = con.call(weak, DC.CreateDomain, con["bank"]).keys[0]
    assert con.call(dc, DC.IdentifyStart, kl.start_key(con, dom)).rc == 0
    assert con.call(con["dcc"], DCC.Identify, weak).rc == WEAKENED
    assert con.call(con["dcc"], DCC.Identify, dc).rc == 0
    assert con.call(con["dcc"], DCC.Identify, con["bank"]).rc == NOT_MINE


def test_create_with_something_that_is_not_a_bank_fails_cleanly(k, con, dc):
    impostor = kl.start_key(con, kl.build_domain(con, "echo"))  # sells "nodes" on request
    nodes_before = k.store.n_nodes
    assert con.call(dc, DC.CreateDomain, con["discrim"]).rc == NOT_A_BANK
    assert con.call(dc, DC.CreateDomain, impostor).rc == NOT_A_BANK
    assert con.call(con["dcc"], DCC.Create, con["dkc"], con["meter"]).rc == NOT_A_BANK
    assert k.store.n_nodes == nodes_before


def test_a_bank_out_of_space_gets_its_nodes_back(con, dc):
    bank = sub_bank(con, nodes=2)
    assert con.call(dc, DC.CreateDomain, bank).rc == 2
    assert con.call(bank, oc.SB.QueryNodesAvailable).data == (2).to_bytes(
        8, "big"
    )  # all 2 available again


def test_identify_meter_keeper(con, dc):
    keeper = new_domain(con, dc)
    start = kl.start_key(con, keeper, 5)
    node = con.call(con["bank"], oc.SB.CreateNode).keys[0]
    con.call(node, oc.Node.Swap + 2, start)
    meter = con.call(node, oc.Node.MakeMeterKey).keys[0]
    r = con.call(dc, DC.IdentifyMeter, meter)
    # dccc.ck:347-361 doid: rc the keeper key's databyte; the keeper's domain, the node.
    assert r.rc == 5 and con.target(r.keys[1]) == con.target(node)
    assert con.target(r.keys[0]) == con.target(keeper)


def test_destroying_a_dc_returns_its_nodes_and_keeps_its_domains(con):
    bank = sub_bank(con)
    dc = con.call(con["dcc"], DCC.Create, bank, con["meter"]).keys[0]
    dom = new_domain(con, dc)
    weak = con.call(dc, DC.Weaken).keys[0]
    assert con.call(weak, oc.DESTROY).rc == oc.RC.INVALIDOC
    assert usage(con, bank) == (3, 0)
    assert con.call(dc, oc.DESTROY).rc == 0
    # The DC FORKs its reply, then sells its nodes: after a FORK the forker waits on the
    # CPU queue while the one it answered runs (Base/primcomc.c:281 handlejumper's rundom,
    # primcomc.c:256 getreturnee's startdom), so the sale comes when it gets the CPU back.
    con.run()
    assert usage(con, bank) == (0, 0)
    assert con.call(dc, oc.KT).rc == oc.RC.DATAKEY
    assert con.call(kl.start_key(con, dom), 4).rc == 4  # what it made lives on


def test_sever_domain_kills_every_old_key(con, dc):
    dom = new_domain(con, dc)
    start = kl.start_key(con, dom)
    r = con.call(dc, DC.SeverDomain, start, con["bank"])
    assert r.rc == 0
    assert con.key(start) == kl.DK0 and con.key(dom) == kl.DK0
    fresh = r.keys[0]
    assert con.call(kl.start_key(con, fresh), 6).rc == 6  # same domain, new keys
    assert con.call(dc, DC.IdentifyStart, kl.start_key(con, fresh)).rc == 0
    assert con.call(dc, DC.SeverDomain, con["bank"], con["bank"]).rc == 3  # not ours
    assert con.call(dc, DC.SeverDomain, kl.start_key(con, fresh), con["discrim"]).rc == NOT_A_BANK


def test_destroy_domain_refuses_a_fake_bank(con, dc):
    dom = new_domain(con, dc)
    impostor = kl.start_key(con, kl.build_domain(con, "holder"))
    assert con.call(dc, DC.DestroyDomain, dom, impostor).rc == NOT_A_BANK
    assert con.call(kl.start_key(con, dom), 2).rc == 2  # untouched
