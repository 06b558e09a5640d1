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
key to its own root (to sell itself back when destroyed).

A DC destroyed (KT+4, only through an unweakened key) sells its own three nodes
back; the domains it made live on, but no DC will ever recognise them again.
"""

from __future__ import annotations

from keykos_lab.kernel.keys import DK0
from keykos_lab.kernel.oc import DESTROY, KT, RC, SB, Domain, DomTool, Node
from keykos_lab.kernel.process import program

DOMTOOL_REG, IMAGE_REG, SELF_REG, SBT_REG = 0, 1, 2, 3
NOT_A_BANK = 1  # sb.h NONPROMPTSB_RC: not an official, prompt bank
NOT_MINE = RC.NOT_MINE
NO_SPACE = 2  # sb.h NOSPACE_RC: the bank sold fewer nodes than needed
DC_AKT, DCC_AKT = 0x0D, 0x10D
BANK_REG, ROOT_REG = 4, 5
SELL_THREE = 10  # sb.h SB_DestroyNodes3
WEAKENED = 1  # databyte of a weakened DC key: cannot destroy the DC


class DC:
    """DC order codes (dc.h)."""

    DestroyDomain = 1
    IdentifyStart = 2
    IdentifyResume = 3
    IdentifySegment = 5  # 5, 6, 7: keeper by start, resume, domain key
    DestroyMe = 8
    IdentifyMeter = 9  # 9, 10, 11
    CreateDomain = 12
    Weaken = 13
    SeverDomain = 14
    SeverMe = 15


class DCC:
    Create = 0
    Identify = 1


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
        if rc != 0:
            yield dom.return_(msg.resume, rc=rc)
            return
        yield dom.call(dc, Domain.SwapMeter, meter)
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
        yield dom.return_(msg.resume, rc=DCC_AKT)
    else:
        yield dom.return_(msg.resume, rc=RC.INVALIDOC)


@program("dc", system=True)
def dc(dom, msg):
    order = msg.order
    domtool, brand = dom.keys[DOMTOOL_REG], dom.keys[SELF_REG]
    if order == DC.CreateDomain:
        rc, made, _ = yield from build_branded_domain(dom, msg.keys[0], brand)
        yield dom.return_(msg.resume, rc=rc, keys=(made,))
    elif order == DC.DestroyDomain:
        rc = yield from destroy_branded(dom, msg.keys[0], DomTool.IdentifyDomain, msg.keys[1])
        yield dom.return_(msg.resume, rc=rc)
    elif order in (DC.IdentifyStart, DC.IdentifyResume):
        tool_order = DomTool.IdentifyStart if order == DC.IdentifyStart else DomTool.IdentifyResume
        r = yield dom.call(domtool, tool_order, msg.keys[0], brand)
        if r.rc == NOT_MINE:
            yield dom.return_(msg.resume, rc=NOT_MINE)
            return
        made = yield dom.call(domtool, DomTool.MakeDomainKey, r.keys[0])
        yield dom.return_(msg.resume, rc=r.rc, keys=(made.keys[0],))
    elif order in (5, 6, 7, 9, 10, 11):
        r = yield dom.call(domtool, order, msg.keys[0], brand)
        yield dom.return_(msg.resume, rc=r.rc, keys=r.keys[:1])
    elif order == DC.DestroyMe:
        # The caller is recognised by the resume key the CALL made; its rc (the
        # first 4 bytes of the string) goes to the key it passed first.
        rc = int.from_bytes(msg.data[:4], "big") if msg.data else 0
        gone = yield from destroy_branded(dom, msg.resume, DomTool.IdentifyResume, msg.keys[1])
        if gone != 0:
            yield dom.return_(msg.resume, rc=gone)
            return
        yield dom.return_(msg.keys[0], rc=rc)
    elif order in (DC.SeverDomain, DC.SeverMe):
        yield from sever(dom, msg)
    elif order == DESTROY and msg.databyte != WEAKENED:
        # Reply first: selling the root ends this domain and its handler with it.
        yield dom.fork(msg.resume, 0)
        root = dom.keys[ROOT_REG]
        keys_node = (yield dom.call(root, Node.Fetch + 14)).keys[0]
        regs_node = (yield dom.call(root, Node.Fetch + 15)).keys[0]
        # All three in one sale (zapdom's SB_DestroyThreeNodes): with them go this
        # domain and this handler.
        yield dom.call(dom.keys[BANK_REG], SELL_THREE, keys_node, regs_node, root)
    elif order == DC.Weaken:
        r = yield dom.call(brand, Domain.MakeStart, data=bytes([WEAKENED]))
        yield dom.return_(msg.resume, rc=0, keys=r.keys[:1])
    elif order == KT:
        yield dom.return_(msg.resume, rc=DC_AKT)
    else:
        yield dom.return_(msg.resume, rc=RC.INVALIDOC)


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
        yield dom.return_(msg.resume, rc=NO_SPACE + 1)  # dccc.ck: rc 3, not ours
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
    rc = 0
    for node in (*parts, root):
        sold = yield dom.call(bank, SB.DestroyNode, node)
        rc = rc or sold.rc
    return rc
