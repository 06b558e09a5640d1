"""What the conformance tests share: data keys, handles to raw keys, a red node."""

from __future__ import annotations

import pytest

import keykos_lab as kl
from keykos_lab.kernel.keys import Key

KT = kl.oc.KT
N = kl.oc.Node


@pytest.fixture
def dk(con):
    """Factory: the console's handle to DK(value) (made with DKC order 1)."""

    def make(value: int):
        return con.call(con["dkc"], kl.oc.DKC.Create11, data=value.to_bytes(11, "big")).keys[0]

    return make


@pytest.fixture
def raw(con):
    """Factory: a handle to any key the test constructs (white-box: the console's key
    ring holds it as boot holds the kernel's own keys)."""

    def hold(key: Key):
        return con.hold(key)

    return hold


@pytest.fixture
def red_node(con, new_node, dk):
    """Factory: ``(node key, segment key (lss 0), frontend key)`` to a red node whose
    format names keeper slot ``keeper_slot`` holding ``keeper`` (a handle or None)."""

    def make(keeper=None, keeper_slot=14, databyte=0, pass_node=True):
        node = new_node()
        fmt = kl.format_key_value(3, initial=keeper_slot, keeper=keeper_slot, pass_node=pass_node)
        con.call(node, N.Swap + 15, dk(fmt))
        if keeper is not None:
            con.call(node, N.Swap + keeper_slot, keeper)
        seg = con.call(node, N.MakeSegmentKey, data=bytes([databyte])).keys[0]
        fe = con.call(node, N.MakeFrontendKey, data=bytes([databyte])).keys[0]
        return node, seg, fe

    return make
