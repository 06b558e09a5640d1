"""The space bank and the space bank transformer, as domain code (docs/primer.md#primer-space-bank).

Every bank is a domain running ``spacebank`` that holds the closely held
node-range and page-range keys. Buying returns the *only* key to a fresh object;
the bank keeps its own key to it in a ledger (a key chain) so that selling,
severing and destroying the whole bank can find it — and never hands that key
out. A sub-bank (CreateBank) is a new bank domain built by its parent from the
range keys; a page or node bought from a sub-bank counts against the limits of
the bank and every ancestor. DestroyBankAndSpace destroys the bank, its
sub-banks depth first and everything bought from any of them: every key to
those objects reads as DK(0) afterwards.

Rights are start-key facets (databyte bits): 1 forbids destroying the bank,
2 forbids queries, 4 forbids changing limits; Forbid (32 + bits) hands out a
weaker key. The facet 0x80 is the banks' own: a child charges its parent and
asks to be reaped through it, a parent destroys a child's space through it.

All banks carry one brand (root slot 0); the SBT holds that brand and the domain
tool, so it can tell an official bank from a domain that merely answers like one.

Key registers: 0 node range, 1 page range, 2 parent (0x80 facet) or DK(0),
3 ledger, 4 children (node keys to sub-bank roots), 5 own domain key,
6 domain tool, 7 bank brand, 8 Discrim, 9 the ``spacebank`` image, 10 KeyBits.
Data registers: 0 node limit, 1 page limit, 2 nodes in use, 3 pages in use (the
bank's own and its sub-banks'), 4 ledger length, 5 number of sub-banks.
"""

from __future__ import annotations

import struct

from keykos_lab.kernel.keys import DK0
from keykos_lab.kernel.oc import KT, RC, Domain, DomTool, Node
from keykos_lab.kernel.process import program
from keykos_lab.programs import keychain

(
    NODE_RANGE,
    PAGE_RANGE,
    PARENT,
    LEDGER,
    CHILDREN,
    SELF,
    DOMTOOL_REG,
    BRAND,
    DISCRIM,
    IMAGE,
    KEYBITS_REG,
) = range(11)
PAGE_TYPE, NODE_TYPE = 1, 3  # kernel key types, as KeyBits reports them
NODE_LIMIT, PAGE_LIMIT, NODES, PAGES, LEDGER_N, CHILDREN_N = range(6)
UNLIMITED = 1 << 62
FORBID_DESTROY, FORBID_QUERY, FORBID_LIMITS, INTERNAL = 1, 2, 4, 0x80
NO_SPACE = 2
NOT_FROM_HERE = 1
SB_AKT, SBT_AKT = 0x0C, 0x40C
# internal orders on the 0x80 facet
CHARGE, REAP, DESTROY_SPACE = 1, 2, 3
_PAIR = struct.Struct(">qq")


class SB:
    """Space bank order codes (sb.h)."""

    CreateNode, DestroyNode, SeverNode = 0, 1, 2
    QueryNodeSpace, NodeStatistics, CreateNodes2, CreateNodes3 = 5, 6, 7, 8
    DestroyNodes2, DestroyNodes3, ChangeNodeLimit, ChangeNodeLimit64 = 9, 10, 11, 13
    NodesAvailable = 14
    CreatePage, DestroyPage, SeverPage = 16, 17, 18
    QueryPageSpace, PageStatistics, CreatePages2, CreatePages3 = 21, 22, 23, 24
    DestroyPages2, DestroyPages3, ChangePageLimit, ChangePageLimit64 = 25, 26, 27, 29
    PagesAvailable = 30
    Forbid = 32  #: + rights bits 1..7
    DestroyBankAndSpace, FullStatistics, VerifyBank, CreateBank = 64, 65, 66, 67


_BUY = {
    SB.CreateNode: (True, 1),
    SB.CreateNodes2: (True, 2),
    SB.CreateNodes3: (True, 3),
    SB.CreatePage: (False, 1),
    SB.CreatePages2: (False, 2),
    SB.CreatePages3: (False, 3),
}
_SELL = {
    SB.DestroyNode: (True, 1),
    SB.DestroyNodes2: (True, 2),
    SB.DestroyNodes3: (True, 3),
    SB.DestroyPage: (False, 1),
    SB.DestroyPages2: (False, 2),
    SB.DestroyPages3: (False, 3),
}
_QUERIES = {
    SB.QueryNodeSpace,
    SB.NodeStatistics,
    SB.NodesAvailable,
    SB.QueryPageSpace,
    SB.PageStatistics,
    SB.PagesAvailable,
    SB.FullStatistics,
}
_LIMITS = {
    SB.ChangeNodeLimit: (True, 4),
    SB.ChangeNodeLimit64: (True, 8),
    SB.ChangePageLimit: (False, 4),
    SB.ChangePageLimit64: (False, 8),
}


# ----------------------------------------------------------------- helpers
def _ledger(dom):
    return (yield from keychain.entries(dom, dom.keys[LEDGER], dom.regs[LEDGER_N]))


def _ledger_add(dom, key) -> bool:
    n = dom.regs[LEDGER_N]
    ok = yield from keychain.store(dom, LEDGER, n, key, (dom.keys[NODE_RANGE], 0))
    if ok:
        dom.regs[LEDGER_N] = n + 1
    return ok


def _ledger_remove(dom, ledger, index) -> None:
    """Drop entry ``index`` (the last entry takes its place)."""
    last = ledger.pop()
    if index < len(ledger):
        ledger[index] = last
        yield from keychain.store(dom, LEDGER, index, last, (dom.keys[NODE_RANGE], 0))
    dom.regs[LEDGER_N] = len(ledger)


def _charge(dom, nodes: int, pages: int) -> bool:
    """Count ``nodes`` and ``pages`` (may be negative) here and in every ancestor."""
    if nodes > 0 and dom.regs[NODES] + nodes > dom.regs[NODE_LIMIT]:
        return False
    if pages > 0 and dom.regs[PAGES] + pages > dom.regs[PAGE_LIMIT]:
        return False
    parent = dom.keys[PARENT]
    if parent != DK0:
        r = yield dom.call(parent, CHARGE, data=_PAIR.pack(nodes, pages))
        if r.rc != 0:
            return False
    dom.regs[NODES] = max(0, dom.regs[NODES] + nodes)
    dom.regs[PAGES] = max(0, dom.regs[PAGES] + pages)
    return True


def _buy(dom, is_node: bool, n: int):
    if not (yield from _charge(dom, n if is_node else 0, 0 if is_node else n)):
        return NO_SPACE, ()
    rng = dom.keys[NODE_RANGE if is_node else PAGE_RANGE]
    got = []
    for _ in range(n):
        key = (yield dom.call(rng, 0)).keys[0]
        got.append(key)
        if not (yield from _ledger_add(dom, key)):
            # no node for the ledger itself: give everything back
            for k in got:
                yield dom.call(rng, 1, k)
            yield from _charge(dom, -n if is_node else 0, 0 if is_node else -n)
            return NO_SPACE, ()
    return 0, tuple(got)


def _sell(dom, is_node: bool, keys, sever: bool = False):
    ledger = yield from _ledger(dom)
    rng = dom.keys[NODE_RANGE if is_node else PAGE_RANGE]
    fresh = []
    for key in keys:
        # A bank must stay prompt: it never invokes a key it was handed, only asks
        # the kernel (KeyBits) what the key is.
        bits = (yield dom.call(dom.keys[KEYBITS_REG], 0, key)).data
        ktype, databyte = bits[4], bits[5]
        if ktype != (NODE_TYPE if is_node else PAGE_TYPE) or (not is_node and databyte):
            return NOT_FROM_HERE, ()
        if is_node:  # any node key to the node will do: the ledger holds databyte 0
            key = (yield dom.call(key, Node.MakeNodeKey, data=b"\0")).keys[0]
        i = yield from keychain.find(dom, dom.keys[DISCRIM], key, ledger)
        if i < 0:
            return NOT_FROM_HERE, ()
        r = yield dom.call(rng, 2 if sever else 1, key)
        if r.rc != 0:
            return r.rc, ()
        if sever:
            ledger[i] = r.keys[0]
            yield from keychain.store(dom, LEDGER, i, r.keys[0], (dom.keys[NODE_RANGE], 0))
            fresh.append(r.keys[0])
        else:
            yield from _ledger_remove(dom, ledger, i)
            yield from _charge(dom, -1 if is_node else 0, 0 if is_node else -1)
    return 0, tuple(fresh)


def _destroy_space(dom):
    """Destroy every sub-bank's space, then every object in the ledger."""
    children = yield from keychain.entries(dom, dom.keys[CHILDREN], dom.regs[CHILDREN_N])
    for root in children:
        child = (yield dom.call(dom.keys[DOMTOOL_REG], DomTool.MakeDomainKey, root)).keys[0]
        inner = (yield dom.call(child, Domain.MakeStart, data=bytes([INTERNAL]))).keys[0]
        yield dom.call(inner, DESTROY_SPACE)
    for key in (yield from _ledger(dom)):
        is_node = (yield dom.call(key, KT)).rc == Node.AKT
        yield dom.call(dom.keys[NODE_RANGE if is_node else PAGE_RANGE], 1, key)
    dom.regs[LEDGER_N] = dom.regs[CHILDREN_N] = 0
    dom.regs[NODES] = dom.regs[PAGES] = 0
    dom.keys[LEDGER] = DK0
    dom.keys[CHILDREN] = DK0


def _create_bank(dom):
    """Build a sub-bank domain from the node range; its nodes are our space."""
    rc, nodes = yield from _buy(dom, True, 3)
    if rc:
        return rc, DK0
    root, keys_node, regs_node = nodes
    yield dom.call(root, Node.Swap + 14, keys_node)
    yield dom.call(root, Node.Swap + 15, regs_node)
    yield dom.call(root, Node.Swap + 0, dom.keys[BRAND])
    child = (yield dom.call(dom.keys[DOMTOOL_REG], DomTool.MakeDomainKey, root)).keys[0]
    meter = (yield dom.call(dom.keys[SELF], Domain.GetMeter)).keys[0]
    inner = (yield dom.call(dom.keys[SELF], Domain.MakeStart, data=bytes([INTERNAL]))).keys[0]
    yield dom.call(child, Domain.SwapMeter, meter)
    yield dom.call(child, Domain.SwapMemory, dom.keys[IMAGE])
    for reg, key in (
        (NODE_RANGE, dom.keys[NODE_RANGE]),
        (PAGE_RANGE, dom.keys[PAGE_RANGE]),
        (PARENT, inner),
        (SELF, child),
        (DOMTOOL_REG, dom.keys[DOMTOOL_REG]),
        (BRAND, dom.keys[BRAND]),
        (DISCRIM, dom.keys[DISCRIM]),
        (IMAGE, dom.keys[IMAGE]),
        (KEYBITS_REG, dom.keys[KEYBITS_REG]),
    ):
        yield dom.call(child, Domain.SwapKey + reg, key)
    regs = struct.pack(">16Q", UNLIMITED, UNLIMITED, *([0] * 14))
    yield dom.call(child, Domain.PutRegs, data=regs)
    n = dom.regs[CHILDREN_N]
    yield from keychain.store(dom, CHILDREN, n, root, (dom.keys[NODE_RANGE], 0))
    dom.regs[CHILDREN_N] = n + 1
    return 0, (yield dom.call(child, Domain.MakeStart)).keys[0]


def _reap(dom, child_domain_key, nodes_used: int, pages_used: int):
    """Destroy a child bank's own three nodes after it destroyed its space."""
    r = yield dom.call(
        dom.keys[DOMTOOL_REG], DomTool.IdentifyDomain, child_domain_key, dom.keys[BRAND]
    )
    root = r.keys[0]
    children = yield from keychain.entries(dom, dom.keys[CHILDREN], dom.regs[CHILDREN_N])
    i = yield from keychain.find(dom, dom.keys[DISCRIM], root, children)
    if r.rc == RC.NOT_MINE or i < 0:
        return NOT_FROM_HERE
    last = children.pop()
    if i < len(children):
        yield from keychain.store(dom, CHILDREN, i, last, (dom.keys[NODE_RANGE], 0))
    dom.regs[CHILDREN_N] = len(children)
    # The child's usage left with its space; its own nodes go now.
    yield from _charge(dom, -nodes_used, -pages_used)
    parts = []
    for slot in (14, 15):
        parts.append((yield dom.call(root, Node.Fetch + slot)).keys[0])
    rc, _ = yield from _sell(dom, True, (*parts, root))
    return rc


# ------------------------------------------------------------------ programs
@program("spacebank", system=True)
def spacebank(dom, msg):
    order, rights = msg.order, msg.databyte
    if rights & INTERNAL:
        yield from _internal(dom, msg)
        return
    rc, keys, data = RC.INVALIDOC, (), b""
    if order in _BUY:
        rc, keys = yield from _buy(dom, *_BUY[order])
    elif order in _SELL:
        is_node, n = _SELL[order]
        rc, keys = yield from _sell(dom, is_node, msg.keys[:n])
    elif order in (SB.SeverNode, SB.SeverPage):
        rc, keys = yield from _sell(dom, order == SB.SeverNode, msg.keys[:1], sever=True)
    elif order in _QUERIES and not rights & FORBID_QUERY:
        rc, data = 0, _query(dom, order)
    elif order in _LIMITS and not rights & FORBID_LIMITS:
        is_node, width = _LIMITS[order]
        rc = _change_limit(dom, is_node, msg.data, width)
    elif SB.Forbid < order < SB.Forbid + 8:
        start = yield dom.call(
            dom.keys[SELF], Domain.MakeStart, data=bytes([rights | (order - SB.Forbid)])
        )
        rc, keys = 0, start.keys[:1]
    elif order == SB.CreateBank:
        rc, child = yield from _create_bank(dom)
        keys = (child,)
    elif order == SB.VerifyBank:
        r = yield dom.call(
            dom.keys[DOMTOOL_REG], DomTool.IdentifyStart, msg.keys[0], dom.keys[BRAND]
        )
        rc = 0 if r.rc != RC.NOT_MINE and not r.rc & INTERNAL else 1
    elif order in (SB.DestroyBankAndSpace, KT + 4) and not rights & FORBID_DESTROY:
        if dom.keys[PARENT] == DK0:
            rc = RC.INVALIDOC  # the prime bank is not destroyed
        else:
            used = _PAIR.pack(dom.regs[NODES], dom.regs[PAGES])
            yield from _destroy_space(dom)
            # The parent destroys our own nodes and answers our caller.
            yield dom.return_(
                dom.keys[PARENT], REAP, dom.keys[SELF], DK0, DK0, msg.resume, data=used
            )
            return
    elif order == KT:
        rc = SB_AKT
    yield dom.return_(msg.resume, rc=rc, keys=keys, data=data)


def _internal(dom, msg):
    order = msg.order
    if order == CHARGE:
        nodes, pages = _PAIR.unpack(msg.data[:16])
        ok = yield from _charge(dom, nodes, pages)
        yield dom.return_(msg.resume, rc=0 if ok else NO_SPACE)
    elif order == DESTROY_SPACE:
        yield from _destroy_space(dom)
        yield dom.return_(msg.resume, rc=0)
    elif order == REAP:
        nodes, pages = _PAIR.unpack(msg.data[:16])
        rc = yield from _reap(dom, msg.keys[0], nodes, pages)
        yield dom.return_(msg.keys[3], rc=rc)
    else:
        yield dom.return_(msg.resume, rc=RC.INVALIDOC)


def _query(dom, order) -> bytes:
    regs = dom.regs
    if order in (SB.QueryNodeSpace, SB.NodeStatistics):
        return _PAIR.pack(regs[NODE_LIMIT], regs[NODES])
    if order in (SB.QueryPageSpace, SB.PageStatistics):
        return _PAIR.pack(regs[PAGE_LIMIT], regs[PAGES])
    if order == SB.NodesAvailable:
        return (regs[NODE_LIMIT] - regs[NODES]).to_bytes(8, "big")
    if order == SB.PagesAvailable:
        return (regs[PAGE_LIMIT] - regs[PAGES]).to_bytes(8, "big")
    return _PAIR.pack(regs[NODE_LIMIT], regs[NODES]) + _PAIR.pack(regs[PAGE_LIMIT], regs[PAGES])


def _change_limit(dom, is_node: bool, data: bytes, width: int) -> int:
    if len(data) < width:
        return RC.BADSTRING
    delta = int.from_bytes(data[:width], "big", signed=True)
    limit_reg, used_reg = (NODE_LIMIT, NODES) if is_node else (PAGE_LIMIT, PAGES)
    new = dom.regs[limit_reg] + delta
    if new < dom.regs[used_reg] or new > UNLIMITED:
        return 1
    dom.regs[limit_reg] = new
    return 0


@program("sbt", system=True)
def sbt(dom, msg):
    """Space bank transformer: order 0 tells whether a key is an official, prompt bank
    (rc 0, or with bit 0x80 set when it is not acceptable). Key registers: 0 domain
    tool, 1 the bank brand."""
    if msg.order == 0:
        r = yield dom.call(dom.keys[0], DomTool.IdentifyStart, msg.keys[0], dom.keys[1])
        ok = r.rc != RC.NOT_MINE and not r.rc & INTERNAL
        yield dom.return_(msg.resume, rc=0 if ok else 0x80)
    elif msg.order == KT:
        yield dom.return_(msg.resume, rc=SBT_AKT)
    else:
        yield dom.return_(msg.resume, rc=RC.INVALIDOC)
