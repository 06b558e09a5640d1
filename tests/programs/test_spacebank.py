"""The space bank and the SBT, as domain code (docs/primer.md#primer-space-bank)."""

import pytest
from bank_helpers import sub_bank, usage

import keykos_lab as kl
from keykos_lab import oc
from keykos_lab.programs.primordial.dc import DC, DCC
from keykos_lab.programs.primordial.spacebank import NOT_FROM_HERE, OVER_LIMIT, SB


def test_buy_and_sell_one_two_three(con):
    bank = sub_bank(con)
    for buy, sell, n in (
        (SB.CreatePage, SB.DestroyPage, 1),
        (SB.CreateTwoPages, SB.DestroyTwoPages, 2),
        (SB.CreateThreePages, SB.DestroyThreePages, 3),
        (SB.CreateNode, SB.DestroyNode, 1),
        (SB.CreateThreeNodes, SB.DestroyThreeNodes, 3),
    ):
        r = con.call(bank, buy)
        got = r.keys[:n]
        assert r.rc == 0 and all(con.key(h).type in (1, 3) for h in got)
        assert con.call(bank, sell, *got).rc == 0
        assert all(con.key(h) == kl.DK0 for h in got)
    assert usage(con, bank) == (0, 0)


def test_a_new_page_and_node_are_empty_and_the_bank_never_hands_out_its_key(k, con):
    bank = sub_bank(con)
    page = con.call(bank, SB.CreatePage).keys[0]
    node = con.call(bank, SB.CreateNode).keys[0]
    assert con.call(page, oc.Page.TestForZeroes).rc == 0
    assert all(con.key(con.call(node, oc.Node.Fetch + i).keys[0]) == kl.DK0 for i in range(16))
    # Only the console and the bank's ledger (a node only the bank holds) have keys to it.
    G = k.capability_graph()
    holders = {u for u, v in G.in_edges(con.target(page))} - {con.root}
    assert len(holders) == 1
    ledger = holders.pop()
    assert G.nodes[ledger]["kind"] == "node"
    assert {u for u, v in G.in_edges(ledger)} == {con.target(bank)}


def test_sell_refuses_what_this_bank_did_not_sell(con):
    a, b = sub_bank(con), sub_bank(con)
    page = con.call(a, SB.CreatePage).keys[0]
    ro = con.call(page, oc.Page.MakeReadOnlyKey).keys[0]
    assert con.call(b, SB.DestroyPage, page).rc == NOT_FROM_HERE
    assert con.call(a, SB.DestroyPage, ro).rc == NOT_FROM_HERE
    assert con.call(a, SB.DestroyNode, page).rc == NOT_FROM_HERE
    assert con.key(page).type == 1


def test_sever_revokes_and_returns_a_fresh_key(con):
    bank = sub_bank(con)
    page = con.call(bank, SB.CreatePage).keys[0]
    con.call(page, oc.Page.WriteData, data=b"kept")
    fresh = con.call(bank, SB.SeverPage, page)
    assert fresh.rc == 0 and con.key(page) == kl.DK0
    assert con.call(fresh.keys[0], oc.Page.ReadData, data=(4).to_bytes(4, "big")).data == b"kept"
    assert con.call(bank, SB.DestroyPage, fresh.keys[0]).rc == 0  # the ledger follows


def test_limits_count_against_every_ancestor(con):
    parent = sub_bank(con, pages=3)
    child = sub_bank(con, parent)  # unlimited itself, but its parent is not
    assert con.call(child, SB.CreateTwoPages).rc == 0
    assert usage(con, parent)[1] == 2
    assert con.call(child, SB.CreateTwoPages).rc == OVER_LIMIT
    assert con.call(child, SB.CreatePage).rc == 0
    assert con.call(parent, SB.CreatePage).rc == OVER_LIMIT
    assert con.call(parent, SB.QueryPagesAvailable).data == (0).to_bytes(8, "big")
    assert con.call(child, SB.QueryPagesAvailable).data == (0).to_bytes(8, "big")
    # sbc.ck change_limit: a limit below what is in use is accepted (rc 0, the new limit).
    r = con.call(parent, SB.ChangeSmallPageLimit, data=(-1).to_bytes(4, "big", signed=True))
    assert (r.rc, r.data) == (0, (2).to_bytes(4, "big"))


def test_forbid_gives_weaker_keys(con):
    bank = sub_bank(con)
    weak = con.call(bank, SB.ForbidQueryAndChangeLimits).keys[0]
    assert con.call(weak, SB.QueryPageSpace).rc == oc.RC.INVALIDOC
    assert con.call(weak, SB.ChangeSmallPageLimit, data=bytes(4)).rc == SB.NO_LIMIT_RIGHT
    page = con.call(weak, SB.CreatePage).keys[0]  # buying and selling stay
    assert con.call(weak, SB.DestroyPage, page).rc == 0
    no_destroy = con.call(weak, SB.ForbidDestroy).keys[0]
    assert con.call(no_destroy, SB.DestroyBankAndSpace).rc == oc.RC.INVALIDOC
    assert con.call(no_destroy, SB.CreateBank).rc == 0  # even it makes sub-banks


def test_destroy_bank_and_space_reclaims_a_whole_complex(con):
    before = usage(con, con["bank"])
    bank = sub_bank(con)
    inner = sub_bank(con, bank)
    pages = con.call(bank, SB.CreateThreePages).keys[:3]
    deep = con.call(inner, SB.CreatePage).keys[0]
    dc = con.call(con["dcc"], DCC.Create, inner, con["meter"]).keys[0]
    dom = con.call(dc, DC.CreateDomain, inner).keys[0]
    assert con.call(bank, SB.DestroyBankAndSpace).rc == 0
    for handle in (*pages, deep, dc, dom, inner, bank):
        assert con.key(handle) == kl.DK0, con.describe(handle)
    assert usage(con, con["bank"]) == before


def test_the_prime_bank_is_not_destroyed(con):
    assert con.call(con["bank"], SB.DestroyBankAndSpace).rc == oc.RC.INVALIDOC


@pytest.mark.parametrize(
    "who,rc",
    [("bank", 0), ("sub", 0), ("weak", 0), ("echo", SB.NOT_A_BANK), ("dkc", SB.NOT_A_BANK)],
)
def test_sbt_and_verify_bank_tell_official_banks(con, who, rc):
    keys = {
        "bank": con["bank"],
        "sub": sub_bank(con),
        "dkc": con["dkc"],
        "weak": con.call(con["bank"], SB.ForbidDestroyQueryAndChangeLimits).keys[0],
        "echo": kl.start_key(con, kl.build_domain(con, "echo")),
    }
    # sbc.ck:840-849, 888-899: 0 for any bank key, -1 for anything else.
    assert con.call(con["sbt"], oc.SBT.Verify, keys[who]).rc == rc
    assert con.call(con["bank"], SB.VerifyBank, keys[who]).rc == rc


def test_alleged_types(con):
    assert con.call(con["bank"], oc.KT).rc == 0x0C
    assert con.call(con["sbt"], oc.KT).rc == 0x40C


def test_the_bank_stays_prompt_when_handed_a_key_to_a_busy_domain(con):
    dom = kl.build_domain(con, "echo")
    start = kl.start_key(con, dom)
    con.call(dom, oc.Domain.MakeBusy)  # calling `start` would now wait forever
    assert con.call(con["bank"], SB.DestroyNode, start).rc == NOT_FROM_HERE
    assert con.call(con["bank"], SB.SeverPage, start).rc == NOT_FROM_HERE


def test_any_node_key_to_a_node_sells_it(con):
    node = con.call(con["bank"], SB.CreateNode).keys[0]
    other = con.call(node, oc.Node.MakeNodeKey, data=bytes([0x23])).keys[0]
    assert con.call(con["bank"], SB.DestroyNode, other).rc == 0
    assert con.key(node) == kl.DK0
