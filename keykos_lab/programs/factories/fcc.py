"""The factory creator creator (FCC) and factory creators (FC), as domain code.

The ``fcc.ck`` of the C release is one program that is, by turns, the FCC, an
FC, a factory and the first moments of a yield: each is a fork (``fork.py``) of
the one before. keykos_lab keeps that shape: one program, ``fcc``, whose data
register ``ROLE`` says which part a domain plays; the factory part is in
``factory.py``.

* **FCC** (``con["fcc"]``, AKT 0x31E): ``Create(prompt bank, meter)`` → a new
  FC, bought from the bank and running on the meter.
* **FC** (AKT 0x1E): ``FC_Create`` 0 (bank), ``FC_CreateDC`` 1 (bank, a builder's
  or fetcher key to a factory whose DC to share), ``FC_CreateMHF`` 2 (bank, —,
  hole bank; capacity), ``FC_CreateDCMHF`` 3 → a builder's key to a new factory;
  ``FC_DisableFetcher`` 4 / ``FC_DisableBuilder`` 5 → weaker FC keys (databyte
  2 / 1); ``FC_RecallFetcher`` 6 / ``FC_RecallBuilder`` 7 (a requestor's key to
  a factory this FC made) → its fetcher / builder key.

Every FC is made by one DC (FCDC) and every factory by another (FDC); both are
held only here, in the shared TOOLS node. That brand is how a factory knows
another factory, or a weakened FC, when one is installed as a component.

Departures (docs/fidelity.md, Destroying an FC; an FC that cannot start): in ``fcc.ck``
any FC key's KT+4 ends the FC, which then dies through the factories' DC, is refused
and traps, never answering; here only the unrestricted key destroys an FC, through
the DC that made it, rc 0, since a weakened FC is accepted into factories as a
hole-free component and breaking it would be a channel out of a yield. An FC that
cannot buy its node answers 2, and an FC's Create passes on the DCC's rc.
"""

from __future__ import annotations

from keykos_lab.kernel.keys import DK0
from keykos_lab.kernel.oc import DESTROY, KT, RC, SB, Discrim, Domain, Node
from keykos_lab.kernel.process import program
from keykos_lab.programs.factories import factory as f
from keykos_lab.programs.fork import (
    BIRTH,
    BRAND,
    COMP,
    DC_REG,
    DOMKEY,
    METER,
    PSB,
    PTOOLS,
    die,
    spawn,
)
from keykos_lab.programs.primordial.dc import DC, DCC
from keykos_lab.programs.primordial.kid import KIDC, parm

FCC_AKT, FC_AKT = 0x031E, 0x1E
DC_NOT_VALID = 5  # factory.h FactoryDCNotValid


class FC:
    """Factory creator order codes (factory.h)."""

    Create = 0
    CreateDC = 1
    CreateMHF = 2
    CreateDCMHF = 3
    DisableFetcher = 4
    DisableBuilder = 5
    RecallFetcher = 6
    RecallBuilder = 7


class FCC:
    Create = 0


@program("fcc", system=True)
def fcc(dom, msg):
    """FCC, FC and factory, by the ROLE register; BIRTH starts a fork's child."""
    role, born = dom.regs[f.ROLE], msg.databyte == BIRTH
    if role == f.ROLE_FACTORY:
        yield from f.factory(dom, msg)
    elif role == f.ROLE_FC:
        yield from (become_factory(dom, msg) if born else creator(dom, msg))
    else:
        yield from (become_fc(dom, msg) if born else creator_creator(dom, msg))


# ---------------------------------------------------------------------- FCC
def creator_creator(dom, msg):
    if msg.order == KT:
        yield dom.return_(msg.resume, FCC_AKT)
        return
    if msg.order != FCC.Create:
        yield dom.return_(msg.resume, RC.INVALIDOC)
        return
    bank, meter, _, caller = msg.keys
    if not (yield from f.is_official_bank(dom, bank)):
        yield dom.return_(caller, f.NONPROMPT)
        return
    rc = yield from spawn(
        dom, dom.keys[DC_REG], bank, BIRTH, 0, (bank, meter, DK0, caller), install={PSB: bank}
    )
    yield dom.return_(caller, rc)


def become_fc(dom, msg):
    """The FCC's child: runs on the caller's meter, keeps its bank in PTOOLS."""
    bank, meter, _, caller = msg.keys
    me = dom.keys[DOMKEY]
    yield dom.call(me, Domain.SwapMeter, meter)
    fdc = yield from f.tool(dom, f.T_FDC)
    for reg, key in ((METER, meter), (DC_REG, fdc), (COMP, DK0)):
        yield dom.call(me, Domain.SwapKey + reg, key)
    r = yield dom.call(bank, SB.CreateNode)
    if r.rc != 0:
        yield from die(dom, (yield from f.tool(dom, f.T_FCDC)), caller, bank, f.NO_SPACE)
        return
    ptools = r.keys[0]
    yield dom.call(ptools, Node.Swap + f.P_PSB, bank)
    yield dom.call(ptools, Node.Swap + f.P_METER, meter)
    yield dom.call(me, Domain.SwapKey + PTOOLS, ptools)
    dom.regs[f.ROLE] = f.ROLE_FC
    yield dom.return_(caller, 0, (yield from f.make_keys(dom, 0))[0])


# ----------------------------------------------------------------------- FC
def creator(dom, msg):
    order, db = msg.order, msg.databyte
    if order == KT:
        yield dom.return_(msg.resume, FC_AKT)
    elif order == DESTROY and db == 0:
        ptools = dom.keys[PTOOLS]
        bank = yield from f.private(dom, f.P_PSB)
        yield dom.call(bank, SB.DestroyNode, ptools)
        yield from die(dom, (yield from f.tool(dom, f.T_FCDC)), msg.resume, bank, 0)
    elif order in (FC.DisableFetcher, FC.DisableBuilder):
        weaker = max(db, 2 if order == FC.DisableFetcher else 1)
        yield dom.return_(msg.resume, 0, (yield from f.make_keys(dom, weaker))[0])
    elif order in (FC.RecallFetcher, FC.RecallBuilder):
        yield from recall(dom, msg)
    elif order in (FC.Create, FC.CreateDC, FC.CreateMHF, FC.CreateDCMHF):
        yield from create_factory(dom, msg)
    else:
        yield dom.return_(msg.resume, RC.INVALIDOC)


def recall(dom, msg):
    """The fetcher or builder key of a factory this very FC made (its brand)."""
    order, db = msg.order, msg.databyte
    if (order == FC.RecallFetcher and db == 2) or (order == FC.RecallBuilder and db != 0):
        yield dom.return_(msg.resume, RC.INVALIDOC)
        return
    r = yield dom.call((yield from f.tool(dom, f.T_FDC)), DC.IdentifyStart, msg.keys[0])
    if r.rc > 3:
        yield dom.return_(msg.resume, RC.NOT_MINE)
        return
    made_by = (yield dom.call(r.keys[0], Domain.GetKey + BRAND)).keys[0]
    discrim = yield from f.tool(dom, f.T_DISCRIM)
    rc = (yield dom.call(discrim, Discrim.Compare, dom.keys[DOMKEY], made_by)).rc
    if rc != 0:
        yield dom.return_(msg.resume, rc)
        return
    db = f.FETCHER if order == FC.RecallFetcher else f.BUILDER
    key = (yield dom.call(r.keys[0], Domain.MakeStart, data=bytes([db]))).keys[0]
    yield dom.return_(msg.resume, 0, key)


def create_factory(dom, msg):
    """FC_Create*: check the bank, get the new factory's DC, fork; the child
    (:func:`become_factory`) answers with the builder's key."""
    order = msg.order
    psb, shared_with, hole_bank, caller = msg.keys
    if order in (FC.Create, FC.CreateDC):
        # fcc.ck:332-335: capacity 300, and Domain_GetKey+PSB, the bank just passed
        # (LDENBL, fcc.ck:285), is the KID's second bank too (KIDC_Create, 390-391).
        capacity, hole_bank = f.DEFAULT_HOLES, psb
    else:
        # fcc.ck:284-285: STRUCTTO(holes) over a capacity of 300; no ceiling (the KID
        # holds at most 80 keys whatever it is asked, kidc.ck:66).
        capacity = parm(msg.data, f.DEFAULT_HOLES)
    if not (yield from f.is_official_bank(dom, psb)):  # fcc.ck:338-339
        yield dom.return_(caller, f.NONPROMPT)
        return
    if order in (FC.Create, FC.CreateMHF):
        meter = yield from f.tool(dom, f.T_METER)
        r = yield dom.call((yield from f.tool(dom, f.T_DCC)), DCC.Create, psb, meter)
        if r.rc != 0:
            yield dom.return_(caller, r.rc)
            return
        flags, dc = 0, r.keys[0]
    else:
        r = yield dom.call((yield from f.tool(dom, f.T_FDC)), DC.IdentifyStart, shared_with)
        if r.rc in (RC.NOT_MINE, f.REQUESTOR):
            yield dom.return_(caller, DC_NOT_VALID)
            return
        flags, dc = f.SHAREDDC, (yield dom.call(r.keys[0], Domain.GetKey + DC_REG)).keys[0]
    rc = yield from spawn(
        dom,
        dom.keys[DC_REG],
        psb,
        BIRTH,
        order,
        (psb, dc, hole_bank, caller),
        data=capacity.to_bytes(4, "big") + bytes([flags]),
        install={PSB: psb, BRAND: dom.keys[DOMKEY]},
    )
    if not flags & f.SHAREDDC:
        yield dom.call(dc, DESTROY)  # the fork failed: the new DC goes too
    yield dom.return_(caller, rc)


def become_factory(dom, msg):
    """The FC's child becomes a nascent factory: components node, PTOOLS, a KID
    for its holes; its copy key is component 3. Answers with the builder's key."""
    psb, dc, hole_bank, caller = msg.keys
    capacity, flags = int.from_bytes(msg.data[:4], "big"), msg.data[4]
    meter = yield from f.tool(dom, f.T_METER)
    bought, rc = [], 0
    for _ in range(2):
        r = yield dom.call(psb, SB.CreateNode)
        if r.rc != 0:
            rc = f.NO_SPACE
            break
        bought.append(r.keys[0])
    if rc == 0:
        # fcc.ck:389-391: KIDC_Create KEYSFROM(PSB,METER,SB): the KID is paid from the
        # first bank; a failure is rc 2 like any other (436).
        made = yield dom.call(
            (yield from f.tool(dom, f.T_KIDC)),
            KIDC.Create,
            psb,
            meter,
            hole_bank,
            data=capacity.to_bytes(4, "big"),
        )
        rc = f.NO_SPACE if made.rc else 0
    if rc != 0:
        if not flags & f.SHAREDDC:
            yield dom.call(dc, DESTROY)
        yield from f.undo(dom, psb, bought, caller, rc)
        return
    ptools, comp = bought
    for slot, key in (
        (f.P_PSB, psb),
        (f.P_METER, meter),
        (f.P_DC, dc),
        (f.P_COMP, comp),
        (f.P_KID, made.keys[0]),
    ):
        yield dom.call(ptools, Node.Swap + slot, key)
    weak = (yield dom.call(dc, DC.Weaken)).keys[0]
    me = dom.keys[DOMKEY]
    for reg, key in ((DC_REG, weak), (PTOOLS, ptools), (COMP, comp)):
        yield dom.call(me, Domain.SwapKey + reg, key)
    yield dom.call(comp, Node.Swap + 3, (yield from f.make_keys(dom, f.COPY))[0])
    regs = [0] * 16
    regs[f.ROLE], regs[f.FLAGS], regs[f.AKT] = f.ROLE_FACTORY, flags, f.FR_AKT
    yield dom.call(me, Domain.PutRegs, data=b"".join(v.to_bytes(8, "big") for v in regs))
    yield dom.return_(caller, 0, (yield from f.make_keys(dom, f.BUILDER))[0])
