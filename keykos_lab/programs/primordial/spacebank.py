"""The space bank and the space bank transformer, as domain code (docs/primer.md#primer-space-bank).

The C release's ``Dom/primordial/sbc.ck``; order and return codes are
``keykos_lab.kernel.oc.SB`` and ``oc.SBT`` (``sb.h``, ``sbt.h``), each citing the
line of ``sbc.ck`` it follows.

Every bank is a domain running ``spacebank`` that holds the closely held
node-range and page-range keys. Buying returns the *only* key to a fresh object;
the bank keeps its own key to it in a ledger (a key chain) so that selling,
severing and destroying the whole bank can find it — and never hands that key
out. A sub-bank (CreateBank) is a new bank domain built by its parent from the
range keys; as in ``sbc.ck`` (``create_subbank``), the nodes a bank is made of
and its bookkeeping nodes are charged to no bank. A page or node bought from a
sub-bank counts against the limits of the bank and every ancestor
(``check_node_allocation``). DestroyBankAndSpace destroys the bank, its
sub-banks depth first, everything bought from any of them and their own nodes:
every key to those objects reads as DK(0) afterwards, and every ancestor counts
what the bank had in use as sold (``queue_for_shiva``, sbc.ck:1366-1373).

Rights are start-key facets (databyte bits, ``SB.NO_DESTROY`` 1, ``NO_QUERY`` 2,
``NO_CHANGE_LIMITS`` 4); Forbid (32 + bits) hands out a weaker key. The facet
0x80 is the banks' own: a child charges its parent and asks to be reaped through
it, a parent destroys a child's space through it.

All banks carry one brand (root slot 0); the SBT holds that brand and the domain
tool, so it can tell an official bank from a domain that merely answers like one.

Key registers: 0 node range, 1 page range, 2 parent (0x80 facet) or DK(0),
3 ledger, 4 children (node keys to sub-bank roots), 5 own domain key,
6 domain tool, 7 bank brand, 8 Discrim, 9 the ``spacebank`` image, 10 KeyBits.
Data registers: 0 node limit, 1 page limit, 2 nodes in use, 3 pages in use (the
bank's own and its sub-banks'), 4 ledger length, 5 number of sub-banks,
6 nodes sold back, 7 pages sold back (``sbd``'s ``node_sells``, ``page_sells``).

>>> import keykos_lab as kl
>>> con = kl.Kernel().console
>>> sub = con.call(con["bank"], SB.CreateBank).keys[0]
>>> con.call(sub, SB.CreatePage).rc, con.call(sub, SB.VerifyBank, sub).rc
(0, 0)
>>> con.call(sub, SB.QueryPageStatistics).data.hex()
'0000000100000000'
"""

from __future__ import annotations

import struct

from keykos_lab.kernel.keys import DK0
from keykos_lab.kernel.oc import KT, RC, SB, SBT, Domain, DomTool, Node, Range
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
NODE_LIMIT, PAGE_LIMIT, NODES, PAGES, LEDGER_N, CHILDREN_N, NODE_SELLS, PAGE_SELLS = range(8)
UNLIMITED = SB.LIMIT  #: a new bank's limits: 2**32 - 1 (sbc.ck:513-516, 1207-1212)
FORBID_DESTROY, FORBID_QUERY, FORBID_LIMITS = SB.NO_DESTROY, SB.NO_QUERY, SB.NO_CHANGE_LIMITS
INTERNAL = 0x80
NO_SPACE = SB.NO_SPACE
OVER_LIMIT = SB.OVER_LIMIT
NOT_FROM_HERE = SB.NOT_GUARDED
SB_AKT, SBT_AKT = SB.AKT, SBT.AKT
# internal orders on the 0x80 facet
CHARGE, REAP, DESTROY_SPACE, AVAILABLE = 1, 2, 3, 4
_CHARGE = struct.Struct(">qqqq")  # nodes, pages, node sells, page sells
_PAIR = struct.Struct(">qq")
_M64 = (1 << 64) - 1

_BUY = {
    SB.CreateNode: (True, 1),
    SB.CreateTwoNodes: (True, 2),
    SB.CreateThreeNodes: (True, 3),
    SB.CreatePage: (False, 1),
    SB.CreateTwoPages: (False, 2),
    SB.CreateThreePages: (False, 3),
}
_SELL = {
    SB.DestroyNode: (True, 1),
    SB.DestroyTwoNodes: (True, 2),
    SB.DestroyThreeNodes: (True, 3),
    SB.DestroyPage: (False, 1),
    SB.DestroyTwoPages: (False, 2),
    SB.DestroyThreePages: (False, 3),
}
_QUERIES = {
    SB.QueryNodeSpace,
    SB.QueryNodeStatistics,
    SB.QueryNodesAvailable,
    SB.QueryPageSpace,
    SB.QueryPageStatistics,
    SB.QueryPagesAvailable,
    SB.QueryStatistics,
}
_LIMITS = {  # order: (node?, small?) — sbc.ck:618, 645, 736, 763
    SB.ChangeSmallNodeLimit: (True, True),
    SB.ChangeNodeLimit: (True, False),
    SB.ChangeSmallPageLimit: (False, True),
    SB.ChangePageLimit: (False, False),
}


# ----------------------------------------------------------------- helpers
def _ledger(dom):
    return (yield from keychain.entries(dom, dom.keys[LEDGER], dom.regs[LEDGER_N]))


def _ledger_add(dom, key) -> bool:
    n = dom.regs[LEDGER_N]
    ok = yield from keychain.store(dom, LEDGER, n, key, (dom.keys[NODE_RANGE], Range.Create))
    if ok:
        dom.regs[LEDGER_N] = n + 1
    return ok


def _ledger_remove(dom, ledger, index) -> None:
    """Drop entry ``index`` (the last entry takes its place)."""
    last = ledger.pop()
    if index < len(ledger):
        ledger[index] = last
        yield from keychain.store(dom, LEDGER, index, last, (dom.keys[NODE_RANGE], Range.Create))
    dom.regs[LEDGER_N] = len(ledger)


def _charge(dom, nodes: int, pages: int, node_sells: int = 0, page_sells: int = 0) -> bool:
    """Count ``nodes`` and ``pages`` (may be negative) and sales here and in every
    ancestor; a rise past a limit anywhere is refused (check_node_allocation,
    sbc.ck:2014-2042: full when ``allocated >= limit``)."""
    if nodes > 0 and dom.regs[NODES] + nodes > dom.regs[NODE_LIMIT]:
        return False
    if pages > 0 and dom.regs[PAGES] + pages > dom.regs[PAGE_LIMIT]:
        return False
    parent = dom.keys[PARENT]
    if parent != DK0:
        data = _CHARGE.pack(nodes, pages, node_sells, page_sells)
        if (yield dom.call(parent, CHARGE, data=data)).rc != 0:
            return False
    dom.regs[NODES] = max(0, dom.regs[NODES] + nodes)
    dom.regs[PAGES] = max(0, dom.regs[PAGES] + pages)
    dom.regs[NODE_SELLS] += node_sells
    dom.regs[PAGE_SELLS] += page_sells
    return True


def _buy(dom, is_node: bool, n: int):
    """CreateNode … CreateThreePages: rc 4 over a limit (sbc.ck:1483, 1530), 1 when
    no object can be had (could_not_allocate, sbc.ck:1449-1463); all or none."""
    if not (yield from _charge(dom, n if is_node else 0, 0 if is_node else n)):
        return OVER_LIMIT, ()
    rng = dom.keys[NODE_RANGE if is_node else PAGE_RANGE]
    got = []
    for _ in range(n):
        key = (yield dom.call(rng, Range.Create)).keys[0]
        got.append(key)
        if not (yield from _ledger_add(dom, key)):
            # no node for the ledger itself: give everything back, unsold
            # (destroy_never_returned, sbc.ck:1689-1712)
            for k in got:
                yield dom.call(rng, Range.Destroy, k)
            yield from _charge(dom, -n if is_node else 0, 0 if is_node else -n)
            return NO_SPACE, ()
    return 0, tuple(got)


def _find(dom, is_node: bool, key, ledger):
    """The ledger index of the object ``key`` designates, or -1 (not_guarding_node,
    sbc.ck:1930-1960): a node key with any databyte, a read-write page key."""
    # A bank must stay prompt: it never invokes a key it was handed, only asks
    # the kernel (KeyBits) what the key is.
    bits = (yield dom.call(dom.keys[KEYBITS_REG], 0, key)).data
    ktype, databyte = bits[4], bits[5]
    if ktype != (NODE_TYPE if is_node else PAGE_TYPE) or (not is_node and databyte):
        return -1, key
    if is_node:  # any node key to the node will do: the ledger holds databyte 0
        key = (yield dom.call(key, Node.MakeNodeKey, data=b"\0")).keys[0]
    return (yield from keychain.find(dom, dom.keys[DISCRIM], key, ledger)), key


def _sell(dom, is_node: bool, keys) -> int:
    """DestroyNode … DestroyThreePages: key i adds ``2**i`` to the rc when this bank
    did not sell it (sbc.ck:605-617, 723-735); each sale counts as one sold
    (destroy_node, sbc.ck:1616-1633)."""
    ledger = yield from _ledger(dom)
    rng = dom.keys[NODE_RANGE if is_node else PAGE_RANGE]
    rc = 0
    for bit, key in enumerate(keys):
        i, key = yield from _find(dom, is_node, key, ledger)
        if i < 0:
            rc += NOT_FROM_HERE << bit
            continue
        yield dom.call(rng, Range.Destroy, key)
        yield from _ledger_remove(dom, ledger, i)
        if is_node:
            yield from _charge(dom, -1, 0, 1, 0)
        else:
            yield from _charge(dom, 0, -1, 0, 1)
    return rc


def _sever(dom, is_node: bool, key):
    """SeverNode, SeverPage: rc 1 if not ours (sbc.ck:1731-1760), else a new key."""
    ledger = yield from _ledger(dom)
    i, key = yield from _find(dom, is_node, key, ledger)
    if i < 0:
        return NOT_FROM_HERE, ()
    r = yield dom.call(dom.keys[NODE_RANGE if is_node else PAGE_RANGE], Range.Sever, key)
    ledger[i] = r.keys[0]
    yield from keychain.store(dom, LEDGER, i, r.keys[0], (dom.keys[NODE_RANGE], Range.Create))
    return 0, (r.keys[0],)


def _destroy_space(dom):
    """Destroy every sub-bank (its space, then its own nodes), every object in the
    ledger and the nodes of the ledger and children chains (destroy_this_bank and
    sbshivac.ck: nothing of a destroyed bank is left)."""
    nrange = dom.keys[NODE_RANGE]
    children = yield from keychain.entries(dom, dom.keys[CHILDREN], dom.regs[CHILDREN_N])
    for root in children:
        child = (yield dom.call(dom.keys[DOMTOOL_REG], DomTool.MakeDomainKey, root)).keys[0]
        inner = (yield dom.call(child, Domain.MakeStart, data=bytes([INTERNAL]))).keys[0]
        yield dom.call(inner, DESTROY_SPACE)
        yield from _destroy_bank_nodes(dom, root)
    for key in (yield from _ledger(dom)):
        is_node = (yield dom.call(key, KT)).rc == Node.AKT
        yield dom.call(dom.keys[NODE_RANGE if is_node else PAGE_RANGE], Range.Destroy, key)
    for head in (dom.keys[LEDGER], dom.keys[CHILDREN]):
        yield from keychain.release(dom, head, nrange)
    dom.regs[LEDGER_N] = dom.regs[CHILDREN_N] = 0
    dom.regs[NODES] = dom.regs[PAGES] = 0
    dom.keys[LEDGER] = DK0
    dom.keys[CHILDREN] = DK0


def _destroy_bank_nodes(dom, root):
    """A sub-bank's own three nodes go back to the node range, charged to no bank."""
    parts = []
    for slot in (14, 15):
        parts.append((yield dom.call(root, Node.Fetch + slot)).keys[0])
    for node in (*parts, root):
        yield dom.call(dom.keys[NODE_RANGE], Range.Destroy, node)


def _create_bank(dom, rights: int):
    """Build a sub-bank domain from the node range, charged to no bank
    (create_subbank, sbc.ck:1121-1280); its key keeps only our NO_QUERY right
    (sbc.ck:856-866). Limits 2**32 - 1, counts 0 (sbc.ck:1205-1218)."""
    nrange = dom.keys[NODE_RANGE]
    made = []
    for _ in range(3):
        made.append((yield dom.call(nrange, Range.Create)).keys[0])
    root, keys_node, regs_node = made
    yield dom.call(root, Node.Swap + 14, keys_node)
    yield dom.call(root, Node.Swap + 15, regs_node)
    yield dom.call(root, Node.Swap + 0, dom.keys[BRAND])
    child = (yield dom.call(dom.keys[DOMTOOL_REG], DomTool.MakeDomainKey, root)).keys[0]
    meter = (yield dom.call(dom.keys[SELF], Domain.GetMeter)).keys[0]
    inner = (yield dom.call(dom.keys[SELF], Domain.MakeStart, data=bytes([INTERNAL]))).keys[0]
    yield dom.call(child, Domain.SwapMeter, meter)
    yield dom.call(child, Domain.SwapMemory, dom.keys[IMAGE])
    for reg, key in (
        (NODE_RANGE, nrange),
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
    if not (yield from keychain.store(dom, CHILDREN, n, root, (nrange, Range.Create))):
        yield from _destroy_bank_nodes(dom, root)
        return NO_SPACE, DK0  # sbc.ck:868
    dom.regs[CHILDREN_N] = n + 1
    start = yield dom.call(child, Domain.MakeStart, data=bytes([rights & FORBID_QUERY]))
    return 0, start.keys[0]


def _reap(dom, child_domain_key, nodes_used: int, pages_used: int):
    """Destroy a child bank's own nodes after it destroyed its space; what it had
    in use counts as sold here and above (queue_for_shiva, sbc.ck:1366-1373)."""
    r = yield dom.call(
        dom.keys[DOMTOOL_REG], DomTool.IdentifyDomain, child_domain_key, dom.keys[BRAND]
    )
    root = r.keys[0]
    children = yield from keychain.entries(dom, dom.keys[CHILDREN], dom.regs[CHILDREN_N])
    i = yield from keychain.find(dom, dom.keys[DISCRIM], root, children)
    if r.rc == RC.NOT_MINE or i < 0:
        return RC.INVALIDOC
    last = children.pop()
    if i < len(children):
        yield from keychain.store(dom, CHILDREN, i, last, (dom.keys[NODE_RANGE], Range.Create))
    dom.regs[CHILDREN_N] = len(children)
    yield from _charge(dom, -nodes_used, -pages_used, nodes_used, pages_used)
    yield from _destroy_bank_nodes(dom, root)
    return 0


def _is_bank(dom, key, domtool_reg: int, brand_reg: int):
    """Whether ``key`` is a user's key to an official bank (its brand, not the 0x80
    facet): sbc.ck:840-849 asks the banks' DC (DC_IdentifySegment)."""
    r = yield dom.call(dom.keys[domtool_reg], DomTool.IdentifyStart, key, dom.keys[brand_reg])
    return r.rc != RC.NOT_MINE and not r.rc & INTERNAL


# ------------------------------------------------------------------ programs
@program("spacebank", system=True)
def spacebank(dom, msg):
    """The bank: dispatch on the order code (sbc.ck:523-876), rights in the databyte."""
    order, rights = msg.order, msg.databyte
    if rights & INTERNAL:
        yield from _internal(dom, msg)
        return
    rc, keys, data = RC.INVALIDOC, (), b""  # sbc.ck:872 default: KT+2
    if order in _BUY:
        rc, keys = yield from _buy(dom, *_BUY[order])
    elif order in _SELL:
        is_node, n = _SELL[order]
        rc = yield from _sell(dom, is_node, msg.keys[:n])
    elif order in (SB.SeverNode, SB.SeverPage):
        rc, keys = yield from _sever(dom, order == SB.SeverNode, msg.keys[0])
    elif order in _QUERIES:
        if not rights & FORBID_QUERY:  # else KT+2 (sbc.ck:563, 572, 657, 821)
            rc, data = 0, (yield from _query(dom, order))
    elif order in _LIMITS:
        rc = SB.NO_LIMIT_RIGHT  # sbc.ck:619-620, 646-647
        if not rights & FORBID_LIMITS:
            rc, data = _change_limit(dom, *_LIMITS[order], msg.data)
    elif SB.ForbidDestroy <= order <= SB.ForbidDestroyQueryAndChangeLimits:
        # make_limited_key, sbc.ck:1067-1075: the rights only ever grow. (sbc.ck:784-786
        # falls through from 33 into 34: docs/fidelity.md, Bank ForbidDestroy.)
        start = yield dom.call(
            dom.keys[SELF], Domain.MakeStart, data=bytes([rights | (order - SB.Forbid)])
        )
        rc, keys = 0, start.keys[:1]
    elif order == SB.CreateBank:
        rc, child = yield from _create_bank(dom, rights)
        keys = (child,) if rc == 0 else ()
    elif order == SB.VerifyBank:
        # sbc.ck:840-849: -1 unless DC_IdentifySegment knows the key; then the rc is
        # the keeper's databyte (dccc.ck:360, jmiscc.c:99), 0 for every bank key,
        # so the rights arithmetic of sbc.ck:845-848 always adds up to 0.
        ok = yield from _is_bank(dom, msg.keys[0], DOMTOOL_REG, BRAND)
        rc = 0 if ok else SB.NOT_A_BANK
    elif order in (SB.DestroyBankAndSpace, KT + 4):  # sbc.ck:812-819, 533-541
        if not rights & FORBID_DESTROY and dom.keys[PARENT] != DK0:
            used = _PAIR.pack(dom.regs[NODES], dom.regs[PAGES])
            yield from _destroy_space(dom)
            # The parent destroys our own nodes and answers our caller, rc 0.
            yield dom.return_(
                dom.keys[PARENT], REAP, dom.keys[SELF], DK0, DK0, msg.resume, data=used
            )
            return
        # else KT+2 (sbc.ck:814); the prime bank is not destroyed (docs/fidelity.md)
    elif order == KT:
        rc = SB_AKT  # sbc.ck:532-533
    yield dom.return_(msg.resume, rc=rc, keys=keys, data=data)


def _internal(dom, msg):
    order = msg.order
    if order == CHARGE:
        ok = yield from _charge(dom, *_CHARGE.unpack(msg.data[: _CHARGE.size]))
        yield dom.return_(msg.resume, rc=0 if ok else OVER_LIMIT)
    elif order == DESTROY_SPACE:
        yield from _destroy_space(dom)
        yield dom.return_(msg.resume, rc=0)
    elif order == REAP:
        nodes, pages = _PAIR.unpack(msg.data[:16])
        rc = yield from _reap(dom, msg.keys[0], nodes, pages)
        yield dom.return_(msg.keys[3], rc=rc)
    elif order == AVAILABLE:
        n = yield from _available(dom, msg.data[:1] == b"\1")
        yield dom.return_(msg.resume, rc=0, data=n.to_bytes(4, "big"))
    else:
        yield dom.return_(msg.resume, rc=RC.INVALIDOC)


def _available(dom, is_node: bool):
    """calculate_available (sbc.ck:2245-2287): the least ``limit - allocated`` here
    and in every ancestor, 0 where that is negative or 2**32 or more (2265: ``if
    (temp.hi) temp.low = 0``). The simulator's ranges never run out, so
    count_available's count of free disk frames does not lower it."""
    limit, used = (NODE_LIMIT, NODES) if is_node else (PAGE_LIMIT, PAGES)
    room = (dom.regs[limit] - dom.regs[used]) & _M64
    available = 0 if room >> 32 else room
    if dom.keys[PARENT] != DK0:
        r = yield dom.call(dom.keys[PARENT], AVAILABLE, data=bytes([is_node]))
        available = min(available, int.from_bytes(r.data[:4], "big"))
    return available


def _short_statistics(allocated: int, sells: int) -> bytes:
    """calculate_short_statistics (sbc.ck:2297-2341): creates, destroys, 4 bytes
    each; past 2**32 creates, both are moved down together."""
    creates = allocated + sells
    if creates >> 32:
        adj = (((creates >> 32) - 1) << 32 | (creates & 0xFFFFFFFF)) + 1
        creates, sells = creates - adj, (sells - adj) & _M64
    return struct.pack(">II", creates & 0xFFFFFFFF, sells & 0xFFFFFFFF)


def _query(dom, order):
    """The query orders' strings, as sbc.ck lays them out."""
    regs = dom.regs
    if order in (SB.QueryNodeSpace, SB.QueryPageSpace):  # sbc.ck:566-567, 684-685
        n = yield from _available(dom, order == SB.QueryNodeSpace)
        return n.to_bytes(4, "big")
    if order in (SB.QueryNodesAvailable, SB.QueryPagesAvailable):  # sbc.ck:660-663
        n = yield from _available(dom, order == SB.QueryNodesAvailable)
        return n.to_bytes(8, "big")  # LLI: hi 0, low the count
    if order == SB.QueryNodeStatistics:  # sbc.ck:575-577
        return _short_statistics(regs[NODES], regs[NODE_SELLS])
    if order == SB.QueryPageStatistics:  # sbc.ck:693-695
        return _short_statistics(regs[PAGES], regs[PAGE_SELLS])
    # QueryStatistics, sbc.ck:820-838: creates (allocated + sells) and sells, 8 bytes each
    return struct.pack(
        ">4Q",
        (regs[NODES] + regs[NODE_SELLS]) & _M64,
        regs[NODE_SELLS],
        (regs[PAGES] + regs[PAGE_SELLS]) & _M64,
        regs[PAGE_SELLS],
    )


def _change_limit(dom, is_node: bool, small: bool, data: bytes) -> tuple[int, bytes]:
    """change_limit (sbc.ck:2356-2390): add a signed change to the limit, which must
    stay in 0 .. 2**32 - 1 (small orders 11, 27) or 0 .. 2**48 - 1 (13, 29); rc 0, 1
    (would go below 0) or 2 (above); the answer is the limit, new or unchanged. The
    C release does not compare the limit with what is in use."""
    reg = NODE_LIMIT if is_node else PAGE_LIMIT
    limit = dom.regs[reg]
    width, mask = (4, 0xFFFFFFFF) if small else (8, 0xFFFF0000)
    delta = int.from_bytes(data[:width].ljust(width, b"\0"), "big", signed=True) & _M64
    hi = delta >> 32
    new = (limit + delta) & _M64
    rc = 0
    if (hi & mask and hi & mask != mask) or (new >> 32) & mask:
        rc = SB.UNDERFLOW if hi & 0x80000000 else SB.OVERFLOW
        new = limit
    dom.regs[reg] = new
    return rc, (new & 0xFFFFFFFF).to_bytes(4, "big") if small else new.to_bytes(8, "big")


@program("sbt", system=True)
def sbt(dom, msg):
    """Space bank transformer (sbc.ck:878-954): Verify (0) answers 0 for a bank and
    -1 otherwise; Create (2) and CreateLimited (5) make a sub-bank of the bank
    passed, rc 3 if it is not one. Key registers: 0 domain tool, 1 the bank brand."""
    order = msg.order
    if order == SBT.Verify:  # sbc.ck:888-899
        ok = yield from _is_bank(dom, msg.keys[0], 0, 1)
        yield dom.return_(msg.resume, rc=0 if ok else SB.NOT_A_BANK)
    elif order in (SBT.Create, SBT.CreateLimited):
        if not (yield from _is_bank(dom, msg.keys[0], 0, 1)):
            yield dom.return_(msg.resume, rc=SBT.NOT_A_BANK)  # sbc.ck:1295
            return
        # create_bank_for_sbt (sbc.ck:1287-1305): a sub-bank that keeps NO_QUERY, as the
        # code means; C reads the keeper key's databyte there (0), so its new bank can
        # query (docs/fidelity.md, SBT Create and CreateLimited: the no-query right).
        r = yield dom.call(msg.keys[0], SB.CreateBank)
        if r.rc != 0:
            yield dom.return_(msg.resume, rc=r.rc)
            return
        new = r.keys[0]
        if order == SBT.CreateLimited:  # sbc.ck:934-946: limits given, 4 bytes each
            for i, change in ((0, SB.ChangeNodeLimit), (1, SB.ChangePageLimit)):
                if len(msg.data) >= 4 * (i + 1):
                    limit = int.from_bytes(msg.data[4 * i : 4 * i + 4], "big")
                    delta = (limit - UNLIMITED).to_bytes(8, "big", signed=True)
                    yield dom.call(new, change, data=delta)
        yield dom.return_(msg.resume, rc=0, keys=(new,))
    elif order == KT:
        yield dom.return_(msg.resume, rc=SBT_AKT)  # sbc.ck:880-881
    else:
        yield dom.return_(msg.resume, rc=RC.INVALIDOC)  # sbc.ck:883, 952
