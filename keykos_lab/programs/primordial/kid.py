"""KID: key-identity sets, as domain code (kid.h; docs/primer.md#primer-factory-components).

A KID holds a set of keys, each with a 32-bit value, and answers whether a key
is in it — by the kernel's own key compare (Discrim Compare), the only EQ there
is. Factories keep their *holes* in KIDs. A KID can test whether another KID's
keys are all its own, or take them in, but only for KIDs of the same KIDC: the
KIDC makes every KID with one domain creator, and a KID recognises another by
asking that DC (IdentifyStart) for its domain key, then reads its entries.

Storage is KeyKOS storage: the keys sit in a key chain (``keychain``) of nodes
bought from the requestor's bank, the values in a parallel chain of data keys;
the count and capacity are in data registers 0 and 1.

Key registers — KIDC: 0 its DC, 1 the ``kid`` image, 2 Discrim.
KID: 0 a weakened DC (to recognise other KIDs), 2 Discrim, 3 the bank, 4 the
first key node, 5 the first value node. A KID destroyed (KT+4) sells its nodes
back to its bank and has its DC take its domain apart (DestroyMe).
"""

from __future__ import annotations

from keykos_lab.kernel.oc import DESTROY, KT, RC, SB, Domain
from keykos_lab.kernel.process import program
from keykos_lab.programs import keychain
from keykos_lab.programs.primordial.dc import DC

DC_REG, IMAGE_REG, DISCRIM_REG, BANK_REG, KEYS_REG, VALUES_REG = 0, 1, 2, 3, 4, 5
COUNT, CAPACITY = 0, 1
DEFAULT_CAPACITY = 300
MAX_CAPACITY = 500_000
KIDC_AKT, KID_AKT = 0x0127, 0x27
ERROR = 1  # kid.h KID_Error: not found, or capacity exceeded
NOT_A_KID = 2
NO_SPACE = 3  # the bank sold no node for the entry


class KID:
    """KID order codes (kid.h)."""

    AddEntry = 1
    Identify = 2
    DeleteEntry = 3
    TestInclusion = 4
    MakeUnion = 6


class KIDC:
    Create = 0


@program("kidc", system=True)
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
    for order, key in (
        (Domain.SwapMeter, meter),
        (Domain.SwapMemory, dom.keys[IMAGE_REG]),
        (Domain.SwapKey + DC_REG, weak),
        (Domain.SwapKey + DISCRIM_REG, dom.keys[DISCRIM_REG]),
        (Domain.SwapKey + BANK_REG, bank),
    ):
        yield dom.call(kid, order, key)
    regs = (0).to_bytes(8, "big") + capacity.to_bytes(8, "big") + bytes(8 * 14)
    yield dom.call(kid, Domain.PutRegs, data=regs)
    start = (yield dom.call(kid, Domain.MakeStart)).keys[0]
    yield dom.return_(msg.resume, rc=0, keys=(start,))


def kid_entries(dom, key_head, value_head, count):
    """Sub-generator: the (key, value) entries of a KID, in order."""
    keys = yield from keychain.entries(dom, key_head, count)
    values = yield from keychain.entries(dom, value_head, count)
    return [(key, value.obj) for key, value in zip(keys, values)]


def find(dom, wanted, found):
    """Sub-generator: the index of ``wanted`` among ``found`` entries, or -1."""
    return (yield from keychain.find(dom, dom.keys[DISCRIM_REG], wanted, [key for key, _ in found]))


def put(dom, index, key, value):
    """Sub-generator: store entry ``index``; False when the bank gave no node."""
    source = (dom.keys[BANK_REG], SB.CreateNode)
    return (yield from keychain.store(dom, KEYS_REG, index, key, source)) and (
        yield from keychain.store_value(dom, VALUES_REG, index, value, source)
    )


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
    return (yield from kid_entries(dom, khead, vhead, count))


@program("kid", system=True)
def kid(dom, msg):
    order = msg.order
    if order == KT:
        yield dom.return_(msg.resume, rc=KID_AKT)
        return
    found = yield from kid_entries(dom, dom.keys[KEYS_REG], dom.keys[VALUES_REG], dom.regs[COUNT])
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
    elif order == DESTROY:
        bank = dom.keys[BANK_REG]
        for head in (KEYS_REG, VALUES_REG):
            yield from keychain.release(dom, dom.keys[head], bank)
        # The weakened DC takes this domain apart and answers for it.
        yield dom.call(dom.keys[DC_REG], DC.DestroyMe, msg.resume, bank, data=bytes(4))
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
