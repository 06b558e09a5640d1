"""Helpers shared by tests that need banks with limits and their usage."""

import struct

from keykos_lab.programs.primordial.spacebank import SB

PAIR = struct.Struct(">qq")


def sub_bank(con, parent=None, nodes=None, pages=None):
    """A sub-bank of ``parent`` (default the prime bank), with optional limits."""
    r = con.call(parent or con["bank"], SB.CreateBank)
    assert r.rc == 0
    bank = r.keys[0]
    for order, limit in ((SB.ChangeNodeLimit64, nodes), (SB.ChangePageLimit64, pages)):
        if limit is not None:
            delta = limit - (1 << 62)
            assert con.call(bank, order, data=delta.to_bytes(8, "big", signed=True)).rc == 0
    return bank


def usage(con, bank):
    """(nodes, pages) a bank has sold and not had back."""
    nodes = PAIR.unpack(con.call(bank, SB.QueryNodeSpace).data)[1]
    pages = PAIR.unpack(con.call(bank, SB.QueryPageSpace).data)[1]
    return nodes, pages
