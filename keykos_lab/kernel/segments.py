"""Address translation through a segment tree (docs/primer.md#primer-segments; ``Base/memoryc.c``).

A domain applies an address to the memory key in its address slot. Page keys
end the walk; black nodes (lss 3..12 in the key) take one hex digit per level;
red nodes (lss 0) keep a format key in slot 15 that gives their slot size, the
number of initial slots, a keeper slot and a background slot. A *window key* in a
slot (a data key with ``WINDOW`` in its last byte) shows, at an offset, the
key of another slot of the same node (a *local* window) or the background key of
the nearest red node above that has one (a *background* window).

>>> from keykos_lab.kernel.objects import ObjectStore
>>> from keykos_lab.kernel.keys import DK, Key, PAGE, NODE, RO
>>> s = ObjectStore(); p = s.new_page(); n = s.new_node()
>>> n.slots[1] = Key(PAGE, p.id, 0, p.alloc)
>>> page, off = translate(s.objects, Key(NODE, n.id, 3, n.alloc), 0x1004, False)
>>> page is p, off
(True, 4)
>>> translate(s.objects, Key(NODE, n.id, 3 | RO, n.alloc), 0x1004, True)
Fault(code=1, address=4100, keeper=None)
>>> n.slots[2] = DK(window_key_value(slot=1))  # address 0x2004 is 0x1004
>>> translate(s.objects, Key(NODE, n.id, 3, n.alloc), 0x2004, False)[0] is p
True
"""

from __future__ import annotations

from typing import NamedTuple

from keykos_lab.kernel.domains import ADDRESS
from keykos_lab.kernel.keys import DATA, FETCH, NOCALL, PAGE, RO, SEGMODE_TYPES, SENSE, Key
from keykos_lab.kernel.objects import PAGE_SIZE, Node
from keykos_lab.kernel.oc import Fault as FaultCode
from keykos_lab.kernel.process import parse_image

MAX_DEPTH = 40
MIN_LSS, MAX_LSS = 3, 12  # a node's slot size: log16 of the span of one slot
SIZE_BITS = 0x0F  # a segment key's databyte: its lss (0: a red node)
FORMAT_SLOT = 15  # a red node's format key
NO_SLOT = 15  # "no keeper" / "no background" in a format key
SLOT_COUNT = 16
FORMAT_FIXED = 0x0FF00F00  # the bits a valid format key has set …
_FORMAT_FREE = 0x100FF0FF  # … and the bits it may set: together every bit
_FORMAT_ALL = 0x1FFFFFFF
_FORMAT_MASK = 0xFFFFFFFF
DIGIT_BITS = 4  # one slot per hex digit: a slot spans 16**lss bytes

# Window keys (memoryc.c:473-520): the last byte of a data key (``data[10]``) says what it is.
WINDOW_BYTE = 0xFF  #: memoryc.c:474, 477: ``data[10]``, the value's last byte
WINDOW = 0x02  #: memoryc.c:474: ``databody[6] & 2``, the key is a window
WINDOW_BACKGROUND = 0x01  #: memoryc.c:503: ``data[10] & 1``, onto the background key
WINDOW_NOCALL = 0x04  #: memoryc.c:477: ``(data[10] << 4) & nocall``
WINDOW_RO = 0x08  #: memoryc.c:477: ``(data[10] << 4) & readonly``
WINDOW_SLOT_SHIFT = 4  #: memoryc.c:519: a local window's slot is ``data[10] >> 4``
WINDOW_LIMIT = 1 << 48  #: memoryc.c:481: the value's first 5 of 11 bytes are 0
_WINDOW_FREE_LOCAL = 0xFF  #: memoryc.c:494: offset bits the check leaves to the local …
_WINDOW_FREE_BACKGROUND = 0x0F  #: … and to the background window
_PAGE_BITS = PAGE_SIZE - 1  #: memoryc.c:497: ``vaddr += adr & ~0xfff``


class Fault(NamedTuple):
    """A failed translation: the fault code, the address, and the segment keeper
    that may handle it as ``(red node, keeper slot)`` or None."""

    code: int
    address: int
    keeper: tuple[Node, int] | None


def format_key_value(
    lss: int,
    initial: int = 15,
    keeper: int = NO_SLOT,
    background: int = NO_SLOT,
    pass_node: bool = True,
) -> int:
    """The value of a red node's format key (slot 15), as memoryc.c decodes it.

    >>> hex(format_key_value(3, initial=2, keeper=14))
    '0xfffef23'
    """
    if not MIN_LSS <= lss <= MAX_LSS:
        raise ValueError(f"a red node's slot size lss must be 3..12, not {lss}")
    for name, v in (("initial", initial), ("keeper", keeper), ("background", background)):
        if not 0 <= v <= NO_SLOT:
            raise ValueError(f"{name} must be 0..15, not {v}")
    value = FORMAT_FIXED | background << 16 | keeper << 12 | initial << 4 | lss
    return value if pass_node else value | 0x10000000


def window_key_value(
    offset: int = 0,
    *,
    slot: int | None = None,
    background: bool = False,
    read_only: bool = False,
    no_call: bool = False,
) -> int:
    """The value of a window key (memoryc.c:473-520): a *local* window onto the key in
    ``slot`` of the node it is in, or a *background* window onto the background key of
    the nearest red node above (or the node itself) that names one. The walk goes on
    from that key at ``offset`` plus the address within the window's slot; ``offset``
    is a multiple of 4096 here, and the walk faults 10 unless it is a multiple of the
    slot size too. ``read_only`` and ``no_call`` restrict what is seen through it.

    >>> hex(window_key_value(0x3000, slot=5)), hex(window_key_value(background=True))
    ('0x3052', '0x3')
    """
    if background == (slot is not None):
        raise ValueError("a window is either local (a slot) or background, not both")
    if slot is not None and not 0 <= slot < SLOT_COUNT:
        raise ValueError(f"a local window's slot is 0..15, not {slot}")
    if not 0 <= offset < WINDOW_LIMIT or offset & _PAGE_BITS:
        raise ValueError(f"a window's offset is a multiple of 4096 below 256**6, not {offset}")
    value = offset | WINDOW
    if background:
        value |= WINDOW_BACKGROUND
    else:
        value |= (slot or 0) << WINDOW_SLOT_SHIFT
    if read_only:
        value |= WINDOW_RO
    if no_call:
        value |= WINDOW_NOCALL
    return value


def decode_format(key: Key) -> tuple[int, int, int, int] | int:
    """(lss, initial, keeper slot, background slot) of a format key, or a fault code."""
    if key.type != DATA:
        return FaultCode.FORMAT_TYPE
    fkd = key.obj & _FORMAT_MASK
    if (fkd | _FORMAT_FREE) != _FORMAT_ALL:
        return FaultCode.FORMAT
    return fkd & 15, (fkd >> 4) & 15, (fkd >> 12) & 15, (fkd >> 16) & 15


def translate(objects: list, memkey: Key, address: int, write: bool):
    """Walk from ``memkey`` to the byte at ``address``, as ``searchportion`` and
    ``checkmkey`` do (memoryc.c:189-315, 392-547).

    Returns ``(page, offset)`` or a :class:`Fault`. ``objects`` is the store's
    id-indexed list. Read-only and no-call accumulate down the path, windows
    included; the innermost red node with a keeper, reached without crossing
    no-call, is the segment keeper offered for the fault.
    """
    key = memkey
    addr = address
    ro = nocall = False
    keeper = None
    background: tuple[Node, int] | None = None  # memoryc.c:44 ``bgnode``, and its slot
    for _ in range(MAX_DEPTH):
        t, o, db, a = key
        if t == DATA:  # memoryc.c:219-222: a data key (not a window) in the tree
            return Fault(FaultCode.DATA, address, keeper)
        if t != PAGE and t not in SEGMODE_TYPES:  # memoryc.c:301-304
            return Fault(FaultCode.INVALID, address, keeper)
        obj = objects[o] if 0 < o < len(objects) else None
        if obj is None or obj.alloc != a:  # memoryc.c:236-240, 272-276: obsolete, DK(0)
            return Fault(FaultCode.DATA, address, keeper)
        # memoryc.c:306-312: the key's rights join the path's; a write below read-only
        # faults at once.
        if db & RO or t == FETCH or t == SENSE:
            ro = True
        if db & NOCALL:
            nocall = True
        if write and ro:
            return Fault(FaultCode.READONLY, address, keeper)
        if t == PAGE:
            if obj.kind != "page":
                return Fault(FaultCode.INVALID, address, keeper)
            if addr >= PAGE_SIZE:  # memoryc.c:541-543
                return Fault(FaultCode.OUTSIDE, address, keeper)
            return obj, addr
        if obj.kind != "node":
            return Fault(FaultCode.INVALID, address, keeper)
        lss = db & SIZE_BITS
        last_initial = SLOT_COUNT - 1  # memoryc.c:401: a black node's slots are all initial
        bg_slot = NO_SLOT
        if lss == 0:
            fmt = decode_format(obj.slots[FORMAT_SLOT])  # memoryc.c:403-413
            if isinstance(fmt, int):
                return Fault(fmt, address, keeper)
            lss, initial, kslot, bg_slot = fmt
            if kslot != NO_SLOT and not nocall:  # memoryc.c:419-428, before 434 and 448
                keeper = (obj, kslot)
            # memoryc.c:430, 448: ``waddr > initial - 1``, unsigned: 0 initial slots
            # set no bound.
            last_initial = initial - 1 if initial else SLOT_COUNT - 1
        if not MIN_LSS <= lss <= MAX_LSS:  # memoryc.c:434-436
            return Fault(FaultCode.LSS, address, keeper)
        shift = DIGIT_BITS * lss
        slot = addr >> shift
        if slot > last_initial:  # memoryc.c:448-450 (no background key here)
            return Fault(FaultCode.OUTSIDE, address, keeper)
        addr &= (1 << shift) - 1  # memoryc.c:455
        if bg_slot != NO_SLOT:  # memoryc.c:460-466: the innermost background key
            background = (obj, bg_slot)
        key = obj.slots[slot]
        if key.type == DATA and key.obj & WINDOW:  # memoryc.c:473-474: a window key
            value = key.obj
            last = value & WINDOW_BYTE
            ro = ro or bool(last & WINDOW_RO)  # memoryc.c:477
            nocall = nocall or bool(last & WINDOW_NOCALL)
            if value >= WINDOW_LIMIT:  # memoryc.c:479-483
                return Fault(FaultCode.WINDOW_RANGE, address, keeper)
            free = _WINDOW_FREE_BACKGROUND if last & WINDOW_BACKGROUND else _WINDOW_FREE_LOCAL
            if value & ~free & ((1 << shift) - 1):  # memoryc.c:494-496
                return Fault(FaultCode.WINDOW_OFFSET, address, keeper)
            addr += value & ~_PAGE_BITS  # memoryc.c:497
            if last & WINDOW_BACKGROUND:  # memoryc.c:503-516
                if background is None:
                    return Fault(FaultCode.NO_BACKGROUND, address, keeper)
                bg_node, bg = background
                key = bg_node.slots[bg]
            else:  # memoryc.c:518-520: a slot of the same node
                key = obj.slots[last >> WINDOW_SLOT_SHIFT]
    return Fault(FaultCode.DEPTH, address, keeper)


def image_program(objects: list, root: int) -> str | None:
    """The program named by the image at address 0 of the memory of the domain rooted
    at ``root`` in ``objects`` (the store's id-indexed list), or None.

    >>> from keykos_lab.kernel.objects import ObjectStore
    >>> image_program(ObjectStore().objects, 5) is None
    True
    """
    node = objects[root] if 0 < root < len(objects) else None
    if not isinstance(node, Node):
        return None
    found = translate(objects, node.slots[ADDRESS], 0, False)
    if isinstance(found, Fault):
        return None
    page, off = found
    return parse_image(page.read(off, 64))
