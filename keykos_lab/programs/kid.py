"""KID: key-identity sets, as domain code (kid.h; KEYKOS.md §6.3).

A KID holds a set of keys, each with a 32-bit value, and answers whether a key
is in it — by the kernel's own key compare (Discrim Compare), the only EQ there
is. Factories keep their *holes* in KIDs. A KID can test whether another KID's
keys are all its own, or take them in, but only for KIDs of the same KIDC: the
KIDC makes every KID with one domain creator, and a KID recognises another by
asking that DC (IdentifyStart) for its domain key, then reads its entries.

Storage is KeyKOS storage: the keys sit in a chain of nodes bought from the
requestor's bank (slots 0..14 hold entries, slot 15 links the next node), the
values in a parallel chain of data keys; the count and capacity are in data
registers 0 and 1.

Key registers — KIDC: 0 its DC, 1 the ``kid`` image, 2 Discrim.
KID: 0 a weakened DC (to recognise other KIDs), 2 Discrim, 3 the bank, 4 the
first key node, 5 the first value node.
"""

from __future__ import annotations

from ..kernel.keys import DK0
from ..kernel.oc import KT, RC, SB, Domain, Node
from ..kernel.process import program
from .dc import DC

DC_REG, IMAGE_REG, DISCRIM_REG, BANK_REG, KEYS_REG, VALUES_REG = 0, 1, 2, 3, 4, 5
COUNT, CAPACITY = 0, 1
PER_NODE = 15
DEFAULT_CAPACITY = 300
MAX_CAPACITY = 500_000
KIDC_AKT, KID_AKT = 0x0127, 0x27
ERROR = 1             # kid.h KID_Error: not found, or capacity exceeded
NOT_A_KID = 2
NO_SPACE = 3          # the bank sold no node for the entry


class KID:
    """KID order codes (kid.h)."""

    AddEntry = 1
    Identify = 2
    DeleteEntry = 3
    TestInclusion = 4
    MakeUnion = 6


class KIDC:
    Create = 0


@program("kidc")
def kidc(dom, msg):
    """Create(bank, meter; capacity as 4 bytes) → a new, empty KID."""
    if msg.order == KT:
        yield dom.return_(msg.resume, rc=KIDC_AKT)
        return
    if msg.order != KIDC.Create:
        yield dom.return_(msg.resume, rc=RC.INVALIDOC)
        return
    capacity = int.from_bytes(msg.data[:4], "big") if msg.data else DEFAULT_CAPACITY
    if not 0 < capacity <= MAX_CAPACITY:
        yield dom.return_(msg.resume, rc=ERROR)
        return
    bank, meter = msg.keys[0], msg.keys[1]
    made = yield dom.call(dom.keys[DC_REG], DC.CreateDomain, bank)
    if made.rc != 0:
        yield dom.return_(msg.resume, rc=made.rc)
        return
    kid = made.keys[0]
    weak = (yield dom.call(dom.keys[DC_REG], DC.Weaken)).keys[0]
    for order, key in ((Domain.SwapMeter, meter), (Domain.SwapMemory, dom.keys[IMAGE_REG]),
                       (Domain.SwapKey + DC_REG, weak),
                       (Domain.SwapKey + DISCRIM_REG, dom.keys[DISCRIM_REG]),
                       (Domain.SwapKey + BANK_REG, bank)):
        yield dom.call(kid, order, key)
    regs = (0).to_bytes(8, "big") + capacity.to_bytes(8, "big") + bytes(8 * 14)
    yield dom.call(kid, Domain.PutRegs, data=regs)
    start = (yield dom.call(kid, Domain.MakeStart)).keys[0]
    yield dom.return_(msg.resume, rc=0, keys=(start,))


def entries(dom, key_head, value_head, count):
    """Sub-generator: the (key, value) entries of a chain, in order."""
    out = []
    knode, vnode = key_head, value_head
    for i in range(count):
        slot = i % PER_NODE
        if i and slot == 0:
            knode = (yield dom.call(knode, Node.Fetch + 15)).keys[0]
            vnode = (yield dom.call(vnode, Node.Fetch + 15)).keys[0]
        key = (yield dom.call(knode, Node.Fetch + slot)).keys[0]
        value = (yield dom.call(vnode, Node.Fetch + slot)).keys[0]
        out.append((key, value.obj))
    return out


def find(dom, wanted, found):
    """Sub-generator: the index of ``wanted`` among ``found`` entries, or -1."""
    for i, (key, _) in enumerate(found):
        same = yield dom.call(dom.keys[DISCRIM_REG], 2, key, wanted)
        if same.rc == 0:
            return i
    return -1


def node_for(dom, reg, index):
    """Sub-generator: the chain node holding entry ``index``, bought if missing."""
    node = dom.keys[reg]
    if node == DK0:
        r = yield dom.call(dom.keys[BANK_REG], SB.CreateNode)
        if r.rc != 0 or (yield dom.call(r.keys[0], KT)).rc != Node.AKT:
            return DK0
        dom.keys[reg] = node = r.keys[0]
    for _ in range(index // PER_NODE):
        nxt = (yield dom.call(node, Node.Fetch + 15)).keys[0]
        if nxt == DK0:
            r = yield dom.call(dom.keys[BANK_REG], SB.CreateNode)
            if r.rc != 0 or (yield dom.call(r.keys[0], KT)).rc != Node.AKT:
                return DK0
            nxt = r.keys[0]
            yield dom.call(node, Node.Swap + 15, nxt)
        node = nxt
    return node


def put(dom, index, key, value):
    """Sub-generator: store entry ``index``; False when the bank gave no node."""
    knode = yield from node_for(dom, KEYS_REG, index)
    vnode = yield from node_for(dom, VALUES_REG, index)
    if knode == DK0 or vnode == DK0:
        return False
    yield dom.call(knode, Node.Swap + index % PER_NODE, key)
    data = (index % PER_NODE).to_bytes(4, "big") * 2 + bytes(5) + value.to_bytes(11, "big")
    yield dom.call(vnode, Node.WriteData, data=data)
    return True


def add(dom, found, key, value):
    """Sub-generator: add or update one entry; rc."""
    i = yield from find(dom, key, found)
    if i < 0:
        if len(found) >= dom.regs[CAPACITY]:
            return ERROR
        i = len(found)
        if not (yield from put(dom, i, key, value)):
            return NO_SPACE
        found.append((key, value))
        dom.regs[COUNT] = len(found)
        return 0
    yield from put(dom, i, key, value)
    found[i] = (key, value)
    return 0



def other_kid(dom, kid_key):
    """Sub-generator: the entries of another KID of our KIDC, or None."""
    r = yield dom.call(dom.keys[DC_REG], DC.IdentifyStart, kid_key)
    if r.rc == RC.NOT_MINE:
        return None
    other = r.keys[0]
    count = int.from_bytes((yield dom.call(other, Domain.GetRegs)).data[:8], "big")
    khead = (yield dom.call(other, Domain.GetKey + KEYS_REG)).keys[0]
    vhead = (yield dom.call(other, Domain.GetKey + VALUES_REG)).keys[0]
    return (yield from entries(dom, khead, vhead, count))


@program("kid")
def kid(dom, msg):
    order = msg.order
    if order == KT:
        yield dom.return_(msg.resume, rc=KID_AKT)
        return
    found = yield from entries(dom, dom.keys[KEYS_REG], dom.keys[VALUES_REG], dom.regs[COUNT])
    if order == KID.AddEntry:
        value = int.from_bytes(msg.data[:4], "big") if msg.data else 0
        rc = yield from add(dom, found, msg.keys[0], value)
        yield dom.return_(msg.resume, rc=rc)
    elif order == KID.Identify:
        i = yield from find(dom, msg.keys[0], found)
        if i < 0:
            yield dom.return_(msg.resume, rc=ERROR)
        else:
            yield dom.return_(msg.resume, rc=0, data=found[i][1].to_bytes(4, "big"))
    elif order == KID.DeleteEntry:
        i = yield from find(dom, msg.keys[0], found)
        if i < 0:
            yield dom.return_(msg.resume, rc=ERROR)
            return
        last = found.pop()
        if i < len(found):
            found[i] = last
            yield from put(dom, i, *last)
        dom.regs[COUNT] = len(found)
        yield dom.return_(msg.resume, rc=0)
    elif order in (KID.TestInclusion, KID.MakeUnion):
        theirs = yield from other_kid(dom, msg.keys[0])
        if theirs is None:
            yield dom.return_(msg.resume, rc=NOT_A_KID)
            return
        rc = 0
        for key, value in theirs:
            if order == KID.TestInclusion:
                if (yield from find(dom, key, found)) < 0:
                    rc = ERROR
                    break
            else:
                rc = yield from add(dom, found, key, value)
                if rc:
                    break
        yield dom.return_(msg.resume, rc=rc)
    else:
        yield dom.return_(msg.resume, rc=RC.INVALIDOC)

