"""Helpers shared by tests that need banks with limits and their usage."""

import struct

from keykos_lab.programs.primordial.spacebank import SB, UNLIMITED

STATS = struct.Struct(">4Q")  # sbc.ck:820-838: node creates, destroys, page …


def sub_bank(con, parent=None, nodes=None, pages=None):
    """A sub-bank of ``parent`` (default the prime bank), with optional limits."""
    r = con.call(parent or con["bank"], SB.CreateBank)
    assert r.rc == 0
    bank = r.keys[0]
    for order, limit in ((SB.ChangeNodeLimit, nodes), (SB.ChangePageLimit, pages)):
        if limit is not None:
            delta = limit - UNLIMITED
            assert con.call(bank, order, data=delta.to_bytes(8, "big", signed=True)).rc == 0
    return bank


def usage(con, bank):
    """(nodes, pages) a bank has sold and not had back (QueryStatistics: creates
    less destroys)."""
    nc, nd, pc, pd = STATS.unpack(con.call(bank, SB.QueryStatistics).data)
    return nc - nd, pc - pd
