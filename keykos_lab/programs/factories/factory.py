"""Factories, as domain code: builder, requestor, fetcher and copy keys
(docs/primer.md#primer-factories).

The factory part of the C release's ``fcc.ck`` (``dof``, ``dobuilder``,
``dorequest``, ``dofetcher``, ``docopy``). A factory is a domain running the
``fcc`` program in the *factory* role; every key to it is a start key and the
databyte says which: 0 builder, 1 requestor, 2 fetcher, 3 copy. What it
guarantees is derived from the kernel's rules, not asserted:

* a component is accepted as *sensory* only if Discrim calls it discreet, it is
  a data key, or it is the DKC, Returner or Discrim (``issensory``);
* a component that is another factory is recognised by the brand of the shared
  factory DC (``isfactory``), and its holes join this factory's holes;
* every other key can go in only as a *hole*, recorded in a KID;
* a yield is a fork of the factory bought from the requestor's bank, which drops
  every factory key before it runs the builder's program on the requestor's
  meter — so its only channels out are its holes and what the requestor gave it.

Where ``fcc.ck`` and `docs/primer.md` differ, ``fcc.ck`` wins: installing a hole
that is not yet one into a complete factory answers 2.
"""

from __future__ import annotations

import struct

from keykos_lab.kernel.keys import DK0
from keykos_lab.kernel.oc import DESTROY, KT, RC, SB, Discrim, Domain, Node
from keykos_lab.programs.fork import (
    BIRTH,
    BRAND,
    COMP,
    COPY_BIRTH,
    DC_REG,
    DOMKEY,
    ENTRY,
    METER,
    PSB,
    PTOOLS,
    SBT,
    TOOLS,
    UM,
    die,
    spawn,
)
from keykos_lab.programs.fork import SB as SB_REG
from keykos_lab.programs.primordial.dc import DC
from keykos_lab.programs.primordial.kid import KID, KIDC, parm

# Databytes of the keys to a factory (factory.h).
BUILDER, REQUESTOR, FETCHER, COPY = 0, 1, 2, 3
FB_AKT, FCOPY_AKT, FR_AKT = 0x011E, 0x021E, 0xFF1E

# Data registers. ROLE says which part of fcc.ck a domain running ``fcc`` plays.
ROLE, FLAGS, AKT, ORDINAL, START, KINDS = 0, 1, 2, 3, 4, 5
ROLE_FCC, ROLE_FC, ROLE_FACTORY = 0, 1, 2
# FLAGS bits (factory.h).
COMPLETE, DOTPROGRAM, SHAREDDC = 4, 2, 1

# Slots of the TOOLS node every FC and factory shares (fcc.ck TOOLS*).
T_FCC, T_FCDC, T_KIDC, T_SBT, T_DCC, T_FDC = 0, 1, 2, 3, 4, 5
T_DKC, T_RETURNER, T_DISCRIM, T_METER = 7, 8, 9, 10
# Slots of a factory's private PTOOLS node (fcc.ck PTOOLS*).
P_PSB, P_METER, P_DC, P_KID, P_COMP, P_KEEPER, P_PROGRAM, P_SYMBOLS = range(8)

# Return codes of the builder's key (docs/primer.md#primer-factory-builder).
NOT_ACCEPTABLE = 2  # fcc.ck:583, 609 (not sensory, not a factory), 624 (not a hole)
NOT_INCLUDED = 3  # fcc.ck:596: a complete factory's new component has other holes
UNION_FAILED = 3  # fcc.ck:603: InstallFactory answers the KID's MakeUnion rc + 3
HOLE_REFUSED = 6  # fcc.ck:628: the KID's AddEntry failed (full, or no node)
NO_KID = 3  # fcc.ck:1009: a copy whose KID could not be made (a declared departure)
NONPROMPT = 1  # ocrc.h:44 NONPROMPTSB_RC: not an official, prompt bank
NO_SPACE = 2  # ocrc.h:45 NOSPACE_RC; fcc.ck:436: a new factory that could not be built
NOT_A_METER = 3  # keykos_lab: fcc.ck does not check, and the yield would never run
DEFAULT_HOLES = 300  # fcc.ck:284, 333, 961
#: The requestor's string reaches the yield after 12 bytes of entry header.
MAX_REQUEST_STRING = 4096 - 12

_MISC = struct.Struct(">II3sBI")  # Factory_GetMiscellaneousValues


class FactoryB:
    """Builder's key (databyte 0) order codes (factory.h)."""

    InstallSensory = 0  #: + component 0..18
    InstallFactory = 32  #: + component
    InstallHole = 128  #: + component
    AssignKT = 64
    AssignOrdinal = 65
    MakeRequestor = 66
    MakeCopy = 67
    GetDC = 69
    GetMiscellaneous = 96  #: + component


class FactoryR:
    """Requestor's key (databyte 1)."""

    Create = 0  #: any order below 0xC0000000 except KT
    Compare = 0xFFFFFFFF


class FactoryF:
    """Fetcher key (databyte 2)."""

    Fetch = 0  #: + component
    MakeRequestor = 66
    GetMiscellaneous = 96
    Compare = 0xFFFFFFFF


class FactoryC:
    """Copy key (databyte 3)."""

    Copy = 0
    GetMiscellaneous = 96


def factory(dom, msg):
    """The factory role of ``fcc``: dispatch on the databyte of the key used."""
    part = _PARTS.get(msg.databyte)
    if part is None:
        yield dom.return_(msg.resume, rc=RC.INVALIDOC)
    else:
        yield from part(dom, msg)


# ------------------------------------------------------------------ helpers
def tool(dom, slot: int):
    """Sub-generator: a key from the shared TOOLS node."""
    return (yield dom.call(dom.keys[TOOLS], Node.Fetch + slot)).keys[0]


def private(dom, slot: int):
    """Sub-generator: a key from this factory's PTOOLS node."""
    return (yield dom.call(dom.keys[PTOOLS], Node.Fetch + slot)).keys[0]


def order_in(order: int, base: int) -> int | None:
    """The component number of ``base + n`` (n 0..18), or None."""
    n = order - base
    return n if 0 <= n <= 18 else None


def is_official_bank(dom, key):
    return not (yield dom.call(dom.keys[SBT], 0, key)).rc & 0x80


def is_sensory(dom, key):
    """``issensory``: discreet by Discrim, one of DKC / Returner / Discrim, or a data key."""
    discrim = yield from tool(dom, T_DISCRIM)
    if (yield dom.call(discrim, Discrim.Discreet, key)).rc == 0:
        return True
    for slot in (T_DKC, T_RETURNER, T_DISCRIM):
        known = yield from tool(dom, slot)
        if (yield dom.call(discrim, Discrim.Compare, key, known)).rc == 0:
            return True
    return (yield dom.call(discrim, Discrim.Type, key)).rc == 1


def factory_domain(dom, key):
    """``isfactory``: the domain key of the factory ``key`` is a requestor's or
    fetcher key to (the shared factory DC's brand says so), or None."""
    fdc = yield from tool(dom, T_FDC)
    r = yield dom.call(fdc, DC.IdentifyStart, key)
    return r.keys[0] if r.rc in (REQUESTOR, FETCHER) else None


def is_hole_free_tool(dom, key):
    """``isfactoryc``: an FC without recall-builder rights, the FCC itself, or a
    DC made by the DCC that cannot be destroyed — all accepted as hole-free."""
    fcdc = yield from tool(dom, T_FCDC)
    rc = (yield dom.call(fcdc, DC.IdentifyStart, key)).rc
    if rc == 0:
        return False  # a full FC could recall builders: not hole-free
    if rc in (1, 2):
        return True
    discrim, fcc = (yield from tool(dom, T_DISCRIM)), (yield from tool(dom, T_FCC))
    if (yield dom.call(discrim, Discrim.Compare, key, fcc)).rc == 0:
        return True
    dcc = yield from tool(dom, T_DCC)
    return (yield dom.call(dcc, 1, key)).rc == 1  # DCC Identify: weakened DC


def holes_of(dom, factory_dom):
    """Sub-generator: the KID holding the holes of the factory with this domain key."""
    ptools = (yield dom.call(factory_dom, Domain.GetKey + PTOOLS)).keys[0]
    return (yield dom.call(ptools, Node.Fetch + P_KID)).keys[0]


def compare(dom, suspect):
    """FactoryR_Compare: 0 if every hole of ``suspect`` is one of ours, 1 if it has
    more, 2 if it is not a factory of our FCC."""
    if (yield from is_hole_free_tool(dom, suspect)):
        return 0
    other = yield from factory_domain(dom, suspect)
    if other is None:
        return 2
    theirs = yield from holes_of(dom, other)
    mine = yield from private(dom, P_KID)
    return 1 if (yield dom.call(mine, KID.TestInclusion, theirs)).rc else 0


def component(dom, n: int):
    """Sub-generator: component ``n`` (0..15 in COMP, 16..18 in PTOOLS)."""
    if n < 16:
        return (yield dom.call(dom.keys[COMP], Node.Fetch + n)).keys[0]
    return (yield from private(dom, P_KEEPER + n - 16))


def install(dom, n: int, key, start: bytes, is_factory: bool):
    """``instcomp``: put component ``n`` in place and note whether it is a factory."""
    if n < 16:
        yield dom.call(dom.keys[COMP], Node.Swap + n, key)
    else:
        yield dom.call(dom.keys[PTOOLS], Node.Swap + P_KEEPER + n - 16, key)
    bit = 1 << n
    dom.regs[KINDS] = dom.regs[KINDS] | bit if is_factory else dom.regs[KINDS] & ~bit
    if n == 17:
        dom.regs[FLAGS] = dom.regs[FLAGS] | DOTPROGRAM
        dom.regs[START] = parm(start)  # fcc.ck:705-708, parm (481-483)


def miscellaneous(dom, n: int):
    """Sub-generator: GetMiscellaneous — (rc 0, component n, the 16-byte struct)."""
    key = yield from component(dom, n)
    kinds = dom.regs[KINDS]
    bits = sum(0x80000000 >> i for i in range(19) if kinds >> i & 1).to_bytes(4, "big")[:3]
    data = _MISC.pack(dom.regs[START], dom.regs[AKT], bits, dom.regs[FLAGS], dom.regs[ORDINAL])
    return key, data


def make_keys(dom, *databytes: int):
    """Sub-generator: start keys to this factory with the given databytes."""
    out = []
    for db in databytes:
        out.append((yield dom.call(dom.keys[DOMKEY], Domain.MakeStart, data=bytes([db]))).keys[0])
    return out


def requestor_databyte(dom) -> int:
    """The databyte of this factory's requestor's key; legacy: without a program
    (component 17) the "requestor's key" is a fetcher key."""
    return REQUESTOR if dom.regs[FLAGS] & DOTPROGRAM else FETCHER


def requestor_keys(dom):
    """Sub-generator: (requestor's key, fetcher key)."""
    return (yield from make_keys(dom, requestor_databyte(dom), FETCHER))


# ------------------------------------------------------------------ builder
def builder(dom, msg):
    order, key = msg.order, msg.keys[0]
    complete = dom.regs[FLAGS] & COMPLETE
    rc, keys, data = 0, (), b""
    if order == KT:
        rc = FB_AKT
    elif order == DESTROY:
        yield from destroy(dom, msg)
        return
    elif (n := order_in(order, FactoryB.InstallSensory)) is not None:
        if (yield from is_sensory(dom, key)):
            yield from install(dom, n, key, msg.data, False)
        else:
            rc = NOT_ACCEPTABLE
    elif (n := order_in(order, FactoryB.InstallFactory)) is not None:
        rc = yield from take_factory(dom, key, complete)
        if rc == 0:
            yield from install(dom, n, key, msg.data, True)
    elif (n := order_in(order, FactoryB.InstallHole)) is not None:
        holes = yield from private(dom, P_KID)
        if complete:
            rc = NOT_ACCEPTABLE if (yield dom.call(holes, KID.Identify, key)).rc else 0
        elif (yield dom.call(holes, KID.AddEntry, key)).rc:
            rc = HOLE_REFUSED  # fcc.ck:627-628
        if rc == 0:
            yield from install(dom, n, key, msg.data, False)
    elif (n := order_in(order, FactoryB.GetMiscellaneous)) is not None:
        got, data = yield from miscellaneous(dom, n)
        keys = (got,)
    elif order in (FactoryB.AssignKT, FactoryB.AssignOrdinal):
        dom.regs[AKT if order == FactoryB.AssignKT else ORDINAL] = parm(msg.data)  # fcc.ck:653-664
    elif order == FactoryB.MakeRequestor:
        dom.regs[FLAGS] = dom.regs[FLAGS] | COMPLETE
        keys = tuple((yield from requestor_keys(dom)))
    elif order == FactoryB.MakeCopy:  # fcc.ck:675-680
        # KEYSTO(K0,K1) of a call that answers one key: K1 is DK(0) (gatec.c:117-150),
        # so dof's KEYSFROM(K0,K1,,CALLER) (491-492) sends the copy key and DK(0).
        keys = ((yield from make_keys(dom, COPY))[0],)
    elif order == FactoryB.GetDC:  # fcc.ck:682-686: the DC and DK(0), as MakeCopy
        keys = (dom.keys[DC_REG],)
    else:
        rc = RC.INVALIDOC
    yield dom.return_(msg.resume, rc, keys=keys, data=data)


def take_factory(dom, key, complete: bool):
    """Sub-generator: rc for installing ``key`` as a factory component; unions its
    holes into ours while we are nascent, insists they are ours once complete."""
    other = yield from factory_domain(dom, key)
    if other is None:
        return 0 if (yield from is_hole_free_tool(dom, key)) else NOT_ACCEPTABLE
    theirs = yield from holes_of(dom, other)
    mine = yield from private(dom, P_KID)
    if complete:
        return NOT_INCLUDED if (yield dom.call(mine, KID.TestInclusion, theirs)).rc else 0
    rc = (yield dom.call(mine, KID.MakeUnion, theirs)).rc
    return rc + UNION_FAILED if rc else 0  # fcc.ck:601-605


def destroy(dom, msg):
    """KT+4 on the builder's key: the holes, our own DC, the components node and
    PTOOLS go back to the bank, then the factory DC takes this domain apart.
    Yields live on; their fetch keys to the components become DK(0)."""
    ptools = dom.keys[PTOOLS]
    bank = yield from private(dom, P_PSB)
    yield dom.call((yield from private(dom, P_KID)), DESTROY)
    if not dom.regs[FLAGS] & SHAREDDC:
        yield dom.call((yield from private(dom, P_DC)), DESTROY)
    yield dom.call(bank, SB.DestroyNode, dom.keys[COMP])
    yield dom.call(bank, SB.DestroyNode, ptools)
    yield from die(dom, (yield from tool(dom, T_FDC)), msg.resume, bank, 0)


# ---------------------------------------------------------------- requestor
def requestor(dom, msg):
    order = msg.order
    if order == FactoryR.Compare:
        yield dom.return_(msg.resume, (yield from compare(dom, msg.keys[0])))
    elif order == KT:
        yield dom.return_(msg.resume, dom.regs[AKT])
    elif order > 0xC0000000:  # fcc.ck: 0xC0000000 itself still creates
        yield dom.return_(msg.resume, RC.INVALIDOC)
    else:
        yield from request(dom, msg)


def request(dom, msg):
    """``dorequest``: check the bank, fork a child bought from it, and let the
    child finish the yield (:func:`build_yield`) and answer the requestor."""
    psb, meter, w, caller = msg.keys
    if not (yield from is_official_bank(dom, psb)):
        yield dom.return_(caller, NONPROMPT)
        return
    discrim = yield from tool(dom, T_DISCRIM)
    if (yield dom.call(discrim, Discrim.Type, meter)).rc != 4:
        yield dom.return_(caller, NOT_A_METER)
        return
    if len(msg.data) > MAX_REQUEST_STRING:
        yield dom.return_(caller, RC.BADSTRING)
        return
    rc = yield from spawn(
        dom, dom.keys[DC_REG], psb, BIRTH, msg.order, msg.keys, data=msg.data, install={PSB: psb}
    )
    yield dom.return_(caller, rc)


def build_yield(dom, msg):
    """The child of :func:`request` becomes the yield, in the order of
    docs/primer.md#primer-factory-yields."""
    psb, meter, w, caller = msg.keys
    me = dom.keys[DOMKEY]
    keeper = yield from private(dom, P_KEEPER)
    program = yield from private(dom, P_PROGRAM)
    symbols = yield from private(dom, P_SYMBOLS)
    kinds, start, ordinal = dom.regs[KINDS], dom.regs[START], dom.regs[ORDINAL]
    dc = dom.keys[DC_REG]  # the factory's DC, weakened: good for DestroyMe
    # 4. Before any untrusted code runs: no brand, a fetch key to the components,
    #    the requestor's keys, and not one factory tool key.
    components = (yield dom.call(dom.keys[COMP], Node.MakeFetchKey)).keys[0]
    for reg, key in (
        (BRAND, DK0),
        (COMP, components),
        (PSB, psb),
        (METER, meter),
        (SB_REG, w),
        (UM, DK0),
        (TOOLS, DK0),
        (SBT, DK0),
        (10, DK0),
        (PTOOLS, DK0),
    ):
        yield dom.call(me, Domain.SwapKey + reg, key)
    # 5. A keeper that is a factory is asked for the keeper; symbols go to slot 10.
    if kinds >> 16 & 1:
        keeper = yield from product(dom, keeper, msg.keys, dc)
    yield dom.call(me, Domain.SwapKeeper, keeper)
    yield dom.call(me, Domain.Swap + 10, symbols)
    # 6. Only now does the yield run on the requestor's meter.
    yield dom.call(me, Domain.SwapMeter, meter)
    # 7. A program that is a factory is asked for the address segment.
    if kinds >> 17 & 1:
        program = yield from product(dom, program, msg.keys, dc)
    # 8. repmem: the builder's program, with the requestor's message and the ordinal.
    yield dom.call(me, Domain.PutRegs, data=ordinal.to_bytes(8, "big") + bytes(8 * 15))
    for reg, key in zip(ENTRY, (psb, meter, w, caller)):
        yield dom.call(me, Domain.SwapKey + reg, key)
    entry = start.to_bytes(8, "big") + msg.order.to_bytes(4, "big") + msg.data
    yield dom.call(me, Domain.ReplaceMemory, program, data=entry)


def product(dom, factory, keys, dc):
    """A component that is a factory (keeper or program) is asked for the real one,
    with the requestor's bank, meter and key. If it answers rc ≠ 0, the child dies
    with that rc to the requestor (its DC takes it apart) and this never returns."""
    psb, meter, w, caller = keys
    r = yield dom.call(factory, 2, psb, meter, w)
    if r.rc != 0:
        yield from die(dom, dc, caller, psb, r.rc)
    return r.keys[0]


# ------------------------------------------------------------ fetcher, copy
def fetcher(dom, msg):
    order = msg.order
    if order == KT:
        yield dom.return_(msg.resume, dom.regs[AKT])
    elif order == FactoryF.Compare:
        yield dom.return_(msg.resume, (yield from compare(dom, msg.keys[0])))
    elif order == FactoryF.MakeRequestor:
        # dofetcher passes a copy of the flags: the factory is not completed (fcc.ck:932-933);
        # dof's DBFETCHER case 1 sends K0 alone, the requestor's key (fcc.ck:517-518), where
        # the builder's sends K0 and K1 (491-492).
        (requestor,) = yield from make_keys(dom, requestor_databyte(dom))
        yield dom.return_(msg.resume, 0, requestor)
    elif (n := order_in(order, FactoryF.Fetch)) is not None:
        yield dom.return_(msg.resume, 0, (yield from component(dom, n)))
    elif (n := order_in(order, FactoryF.GetMiscellaneous)) is not None:
        key, data = yield from miscellaneous(dom, n)
        yield dom.return_(msg.resume, 0, key, data=data)
    else:
        yield dom.return_(msg.resume, RC.INVALIDOC)


def copier(dom, msg):
    """The copy key: ``Copy(prompt bank, —, hole bank; capacity)`` → a builder's key
    to a new nascent factory sharing our DC and holes; order 1 drops the program."""
    order = msg.order
    if order == KT:
        yield dom.return_(msg.resume, FCOPY_AKT)
    elif (n := order_in(order, FactoryC.GetMiscellaneous)) is not None:
        key, data = yield from miscellaneous(dom, n)
        yield dom.return_(msg.resume, 0, key, data=data)
    elif order in (FactoryC.Copy, 1):
        psb, _, hole_bank, caller = msg.keys
        if not (yield from is_official_bank(dom, psb)):
            yield dom.return_(caller, NONPROMPT)
            return
        fdc = yield from tool(dom, T_FDC)
        rc = yield from spawn(
            dom,
            fdc,
            psb,
            COPY_BIRTH,
            order,
            (psb, hole_bank, DK0, caller),
            data=(parm(msg.data) or DEFAULT_HOLES).to_bytes(4, "big"),  # fcc.ck:961
            install={PSB: psb},
        )
        yield dom.return_(caller, rc)
    else:
        yield dom.return_(msg.resume, RC.INVALIDOC)


def become_copy(dom, msg):
    """``docopy``'s child: new components node and PTOOLS, the same DC, a new KID
    holding our holes; answers the caller with a builder's key."""
    psb, hole_bank, _, caller = msg.keys
    old_ptools, old_comp = dom.keys[PTOOLS], dom.keys[COMP]
    capacity = int.from_bytes(msg.data[:4], "big")
    bought = []
    for _ in range(2):
        r = yield dom.call(psb, SB.CreateNode)
        if r.rc != 0:
            yield from undo(dom, psb, bought, caller, NO_SPACE)
            return
        bought.append(r.keys[0])
    ptools, comp = bought
    for i in range(16):
        yield dom.call(comp, Node.Swap + i, (yield dom.call(old_comp, Node.Fetch + i)).keys[0])
    yield dom.call(comp, Node.Swap + 3, (yield from make_keys(dom, COPY))[0])
    for slot in (P_DC, P_KEEPER, P_PROGRAM, P_SYMBOLS):
        yield dom.call(
            ptools, Node.Swap + slot, (yield dom.call(old_ptools, Node.Fetch + slot)).keys[0]
        )
    meter = yield from tool(dom, T_METER)
    for slot, key in ((P_PSB, psb), (P_METER, meter), (P_COMP, comp)):
        yield dom.call(ptools, Node.Swap + slot, key)
    # fcc.ck:1010-1012: KIDC_Create KEYSFROM(PSB,METER,SB): paid from the copy's bank,
    # the third key checked when the capacity is above 300 (kidc.ck:165-171).
    made = yield dom.call(
        (yield from tool(dom, T_KIDC)),
        KIDC.Create,
        psb,
        meter,
        hole_bank,
        data=capacity.to_bytes(4, "big"),
    )
    if made.rc != 0:
        yield from undo(dom, psb, bought, caller, NO_KID)  # fcc.ck:1009 (myrc 3)
        return
    holes = made.keys[0]
    old_holes = (yield dom.call(old_ptools, Node.Fetch + P_KID)).keys[0]
    if (yield dom.call(holes, KID.MakeUnion, old_holes)).rc != 0:
        # fcc.ck ignores this rc; a copy missing holes would look more discreet.
        yield dom.call(holes, DESTROY)
        yield from undo(dom, psb, bought, caller, HOLE_REFUSED)
        return
    yield dom.call(ptools, Node.Swap + P_KID, holes)
    me = dom.keys[DOMKEY]
    yield dom.call(me, Domain.SwapKey + PTOOLS, ptools)
    yield dom.call(me, Domain.SwapKey + COMP, comp)
    flags = dom.regs[FLAGS] & ~COMPLETE | SHAREDDC
    dom.regs[FLAGS] = flags & ~DOTPROGRAM if msg.order == 1 else flags
    yield dom.return_(caller, 0, *(yield from make_keys(dom, BUILDER)))


def undo(dom, bank, bought, caller, rc: int):
    """A child that failed: sell what it bought, then have the factory DC take it
    apart, answering ``rc`` to the caller."""
    for node in bought:
        yield dom.call(bank, SB.DestroyNode, node)
    yield from die(dom, (yield from tool(dom, T_FDC)), caller, bank, rc)


#: What each databyte of a key to a factory reaches (BIRTH and COPY_BIRTH: fork children).
_PARTS = {
    BUILDER: builder,
    REQUESTOR: requestor,
    FETCHER: fetcher,
    COPY: copier,
    BIRTH: build_yield,
    COPY_BIRTH: become_copy,
}
