"""Node-range and page-range keys: ``Base/jnrangec.c``, ``Base/jprangec.c``.

Only the space bank holds them. The simulator's are its own form (docs/fidelity.md,
Range keys and object ids): order 0 creates a fresh object, 1 destroys and 2 severs the
one passed; the alleged types are the C release's.
"""

import pytest

import keykos_lab as kl
from keykos_lab.kernel.keys import NODE, NODE_RANGE, PAGE, PAGE_RANGE, RO, Key

KT = kl.oc.KT
R = kl.oc.Range
INVALID = kl.oc.RC.INVALIDOC
MINUS_1 = 0xFFFFFFFF


@pytest.fixture
def ranges(con, raw):
    return {NODE: raw(Key(NODE_RANGE, 0, 0, 0)), PAGE: raw(Key(PAGE_RANGE, 0, 0, 0))}


@pytest.mark.parametrize("kind, akt", [(NODE, 0x303), (PAGE, 0x302)])
def test_kt(con, ranges, kind, akt):
    """jnrangec.c:448: ``simplest(771)``; jprangec.c:409: ``simplest(770)``."""
    assert con.call(ranges[kind], KT).rc == akt == (R.NodeAKT if kind == NODE else R.PageAKT)


@pytest.mark.parametrize("kind", [NODE, PAGE])
def test_create_destroy_sever_are_the_simulators_form(con, ranges, kind):
    """Departure (docs/fidelity.md, Range keys and object ids): 0 makes a new object
    (jnrangec.c:260 / jprangec.c:233 create one at an offset in the range), 2 severs
    the one passed (jnrangec.c:347, jprangec.c:321), 1 destroys it (the C release's 1 is
    Get CDA, jnrangec.c:337)."""
    rng = ranges[kind]
    made = con.call(rng, R.Create)
    key = con.key(made.keys[0])
    assert made.rc == 0 and key.type == kind and key.databyte == 0
    severed = con.call(rng, R.Sever, made.keys[0])
    assert severed.rc == 0 and con.key(made.keys[0]) == kl.DK0
    assert con.key(severed.keys[0]).obj == key.obj
    assert con.call(rng, R.Destroy, severed.keys[0]).rc == 0
    assert con.key(severed.keys[0]) == kl.DK0


def test_a_key_not_its_own_is_minus_1(con, ranges, new_page, new_node):
    """jnrangec.c:48-126, jprangec.c:48-67: a key the range does not cover: rc -1 (here:
    the wrong kind, or a read-only page key)."""
    page = new_page()
    ro = con.call(page, kl.oc.Page.MakeReadOnlyKey).keys[0]
    assert con.key(ro).databyte == RO
    assert con.call(ranges[PAGE], R.Destroy, ro).rc == MINUS_1
    assert con.call(ranges[PAGE], R.Sever, new_node()).rc == MINUS_1
    assert con.call(ranges[NODE], R.Destroy, page).rc == MINUS_1


@pytest.mark.parametrize("kind", [NODE, PAGE])
@pytest.mark.parametrize("order", [3, 4, 5, 9, KT + 1])
def test_other_orders_are_kt2(con, ranges, kind, order):
    """jnrangec.c:449, jprangec.c:410: ``else simplest(KT+2)``. (Orders 3-9 — gratis,
    no-wait creation, sever and clear — are the C release's and not simulated.)"""
    assert con.call(ranges[kind], order).rc == INVALID
