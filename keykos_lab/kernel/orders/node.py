"""Node, fetch and sense keys (``Base/jnodec.c``, ``Base/jsensec.c``; ``Dom/include/node.h``).

A node key reads and writes the node's 16 slots and makes the other keys to
it; a fetch key only reads; a sense key reads and diminishes what it reads
(its sensory version, ``keys.sensory_version``).

>>> import keykos_lab as kl
>>> con = kl.Kernel().console
>>> node = con.call(con["bank"], kl.oc.SB.CreateNode).keys[0]
>>> page = con.call(con["bank"], kl.oc.SB.CreatePage).keys[0]
>>> con.call(node, kl.oc.Node.Swap + 2, page).rc
0
>>> sense = con.call(node, kl.oc.Node.MakeSenseKey).keys[0]
>>> con.describe(con.call(sense, kl.oc.Node.Fetch + 2).keys[0]).startswith("page key (ro)")
True
"""

from __future__ import annotations

import struct

from keykos_lab.kernel.domains import DomainState
from keykos_lab.kernel.keys import (
    DK,
    DK0,
    FETCH,
    FRONTEND,
    METER,
    NOCALL,
    NODE,
    RO,
    SEGMENT,
    SENSE,
    Key,
    sensory_version,
)
from keykos_lab.kernel.objects import SLOTS, Node
from keykos_lab.kernel.oc import KT
from keykos_lab.kernel.oc import Node as NodeOC
from keykos_lab.kernel.orders.reply import INVALID, NO, OK, Reply, answer, one_key
from keykos_lab.kernel.state import KernelState

#: Key types that designate a node (Node Compare: jnodec.c:225).
NODE_LIKE = (NODE, FETCH, SEGMENT, METER, SENSE, FRONTEND)
METER_PARENT, METER_COUNTER = 1, 3  # meter-node slots (Base/meterc.c): superior, counter
_FIRST_LAST = struct.Struct(">II")  # WriteData's header: first and last slot
_SLOT_RECORD = 16  # WriteData: bytes per slot (5 zero, 11 value)
_PAD = 5


def _fetch(k: KernelState, node: Node, n: int) -> Key:
    if n == METER_COUNTER and k._borrowers:
        k.settle_meters()
    return k.live(node.slots[n])


def node_key(
    k: KernelState,
    ds: DomainState,
    key: Key,
    node: Node,
    order: int,
    keys: tuple[Key, ...],
    data: bytes,
) -> Reply:
    """A CALL on a node key."""
    if order < NodeOC.Swap:  # Fetch + slot: jnodec.c:101 (jnode1)
        return one_key(_fetch(k, node, order))
    if order < NodeOC.MakeFetchKey:  # Swap + slot: jnodec.c:122-199 (jnode1)
        n = order - NodeOC.Swap
        if n in (METER_PARENT, METER_COUNTER) and k._borrowers:
            k.settle_meters()
        old = k.live(node.slots[n])
        node.slots[n] = k.live(keys[0])
        k.node_epoch += 1
        if n == METER_COUNTER and node.id in k.meter_stopped:
            k.meter_refilled(node.id)
        return one_key(old)
    made = _MAKE.get(order)
    if made is not None:  # jnodec.c:283-333
        ktype, db = made(key, data[0] if data else 0)
        return one_key(Key(ktype, node.id, db, node.alloc))
    if order == NodeOC.Compare:  # jnodec.c:225
        other = k.live(keys[0])
        same = other.type in NODE_LIKE and other.obj == node.id
        return OK if same else NO
    if order == NodeOC.Clear:  # jnodec.c:246
        k.settle_meters()
        node.slots[:] = [DK0] * SLOTS
        k.node_epoch += 1
        return OK
    if order == NodeOC.DataByte:  # jnodec.c:279
        return answer(key.databyte)
    if order == NodeOC.WriteData:  # jnodec.c:337
        return _write_data(k, node, data)
    if order == KT:  # jnodec.c:421
        return answer(NodeOC.AKT)
    return INVALID


#: Node Make…Key: the new key's type and databyte, from the node key and the string's first byte.
_MAKE = {
    NodeOC.MakeFetchKey: lambda key, db: (FETCH, db),
    NodeOC.MakeSegmentKey: lambda key, db: (SEGMENT, db),
    NodeOC.MakeMeterKey: lambda key, db: (METER, 0),
    NodeOC.MakeNodeKey: lambda key, db: (NODE, db),
    NodeOC.MakeSenseKey: lambda key, db: (SENSE, key.databyte | RO | NOCALL),
    NodeOC.MakeFrontendKey: lambda key, db: (FRONTEND, db),
}


def _write_data(k: KernelState, node: Node, data: bytes) -> Reply:
    """Node WriteData: first and last slot, then 16 bytes per slot (jnodec.c:337).

    Slots run from ``first`` to ``last``, wrapping from 15 to 0; a short string
    is padded with zeroes; rc 2 if a slot's 5 leading bytes are not zero.
    """
    data = data.ljust(_FIRST_LAST.size, b"\0")
    first, last = _FIRST_LAST.unpack(data[: _FIRST_LAST.size])
    if first >= SLOTS or last >= SLOTS:
        return answer(NodeOC.BAD_SLOT)
    body = data[_FIRST_LAST.size :]
    rc = 0
    k.settle_meters()
    slot, i = first, 0
    while True:
        chunk = body[_SLOT_RECORD * i : _SLOT_RECORD * (i + 1)].ljust(_SLOT_RECORD, b"\0")
        if any(chunk[:_PAD]):
            rc = NodeOC.NOT_ZERO_PAD  # jnodec.c:377
        node.slots[slot] = DK(int.from_bytes(chunk[_PAD:], "big"))
        if slot == last:
            break
        slot, i = (slot + 1) % SLOTS, i + 1
    k.node_epoch += 1
    if node.id in k.meter_stopped:
        k.meter_refilled(node.id)
    return answer(rc)


def fetch_key(
    k: KernelState,
    ds: DomainState,
    key: Key,
    node: Node,
    order: int,
    keys: tuple[Key, ...],
    data: bytes,
) -> Reply:
    """A CALL on a fetch key (jnodec.c:203 ``jfetch``)."""
    if order < NodeOC.Swap:  # jnodec.c:206
        return one_key(_fetch(k, node, order))
    if order == NodeOC.DataByte:  # jnodec.c:208
        return answer(key.databyte)
    if order == KT:  # jnodec.c:212
        return answer(NodeOC.FetchAKT)
    return INVALID


def sense_key(
    k: KernelState,
    ds: DomainState,
    key: Key,
    node: Node,
    order: int,
    keys: tuple[Key, ...],
    data: bytes,
) -> Reply:
    """A CALL on a sense key (jsensec.c:47 ``jsense``): what it fetches is diminished."""
    if order < NodeOC.Swap:  # jsensec.c:52
        return one_key(sensory_version(_fetch(k, node, order)))
    if order == NodeOC.DataByte:  # jsensec.c:95
        return answer(key.databyte)
    if order == KT:  # jsensec.c:99
        return answer(NodeOC.SenseAKT)
    return INVALID
