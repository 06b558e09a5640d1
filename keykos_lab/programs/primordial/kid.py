"""KID: key-identity sets, as domain code (``Dom/fundamental/kidc.ck``, ``kid.h``;
docs/primer.md#primer-factory-components).

A KID holds a set of keys, each with a 32-bit value, and answers whether a key
is in it — by the kernel's own key compare (Discrim Compare), the only EQ there
is. Factories keep their *holes* in KIDs. A KID can test whether another KID's
keys are all its own, or take them in, but only for KIDs of the same KIDC: the
KIDC makes every KID with one domain creator, and a KID recognises another by
asking that DC (IdentifyStart) for its domain key, then reads its entries.

As in ``kidc.ck`` a KID holds at most 80 keys (``MB``, the bits of its map,
``kidc.ck:66, 318``), whatever capacity it was created with: the capacity only
says whether the creator's third key must be a bank too (more than 300,
``kidc.ck:165-171``). Every node is bought from the first bank (``makekid``,
``add``: ``NODEPSB``, ``kidc.ck:272, 373``).

Storage is KeyKOS storage: the keys sit in a key chain (``keychain``) of nodes
bought from the requestor's bank, the values in a parallel chain of data keys;
the count is in data register 0.

Key registers — KIDC: 0 its DC, 1 the ``kid`` image, 2 Discrim, 3 the SBT.
KID: 0 a weakened DC (to recognise other KIDs), 2 Discrim, 3 the bank, 4 the
first key node, 5 the first value node. A KID destroyed (KT+4) sells its nodes
back to its bank and has its DC take its domain apart (DestroyMe).

Two departures (docs/fidelity.md, System programs, KID and KIDC): the KIDC's KT
answers no string (``kidc.ck:156-157`` sends the count of KIDs, which one domain
playing KIDC and every KID can keep and separate domains cannot), and
PerformIntersection answers KT+2 where ``kidc.ck:233`` returns from the program,
ending the KIDC and every KID with it.

>>> import keykos_lab as kl
>>> con = kl.Kernel().console
>>> kid = con.call(con["kidc"], KIDC.Create, con["bank"], con["meter"]).keys[0]
>>> page = con.call(con["bank"], kl.oc.SB.CreatePage).keys[0]
>>> con.call(kid, KID.AddEntry, page, data=(7).to_bytes(4, "big")).rc
0
>>> con.call(kid, KID.Identify, page).data
b'\\x00\\x00\\x00\\x07'
"""

from __future__ import annotations

from keykos_lab.kernel.oc import DESTROY, KT, RC, SB, SBT, Domain
from keykos_lab.kernel.process import program
from keykos_lab.programs import keychain
from keykos_lab.programs.primordial.dc import DC

DC_REG, IMAGE_REG, DISCRIM_REG, BANK_REG, KEYS_REG, VALUES_REG = 0, 1, 2, 3, 4, 5
SBT_REG = 3  # the KIDC's key register 3 (kidc.ck:139, COMPSBT)
COUNT = 0
MAX_ENTRIES = 80  # kidc.ck:66 MB: the bits of a KID's map; add answers 1 beyond (412)
BIG = 300  # kidc.ck:165: a capacity above this needs the third key to be a bank
KIDC_AKT, KID_AKT = 0x0127, 0x27  # kid.h:22-23
NONPROMPT = 1  # ocrc.h:44 NONPROMPTSB_RC (kidc.ck:162, 168)
NO_SPACE = 2  # ocrc.h:45 NOSPACE_RC: makekid's first bank sold no node (kidc.ck:273)
ERROR = 1  # kid.h:25 KID_Error: not found, full, or no node to add (kidc.ck:375, 412)
INTERNAL_ERROR = 3  # kid.h:26 KID_InternalError: MakeUnion of a non-KID (kidc.ck:557)
NOT_A_KID = 4  # TestInclusion of a key that is not a KID (kidc.ck:511)


class KID:
    """KID order codes (kid.h:30-35; kidc.ck:215-239)."""

    AddEntry = 1  # kid.h:30, kidc.ck:217
    Identify = 2  # kid.h:31, kidc.ck:221
    DeleteEntry = 3  # kid.h:32, kidc.ck:226
    TestInclusion = 4  # kid.h:33, kidc.ck:229
    PerformIntersection = 5  # kid.h:34, kidc.ck:232: a declared departure (KT+2)
    MakeUnion = 6  # kid.h:35, kidc.ck:234


class KIDC:
    """KIDC order codes (kid.h:28; kidc.ck:154-176)."""

    Create = 0  # kid.h:28; kidc.ck:160: any order but KT creates


def parm(data: bytes, preset: int = 0) -> int:
    """A 4-byte ``STRUCTTO(parm)``: the string overwrites the first bytes of ``preset``
    (big-endian, as on the SPARC), the rest stay.

    >>> parm(b""), parm(b"\\x00\\x00\\x01\\x00"), parm(b"\\x01"), parm(b"", 300)
    (0, 256, 16777216, 300)
    """
    buf = bytearray(preset.to_bytes(4, "big"))
    got = data[:4]
    buf[: len(got)] = got
    return int.from_bytes(buf, "big")


@program("kidc", system=True)
def kidc(dom, msg):
    """KT → KIDC_AKT; any other order: Create(bank, meter, bank; capacity) → a new,
    empty KID (kidc.ck:154-176)."""
    if msg.order == KT:  # kidc.ck:155-159 (the count of KIDs: a declared departure)
        yield dom.return_(msg.resume, rc=KIDC_AKT)
        return
    bank, meter, second = msg.keys[0], msg.keys[1], msg.keys[2]
    sbt = dom.keys[SBT_REG]
    if (yield dom.call(sbt, SBT.Verify, bank)).rc & 0x80:  # kidc.ck:160-164
        yield dom.return_(msg.resume, rc=NONPROMPT)
        return
    if parm(msg.data) > BIG:  # kidc.ck:165-171: the third key must be a bank too
        if (yield dom.call(sbt, SBT.Verify, second)).rc & 0x80000000:
            yield dom.return_(msg.resume, rc=NONPROMPT)
            return
    made = yield dom.call(dom.keys[DC_REG], DC.CreateDomain, bank)
    if made.rc != 0:  # makekid, kidc.ck:272-273: the first bank sold no node
        yield dom.return_(msg.resume, rc=NO_SPACE)
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
    yield dom.call(kid, Domain.PutRegs, data=bytes(8 * 16))
    start = (yield dom.call(kid, Domain.MakeStart)).keys[0]
    yield dom.return_(msg.resume, rc=0, keys=(start,))  # kidc.ck:173-175


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
    """Sub-generator: add or update one entry; rc (``included`` then ``add``,
    kidc.ck:217-220, 303-413)."""
    i = yield from find(dom, key, found)
    if i < 0:
        if len(found) >= MAX_ENTRIES:  # kidc.ck:412: no free bit in the map
            return ERROR
        i = len(found)
        if not (yield from put(dom, i, key, value)):
            return ERROR  # kidc.ck:375, 391: the bank sold no node
        found.append((key, value))
        dom.regs[COUNT] = len(found)
        return 0
    yield from put(dom, i, key, value)  # kidc.ck:327-338: the new value replaces the old
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
    """The orders of a KID (kidc.ck:180-242)."""
    order = msg.order
    if order == KT:  # kidc.ck:184-187
        yield dom.return_(msg.resume, rc=KID_AKT)
        return
    found = yield from kid_entries(dom, dom.keys[KEYS_REG], dom.keys[VALUES_REG], dom.regs[COUNT])
    if order == KID.AddEntry:  # kidc.ck:217-220
        rc = yield from add(dom, found, msg.keys[0], parm(msg.data))
        yield dom.return_(msg.resume, rc=rc)
    elif order == KID.Identify:  # kidc.ck:221-225, 418-456
        i = yield from find(dom, msg.keys[0], found)
        if i < 0:
            yield dom.return_(msg.resume, rc=ERROR)
        else:
            yield dom.return_(msg.resume, rc=0, data=found[i][1].to_bytes(4, "big"))
    elif order == KID.DeleteEntry:  # kidc.ck:226-228, 460-496
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
    elif order == DESTROY:  # kidc.ck:188-212
        bank = dom.keys[BANK_REG]
        for head in (KEYS_REG, VALUES_REG):
            yield from keychain.release(dom, dom.keys[head], bank)
        # The weakened DC takes this domain apart and answers for it (rc 0, kidc.ck:211).
        yield dom.call(dom.keys[DC_REG], DC.DestroyMe, msg.resume, bank, data=bytes(4))
    elif order in (KID.TestInclusion, KID.MakeUnion):  # kidc.ck:229-236, 502-582
        theirs = yield from other_kid(dom, msg.keys[0])
        if theirs is None:  # openkid fails: kidc.ck:511 (4), 557 (KID_InternalError)
            rc = NOT_A_KID if order == KID.TestInclusion else INTERNAL_ERROR
            yield dom.return_(msg.resume, rc=rc)
            return
        rc = 0
        for key, value in theirs:
            if order == KID.TestInclusion:
                if (yield from find(dom, key, found)) < 0:
                    rc = ERROR  # kidc.ck:537
                    break
            elif (yield from find(dom, key, found)) < 0:
                # kidc.ck:570-577: only a key not in this KID is added (``identify``
                # answers nonzero); a key already here keeps this KID's value.
                rc = yield from add(dom, found, key, value)
                if rc:
                    break
        yield dom.return_(msg.resume, rc=rc)
    else:  # kidc.ck:237-239; PerformIntersection (5) too: a declared departure
        yield dom.return_(msg.resume, rc=RC.INVALIDOC)
