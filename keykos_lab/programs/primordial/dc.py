"""The domain creator creator (DCC) and domain creators (DC), as domain code.

docs/primer.md#primer-domain-creators, the C release's ``dccc.ck``: a DC builds domains from nodes
it
buys from the bank it is given, puts its *brand* in root slot 0 and hands out a
domain key made with the domain tool, keeping no key to what it built. Only the
holder of the brand and the domain tool — the DC — can later recognise its
domains (IdentifyStart, IdentifyResume, the keeper identifications), destroy
them, or let one destroy itself (DestroyMe, how factory yields die). As in the
C release, a DC's brand is its own domain key.

Key registers — DCC: 0 domain tool, 1 the ``dc`` image page (read-only), 2 the
DCC's own domain key (the brand of every DC it makes), 3 the SBT. DC: 0 domain
tool, 2 its own domain key (its brand), 3 the SBT, which vouches for the banks
it is given (rc 1 otherwise), 4 the bank its own nodes came from, 5 a node
key to its own root (to sell itself back when destroyed), 6 the meter passed to
DCC Create.

A DC destroyed (KT+4, only through an unweakened key) sells its own three nodes
back; the domains it made live on, but no DC will ever recognise them again.

Answers, as ``dccc.ck`` gives them: a domain this DC did not make is rc 3 for
DestroyDomain, DestroyMe and the Sever orders, and rc -1 (no keys) for the
identify orders; a new DC runs on the DCC's own meter (``fork()``,
Dom/support/cfstart.s, copies the forker's); the DCC answers KT+1 when the bank
cannot pay for a new DC.

>>> import keykos_lab as kl
>>> con = kl.Kernel().console
>>> dc = con.call(con["dcc"], DCC.Create, con["bank"], con["meter"]).keys[0]
>>> con.call(dc, DC.IdentifyStart, con["bank"]).rc == RC.NOT_MINE
True
>>> con.call(dc, DC.DestroyDomain, con["bank"], con["bank"]).rc
3
"""

from __future__ import annotations

from keykos_lab.kernel.keys import DK0
from keykos_lab.kernel.oc import DESTROY, KT, RC, SB, Domain, DomTool, Node
from keykos_lab.kernel.process import program

DOMTOOL_REG, IMAGE_REG, SELF_REG, SBT_REG = 0, 1, 2, 3
NOT_A_BANK = 1  # dccc.ck:163, 230 (testbank, 303-315): not an official bank
NOT_MINE = RC.NOT_MINE  # dccc.ck:176, 184: identify: not made by this DC
NOT_OURS = 3  # dccc.ck:170, 210, 245, 257: destroy, sever: not made by this DC
NO_SPACE = 2  # dccc.ck:325, 331 (makedom): the bank sold fewer nodes than needed
NOT_ALL_SOLD = 2  # dccc.ck:292-293 (zapdom): the bank refused a node of the domain
DCC_NO_SPACE = KT + 1  # dccc.ck:110-112: no space for the new DC, "play dead"
DC_AKT, DCC_AKT = 0x0D, 0x10D  # dc.h:34, dcc.h:12; dccc.ck:141, 85
BANK_REG, ROOT_REG, METER_REG = 4, 5, 6
WEAKENED = 1  # dccc.ck:130, 235: databyte of a weakened DC key (cannot destroy the DC)
OLD_CREATE, OLD_DESTROY_ME = 0, 4  # dccc.ck:162, 189: the bank is key 1 / as KT+4
OBSOLETE_DESTROY_CALLER = 0x40000000  # dccc.ck:151-159: + the rc for key 0


class DC:
    """DC order codes (dc.h:36-49; dccc.ck:161-270)."""

    DestroyDomain = 1  # dc.h:36, dccc.ck:167
    IdentifyStart = 2  # dc.h:37, dccc.ck:173
    IdentifyResume = 3  # dc.h:38, dccc.ck:181
    IdentifySegment = 5  # dc.h:39, dccc.ck:193; 6, 7: keeper a resume, domain key
    IdentifySegmentWithResumeKeyKeeper = 6  # dc.h:40, dccc.ck:197
    IdentifySegmentWithDomainKeyKeeper = 7  # dc.h:41, dccc.ck:202
    DestroyMe = 8  # dc.h:42, dccc.ck:207
    IdentifyMeter = 9  # dc.h:43, dccc.ck:214; 10, 11 likewise
    IdentifyMeterWithResumeKeyKeeper = 10  # dc.h:44, dccc.ck:218
    IdentifyMeterWithDomainKeyKeeper = 11  # dc.h:45, dccc.ck:223
    CreateDomain = 12  # dc.h:46, dccc.ck:228
    Weaken = 13  # dc.h:47, dccc.ck:234
    SeverDomain = 14  # dc.h:48, dccc.ck:239
    SeverMe = 15  # dc.h:49, dccc.ck:254


class DCC:
    """DCC order codes (dcc.h:14-15; dccc.ck:80-119)."""

    Create = 0  # dcc.h:14, dccc.ck:95
    Identify = 1  # dcc.h:15, dccc.ck:89


#: DC identify order -> (domain tool order on the key, domain tool order on its keeper)
#: (dccc.ck:193-227, ``doid``)
_IDENTIFY_KEEPER = {
    DC.IdentifySegment: (DomTool.IdentifySegmentStart, DomTool.IdentifyStart),
    DC.IdentifySegmentWithResumeKeyKeeper: (
        DomTool.IdentifySegmentResume,
        DomTool.IdentifyResume,
    ),
    DC.IdentifySegmentWithDomainKeyKeeper: (
        DomTool.IdentifySegmentDomain,
        DomTool.IdentifyDomain,
    ),
    DC.IdentifyMeter: (DomTool.IdentifyMeterStart, DomTool.IdentifyStart),
    DC.IdentifyMeterWithResumeKeyKeeper: (DomTool.IdentifyMeterResume, DomTool.IdentifyResume),
    DC.IdentifyMeterWithDomainKeyKeeper: (DomTool.IdentifyMeterDomain, DomTool.IdentifyDomain),
}


def build_branded_domain(dom, bank, brand):
    """Buy root, keys and registers nodes from ``bank``, link them, brand the root.

    A sub-generator (``yield from``): returns ``(rc, domain key, root node key)``. The bank must
    be one the SBT (key register 3) calls official and prompt, else rc 1; if it
    runs out of space, every node bought is sold back and rc is NO_SPACE.
    """
    if (yield dom.call(dom.keys[SBT_REG], 0, bank)).rc & 0x80:
        return NOT_A_BANK, DK0, DK0
    bought = []
    for _ in range(3):
        r = yield dom.call(bank, SB.CreateNode)
        # Until the SBT vouches for banks, at least insist on getting node keys.
        if r.rc != 0 or (yield dom.call(r.keys[0], KT)).rc != Node.AKT:
            for node in bought:
                yield dom.call(bank, SB.DestroyNode, node)
            return NO_SPACE, DK0, DK0
        bought.append(r.keys[0])
    root, keys_node, regs_node = bought
    yield dom.call(root, Node.Swap + 14, keys_node)
    yield dom.call(root, Node.Swap + 15, regs_node)
    yield dom.call(root, Node.Swap + 0, brand)
    r = yield dom.call(dom.keys[DOMTOOL_REG], DomTool.MakeDomainKey, root)
    return 0, r.keys[0], root


@program("dcc", system=True)
def dcc(dom, msg):
    order = msg.order
    if order == DCC.Create:
        bank, meter = msg.keys[0], msg.keys[1]
        rc, dc, root = yield from build_branded_domain(dom, bank, dom.keys[SELF_REG])
        if rc != 0:  # dccc.ck:97-98 not a bank: 1; 110-112 no space: KT+1
            yield dom.return_(msg.resume, rc=NOT_A_BANK if rc == NOT_A_BANK else DCC_NO_SPACE)
            return
        # fork() gives the new DC the DCC's own meter (cfstart.s: Domain_Get+1 of the
        # forker); the meter passed stays in a key register, unused (dccc.ck:81).
        own_meter = (yield dom.call(dom.keys[SELF_REG], Domain.GetMeter)).keys[0]
        yield dom.call(dc, Domain.SwapMeter, own_meter)
        yield dom.call(dc, Domain.SwapKey + METER_REG, meter)
        yield dom.call(dc, Domain.SwapMemory, dom.keys[IMAGE_REG])
        yield dom.call(dc, Domain.SwapKey + DOMTOOL_REG, dom.keys[DOMTOOL_REG])
        yield dom.call(dc, Domain.SwapKey + SELF_REG, dc)
        yield dom.call(dc, Domain.SwapKey + SBT_REG, dom.keys[SBT_REG])
        yield dom.call(dc, Domain.SwapKey + BANK_REG, bank)
        yield dom.call(dc, Domain.SwapKey + ROOT_REG, root)
        start = (yield dom.call(dc, Domain.MakeStart)).keys[0]
        yield dom.return_(msg.resume, rc=0, keys=(start,))
    elif order == DCC.Identify:
        r = yield dom.call(
            dom.keys[DOMTOOL_REG], DomTool.IdentifyStart, msg.keys[0], dom.keys[SELF_REG]
        )
        yield dom.return_(msg.resume, rc=r.rc)
    elif order == KT:
        yield dom.return_(msg.resume, rc=DCC_AKT)  # dccc.ck:84-87
    else:
        yield dom.return_(msg.resume, rc=RC.INVALIDOC)  # dccc.ck:118


@program("dc", system=True)
def dc(dom, msg):
    order = msg.order
    domtool, brand = dom.keys[DOMTOOL_REG], dom.keys[SELF_REG]
    if order == KT:
        yield dom.return_(msg.resume, rc=DC_AKT)  # dccc.ck:140-143
    elif order in (DESTROY, OLD_DESTROY_ME):  # dccc.ck:145-149, 189-192
        if msg.databyte == WEAKENED:
            # dccc.ck:190 (order 4, in the switch). For KT+4 the C ``break`` at 146 leaves
            # the DC's loop and ends the DC; the simulator answers as 190 does
            # (docs/fidelity.md, Destroying a DC).
            yield dom.return_(msg.resume, rc=RC.INVALIDOC)
            return
        # Reply first: selling the root ends this domain and its handler with it.
        yield dom.fork(msg.resume, 0)
        root = dom.keys[ROOT_REG]
        keys_node = (yield dom.call(root, Node.Fetch + 14)).keys[0]
        regs_node = (yield dom.call(root, Node.Fetch + 15)).keys[0]
        # All three in one sale (zapdom's SB_DestroyThreeNodes): with them go this
        # domain and this handler.
        yield dom.call(dom.keys[BANK_REG], SB.DestroyThreeNodes, keys_node, regs_node, root)
    elif order in (DC.CreateDomain, OLD_CREATE):  # dccc.ck:228-233; 162-166: bank is key 1
        bank = msg.keys[0] if order == DC.CreateDomain else msg.keys[1]
        rc, made, _ = yield from build_branded_domain(dom, bank, brand)
        yield dom.return_(msg.resume, rc=rc, keys=(made,) if rc == 0 else ())
    elif order == DC.DestroyDomain:  # dccc.ck:167-172
        rc = yield from destroy_branded(dom, msg.keys[0], DomTool.IdentifyDomain, msg.keys[1])
        yield dom.return_(msg.resume, rc=NOT_OURS if rc == NOT_MINE else rc)
    elif order in (DC.IdentifyStart, DC.IdentifyResume):  # dccc.ck:173-188
        tool_order = DomTool.IdentifyStart if order == DC.IdentifyStart else DomTool.IdentifyResume
        r = yield dom.call(domtool, tool_order, msg.keys[0], brand)
        if r.rc >= KT:
            yield dom.return_(msg.resume, rc=NOT_MINE)  # dccc.ck:176, 184
            return
        made = yield dom.call(domtool, DomTool.MakeDomainKey, r.keys[0])
        yield dom.return_(msg.resume, rc=r.rc, keys=(made.keys[0],))
    elif order in _IDENTIFY_KEEPER:
        yield from identify_keeper(dom, msg, *_IDENTIFY_KEEPER[order])
    elif order == DC.DestroyMe or order >= OBSOLETE_DESTROY_CALLER:
        # dccc.ck:207-213 (and 151-159): the caller is recognised by the resume key the
        # CALL made; then zapdom, whose rc is not looked at, and the rc (DestroyMe: the
        # first 4 bytes of the string; else order - 0x40000000) goes to key 0.
        if order == DC.DestroyMe:
            rc = int.from_bytes(msg.data[:4].ljust(4, b"\0"), "big")
        else:
            rc = order - OBSOLETE_DESTROY_CALLER
        gone = yield from destroy_branded(dom, msg.resume, DomTool.IdentifyResume, msg.keys[1])
        # dccc.ck:210: rc 3. For 0x40000000 + n the C ``break`` at 155 leaves the DC's loop
        # and ends the DC; the simulator answers the domain tool's -1 (docs/fidelity.md,
        # Destroying a DC).
        if gone == NOT_MINE:
            yield dom.return_(msg.resume, rc=NOT_OURS if order == DC.DestroyMe else NOT_MINE)
            return
        yield dom.return_(msg.keys[0], rc=rc)
    elif order in (DC.SeverDomain, DC.SeverMe):
        yield from sever(dom, msg)
    elif order == DC.Weaken:
        r = yield dom.call(brand, Domain.MakeStart, data=bytes([WEAKENED]))
        yield dom.return_(msg.resume, rc=0, keys=r.keys[:1])
    else:
        yield dom.return_(msg.resume, rc=RC.INVALIDOC)  # dccc.ck:267-269


def sever(dom, msg):
    """SeverDomain (14): a new root for a domain of ours, every old key to it dead;
    SeverMe (15): the same for the caller, which gets its new domain key back."""
    domtool, brand = dom.keys[DOMTOOL_REG], dom.keys[SELF_REG]
    if msg.order == DC.SeverDomain:
        r = yield dom.call(domtool, DomTool.IdentifyStart, msg.keys[0], brand)
        if r.rc == NOT_MINE:
            r = yield dom.call(domtool, DomTool.IdentifyResume, msg.keys[0], brand)
    else:
        r = yield dom.call(domtool, DomTool.IdentifyResume, msg.resume, brand)
    if r.rc == NOT_MINE:
        yield dom.return_(msg.resume, rc=NOT_OURS)  # dccc.ck:245, 257
        return
    bank = msg.keys[1]
    if (yield dom.call(dom.keys[SBT_REG], 0, bank)).rc & 0x80:
        yield dom.return_(msg.resume, rc=NOT_A_BANK)
        return
    severed = yield dom.call(bank, SB.SeverNode, r.keys[0])
    if severed.rc != 0:
        yield dom.return_(msg.resume, rc=severed.rc)
        return
    made = (yield dom.call(domtool, DomTool.MakeDomainKey, severed.keys[0])).keys[0]
    if msg.order == DC.SeverMe:
        # The caller's resume key died with its old root: it gets a fault key.
        fault = (yield dom.call(made, Domain.MakeBusy)).keys[0]
        yield dom.return_(fault, rc=0, keys=(made,))
        return
    yield dom.return_(msg.resume, rc=0, keys=(made,))


def destroy_branded(dom, key, identify_order, bank):
    """Sell a domain of this DC's brand back to ``bank``; rc, NOT_MINE if not ours."""
    r = yield dom.call(dom.keys[DOMTOOL_REG], identify_order, key, dom.keys[SELF_REG])
    if r.rc == NOT_MINE:
        return NOT_MINE
    if (yield dom.call(dom.keys[SBT_REG], 0, bank)).rc & 0x80:
        return NOT_A_BANK  # zapdom's testbank: never hand a domain's nodes to a fake bank
    root = r.keys[0]
    parts = []
    for slot in (14, 15):
        parts.append((yield dom.call(root, Node.Fetch + slot)).keys[0])
    # zapdom, dccc.ck:292-293: one SB_DestroyThreeNodes; any refusal is rc 2.
    sold = yield dom.call(bank, SB.DestroyThreeNodes, root, *parts)
    return NOT_ALL_SOLD if sold.rc else 0


def identify_keeper(dom, msg, first, second):
    """``doid`` (dccc.ck:347-361): the domain tool names the segment or meter node and
    the keeper's slot; the keeper must be a domain of ours. rc the keeper key's
    databyte, keys our domain key to the keeper and a node key to the node; the
    domain tool's rc (-1) and no keys otherwise (dccc.ck:354, 357)."""
    domtool, brand = dom.keys[DOMTOOL_REG], dom.keys[SELF_REG]
    r = yield dom.call(domtool, first, msg.keys[0], brand)
    if r.rc >= KT:
        yield dom.return_(msg.resume, rc=r.rc)
        return
    node = r.keys[0]
    keeper = (yield dom.call(node, Node.Fetch + (r.rc >> 8))).keys[0]
    k = yield dom.call(domtool, second, keeper, brand)
    if k.rc >= KT:
        yield dom.return_(msg.resume, rc=k.rc, keys=(DK0, node))
        return
    made = (yield dom.call(domtool, DomTool.MakeDomainKey, k.keys[0])).keys[0]
    yield dom.return_(msg.resume, rc=r.rc & 0xFF, keys=(made, node))
