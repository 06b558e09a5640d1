"""Data keys, dead keys and hooks: ``Base/jdatac.c`` (``jdata``, ``jhook``).

Invoked, a data key answers KT+1, no keys, and its value as a string: the low six
bytes of its 11-byte value, or for order 1 five zero bytes and all eleven. C programs
read a data key this way (``KC (k0,0) CHARTO(buf,6)``, ``Dom/fundamental/cswitcherf.ck``).
"""

import pytest

import keykos_lab as kl
from keykos_lab.kernel.keys import HOOK, Key

KT = kl.oc.KT
SB = kl.oc.SB
D = kl.oc.Domain
N = kl.oc.Node
DATAKEY = kl.oc.RC.DATAKEY

VALUES = [0, 5, 0x0102030405060708, 2**48 + 7, 2**88 - 1]
ORDERS = [0, 1, 2, 39, 4096, KT, KT + 4, 0xFFFFFFFF]


def expected(value: int, order: int) -> bytes:
    """jdatac.c:17-25."""
    if order == 1:
        return bytes(5) + value.to_bytes(11, "big")  # dk11.databody11 after 5 zeros
    return (value % 2**48).to_bytes(6, "big")  # dk6.databody6: the last six bytes


@pytest.mark.parametrize("value", VALUES)
@pytest.mark.parametrize("order", ORDERS)
def test_data_key_answers_kt1_and_its_value(con, dk, value, order):
    """jdatac.c:17-29: rc KT+1 (28), no keys (29), the value as a 6- or 16-byte string."""
    r = con.call(dk(value), order, con["dkc"], con["discrim"], data=b"ignored")
    assert r.rc == DATAKEY == KT + 1
    assert [con.key(h) for h in r.keys] == [kl.DK0] * 4
    assert r.data == expected(value, order)


def _dead_keys(con, new_page, new_node, new_domain):
    """A dead key of each object type, and how it died."""
    page = new_page()
    ro = con.call(page, kl.oc.Page.MakeReadOnlyKey).keys[0]
    con.call(con["bank"], SB.DestroyPage, page)
    node = new_node()
    made = {
        name: con.call(node, order).keys[0]
        for name, order in (
            ("fetch", N.MakeFetchKey),
            ("segment", N.MakeSegmentKey),
            ("sense", N.MakeSenseKey),
            ("meter", N.MakeMeterKey),
            ("frontend", N.MakeFrontendKey),
        )
    }
    con.call(con["bank"], SB.DestroyNode, node)
    dom, _ = new_domain()
    fault = con.call(dom, D.MakeFaultKey).keys[0]
    con.call(dom, D.MakeAvailable)  # zapresumes: the fault key dies
    dom2, root2 = new_domain()
    start2 = kl.start_key(con, dom2)
    con.call(con["bank"], SB.DestroyNode, root2)
    return {
        "page": page,
        "ro page": ro,
        "node": node,
        **made,
        "domain": dom2,
        "start": start2,
        "resume": fault,
    }


@pytest.mark.parametrize("order", [0, 1, KT])
def test_dead_keys_answer_as_dk0(con, new_page, new_node, new_domain, order):
    """A key whose object is gone is DK(0) by the time it is invoked (jpagec.c:129
    ``*key = dk0``; gatec.c:522-524 prepkey_notobj → jdata; primcomc.c:113 zapresumes),
    so it answers KT+1 with zeros (jdatac.c:17-28)."""
    for name, h in _dead_keys(con, new_page, new_node, new_domain).items():
        assert con.key(h) == kl.DK0, name
        r = con.call(h, order)
        assert (r.rc, r.data) == (DATAKEY, expected(0, order)), name
        assert [con.key(x) for x in r.keys] == [kl.DK0] * 4, name


@pytest.mark.parametrize("databyte, value", [(0, 0), (1, 1), (7, 1)])
@pytest.mark.parametrize("order", [0, 1, KT])
def test_hook_answers_like_dk0_or_dk1(con, raw, databyte, value, order):
    """jdatac.c:33 ``jhook``: ``jdata(hook_look(key))``; primcomc.c:289-296 ``hook_look``:
    DK(0) for databyte 0, else DK(1). (The simulator keeps its queues in kernel state and
    never puts a hook in a slot: docs/fidelity.md, Hooks.)"""
    r = con.call(raw(Key(HOOK, 0, databyte, 0)), order)
    assert (r.rc, r.data) == (DATAKEY, expected(value, order))
