"""Segment, frontend and meter keys as primary keys (``Base/jsegmntc.c``, ``Base/jmeterc.c``).

A red segment key whose node names a keeper is a gate to that keeper
(``kernel/invocation.py``, ``jsegment``'s ``format_red`` case); what reaches
this module is a black segment key, a no-call one, or a frontend key with no
keeper to call.
"""

from __future__ import annotations

from keykos_lab.kernel.domains import DomainState
from keykos_lab.kernel.keys import FRONTEND, RO, Key
from keykos_lab.kernel.objects import Node
from keykos_lab.kernel.oc import KT, Meter, Segment
from keykos_lab.kernel.orders.reply import DATAKEY, INVALID, Reply, answer, one_key
from keykos_lab.kernel.state import KernelState

#: The low four bits of a segment key's databyte: its size (log2 of the span) (jsegmntc.c).
SIZE_BITS = 0x0F
_AKT_SIZE_SHIFT = 8


def segment_key(k: KernelState, ds: DomainState, key: Key, node: Node, order: int,
                keys: tuple[Key, ...], data: bytes) -> Reply:
    """A CALL on a black (or no-call) segment key."""
    if key.type == FRONTEND:
        return DATAKEY
    if order == Segment.MakeReadOnly:             # jsegmntc.c:391 (format_black)
        return one_key(key._replace(databyte=key.databyte | RO))
    if order == KT:                               # jsegmntc.c:399
        db = key.databyte
        return answer(Segment.AKT | (db & SIZE_BITS) << _AKT_SIZE_SHIFT
                      | (Segment.RO_AKT if db & RO else 0))
    return INVALID


def meter_key(k: KernelState, ds: DomainState, key: Key, node: Node, order: int,
              keys: tuple[Key, ...], data: bytes) -> Reply:
    """A CALL on a meter key: it only tells its type (jmeterc.c:14)."""
    return answer(Meter.AKT) if order == KT else INVALID
