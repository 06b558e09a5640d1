"""Virtual copy segments from the console: a VCSF factory over an original, and a VCS.

As in the C release (``Dom/fundamental/vcsf.ck``), a VCS is the yield of a factory, the
VCSF, whose component 0 is a sense key to the original segment's root: every yield is
one more copy-on-write copy of it. :func:`build_vcsf` builds that factory with the
kit's factory code (:func:`~keykos_lab.system.factories.build_factory`, program
``vcs``, ``programs/vcs.py``); :func:`build_vcs` asks a VCSF for one VCS
(``VCSF_Create`` with a bank, a meter and a bank, ``vcs.h:7``). Every step is an
ordinary CALL from the console.

>>> import keykos_lab as kl
>>> con = kl.Kernel().console
>>> page = con.call(con["bank"], kl.oc.SB.CreatePage).keys[0]
>>> _ = con.call(page, kl.oc.Page.WriteData, data=b"original")
>>> original = kl.build_red_segment(con, [page])
>>> copy = kl.build_vcs(con, original)
>>> con.describe(copy.segment)[:19]
'segment key (lss 0)'
"""

from __future__ import annotations

from typing import NamedTuple

from keykos_lab.kernel import oc
from keykos_lab.kernel.console import Console, KeyHandle
from keykos_lab.programs.vcs import COMPDISCRIM, COMPSEG, COMPZEROSEG, VCS, VCSF
from keykos_lab.system.factories import FactoryKeys, build_factory
from keykos_lab.system.recipes import SegmentKeys

ZERO_SEGMENT_LSS = range(3, 12)  # vcsf.ck:117: nodes of lss 3..11 above one zero page


class VCSKeys(NamedTuple):
    """What :func:`build_vcs` made: the VCS's segment key (give it to a domain as its
    memory, or invoke it with :class:`~keykos_lab.programs.vcs.VCS` orders) and the VCSF's
    keys."""

    segment: KeyHandle
    vcsf: FactoryKeys


def _ok(reply, what: str):
    if reply.rc != 0:
        raise RuntimeError(f"{what} failed with rc {reply.rc:#x}")
    return reply.keys[0]


def build_zero_segment(con: Console) -> KeyHandle:
    """The zero segment a VCSF takes as component 1, built as ``vcsf.ck:113-126`` does:
    a read-only zero page, then nodes of lss 3 to 11, each filled with a sense key to the
    one below (the page, for lss 3); a sense key to the lss-11 node.

    >>> import keykos_lab as kl
    >>> con = kl.Kernel().console
    >>> zero = build_zero_segment(con)
    >>> con.describe(zero)[:9], con.call(zero, kl.oc.Node.DataByte).rc & 15
    ('sense key', 11)
    """
    bank = con["bank"]
    page = _ok(con.call(bank, oc.SB.CreatePage), "buying the zero page")
    stem = _ok(con.call(page, oc.Page.MakeReadOnlyKey), "MakeReadOnlyKey")
    for lss in ZERO_SEGMENT_LSS:
        node = _ok(con.call(bank, oc.SB.CreateNode), "buying a zero-segment node")
        node = _ok(con.call(node, oc.Node.MakeNodeKey, data=bytes([lss])), "MakeNodeKey")
        for i in range(16):
            con.call(node, oc.Node.Swap + i, stem)
        stem = _ok(con.call(node, oc.Node.MakeSenseKey), "MakeSenseKey")
    return stem


def build_vcsf(con: Console, original: SegmentKeys | KeyHandle | None = None) -> FactoryKeys:
    """A VCSF: a factory whose yields are VCSs of ``original`` (a red segment from
    :func:`~keykos_lab.system.recipes.build_red_segment`, or a node or sense key to such a
    root; None for an empty, all-zero segment). Its components are sensory: a sense key
    to the original's root (0), the zero segment (1) and Discrim (2), so the VCSF is
    discreet.

    >>> import keykos_lab as kl
    >>> con = kl.Kernel().console
    >>> vcsf = build_vcsf(con)
    >>> kl.is_discreet(con, vcsf.requestor), hex(con.call(vcsf.requestor, kl.oc.KT).rc)
    (True, '0x1b0d')
    """
    components = {COMPZEROSEG: build_zero_segment(con), COMPDISCRIM: con["discrim"]}
    if original is not None:
        node = original.node if isinstance(original, SegmentKeys) else original
        components[COMPSEG] = _ok(con.call(node, oc.Node.MakeSenseKey), "MakeSenseKey")
    return build_factory(con, "vcs", components=components, alleged_type=VCSF.AKT)


def build_vcs(
    con: Console,
    original: SegmentKeys | KeyHandle | None = None,
    *,
    bank: KeyHandle | None = None,
    meter: KeyHandle | None = None,
    vcsf: FactoryKeys | None = None,
) -> VCSKeys:
    """A VCS of ``original``: ``VCSF_Create`` (bank, meter, bank) on ``vcsf``, or on a new
    :func:`build_vcsf` of ``original``. The bank (default ``con["bank"]``) pays for the
    VCS's domain, its red node and every page it copies; the meter (default
    ``con["meter"]``) for its work.

    >>> import keykos_lab as kl
    >>> con = kl.Kernel().console
    >>> empty = build_vcs(con)
    >>> con.call(empty.segment, VCS.ReturnLength).data.hex()
    '0000000000000000'
    """
    if vcsf is None:
        vcsf = build_vcsf(con, original)
    assert vcsf.requestor is not None, "a complete VCSF"
    bank = bank if bank is not None else con["bank"]
    meter = meter if meter is not None else con["meter"]
    r = con.call(vcsf.requestor, VCSF.Create, bank, meter, bank)
    return VCSKeys(_ok(r, "VCSF_Create"), vcsf)


__all__ = ["VCS", "VCSF", "VCSKeys", "build_vcs", "build_vcsf", "build_zero_segment"]
