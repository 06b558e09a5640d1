"""The KID creator and KIDs: ``Dom/fundamental/kidc.ck``; order codes ``Dom/include/kid.h``
(``programs/primordial/kid.py``'s ``KIDC``, ``KID``).

In ``kidc.ck`` one domain is the KIDC and every KID (the databyte tells them apart); here
the KIDC makes each KID a domain of its own, with one DC so that KIDs know each other.
Declared departures (docs/fidelity.md, System programs, KID and KIDC): the KIDC's KT
answers no count of KIDs; PerformIntersection answers KT+2.
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
    added with its value, rc 0; add's rc when one cannot be (577); 3 (KID_InternalError)
    when the key passed is not a KID (557)."""
    mine, theirs = new_kid(con), new_kid(con)
    a, b = pages(con, 2)
    con.call(mine, KID.AddEntry, a)
    con.call(theirs, KID.AddEntry, b, data=(9).to_bytes(4, "big"))
    assert con.call(mine, KID.MakeUnion, theirs).rc == 0
    assert con.call(mine, KID.Identify, b).data == (9).to_bytes(4, "big")
    assert con.call(mine, KID.MakeUnion, con["bank"]).rc == 3
    full = new_kid(con)
    for key in pages(con, MAX_ENTRIES):
        con.call(full, KID.AddEntry, key)
    assert con.call(mine, KID.MakeUnion, full).rc == 1


@pytest.mark.parametrize("order", [0, 7, 99])
def test_kid_other_orders(con, order):
    """kidc.ck:237-239: KT+2."""
    assert con.call(new_kid(con), order).rc == INVALID
