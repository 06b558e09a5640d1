"""Growable lists of keys kept in chains of nodes: storage for domain code.

Domain code keeps what must outlive a message in KeyKOS objects (D3). A key
chain is a list of keys stored in nodes: slots 0..14 of each node hold entries,
slot 15 links the next node; the first node's key sits in one of the program's
key registers. Nodes come from a *source*: a key and the order that sells a
node through it (a bank's CreateNode, or a node-range key's Create).

Every function is a sub-generator for ``yield from`` inside a handler.
"""

from __future__ import annotations

from keykos_lab.kernel.keys import DK0
from keykos_lab.kernel.oc import KT, Node

PER_NODE = 15


def entries(dom, head, count: int):
    """The first ``count`` keys of the chain starting at node key ``head``."""
    out = []
    node = head
    for i in range(count):
        slot = i % PER_NODE
        if i and slot == 0:
            node = (yield dom.call(node, Node.Fetch + 15)).keys[0]
        out.append((yield dom.call(node, Node.Fetch + slot)).keys[0])
    return out


def _new_node(dom, source):
    key, order = source
    r = yield dom.call(key, order)
    if r.rc != 0 or (yield dom.call(r.keys[0], KT)).rc != Node.AKT:
        return DK0
    return r.keys[0]


def node_for(dom, head_reg: int, index: int, source):
    """The node holding entry ``index`` of the chain in key register ``head_reg``,
    bought from ``source`` where the chain is not that long yet (DK(0) if refused)."""
    node = dom.keys[head_reg]
    if node == DK0:
        node = yield from _new_node(dom, source)
        if node == DK0:
            return DK0
        dom.keys[head_reg] = node
    for _ in range(index // PER_NODE):
        nxt = (yield dom.call(node, Node.Fetch + 15)).keys[0]
        if nxt == DK0:
            nxt = yield from _new_node(dom, source)
            if nxt == DK0:
                return DK0
            yield dom.call(node, Node.Swap + 15, nxt)
        node = nxt
    return node


def store(dom, head_reg: int, index: int, key, source) -> bool:
    """Put ``key`` at ``index``; False when no node could be had."""
    node = yield from node_for(dom, head_reg, index, source)
    if node == DK0:
        return False
    yield dom.call(node, Node.Swap + index % PER_NODE, key)
    return True


def store_value(dom, head_reg: int, index: int, value: int, source) -> bool:
    """Put the data key ``DK(value)`` at ``index`` (Node WriteData, no DKC needed)."""
    node = yield from node_for(dom, head_reg, index, source)
    if node == DK0:
        return False
    slot = index % PER_NODE
    data = slot.to_bytes(4, "big") * 2 + bytes(5) + value.to_bytes(11, "big")
    yield dom.call(node, Node.WriteData, data=data)
    return True


def find(dom, discrim, wanted, keys) -> int:
    """The index of ``wanted`` in ``keys`` by the kernel's key compare, or -1."""
    for i, key in enumerate(keys):
        if (yield dom.call(discrim, 2, key, wanted)).rc == 0:
            return i
    return -1


def release(dom, head, bank) -> None:
    """Sell every node of the chain starting at node key ``head`` back to ``bank``."""
    node = head
    while node != DK0:
        nxt = (yield dom.call(node, Node.Fetch + 15)).keys[0]
        yield dom.call(bank, 1, node)  # SB DestroyNode
        node = nxt
