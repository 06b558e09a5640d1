"""The virtual copy segment (VCS), as domain code: ``Dom/fundamental/vcsf.ck``.

A VCS presents a copy of a read-only original segment. Its red node starts as a
copy of the original's root (``vcsf.ck:137-142``), so reads see the original's
pages through the sense keys the copy holds; the first write to a page faults
(the key on the way is read-only), and the VCS, the red node's segment keeper,
buys a page from its bank, copies the original page into it, puts it in the
tree in place of the read-only one and restarts the faulter (``dofault``,
``vcsf.ck:319-441``). Writes never reach the original, and each page is copied
once. Addresses past the tree grow it with stems of the *zero segment*
(``vcsf.ck:346-380``); the VCS's orders (``vcs.h``) make weaker segment keys,
give the length, truncate, and destroy it, selling every page and node it
bought (``treewalk``, ``vcsf.ck:502-621``).

As in the C release, the VCS is the yield of a factory, the **VCSF** (``VCSF_Create``
with a bank, a meter and a bank, ``vcs.h:7``): the program runs as a factory
yield, with ``fcc.ck``'s key registers, and answers its creation with a segment key
to its red node whose keeper slot (14) holds a start key to itself. Every later
message reaches it through that segment key, the kernel adding a node key to the
red node as the third key: a fault (order ``oc.Keeper.Segment``, ``KT`` and above)
or one of the orders of :class:`VCS`. Components of a VCSF
(``system/vcs.py`` builds it): 0 a sense key to the original's root (none: an empty,
all-zero segment), 1 the zero segment, 2 Discrim.

Departures (docs/fidelity.md, Virtual copy segment): ``VCS_Freeze`` answers KT+2; a
fault the VCS cannot mend (no space) leaves the faulter waiting, since the kernel's
restart key cannot send it to its domain keeper; the original page is read with
``Page.ReadData`` rather than through a window in the keeper's memory; an original
built by ``kl.build_red_segment`` (holes as DK(0), no keeper slot) is made into the
shape ``vcsf.ck`` expects when it is copied.

>>> VCS.CreateROSegmentKey, VCS.TruncateSegment, VCS.Freeze, hex(VCS.AKT)
(0, 5, 17, '0xb0d')
"""

from __future__ import annotations

import struct

from keykos_lab.kernel.keys import DK0
from keykos_lab.kernel.oc import DESTROY, KT, SB, Discrim, Domain, Node, Page
from keykos_lab.kernel.process import program
from keykos_lab.kernel.segments import format_key_value


class VCSF:
    """VCSF order codes and alleged type (vcs.h)."""

    Create = 0  #: vcs.h:28 VCSF_Create: keys (bank, meter, bank) → a VCS segment key
    AKT = 0x1B0D  #: vcs.h:25 VCSF_AKT (the VCSF factory's requestor key answers it)


class VCS:
    """VCS order codes, answers and return codes (vcs.h, vcsf.ck)."""

    CreateROSegmentKey = 0  #: vcs.h:30; vcsf.ck:199-203: databyte 0x80
    ReturnLength = 1  #: vcs.h:31; vcsf.ck:240-254: 8 bytes, highest non-zero byte + 1
    CreateNCSegmentKey = 2  #: vcs.h:32; vcsf.ck:205-209: databyte 0x40
    CreateRONCSegmentKey = 3  #: vcs.h:33; vcsf.ck:211-215: databyte 0xC0
    TruncateSegment = 5  #: vcs.h:34; vcsf.ck:222-238: 8 bytes, the last address kept
    ReturnBaseSegmentKey = 6  #: vcs.h:35; vcsf.ck:217-220: component 0
    Freeze = 17  #: vcs.h:36; vcsf.ck:256-303 (not yet: KT+2)
    AKT = 0xB0D  #: vcs.h:26 VCS_AKT; vcsf.ck:156-158
    NODEFAULT = KT + 6  #: vcsf.ck:53: no node to be had
    STORAGEFAULT = KT + 7  #: vcsf.ck:54: no page to be had
    STOREFAULT = KT + 8  #: vcsf.ck:55: a fault the VCS cannot mend
    INVALID = KT + 2  #: vcsf.ck:224, 228, 306


# Key registers (vcsf.ck:22-48), fcc.ck's layout for a yield.
COMP, SB_REG, CALLER, DOMKEY, PSB, METER, DC_REG, NODE = range(8)
# Components (vcsf.ck:23-26).
COMPSEG, COMPZEROSEG, COMPDISCRIM = 0, 1, 2
NODEKEEPER, NODEFORMAT = 14, 15  # vcsf.ck:50-51
#: Data register: 0 until the VCS has answered its creation (vcsf.ck:96-149 run once).
BUILT = 1
DC_DESTROY_ME = 8  # dc.h:42
PAGE_BYTES = 4096
MAX_LSS = 11  # vcsf.ck:455: an address unpacks into 12 hex digits
#: node.h:30 ``Node_SEGMENTAKT`` is the decimal 1005, so ``vcsf.ck:401, 531``'s test
#: ``(rc & Node_SEGMENTMASK) == Node_SEGMENTAKT`` matches no segment key's alleged type.
NODE_SEGMENTAKT, NODE_SEGMENTMASK = 1005, 0xFFFFF0FF
_FAULT = struct.Struct(">HI")  # the simulator's segment-fault string: code, address
_U64 = struct.Struct(">Q")
_SLOT = struct.Struct(">II")  # Node WriteData: first and last slot


@program("vcs", system=True)
def vcs(dom, msg):
    """A VCS: its creation as a factory yield, then the loop of ``vcsf.ck:150-309``."""
    if not dom.regs[BUILT]:
        yield from create(dom, msg)
        return
    oc, node, caller = msg.order, msg.keys[2], msg.keys[3]  # vcsf.ck:152
    if oc == KT:  # vcsf.ck:156-158
        yield dom.return_(caller, VCS.AKT)
    elif oc == DESTROY:  # vcsf.ck:161-176, 310
        lss = yield from getlss(dom, node)
        yield from treewalk(dom, node, lss, NODEKEEPER - 1, 0, 0, True)
        yield dom.call(dom.keys[PSB], SB.DestroyNode, node)  # vcsf.ck:310
        yield dom.call(dom.keys[DC_REG], DC_DESTROY_ME, caller, dom.keys[PSB], data=bytes(4))
    elif oc >= KT:  # vcsf.ck:178-195: a segment fault
        _, address = _FAULT.unpack(msg.data[:6].ljust(6, b"\0"))
        rc = yield from dofault(dom, node, address)
        if rc == 0:
            yield dom.return_(caller, rc)
        # Otherwise the C release sends the faulter to its domain keeper with a fault
        # key (vcsf.ck:193); the simulator's restart key would only retry: the
        # faulter is left waiting (docs/fidelity.md, Virtual copy segment).
    elif oc in _SEGMENT_KEY_DATABYTE:  # vcsf.ck:199-215
        db = _SEGMENT_KEY_DATABYTE[oc]
        key = (yield dom.call(node, Node.MakeSegmentKey, data=bytes([db]))).keys[0]
        yield dom.return_(caller, 0, key)
    elif oc == VCS.ReturnBaseSegmentKey:  # vcsf.ck:217-220
        yield dom.return_(caller, 0, (yield dom.call(dom.keys[COMP], Node.Fetch + COMPSEG)).keys[0])
    elif oc == VCS.TruncateSegment:  # vcsf.ck:222-238
        # CHARTO(&parm,8,actlen) (vcsf.ck:152) takes at most 8 bytes and sets actlen to the
        # bytes moved (gatec.c:209-216, 235): only a string shorter than 8 answers KT+2.
        if len(msg.data) < _U64.size:
            yield dom.return_(caller, VCS.INVALID)
            return
        (parm,) = _U64.unpack(msg.data[: _U64.size])
        yield from makeinvalid(dom, node)
        lss = yield from getlss(dom, node)
        yield from treewalk(dom, node, lss, NODEKEEPER - 1, 0, parm, False)
        yield from makevalid(dom, node)
        yield dom.return_(caller, 0)
    elif oc == VCS.ReturnLength:  # vcsf.ck:240-254
        yield from makeinvalid(dom, node)
        lss = yield from getlss(dom, node)
        tll = yield from treewalk(dom, node, lss, NODEKEEPER - 1, 0, -1, False)
        yield from makevalid(dom, node)
        yield dom.return_(caller, 0, data=_U64.pack((tll + 1) & (1 << 64) - 1))
    else:  # vcsf.ck:305-307; VCS_Freeze (vcsf.ck:256-303) is not yet simulated
        yield dom.return_(caller, VCS.INVALID)


_SEGMENT_KEY_DATABYTE = {
    VCS.CreateROSegmentKey: 0x80,  # vcsf.ck:200
    VCS.CreateNCSegmentKey: 0x40,  # vcsf.ck:206
    VCS.CreateRONCSegmentKey: 0xC0,  # vcsf.ck:212
}


def create(dom, msg):
    """``vcsf.ck:94-149``: buy the red node, copy the original's root into it (or fill
    it with zero stems), put a start key to this domain in the keeper slot and answer
    the requestor with a segment key to it."""
    caller = msg.keys[3]
    r = yield dom.call(dom.keys[SB_REG], SB.CreateNode)  # vcsf.ck:102-105
    if r.rc:
        yield dom.call(
            dom.keys[DC_REG], DC_DESTROY_ME, caller, dom.keys[PSB], data=_rc(VCS.NODEFAULT)
        )
        return
    node = dom.keys[NODE] = r.keys[0]
    original = (yield dom.call(dom.keys[COMP], Node.Fetch + COMPSEG)).keys[0]  # vcsf.ck:108
    if (yield dom.call(original, KT)).rc == KT + 1:  # vcsf.ck:109-136: "from the box"
        stem = yield from getzerostem(dom, 3)
        for i in range(NODEKEEPER):
            yield dom.call(node, Node.Swap + i, stem)
        yield from write_format(dom, node, format_key_value(3, NODEKEEPER, NODEKEEPER))
    else:  # vcsf.ck:137-142: copy the node
        for i in range(16):
            key = (yield dom.call(original, Node.Fetch + i)).keys[0]
            yield dom.call(node, Node.Swap + i, key)
        yield from conform(dom, node)
    me = (yield dom.call(dom.keys[DOMKEY], Domain.MakeStart)).keys[0]  # vcsf.ck:144-145
    yield dom.call(node, Node.Swap + NODEKEEPER, me)
    seg = (yield dom.call(node, Node.MakeSegmentKey)).keys[0]  # vcsf.ck:147
    dom.regs[BUILT] = 1
    yield dom.return_(caller, 0, seg)  # vcsf.ck:149


def conform(dom, node):
    """Not in ``vcsf.ck``, whose originals are frozen VCSs: give a copied root the format a
    VCS's has (its lss; 14 initial slots; keeper slot 14) and fill its empty slots with
    zero stems, so that the tree is full, as ``vcsf.ck:341-343`` assumes."""
    fmt = yield from read_format(dom, node)
    lss = fmt[15] & 0x0F
    yield from write_format(dom, node, format_key_value(lss, NODEKEEPER, NODEKEEPER))
    stem = None
    for i in range(NODEKEEPER):
        key = (yield dom.call(node, Node.Fetch + i)).keys[0]
        if key == DK0:
            stem = stem or (yield from getzerostem(dom, lss))
            yield dom.call(node, Node.Swap + i, stem)


def _rc(rc: int) -> bytes:
    return rc.to_bytes(4, "big")


# ------------------------------------------------------------------ dofault
def unpack(address: int) -> tuple[int, list[int]]:
    """``vcsf.ck:446-464``: the address as 12 hex digits, and the lss the root needs.

    >>> unpack(0x5123)[0], unpack(0xE000)[0], unpack(0x10000)[0], unpack(0)[0]
    (3, 4, 4, 3)
    """
    slots = [(address >> (4 * (11 - i))) & 0x0F for i in range(12)]
    lss = MAX_LSS
    while lss > 2 and not slots[11 - lss]:  # vcsf.ck:455-457
        lss -= 1
    if lss == 2:  # vcsf.ck:458
        lss = 3
    if slots[11 - lss] >= NODEKEEPER:  # vcsf.ck:459: the root has 14 usable slots
        lss += 1
    return lss, slots


def dofault(dom, node, address: int):
    """``vcsf.ck:319-441``: grow the tree if the address is past it, else walk down to
    the address replacing read-only keys by copies: a node for a sense key, a page for a
    read-only page (the page's bytes copied into it). The rc to restart with."""
    lss, slots = unpack(address)  # vcsf.ck:331
    fmt = bytearray((yield from read_format(dom, node)))  # vcsf.ck:336-337
    yield from makeinvalid(dom, node)  # vcsf.ck:344
    didexpand = False
    while lss > fmt[15] & 0x0F:  # vcsf.ck:346-380: grow the tree
        r = yield dom.call(dom.keys[SB_REG], SB.CreateNode)
        if r.rc:
            return VCS.STORAGEFAULT  # vcsf.ck:348
        child = r.keys[0]
        for i in range(NODEKEEPER):  # vcsf.ck:349-352
            key = (yield dom.call(node, Node.Swap + i)).keys[0]
            yield dom.call(child, Node.Swap + i, key)
        old = fmt[15] & 0x0F
        stem = yield from getzerostem(dom, old)  # vcsf.ck:357-361
        for i in range(NODEKEEPER, 16):
            yield dom.call(child, Node.Swap + i, stem)
        child = (yield dom.call(child, Node.MakeNodeKey, data=bytes([old]))).keys[0]
        yield dom.call(node, Node.Swap + 0, child)  # vcsf.ck:363-364
        fmt[15] += 1  # vcsf.ck:366
        stem = yield from getzerostem(dom, fmt[15] & 0x0F)  # vcsf.ck:368-372
        for i in range(1, NODEKEEPER):
            yield dom.call(node, Node.Swap + i, stem)
        yield dom.call(node, Node.WriteData, data=_SLOT.pack(NODEFORMAT, NODEFORMAT) + fmt)
        me = (yield dom.call(dom.keys[DOMKEY], Domain.MakeStart)).keys[0]  # vcsf.ck:377-378
        yield dom.call(node, Node.Swap + NODEKEEPER, me)
        didexpand = True
    yield from makevalid(dom, node)  # vcsf.ck:381
    if didexpand:
        return 0  # vcsf.ck:382: could be a read that will now work
    lss = fmt[15] & 0x0F  # vcsf.ck:396
    while lss > 2:  # vcsf.ck:398-439
        slot = slots[11 - lss]
        key = (yield dom.call(node, Node.Fetch + slot)).keys[0]
        rc = (yield dom.call(key, KT)).rc
        if rc == KT + 1:  # not in vcsf.ck, whose trees are full: a hole is a zero stem
            key = yield from getzerostem(dom, lss)
            rc = (yield dom.call(key, KT)).rc
        if (
            rc == Page.ROAKT or rc == Node.SenseAKT or (rc & NODE_SEGMENTMASK) == NODE_SEGMENTAKT
        ):  # vcsf.ck:401-402: must replace
            if lss == 3:  # vcsf.ck:403-411: the leaf, a read-only page: copy it
                r = yield dom.call(dom.keys[SB_REG], SB.CreatePage)
                if r.rc:
                    return VCS.STORAGEFAULT  # vcsf.ck:405
                page = r.keys[0]
                data = (yield dom.call(key, Page.ReadData, data=_rc(PAGE_BYTES))).data
                yield dom.call(page, Page.WriteData, data=data)  # vcsf.ck:408
                yield dom.call(node, Node.Swap + slot, page)  # vcsf.ck:409
                return 0  # vcsf.ck:411
            r = yield dom.call(dom.keys[SB_REG], SB.CreateNode)  # vcsf.ck:413-425
            if r.rc:
                return VCS.NODEFAULT  # vcsf.ck:416
            new = r.keys[0]
            for i in range(16):
                inner = (yield dom.call(key, Node.Fetch + i)).keys[0]
                yield dom.call(new, Node.Swap + i, inner)
            key = (yield dom.call(new, Node.MakeNodeKey, data=bytes([lss - 1]))).keys[0]
            yield dom.call(node, Node.Swap + slot, key)
        else:  # vcsf.ck:428-436
            if rc == Page.AKT:
                return 0  # vcsf.ck:434: filled in before (a queued fault)
            if rc != Node.AKT:
                raise RuntimeError("Stange key in Node")  # vcsf.ck:435, crash
        node = key  # vcsf.ck:437
        lss -= 1
    return VCS.STOREFAULT  # vcsf.ck:440


# ----------------------------------------------------------------- treewalk
def treewalk(dom, node, lss: int, startslot: int, addr: int, truncaddr: int, zero: bool):
    """``vcsf.ck:502-621``: from the highest slot down, sell what lies past ``truncaddr``
    (everything when it is 0) and the pages that are all zeroes, putting zero stems in
    their place (not when ``zero``: the VCS is being destroyed); zero the tail of the
    page that holds ``truncaddr``. The highest non-zero address below it, or -1."""
    truncaddr &= (1 << 64) - 1
    highestaddr = -1
    stem = yield from getzerostem(dom, lss)  # vcsf.ck:516-517
    if lss > 3:  # vcsf.ck:519-565
        discrim = (yield dom.call(dom.keys[COMP], Node.Fetch + COMPDISCRIM)).keys[0]
        for i in range(startslot, -1, -1):
            key = (yield dom.call(node, Node.Fetch + i)).keys[0]
            if (yield dom.call(discrim, Discrim.Compare, key, stem)).rc == 0:
                continue  # vcsf.ck:524-528: a zero stem
            rc = (yield dom.call(key, KT)).rc
            if rc == KT + 1:
                continue  # not in vcsf.ck (a full tree): a hole holds nothing
            if rc != Node.AKT:  # vcsf.ck:530-545
                if rc != Node.SenseAKT and (rc & NODE_SEGMENTMASK) != NODE_SEGMENTAKT:
                    raise RuntimeError("Funny key in tree")  # vcsf.ck:532, crash
                if zero:
                    continue  # vcsf.ck:535
                r = yield dom.call(dom.keys[SB_REG], SB.CreateNode)
                if r.rc:
                    return VCS.NODEFAULT  # vcsf.ck:538
                for j in range(16):
                    inner = (yield dom.call(key, Node.Fetch + j)).keys[0]
                    yield dom.call(r.keys[0], Node.Swap + j, inner)
                key = (yield dom.call(r.keys[0], Node.MakeNodeKey, data=bytes([lss - 1]))).keys[0]
                yield dom.call(node, Node.Swap + i, key)
            highestaddr = yield from treewalk(  # vcsf.ck:548
                dom, key, lss - 1, 15, (addr << 4) | i, truncaddr, zero
            )
            if highestaddr != -1:
                break  # vcsf.ck:553
            if (yield dom.call(key, KT)).rc == Node.AKT:  # vcsf.ck:555-556
                yield dom.call(dom.keys[SB_REG], SB.DestroyNode, key)
            if not zero:  # vcsf.ck:557-560
                yield dom.call(node, Node.Swap + i, stem)
        return highestaddr
    for i in range(startslot, -1, -1):  # vcsf.ck:566-617: a leaf
        key = (yield dom.call(node, Node.Fetch + i)).keys[0]
        pagerc = (yield dom.call(key, KT)).rc
        if pagerc not in (Page.AKT, Page.ROAKT):
            continue
        pageaddr = ((addr << 4) | i) << 12  # vcsf.ck:577
        if pageaddr > (truncaddr & ~0xFFF) or not truncaddr:  # vcsf.ck:578-587
            if pagerc == Page.AKT:
                yield dom.call(dom.keys[SB_REG], SB.DestroyPage, key)
            if not zero:
                yield dom.call(node, Node.Swap + i, stem)
            continue
        data = (yield dom.call(key, Page.ReadData, data=_rc(PAGE_BYTES))).data
        nonzero = len(data.rstrip(b"\0"))  # vcsf.ck:589-590, testpage
        if not nonzero:  # vcsf.ck:592-598
            if pagerc == Page.AKT:
                yield dom.call(dom.keys[SB_REG], SB.DestroyPage, key)
                yield dom.call(node, Node.Swap + i, stem)
            continue
        if nonzero - 1 > (truncaddr & 0xFFF):  # vcsf.ck:601-612
            keep = truncaddr & 0xFFF
            if pagerc == Page.AKT:  # vcsf.ck:602, zappage: zero above byte ``keep``
                yield dom.call(key, Page.WriteData + keep + 1, data=bytes(PAGE_BYTES - keep - 1))
            else:  # vcsf.ck:603-610: buy a page for the first ``nonzero`` bytes (sic)
                r = yield dom.call(dom.keys[SB_REG], SB.CreatePage)
                if r.rc:
                    return VCS.STORAGEFAULT
                yield dom.call(r.keys[0], Page.WriteData, data=data[:nonzero])
                yield dom.call(node, Node.Swap + i, r.keys[0])
            return truncaddr  # vcsf.ck:611
        return pageaddr + nonzero - 1  # vcsf.ck:613
    return highestaddr


# ------------------------------------------------------------------ helpers
def read_format(dom, node):
    """The 16 bytes of the format key (``vcsf.ck:336-337``: Fetch slot 15, invoke the data key)."""
    fmt = (yield dom.call(node, Node.Fetch + NODEFORMAT)).keys[0]
    return (yield dom.call(fmt, 1)).data.rjust(16, b"\0")[-16:]


def write_format(dom, node, value: int):
    """Node WriteData of slot 15 (``vcsf.ck:135, 376``)."""
    yield dom.call(
        node, Node.WriteData, data=_SLOT.pack(NODEFORMAT, NODEFORMAT) + value.to_bytes(16, "big")
    )


def getlss(dom, node):
    """``vcsf.ck:629-639``: the root's lss, from its format key."""
    return (yield from read_format(dom, node))[15] & 0x0F


def _set_initial(dom, node, initial: int):
    fmt = bytearray((yield from read_format(dom, node)))
    fmt[15] = (fmt[15] & 0x0F) | initial << 4
    yield dom.call(node, Node.WriteData, data=_SLOT.pack(NODEFORMAT, NODEFORMAT) + fmt)


def makeinvalid(dom, node):
    """``vcsf.ck:646-659``: 0 initial slots while the tree is walked."""
    yield from _set_initial(dom, node, 0)


def makevalid(dom, node):
    """``vcsf.ck:667-680``: 14 initial slots again."""
    yield from _set_initial(dom, node, NODEKEEPER)


def getzerostem(dom, lss: int):
    """``vcsf.ck:704-722``: the piece of the zero segment that fills a slot of a node of
    size ``lss`` (a read-only zero page for 3, a sense key to a node of stems above)."""
    key = (yield dom.call(dom.keys[COMP], Node.Fetch + COMPZEROSEG)).keys[0]
    rc = (yield dom.call(key, Node.DataByte)).rc & 0x0F
    while rc > lss:
        key = (yield dom.call(key, Node.Fetch + 0)).keys[0]
        rc = (yield dom.call(key, Node.DataByte)).rc & 0x0F
    return (yield dom.call(key, Node.Fetch + 0)).keys[0]
