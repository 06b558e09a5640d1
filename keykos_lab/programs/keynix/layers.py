"""Memory layers: the banks a process's memory is bought from, counted.

A process's address space, its pages and (after a copy-on-write ``fork``) the virtual
copy segment that keeps it are bought from a **layer**: a bank of its own, a sub-bank
of the system domain's. A copy-on-write ``fork`` freezes the parent's layer — from then
on it is only read, through the read-only keys two virtual copies hold — and gives
parent and child a new layer each, *above* it (:mod:`.cow`). A frozen layer must live
as long as a layer above it does, whichever process ends first, so a layer is counted:
one for the process using it, one for each layer above it. :func:`release` drops one;
at zero the layer's bank is destroyed, with everything bought from it, and the layer
below is released in turn. The process's own bank (its domain, keeper, fd table) is
another matter: it goes when the process ends (:func:`.server.terminate`).

A layer is a node the system domain buys: slot ``L_BANK`` the bank, ``L_BELOW`` the
layer below (DK(0) at the bottom), ``L_COUNT`` the count, a data key (Node WriteData).

>>> L_BANK, L_BELOW, L_COUNT
(0, 1, 2)
"""

from __future__ import annotations

import struct

from keykos_lab.kernel.keys import DK0
from keykos_lab.kernel.oc import SB, Node
from keykos_lab.programs.keynix import fs

L_BANK, L_BELOW, L_COUNT = range(3)
CREATE_BANK = 67  #: SB CreateBank (as :data:`.server.CREATE_BANK`)
DESTROY_BANK = 64  #: SB DestroyBankAndSpace
_SLOTS = struct.Struct(">II")  # Node WriteData: first and last slot


def count(dom, layer):
    """The count of ``layer`` (0 for DK(0))."""
    if layer == DK0:
        return 0
    key = (yield dom.call(layer, Node.Fetch + L_COUNT)).keys[0]
    return int.from_bytes((yield dom.call(key, 1)).data[-4:].rjust(4, b"\0"), "big")


def set_count(dom, layer, n: int):
    data = _SLOTS.pack(L_COUNT, L_COUNT) + n.to_bytes(16, "big")
    yield dom.call(layer, Node.WriteData, data=data)


def new_layer(dom, sysbank, below=DK0):
    """``(layer node, its bank)``, count 1, above ``below`` (whose count goes up);
    ``(DK(0), DK(0))`` if the system bank has no room."""
    r = yield dom.call(sysbank, CREATE_BANK)
    if r.rc:
        return DK0, DK0
    bank = r.keys[0]
    layer = yield from fs.buy(dom, sysbank, SB.CreateNode)
    if layer == DK0:
        yield dom.call(bank, DESTROY_BANK)
        return DK0, DK0
    yield dom.call(layer, Node.Swap + L_BANK, bank)
    yield dom.call(layer, Node.Swap + L_BELOW, below)
    yield from set_count(dom, layer, 1)
    if below != DK0:
        yield from set_count(dom, below, (yield from count(dom, below)) + 1)
    return layer, bank


def release(dom, sysbank, layer):
    """Drop one count of ``layer``; at zero destroy its bank and release the layer below."""
    while layer != DK0:
        n = (yield from count(dom, layer)) - 1
        if n > 0:
            yield from set_count(dom, layer, n)
            return
        bank = (yield dom.call(layer, Node.Fetch + L_BANK)).keys[0]
        below = (yield dom.call(layer, Node.Fetch + L_BELOW)).keys[0]
        if bank != DK0:
            yield dom.call(bank, DESTROY_BANK)
        yield dom.call(sysbank, SB.DestroyNode, layer)
        layer = below


__all__ = ["L_BANK", "L_BELOW", "L_COUNT", "count", "new_layer", "release", "set_count"]
