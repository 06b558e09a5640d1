"""KID key-identity sets, as domain code (kid.h)."""

import pytest
from bank_helpers import sub_bank, usage

import keykos_lab as kl
from keykos_lab import oc
from keykos_lab.programs.primordial.kid import (
    ERROR,
    INTERNAL_ERROR,
    KID,
    KIDC,
    MAX_ENTRIES,
    NONPROMPT,
    NOT_A_KID,
)


def new_kid(con, capacity=None):
    data = capacity.to_bytes(4, "big") if capacity is not None else b""
    r = con.call(con["kidc"], KIDC.Create, con["bank"], con["meter"], data=data)
    assert r.rc == 0
    return r.keys[0]


def pages(con, n):
    return [con.call(con["bank"], oc.SB.CreatePage).keys[0] for _ in range(n)]


def value(con, kid, key):
    r = con.call(kid, KID.Identify, key)
    return int.from_bytes(r.data, "big") if r.rc == 0 else None


def test_alleged_types(con):
    assert con.call(con["kidc"], oc.KT).rc == 0x127
    assert con.call(new_kid(con), oc.KT).rc == 0x27


def test_add_identify_update_and_delete_across_nodes(con):
    kid = new_kid(con)
    keys = pages(con, 20)  # more than one node of entries
    for i, key in enumerate(keys):
        assert con.call(kid, KID.AddEntry, key, data=(100 + i).to_bytes(4, "big")).rc == 0
    assert [value(con, kid, key) for key in keys] == list(range(100, 120))
    assert con.call(kid, KID.AddEntry, keys[4], data=(7).to_bytes(4, "big")).rc == 0
    assert value(con, kid, keys[4]) == 7  # the same key is one entry
    assert con.call(kid, KID.DeleteEntry, keys[3]).rc == 0
    assert value(con, kid, keys[3]) is None and value(con, kid, keys[19]) == 119
    assert con.call(kid, KID.DeleteEntry, keys[3]).rc == ERROR


def test_identity_is_the_kernel_compare_not_the_object(con):
    kid = new_kid(con)
    page = pages(con, 1)[0]
    ro = con.call(page, oc.Page.MakeReadOnlyKey).keys[0]
    con.call(kid, KID.AddEntry, page)
    assert value(con, kid, page) == 0 and value(con, kid, ro) is None


def test_a_kid_holds_80_keys_whatever_its_capacity(con):
    """kidc.ck:66, 412: 80 bits in the map, then AddEntry answers 1; the capacity only
    says whether the third key must be a bank (above 300, kidc.ck:165-171)."""
    kid = new_kid(con, capacity=2)
    keys = pages(con, MAX_ENTRIES + 1)
    for key in keys[:MAX_ENTRIES]:
        assert con.call(kid, KID.AddEntry, key).rc == 0
    assert con.call(kid, KID.AddEntry, keys[-1]).rc == ERROR
    assert con.call(kid, KID.AddEntry, keys[0], data=(5).to_bytes(4, "big")).rc == 0  # update
    big = (500_001).to_bytes(4, "big")
    kidc = con["kidc"]
    assert con.call(kidc, KIDC.Create, con["bank"], con["meter"], con["bank"], data=big).rc == 0
    assert con.call(kidc, KIDC.Create, con["bank"], con["meter"], data=big).rc == NONPROMPT


def test_inclusion_and_union(con):
    big, small = new_kid(con), new_kid(con)
    keys = pages(con, 6)
    for key in keys:
        con.call(big, KID.AddEntry, key)
    for key in keys[:2]:
        con.call(small, KID.AddEntry, key)
    assert con.call(big, KID.TestInclusion, small).rc == 0  # small ⊆ big
    assert con.call(small, KID.TestInclusion, big).rc == ERROR
    assert con.call(small, KID.MakeUnion, big).rc == 0
    assert con.call(small, KID.TestInclusion, big).rc == 0


def test_a_domain_that_merely_answers_like_a_kid_is_refused(con):
    kid = new_kid(con)
    impostor = kl.start_key(con, kl.build_domain(con, "echo"))  # answers KT with KT …
    assert con.call(kid, KID.TestInclusion, impostor).rc == NOT_A_KID
    assert con.call(kid, KID.MakeUnion, con["bank"]).rc == INTERNAL_ERROR


@pytest.mark.parametrize("order", [5, 99])
def test_unknown_orders(con, order):
    assert con.call(new_kid(con), order).rc == oc.RC.INVALIDOC


def test_destroy_returns_every_node_to_the_bank(con):
    bank = sub_bank(con)
    kid = con.call(con["kidc"], KIDC.Create, bank, con["meter"]).keys[0]
    for page in pages(con, 20):  # two chain nodes for keys, two for values
        assert con.call(kid, KID.AddEntry, page).rc == 0
    assert usage(con, bank) == (7, 0)
    assert con.call(kid, oc.DESTROY).rc == 0
    assert usage(con, bank) == (0, 0)
    assert con.call(kid, oc.KT).rc == oc.RC.DATAKEY
