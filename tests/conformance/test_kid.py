"""The KID creator and KIDs: ``Dom/fundamental/kidc.ck``; order codes ``Dom/include/kid.h``
(``programs/primordial/kid.py``'s ``KIDC``, ``KID``).

In ``kidc.ck`` one domain is the KIDC and every KID (the databyte tells them apart); here
the KIDC makes each KID a domain of its own, with one DC so that KIDs know each other.
Declared departures (docs/fidelity.md, System programs, KID and KIDC): the KIDC's KT
answers no count of KIDs; PerformIntersection answers KT+2; a bank that can sell too few
nodes gets rc 2 and no key.
"""

import pytest
from bank_helpers import sub_bank, usage

import keykos_lab as kl
from keykos_lab.programs.primordial.kid import (
    KID,
    KID_AKT,
    KIDC,
    KIDC_AKT,
    MAX_ENTRIES,
)

KT = kl.oc.KT
INVALID = kl.oc.RC.INVALIDOC


def new_kid(con, *keys, data=b""):
    r = con.call(con["kidc"], KIDC.Create, *(keys or (con["bank"], con["meter"])), data=data)
    assert r.rc == 0
    return r.keys[0]


def pages(con, n):
    return [con.call(con["bank"], kl.oc.SB.CreatePage).keys[0] for _ in range(n)]


# ==================================================================== KIDC
def test_kidc_alleged_type(con):
    """kidc.ck:155-159: KT → KIDC_AKT 0x127 (kid.h:22). Departure (docs/fidelity.md, KID
    and KIDC): no string; ``kidc.ck`` sends ``nkids``, the count of KIDs alive."""
    r = con.call(con["kidc"], KT)
    assert (r.rc, r.data) == (KIDC_AKT, b"")


@pytest.mark.parametrize("order", [KIDC.Create, 5, KT + 4])
def test_kidc_create(con, order):
    """kidc.ck:161-176: any order but KT creates. The first key must be a bank (SBT
    Verify, rc 1, 160-164); a capacity above 300 needs the third key to be one too
    (165-171); rc 0 and a new, empty KID (makekid, 249-298), bought from the first bank;
    rc 2 (NOSPACE_RC) when it sells no node (273)."""
    bank = sub_bank(con)
    r = con.call(con["kidc"], order, bank, con["meter"])
    assert r.rc == 0 and con.call(r.keys[0], KT).rc == KID_AKT
    assert usage(con, bank)[0] > 0
    assert con.call(con["kidc"], order, con["dkc"], con["meter"]).rc == 1
    big = (301).to_bytes(4, "big")
    assert con.call(con["kidc"], order, con["bank"], con["meter"], con["dkc"], data=big).rc == 1
    assert con.call(con["kidc"], order, con["bank"], con["meter"], bank, data=big).rc == 0
    assert con.call(con["kidc"], order, sub_bank(con, nodes=0), con["meter"]).rc == 2


@pytest.mark.parametrize("nodes", [1, 2])
def test_kidc_create_with_too_few_nodes(con, nodes):
    """Departure (docs/fidelity.md, KID and KIDC): a bank that can sell one or two nodes
    gets rc 2, no key, and every node back. Create (kidc.ck:172-175) calls ``makekid``,
    which answers 2 after one node (kidc.ck:284-285) and 3 after two (kidc.ck:288-289), and
    either way sends, as key 1, the node key to the half-built KID's node, which holds the
    KIDC's own start key (kidc.ck:276-277)."""
    bank = sub_bank(con, nodes=nodes)
    r = con.call(con["kidc"], KIDC.Create, bank, con["meter"])
    assert r.rc == 2 and [con.key(h) for h in r.keys] == [kl.DK0] * 4
    assert usage(con, bank) == (0, 0)


# ===================================================================== KID
def test_kid_alleged_type(con):
    """kidc.ck:184-187: KT → KID_AKT 0x27 (kid.h:23)."""
    assert con.call(new_kid(con), KT).rc == KID_AKT


def test_kid_destroy(con):
    """kidc.ck:188-212: KT+4 sells the KID's nodes back to its bank, rc 0 (211)."""
    bank = sub_bank(con)
    kid = new_kid(con, bank, con["meter"])
    for page in pages(con, 3):
        con.call(kid, KID.AddEntry, page)
    assert con.call(kid, KT + 4).rc == 0
    con.run()
    assert usage(con, bank) == (0, 0)
    assert con.call(kid, KT).rc == kl.oc.RC.DATAKEY


def test_add_entry(con):
    """kidc.ck:217-220: a key already in: its value replaced (included, 303-343), rc 0;
    else add (348-413): rc 0, or 1 when the 80 bits of the map are taken (412) or the
    bank sells no node (375, 391). The value is the string read into a word that was 0
    (149-150)."""
    kid = new_kid(con)
    keys = pages(con, MAX_ENTRIES + 1)
    for key in keys[:MAX_ENTRIES]:
        assert con.call(kid, KID.AddEntry, key).rc == 0
    assert con.call(kid, KID.AddEntry, keys[-1]).rc == 1
    assert con.call(kid, KID.AddEntry, keys[0], data=b"\x01").rc == 0
    assert con.call(kid, KID.Identify, keys[0]).data == b"\x01\0\0\0"
    poor = new_kid(con, sub_bank(con, nodes=3), con["meter"])  # its domain; no entry node
    assert con.call(poor, KID.AddEntry, keys[-1]).rc == 1


def test_identify(con):
    """kidc.ck:221-225, 418-456: rc 0 and the entry's 4-byte value; 1 for a key not in."""
    kid = new_kid(con)
    a, b = pages(con, 2)
    con.call(kid, KID.AddEntry, a, data=(42).to_bytes(4, "big"))
    r = con.call(kid, KID.Identify, a)
    assert (r.rc, r.data) == (0, (42).to_bytes(4, "big"))
    r = con.call(kid, KID.Identify, b)
    assert (r.rc, r.data) == (1, b"")


def test_delete_entry(con):
    """kidc.ck:226-228, 460-496: rc 0 and the key is out; 1 for a key not in."""
    kid = new_kid(con)
    a = pages(con, 1)[0]
    con.call(kid, KID.AddEntry, a)
    assert con.call(kid, KID.DeleteEntry, a).rc == 0
    assert con.call(kid, KID.Identify, a).rc == 1
    assert con.call(kid, KID.DeleteEntry, a).rc == 1


def test_test_inclusion(con):
    """kidc.ck:229-231, 502-541: 0 when every key of the KID passed is in this one, 1
    (KID_Error) when one is not; 4 when the key passed is not a KID (openkid, 511)."""
    big, small = new_kid(con), new_kid(con)
    keys = pages(con, 3)
    for key in keys:
        con.call(big, KID.AddEntry, key)
    con.call(small, KID.AddEntry, keys[0])
    assert con.call(big, KID.TestInclusion, small).rc == 0
    assert con.call(small, KID.TestInclusion, big).rc == 1
    assert con.call(big, KID.TestInclusion, con["bank"]).rc == 4


def test_perform_intersection(con):
    """kidc.ck:232-233 returns KID_InternalError from the program itself, which ends the
    one domain that is the KIDC and every KID. Departure (docs/fidelity.md, KID and
    KIDC): KT+2, and the KID lives on."""
    kid = new_kid(con)
    assert con.call(kid, KID.PerformIntersection, new_kid(con)).rc == INVALID
    assert con.call(kid, KT).rc == KID_AKT


def test_make_union(con):
    """kidc.ck:234-236, 547-582: every key of the KID passed that is not in this one is
    added with its value, rc 0; a key already here keeps this KID's value (570: only when
    ``identify`` does not find it); add's rc when one cannot be (577); 3 (KID_InternalError)
    when the key passed is not a KID (557)."""
    mine, theirs = new_kid(con), new_kid(con)
    a, b = pages(con, 2)
    con.call(mine, KID.AddEntry, a, data=(5).to_bytes(4, "big"))
    con.call(theirs, KID.AddEntry, a, data=(7).to_bytes(4, "big"))
    con.call(theirs, KID.AddEntry, b, data=(9).to_bytes(4, "big"))
    assert con.call(mine, KID.MakeUnion, theirs).rc == 0
    assert con.call(mine, KID.Identify, b).data == (9).to_bytes(4, "big")
    assert con.call(mine, KID.Identify, a).data == (5).to_bytes(4, "big")
    assert con.call(mine, KID.MakeUnion, con["bank"]).rc == 3
    full = new_kid(con)
    for key in pages(con, MAX_ENTRIES):
        con.call(full, KID.AddEntry, key)
    assert con.call(mine, KID.MakeUnion, full).rc == 1


_called: list[int] = []


@kl.program("cf-kid-trap")
def _kid_trap(dom, msg):
    """Note the call and keep the caller waiting (what a forged KID would offer C's KIDC)."""
    _called.append(msg.order)
    return
    yield


@pytest.mark.parametrize("order, rc", [(KID.TestInclusion, 4), (KID.MakeUnion, 3)])
def test_a_forged_kid_is_not_a_kid(con, dk, order, rc):
    """Departure (docs/fidelity.md, A forged KID): a red segment whose keeper is the KIDC
    key is not a KID: rc 4 (TestInclusion) or 3 (MakeUnion), and none of its keys is
    called. In C, openkid takes it for one (kidc.ck:588-596), and TestInclusion and
    MakeUnion (kidc.ck:229-231, 234-236, 502-521, 557-568) then CALL the keys found in its slots."""
    _called.clear()
    trap = kl.start_key(con, kl.build_domain(con, "cf-kid-trap"))
    node = con.call(con["bank"], kl.oc.SB.CreateNode).keys[0]
    con.call(node, kl.oc.Node.Swap + 15, dk(kl.format_key_value(3, initial=12, keeper=12)))
    con.call(node, kl.oc.Node.Swap + 12, con["kidc"])
    for slot in (2, 3, 13, 14):
        con.call(node, kl.oc.Node.Swap + slot, trap)
    forged = con.call(node, kl.oc.Node.MakeSegmentKey, data=b"\0").keys[0]
    assert con.call(new_kid(con), order, forged).rc == rc
    con.run()
    assert _called == [] and con.call(con["kidc"], KT).rc == KIDC_AKT


def test_entries_per_pair_of_nodes(con):
    """Departure (docs/fidelity.md, A KID's entries per pair of nodes): a KID bought from a
    bank of 5 nodes (3 for its domain, one pair for entries) takes 15 entries; C's add
    (kidc.ck:217-220, 363-393) keeps 16 a pair of sub-nodes."""
    kid = new_kid(con, sub_bank(con, nodes=5), con["meter"])
    rcs = [con.call(kid, KID.AddEntry, key).rc for key in pages(con, 16)]
    assert rcs == [0] * 15 + [1]


@pytest.mark.parametrize("order", [0, 7, 99])
def test_kid_other_orders(con, order):
    """kidc.ck:237-239: KT+2."""
    assert con.call(new_kid(con), order).rc == INVALID
