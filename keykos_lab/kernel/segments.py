"""Address translation through a segment tree (docs/primer.md#primer-segments; ``Base/memoryc.c``).

A domain applies an address to the memory key in its address slot. Page keys
end the walk; black nodes (lss 3..12 in the key) take one hex digit per level;
red nodes (lss 0) keep a format key in slot 15 that gives their slot size, the
number of initial slots, a keeper slot and a background slot.

>>> from keykos_lab.kernel.objects import ObjectStore
>>> from keykos_lab.kernel.keys import Key, PAGE, NODE, RO
>>> s = ObjectStore(); p = s.new_page(); n = s.new_node()
>>> n.slots[1] = Key(PAGE, p.id, 0, p.alloc)
>>> page, off = translate(s.objects, Key(NODE, n.id, 3, n.alloc), 0x1004, False)
>>> page is p, off
(True, 4)
>>> translate(s.objects, Key(NODE, n.id, 3 | RO, n.alloc), 0x1004, True)
Fault(code=1, address=4100, keeper=None)
"""

from __future__ import annotations

from typing import NamedTuple

from keykos_lab.kernel.keys import DATA, FETCH, NOCALL, PAGE, RO, SEGMODE_TYPES, SENSE, Key
from keykos_lab.kernel.objects import PAGE_SIZE, Node
from keykos_lab.kernel.oc import Fault as FaultCode

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


def decode_format(key: Key) -> tuple[int, int, int, int] | int:
    """(lss, initial, keeper slot, background slot) of a format key, or a fault code."""
    if key.type != DATA:
        return FaultCode.FORMAT_TYPE
    fkd = key.obj & _FORMAT_MASK
    if (fkd | _FORMAT_FREE) != _FORMAT_ALL:
        return FaultCode.FORMAT
    return fkd & 15, (fkd >> 4) & 15, (fkd >> 12) & 15, (fkd >> 16) & 15


def translate(objects: list, memkey: Key, address: int, write: bool):
    """Walk from ``memkey`` to the byte at ``address``.

    Returns ``(page, offset)`` or a :class:`Fault`. ``objects`` is the store's
    id-indexed list. Read-only and no-call accumulate down the path; the
    innermost red node with a keeper, reached without crossing no-call, is the
    segment keeper offered for the fault.
    """
    key = memkey
    addr = address
    ro = nocall = False
    keeper = None
    for _ in range(MAX_DEPTH):
        t, o, db, a = key
        obj = objects[o] if (t == PAGE or t in SEGMODE_TYPES) and 0 < o < len(objects) else None
        if obj is None or obj.alloc != a:
            return Fault(FaultCode.INVALID, address, keeper)
        if db & RO or t == FETCH or t == SENSE:
            ro = True
        if t == PAGE:
            if addr >= PAGE_SIZE or obj.kind != "page":
                code = FaultCode.OUTSIDE if addr >= PAGE_SIZE else FaultCode.INVALID
                return Fault(code, address, keeper)
            if write and ro:
                return Fault(FaultCode.READONLY, address, keeper)
            return obj, addr
        if obj.kind != "node":
            return Fault(FaultCode.INVALID, address, keeper)
        if db & NOCALL:
            nocall = True
        lss = db & SIZE_BITS
        initial = SLOT_COUNT
        background = NO_SLOT
        red_keeper = None
        if lss == 0:
            fmt = decode_format(obj.slots[FORMAT_SLOT])
            if isinstance(fmt, int):
                return Fault(fmt, address, keeper)
            lss, initial, kslot, background = fmt
            if kslot != NO_SLOT and not nocall:
                red_keeper = (obj, kslot)
        if not MIN_LSS <= lss <= MAX_LSS:
            return Fault(FaultCode.LSS, address, keeper)
        shift = 4 * lss
        slot = addr >> shift
        if slot >= initial:
            if slot < SLOT_COUNT and background != NO_SLOT:
                keeper = red_keeper or keeper
                key = obj.slots[background]
                continue
            return Fault(FaultCode.OUTSIDE, address, keeper)
        keeper = red_keeper or keeper
        addr &= (1 << shift) - 1
        key = obj.slots[slot]
    return Fault(FaultCode.DEPTH, address, keeper)
