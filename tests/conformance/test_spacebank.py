"""The space bank and the SBT: ``Dom/primordial/sbc.ck``; order codes ``Dom/include/sb.h``,
``Dom/include/sbt.h`` (``kl.oc.SB``, ``kl.oc.SBT``).

Not implemented, each answering KT+2 (docs/fidelity.md, System programs, Bank range
limits): SB 12 and 28 (SetNodeRangeLimit, SetPageRangeLimit) and SBT 1
(CreateSubrange) — the simulator's objects have no disk addresses to limit.
"""

import struct

import pytest

import keykos_lab as kl
from keykos_lab.programs.primordial.dc import DC, DCC

KT = kl.oc.KT
SB = kl.oc.SB
SBT = kl.oc.SBT
INVALID = kl.oc.RC.INVALIDOC
LIMIT = SB.LIMIT


def sub(con, parent=None):
    r = con.call(parent or con["bank"], SB.CreateBank)
    assert r.rc == 0
    return r.keys[0]


def stats(con, bank):
    """QueryStatistics: node creates, destroys, page creates, destroys."""
    return struct.unpack(">4Q", con.call(bank, SB.QueryStatistics).data)


def set_limit(con, bank, order, limit):
    delta = (limit - LIMIT).to_bytes(8, "big", signed=True)
    assert con.call(bank, order, data=delta).rc == 0


# ------------------------------------------------------------ 0, 7, 8, 16, 23, 24 create
@pytest.mark.parametrize(
    "order, n, kind",
    [
        (SB.CreateNode, 1, kl.oc.Node.AKT),
        (SB.CreateTwoNodes, 2, kl.oc.Node.AKT),
        (SB.CreateThreeNodes, 3, kl.oc.Node.AKT),
        (SB.CreatePage, 1, kl.oc.Page.AKT),
        (SB.CreateTwoPages, 2, kl.oc.Page.AKT),
        (SB.CreateThreePages, 3, kl.oc.Page.AKT),
    ],
)
def test_create_returns_n_fresh_objects(con, order, n, kind):
    """sbc.ck:548-552, 580-604, 666-670, 698-722: rc 0 and the keys in keys 1..n."""
    r = con.call(sub(con), order)
    assert r.rc == 0 and r.data == b""
    assert [con.call(h, KT).rc for h in r.keys[:n]] == [kind] * n
    assert [con.key(h) for h in r.keys[n:]] == [kl.DK0] * (4 - n)


@pytest.mark.parametrize("order, is_node", [(SB.CreateTwoNodes, True), (SB.CreateTwoPages, False)])
def test_create_over_the_limit_is_rc_4_and_buys_nothing(con, order, is_node):
    """sbc.ck:1483, 1530: ``check_node_allocation`` fails (allocated >= limit in this
    bank or an ancestor) → rc 4; a failed second buy takes the first back unsold
    (``destroy_never_returned``, sbc.ck:580-588)."""
    parent = sub(con)
    set_limit(con, parent, SB.ChangeNodeLimit if is_node else SB.ChangePageLimit, 1)
    child = sub(con, parent)
    r = con.call(child, order)
    assert (r.rc, [con.key(h) for h in r.keys]) == (SB.OVER_LIMIT, [kl.DK0] * 4)
    assert stats(con, parent) == (0, 0, 0, 0)
    assert con.call(child, order - 7).rc == 0  # one (CreateNode, CreatePage) still fits


# ------------------------------------------------------------ 1, 9, 10, 17, 25, 26 destroy
@pytest.mark.parametrize(
    "create, destroy, n",
    [
        (SB.CreateThreeNodes, SB.DestroyNode, 1),
        (SB.CreateThreeNodes, SB.DestroyTwoNodes, 2),
        (SB.CreateThreeNodes, SB.DestroyThreeNodes, 3),
        (SB.CreateThreePages, SB.DestroyPage, 1),
        (SB.CreateThreePages, SB.DestroyTwoPages, 2),
        (SB.CreateThreePages, SB.DestroyThreePages, 3),
    ],
)
def test_destroy_rc_has_one_bit_per_key_not_ours(con, create, destroy, n):
    """sbc.ck:553-556, 605-617, 671-674, 723-735: rc = rc1 + 2*rc2 + 4*rc3, each 1
    when the key is not one this bank sold (``not_guarding_node``, sbc.ck:1623)."""
    bank = sub(con)
    mine = con.call(bank, create).keys[:3]
    stranger = con.call(con["bank"], create).keys[0]
    keys = [mine[0], stranger, mine[1]][:n]
    r = con.call(bank, destroy, *keys)
    assert r.rc == (0 if n == 1 else 2) and r.data == b""
    assert con.key(mine[0]) == kl.DK0 and con.key(stranger) != kl.DK0
    assert con.call(bank, destroy, *[stranger] * n).rc == (1 << n) - 1


def test_destroy_counts_a_sale_in_every_ancestor(con):
    """destroy_node, sbc.ck:1616-1633: allocated - 1, sells + 1, up the chain."""
    parent = sub(con)
    child = sub(con, parent)
    page = con.call(child, SB.CreatePage).keys[0]
    assert stats(con, parent) == stats(con, child) == (0, 0, 1, 0)
    assert con.call(child, SB.DestroyPage, page).rc == 0
    assert stats(con, parent) == stats(con, child) == (0, 0, 1, 1)


# ------------------------------------------------------------------- 2, 18 sever
@pytest.mark.parametrize(
    "create, sever", [(SB.CreateNode, SB.SeverNode), (SB.CreatePage, SB.SeverPage)]
)
def test_sever(con, create, sever):
    """sbc.ck:557-561, 675-679, 1731-1760: rc 0 and a new key, the old keys dead; rc 1
    and no key for a key this bank did not sell."""
    bank = sub(con)
    obj = con.call(bank, create).keys[0]
    r = con.call(bank, sever, obj)
    assert r.rc == 0 and con.key(obj) == kl.DK0 and con.key(r.keys[0]) != kl.DK0
    r = con.call(bank, sever, con.call(con["bank"], create).keys[0])
    assert (r.rc, con.key(r.keys[0])) == (SB.NOT_GUARDED, kl.DK0)


# --------------------------------------------------------- 5, 14, 21, 30 space
@pytest.mark.parametrize(
    "order, width, is_node",
    [
        (SB.QueryNodeSpace, 4, True),
        (SB.QueryNodesAvailable, 8, True),
        (SB.QueryPageSpace, 4, False),
        (SB.QueryPagesAvailable, 8, False),
    ],
)
def test_space_is_the_least_room_up_the_chain(con, order, width, is_node):
    """calculate_available, sbc.ck:2245-2287: min over the bank and its ancestors of
    limit - allocated; 5 and 21 answer 4 bytes, 14 and 30 an LLI, hi 0
    (sbc.ck:562-569, 680-688, 656-664, 774-783). Departure (docs/fidelity.md, Bank
    space and limits): no disk to count."""
    parent = sub(con)
    set_limit(con, parent, SB.ChangeNodeLimit if is_node else SB.ChangePageLimit, 5)
    child = sub(con, parent)
    con.call(child, SB.CreateNode if is_node else SB.CreatePage)
    assert con.call(child, order).data == (4).to_bytes(width, "big")
    # an unlimited sub-bank has what its parent, the prime bank, has
    assert con.call(sub(con), order).data == con.call(con["bank"], order).data


# ------------------------------------------------------------ 6, 22, 65 statistics
def test_statistics(con):
    """sbc.ck:571-578, 689-697, 820-838 (calculate_short_statistics, sbc.ck:2297-2341):
    creates (allocated + sells) and destroys, 4 bytes each; 65 the same for nodes, then
    pages, 8 bytes each."""
    bank = sub(con)
    nodes = con.call(bank, SB.CreateThreeNodes).keys[:3]
    con.call(bank, SB.DestroyNode, nodes[0])
    con.call(bank, SB.CreatePage)
    assert con.call(bank, SB.QueryNodeStatistics).data == struct.pack(">II", 3, 1)
    assert con.call(bank, SB.QueryPageStatistics).data == struct.pack(">II", 1, 0)
    assert stats(con, bank) == (3, 1, 1, 0)


# ----------------------------------------------------- 11, 13, 27, 29 limits
@pytest.mark.parametrize(
    "small, node", [(True, True), (False, True), (True, False), (False, False)]
)
def test_change_limit(con, small, node):
    """change_limit, sbc.ck:2356-2390, 618-631, 645-655, 736-749, 763-773: a signed
    change; rc 0 and the new limit, 1 (below 0) or 2 (past 2**32 for 11/27, 2**48 for
    13/29) and the old one; 4 or 8 bytes back. A limit below what is in use is let be."""
    order = {
        (True, True): SB.ChangeSmallNodeLimit,
        (False, True): SB.ChangeNodeLimit,
        (True, False): SB.ChangeSmallPageLimit,
        (False, False): SB.ChangePageLimit,
    }
    order = order[small, node]
    width = 4 if small else 8
    big = SB.ChangeNodeLimit if node else SB.ChangePageLimit
    bank = sub(con)
    con.call(bank, SB.CreateTwoNodes if node else SB.CreateTwoPages)
    set_limit(con, bank, big, 10)

    def change(delta):
        r = con.call(bank, order, data=delta.to_bytes(width, "big", signed=True))
        return r.rc, int.from_bytes(r.data, "big")

    assert change(-9) == (0, 1)  # below the 2 in use: allowed
    assert change(-2) == (SB.UNDERFLOW, 1)
    assert change(4) == (0, 5)
    con.call(bank, big, data=(LIMIT - 5).to_bytes(8, "big"))  # back to 2**32 - 1
    assert change(1) == ((SB.OVERFLOW, LIMIT) if small else (0, LIMIT + 1))
    if not small:
        assert change(1 << 48) == (SB.OVERFLOW, LIMIT + 1)


def test_change_limit_without_the_right_is_rc_3(con):
    """sbc.ck:619-620 (and 633, 646, 737, 751, 764): ``test_rights(NO_CHANGE_LIMITS_DB)``
    → rc 3."""
    weak = con.call(sub(con), SB.ForbidChangeLimits).keys[0]
    for order in (
        SB.ChangeSmallNodeLimit,
        SB.ChangeNodeLimit,
        SB.ChangeSmallPageLimit,
        SB.ChangePageLimit,
    ):
        assert con.call(weak, order, data=bytes(8)).rc == SB.NO_LIMIT_RIGHT


@pytest.mark.parametrize("order", [SB.SetNodeRangeLimit, SB.SetPageRangeLimit])
def test_range_limits_are_not_implemented(con, order):
    """Departure (docs/fidelity.md, Bank range limits): sbc.ck:632-644, 750-762 set CDA
    limits; the simulator answers KT+2."""
    assert con.call(sub(con), order, data=bytes(16)).rc == INVALID


# ------------------------------------------------------------------- 33-39 forbid
@pytest.mark.parametrize("order", range(SB.ForbidDestroy, SB.ForbidDestroyQueryAndChangeLimits + 1))
def test_forbid(con, order):
    """sbc.ck:784-811, make_limited_key (1067-1075): rc 0, a key with those rights
    taken away as well (a query KT+2, sbc.ck:563; a limit change rc 3; destroy KT+2,
    sbc.ck:814). Departure (docs/fidelity.md, Bank ForbidDestroy): 33 forbids destroy;
    sbc.ck:786 falls through into 34."""
    bank = sub(con)
    r = con.call(bank, order)
    assert r.rc == 0
    weak = r.keys[0]
    bits = order - SB.Forbid
    assert con.call(weak, SB.QueryNodeSpace).rc == (INVALID if bits & SB.NO_QUERY else 0)
    rc = con.call(weak, SB.ChangeSmallNodeLimit, data=bytes(4)).rc
    assert rc == (SB.NO_LIMIT_RIGHT if bits & SB.NO_CHANGE_LIMITS else 0)
    assert con.call(weak, SB.DestroyBankAndSpace).rc == (INVALID if bits & SB.NO_DESTROY else 0)


def test_forbid_32_is_not_an_order(con):
    """sb.h: no order 32; sbc.ck:872 default → KT+2."""
    assert con.call(sub(con), SB.Forbid).rc == INVALID


# -------------------------------------------------------------- 64, KT+4 destroy
@pytest.mark.parametrize("order", [SB.DestroyBankAndSpace, KT + 4])
def test_destroy_bank_and_space(k, con, order):
    """sbc.ck:812-819, 533-541, destroy_this_bank (1387-1440), queue_for_shiva
    (1319-1378): rc 0; every sub-bank and object gone; every ancestor counts what the
    bank had in use as sold. The bank's own nodes are charged to no bank (create_subbank,
    1121-1280), and none of them is left."""
    parent = sub(con)
    warm = sub(con, parent)  # the parent's list of sub-banks gets its node
    assert con.call(warm, SB.DestroyBankAndSpace).rc == 0
    before, objects = stats(con, parent), sum(o is not None for o in k.objs)
    bank = sub(con, parent)
    assert stats(con, parent) == before  # creating a bank charges nothing
    inner = sub(con, bank)
    pages = con.call(bank, SB.CreateThreePages).keys[:3]
    nodes = con.call(inner, SB.CreateTwoNodes).keys[:2]
    assert stats(con, parent) == (before[0] + 2, before[1], before[2] + 3, before[3])
    r = con.call(bank, order)
    assert (r.rc, r.data) == (0, b"")
    assert all(con.key(h) == kl.DK0 for h in (*pages, *nodes, inner, bank))
    # Everything back: in use as before, the 2 nodes and 3 pages counted as sold.
    assert stats(con, parent) == (before[0] + 2, before[1] + 2, before[2] + 3, before[3] + 3)
    assert sum(o is not None for o in k.objs) == objects


@kl.program("cf-bank-holds-resume")
def _holds_resume(dom, msg):
    """Keep the caller's resume key in key register 5 and end, answering nothing."""
    dom.keys[5] = msg.resume
    return
    yield


@kl.program("cf-bank-caller")
def _bank_caller(dom, msg):
    """CALL key register 0; put 1000 + its rc in data register 0."""
    r = yield dom.call(dom.keys[0], 1)
    dom.regs[0] = 1000 + r.rc


def test_destroying_a_bank_answers_no_waiter(con):
    """Departure (docs/fidelity.md, Waiters on a destroyed bank's domains): DestroyBankAndSpace
    (sbc.ck:812-819) of the bank that paid for a domain holding a caller's resume key leaves
    the caller waiting. In C the bank frees the node with node-range order 8, which FORKs
    KT+1 through every resume key in it (sbshivac.ck:266-299; jnrangec.c, lines 396-414,
    an order the simulator's range keys do not have)."""
    bank = sub(con)
    dc = con.call(con["dcc"], DCC.Create, con["bank"], con["meter"]).keys[0]
    holder = con.call(dc, DC.CreateDomain, bank).keys[0]  # its nodes paid by ``bank``
    con.call(holder, kl.oc.Domain.SwapMeter, con["meter"])
    con.call(holder, kl.oc.Domain.SwapMemory, kl.image(con, "cf-bank-holds-resume"))
    caller = kl.build_domain(con, "cf-bank-caller")
    con.call(caller, kl.oc.Domain.SwapKey + 0, kl.start_key(con, holder))
    con.fork(kl.start_key(con, caller), 1)
    con.run()
    kept = con.call(holder, kl.oc.Domain.GetKey + 5).keys[0]
    assert con.describe(kept).startswith("resume key")
    assert con.call(bank, SB.DestroyBankAndSpace).rc == 0
    con.run()
    assert con.call(caller, kl.oc.Domain.GetRegs).data[:8] == bytes(8)
    assert con.call(caller, kl.oc.Domain.MakeBusy).rc == 1  # still waiting


def test_destroy_without_the_right_or_of_the_prime_bank(con):
    """sbc.ck:813-814: NO_DESTROY → KT+2. Departure (docs/fidelity.md, Bank
    range limits): the prime bank is not destroyed, KT+2."""
    weak = con.call(sub(con), SB.ForbidDestroy).keys[0]
    assert con.call(weak, SB.DestroyBankAndSpace).rc == INVALID
    assert con.call(con["bank"], SB.DestroyBankAndSpace).rc == INVALID


# ---------------------------------------------------------------- 66 VerifyBank
@pytest.mark.parametrize("which", ["prime", "sub", "weak", "echo", "dkc", "sbt"])
def test_verify_bank(con, which):
    """sbc.ck:840-854: rc -1 (ALL_ONES) unless DC_IdentifySegment knows the key; then
    the rc is built from that call's rc, which is the keeper key's databyte
    (dccc.ck:360, jmiscc.c:99), SB_DATABYTE 0 for every bank key: so 0 for any bank,
    whatever its rights. The SBT's Verify (sbc.ck:888-900) answers the same."""
    key = {
        "prime": lambda: con["bank"],
        "sub": lambda: sub(con),
        "weak": lambda: con.call(sub(con), SB.ForbidDestroyQueryAndChangeLimits).keys[0],
        "echo": lambda: kl.start_key(con, kl.build_domain(con, "echo")),
        "dkc": lambda: con["dkc"],
        "sbt": lambda: con["sbt"],
    }[which]()
    rc = 0 if which in ("prime", "sub", "weak") else SB.NOT_A_BANK
    assert con.call(con["bank"], SB.VerifyBank, key).rc == rc
    assert con.call(con["sbt"], SBT.Verify, key).rc == rc


def test_verify_a_forged_bank(con, dk):
    """Departure (docs/fidelity.md, A forged bank): a segment of one's own whose keeper is
    the SBT key is no bank: -1. In C, VerifyBank and Verify (sbc.ck:840-854, 888-900) ask
    DC_IdentifySegment, which takes it for one (dccc.ck:347-361), rc 0."""
    node = con.call(con["bank"], SB.CreateNode).keys[0]
    con.call(node, kl.oc.Node.Swap + 15, dk(kl.format_key_value(3, initial=14, keeper=14)))
    con.call(node, kl.oc.Node.Swap + 14, con["sbt"])
    forged = con.call(node, kl.oc.Node.MakeSegmentKey, data=b"\0").keys[0]
    assert con.call(con["bank"], SB.VerifyBank, forged).rc == SB.NOT_A_BANK
    assert con.call(con["sbt"], SBT.Verify, forged).rc == SB.NOT_A_BANK


# ---------------------------------------------------------------- 67 CreateBank
@pytest.mark.parametrize("rights", [0, SB.NO_QUERY, SB.NO_DESTROY | SB.NO_CHANGE_LIMITS])
def test_create_bank_passes_on_only_no_query(con, rights):
    """sbc.ck:856-870: rc 0 and a key to a new sub-bank whose databyte is ours
    ``& NO_QUERY_DB``; limits 2**32 - 1 (1205-1212)."""
    bank = con.call(sub(con), SB.Forbid + rights).keys[0] if rights else sub(con)
    r = con.call(bank, SB.CreateBank)
    assert r.rc == 0
    new = r.keys[0]
    rc = con.call(new, SB.QueryNodesAvailable).rc
    assert rc == (INVALID if rights & SB.NO_QUERY else 0)
    assert con.call(new, SB.ChangeSmallNodeLimit, data=bytes(4)).rc == 0
    if not rights & SB.NO_QUERY:
        assert con.call(new, SB.QueryStatistics).data == bytes(32)


# ------------------------------------------------------------------ KT, others
@pytest.mark.parametrize("order", [3, 4, 15, 19, 20, 31, 40, 63, 68, 1000, KT + 1, KT + 3])
def test_other_orders_are_kt_plus_2(con, order):
    """sbc.ck:872-874 (default), 539-542 (KT+n): KT+2."""
    assert con.call(con["bank"], order).rc == INVALID


def test_alleged_types(con):
    """sbc.ck:532-533: 0x0C; sbc.ck:880-881: the SBT 0x40C."""
    assert con.call(con["bank"], KT).rc == SB.AKT
    assert con.call(con["sbt"], KT).rc == SBT.AKT


# ----------------------------------------------------------------- SBT 2, 5, 1
def test_sbt_create(con):
    """sbc.ck:923-930, create_bank_for_sbt (1287-1305): rc 0 and a sub-bank of the bank
    passed; rc 3 if it is not one."""
    parent = sub(con)
    r = con.call(con["sbt"], SBT.Create, parent)
    assert r.rc == 0
    con.call(r.keys[0], SB.CreatePage)
    assert stats(con, parent)[2] == 1
    assert con.call(con["sbt"], SBT.Create, con["dkc"]).rc == SBT.NOT_A_BANK


def test_sbt_create_limited(con):
    """sbc.ck:931-951: the node limit, then the page limit, 4 bytes each, where given."""
    r = con.call(con["sbt"], SBT.CreateLimited, con["bank"], data=struct.pack(">II", 2, 7))
    assert r.rc == 0
    assert con.call(r.keys[0], SB.QueryNodeSpace).data == (2).to_bytes(4, "big")
    assert con.call(r.keys[0], SB.QueryPageSpace).data == (7).to_bytes(4, "big")
    assert con.call(con["sbt"], SBT.CreateLimited, con["dkc"]).rc == SBT.NOT_A_BANK


@pytest.mark.parametrize("order", [SBT.Create, SBT.CreateLimited])
def test_sbt_create_keeps_no_query(con, order):
    """Departure (docs/fidelity.md, SBT Create and CreateLimited: the no-query right): the
    new bank keeps the key's NO_QUERY, as create_bank_for_sbt means (sbc.ck:923-952,
    1287-1305); C reads the keeper key's databyte, 0, and its new bank can query."""
    no_query = con.call(sub(con), SB.Forbid + SB.NO_QUERY).keys[0]
    r = con.call(con["sbt"], order, no_query)
    assert r.rc == 0 and con.call(r.keys[0], SB.QueryNodeSpace).rc == INVALID


@pytest.mark.parametrize("order", [3, 4, 6, KT + 4])
def test_sbt_other_orders(con, order):
    """sbc.ck:952, 883: KT+2 (the default, KT+4)."""
    assert con.call(con["sbt"], order, con["bank"]).rc == INVALID


def test_sbt_create_subrange(con):
    """sbc.ck:901-922 makes a bank limited to a range of disk addresses. Departure
    (docs/fidelity.md, Bank range limits): KT+2."""
    assert con.call(con["sbt"], SBT.CreateSubrange, con["bank"]).rc == INVALID
