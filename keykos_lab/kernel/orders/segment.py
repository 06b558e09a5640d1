"""Segment, frontend and meter keys as primary keys (``Base/jsegmntc.c``, ``Base/jmeterc.c``).

A segment key is *red* when it has neither a size (lss) nor the no-call bit and
its node's format key (slot 15) names a keeper slot (``check_format_key``,
``jsegmntc.c:33``); then every order goes to whatever that slot holds
(:func:`front_end`, used by ``kernel/invocation.py``). What reaches
:func:`segment_key` is a black segment key (``format_black``) or a frontend key
that has no keeper to call.
"""

from __future__ import annotations

from keykos_lab.kernel.domains import DomainState
from keykos_lab.kernel.keys import (
    DK0,
    FETCH,
    FRONTEND,
    METER,
    NOCALL,
    NODE,
    PAGE,
    RO,
    SEGMENT,
    START,
    Key,
)
from keykos_lab.kernel.objects import Node
from keykos_lab.kernel.oc import KT, Meter, Segment
from keykos_lab.kernel.orders.data import data_answer
from keykos_lab.kernel.orders.reply import INVALID, Reply, answer, one_key
from keykos_lab.kernel.segments import NO_SLOT, decode_format
from keykos_lab.kernel.state import KernelState

#: The low four bits of a segment key's databyte: its size (log2 of the span) (jsegmntc.c).
SIZE_BITS = 0x0F
_AKT_SIZE_SHIFT = 8
FORMAT_SLOT = 15
_SLOT_MASK = 0x0F
_FORMAT_WORD = 0xFFFFFFFF  # check_format_key reads the value's low four bytes
#: Keys in a red segment's keeper slot that are treated as DK(0) (jsegmntc.c:362).
NOT_KEEPERS = frozenset({PAGE, NODE, FETCH, METER, SEGMENT})
#: :func:`front_end`'s answer for a chain of frontend keepers too long to follow.
TOO_DEEP = "too deep"


def segment_key(
    k: KernelState,
    ds: DomainState,
    key: Key,
    node: Node,
    order: int,
    keys: tuple[Key, ...],
    data: bytes,
) -> Reply:
    """A CALL on a black (or no-call) segment key."""
    if key.type == FRONTEND:  # jsegmntc.c:210: keyjump(&dk0)
        return data_answer(DK0, order)
    if order == Segment.MakeReadOnly:  # jsegmntc.c:391 (format_black)
        return one_key(key._replace(databyte=key.databyte | RO))
    if order == KT:  # jsegmntc.c:399
        db = key.databyte
        return answer(
            Segment.AKT | (db & SIZE_BITS) << _AKT_SIZE_SHIFT | (Segment.RO_AKT if db & RO else 0)
        )
    return INVALID  # jsegmntc.c:405


def meter_key(
    k: KernelState,
    ds: DomainState,
    key: Key,
    node: Node,
    order: int,
    keys: tuple[Key, ...],
    data: bytes,
) -> Reply:
    """A CALL on a meter key: it only tells its type (jmeterc.c:14)."""
    return answer(Meter.AKT) if order == KT else INVALID


def red_format(k: KernelState, node: Node) -> int | None:
    """The format word of a red node with a keeper slot, or None when keys to it act as
    black ones (``check_format_key``, jsegmntc.c:33).

    The simulator asks of the format key what address translation asks of it
    (``segments.decode_format``, memoryc.c), which is more than ``check_format_key``
    does (a data key, a keeper slot other than 15, bits 29 and 31 clear):
    docs/fidelity.md (Red segment keys).
    """
    s15 = k.live(node.slots[FORMAT_SLOT])
    fmt = decode_format(s15)
    if isinstance(fmt, int) or fmt[2] == NO_SLOT:
        return None
    return s15.obj & _FORMAT_WORD


def keeper_slot(fmt: int) -> int:
    """The keeper slot a format word names (jsegmntc.c:350)."""
    return fmt >> Segment.FORMAT_KEEPER_SHIFT & _SLOT_MASK


def front_end(k: KernelState, key: Key, third: Key) -> tuple[Key, Key] | str | None:
    """Where an invocation of live segment or frontend key ``key`` goes.

    None: the key acts as a black segment key (``format_black``). Else ``(target,
    third key)``: the message goes to ``target`` with ``third`` as its third key (a
    node key to the red node, or the jumper's own, ``third``, when the format says not
    to pass the node), as ``jsegment`` (jsegmntc.c:346-388) and ``jfrontend``
    (jsegmntc.c:202-269) do; :data:`TOO_DEEP` for a chain of frontend keepers the
    kernel will not follow (jsegmntc.c:222: trap 0x600+76).
    """
    if key.databyte & (SIZE_BITS | NOCALL):  # jsegmntc.c:41
        return (DK0, third) if key.type == FRONTEND else None
    node = k.node(key.obj)
    fmt = red_format(k, node)
    if fmt is None:
        return (DK0, third) if key.type == FRONTEND else None
    databyte = key.databyte
    slot = keeper_slot(fmt)
    keeper = k.live(node.slots[slot])
    if key.type == FRONTEND:
        depth = Segment.FRONTEND_DEPTH  # getfrontendkeeper, jsegmntc.c:158
        while keeper.type == FRONTEND:
            depth -= 1
            nxt = k.node(keeper.obj)
            nfmt = None if keeper.databyte & (SIZE_BITS | NOCALL) else red_format(k, nxt)
            if nfmt is None:
                return (DK0, third)  # jsegmntc.c:186: a dud, DK(0)
            if depth == 0:
                return TOO_DEEP
            node, fmt, databyte = nxt, nfmt, keeper.databyte
            slot = keeper_slot(fmt)
            keeper = k.live(node.slots[slot])
        if keeper.type != START:  # jsegmntc.c:243
            return (DK0, third)
    elif keeper.type in NOT_KEEPERS:  # jsegmntc.c:362
        keeper = DK0
    if fmt & Segment.FORMAT_NO_PASS_NODE:  # jsegmntc.c:365
        return (keeper, third)
    # (A "local slot" for the jumper's third key, jsegmntc.c:372, needs format bits 20-23
    # other than 15, which decode_format refuses: docs/fidelity.md, Red segment keys.)
    return (keeper, Key(NODE, node.id, databyte, node.alloc))
