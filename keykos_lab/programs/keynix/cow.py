"""Copy-on-write fork: parent and child each get a virtual copy segment (VCS).

As in the C release, where a Unix process's memory is a VCS (``ukeeperf.cmd:2``, ``kc
user/sys/vcsf 0 (,sb,m,sb) (,prog)``; "all of the user memory is Copy On Write in the
VCS", ``ukeeperf.c:2728``) and freezing it makes the original of new copies
(``VCS_Freeze``, ``ukeeperf.c:2149-2150``), a copy-on-write ``fork`` here

1. freezes the parent's address space: from now on it is the *original*, read through
   a sense key, and its layer (:mod:`.layers`) is only read;
2. makes two VCSs of it (``programs/vcs.py``, ``vcsf.ck``), each in a new layer above
   the frozen one: one becomes the parent's memory, one the child's. A VCS's red node
   starts as a copy of the original's root, so both read the same pages; the first
   write to a page faults to the VCS, which buys a page in its layer, copies the
   original into it and restarts the writer (``dofault``, ``vcsf.ck:319-441``).

A VCS grows to any address written (``vcsf.ck:346-380``), where a never-forked process
has :data:`.abi.SPACE_PAGES` pages and faults (SIGSEGV) past them, and a grown VCS is no
longer the flat node of pages the keeper reads and writes (:func:`.fs.mem_read`). So the
process's memory is not the VCS's segment key but a red node without a keeper, of the
unforked space's size (:func:`bound`): its first ``SPACE_PAGES`` slots are background
windows onto the VCS, the rest empty. A fault past them finds no segment keeper, and
the process gets SIGSEGV as an unforked one does; a fault within them reaches the VCS,
whose tree never grows.

Nothing is copied at ``fork``; each side copies a page when it first writes it, and
neither sees the other's writes. The system domain does it (``S_COWFORK``, it holds the
DC, the meter, the VCS's program image and the zero segment), answering the parent's
keeper; the keepers' ``KK_MEM`` becomes a node key to their VCS's red node, and a
keeper's own write into its process's memory (a ``read``'s data) faults a read-only page
in through the segment key, as the process's write would (:func:`.fs.mem_write`).
Departure: the VCS is made directly with the system domain's DC, not as the yield of a
VCSF factory (the factory would need a new component 0 — the original — at each fork).

The KeyNIX's switch (``KeyNIX(fork="copy")``, the system domain's register
:data:`.server.R_FORK`) makes ``fork`` copy every written page instead
(:func:`.procs.copy_space`); ``fork(COW_FORK)`` and ``fork(COPY_FORK)`` choose for one
call.

>>> COW_READY
True
"""

from __future__ import annotations

import struct

from keykos_lab.kernel.keys import DK0
from keykos_lab.kernel.oc import SB, Domain, Node
from keykos_lab.kernel.segments import NO_SLOT, format_key_value, window_key_value
from keykos_lab.programs import vcs
from keykos_lab.programs.keynix import abi, fs, layers
from keykos_lab.programs.keynix import layout as kp
from keykos_lab.programs.keynix import server as s
from keykos_lab.programs.primordial.dc import DC

COW_READY = True
#: ``fork``'s first integer argument: 0 as the KeyNIX is set, or one of these.
COW_FORK, COPY_FORK = 1, 2


def make_vcs(dom, bank, original):
    """``(segment key, node key)`` of a new VCS of ``original`` (a sense key to a red
    node) bought from ``bank``, or ``(DK(0), DK(0))``: a domain from the DC with the key
    registers a VCSF yield has (``vcsf.ck:22-48``), then its creation (``vcsf.ck:94-149``)."""
    made = yield dom.call(dom.keys[s.K_DC], DC.CreateDomain, bank)
    comp = yield from fs.buy(dom, bank, SB.CreateNode)
    if made.rc or comp == DK0:
        return DK0, DK0
    vdom = made.keys[0]
    for n, key in (
        (vcs.COMPSEG, original),
        (vcs.COMPZEROSEG, dom.keys[s.K_ZERO]),
        (vcs.COMPDISCRIM, dom.keys[s.K_DISCRIM]),
    ):
        yield dom.call(comp, Node.Swap + n, key)
    yield dom.call(vdom, Domain.SwapMemory, dom.keys[s.K_VCSIMAGE])
    yield dom.call(vdom, Domain.SwapMeter, dom.keys[s.K_METER])
    for n, key in (
        (vcs.COMP, comp),
        (vcs.SB_REG, bank),
        (vcs.DOMKEY, vdom),
        (vcs.PSB, bank),
        (vcs.METER, dom.keys[s.K_METER]),
        (vcs.DC_REG, dom.keys[s.K_DC]),
    ):
        yield dom.call(vdom, Domain.SwapKey + n, key)
    start = (yield dom.call(vdom, Domain.MakeStart, data=bytes([0]))).keys[0]
    r = yield dom.call(start, 0)
    if r.rc:
        return DK0, DK0
    node = (yield dom.call(vdom, Domain.GetKey + vcs.NODE)).keys[0]
    return r.keys[0], node


#: The slot of a bound space (:func:`bound`) that holds the VCS, its background key.
VCS_SLOT = 14
_SLOT = struct.Struct(">II")  # Node WriteData: first and last slot, then 16 bytes a slot


def _data_keys(first: int, values) -> bytes:
    return _SLOT.pack(first, first + len(values) - 1) + b"".join(
        v.to_bytes(16, "big") for v in values
    )


def bound(dom, bank, seg):
    """A segment key to a new red node (bought from ``bank``) showing the VCS ``seg``'s
    first :data:`.abi.SPACE_PAGES` pages and nothing past them: no keeper, the unforked
    space's format, slots ``0..SPACE_PAGES-1`` background windows onto ``seg`` (in slot
    :data:`VCS_SLOT`), the others empty. DK(0) if no node could be had."""
    node = yield from fs.buy(dom, bank, SB.CreateNode)
    if node == DK0:
        return DK0
    fmt = format_key_value(3, initial=abi.FILE_PAGES, keeper=NO_SLOT, background=VCS_SLOT)
    windows = [window_key_value(n * abi.PAGE, background=True) for n in range(abi.SPACE_PAGES)]
    yield dom.call(node, Node.WriteData, data=_data_keys(0, windows))
    yield dom.call(node, Node.WriteData, data=_data_keys(fs.FORMAT, [fmt]))
    yield dom.call(node, Node.Swap + VCS_SLOT, seg)
    return (yield dom.call(node, Node.MakeSegmentKey, data=bytes([0]))).keys[0]


def _install(dom, pid: int, seg, node, bank):
    """``pid``'s memory becomes ``seg``; its keeper's ``KK_MEM`` and ``KK_LAYER`` the
    VCS's node and the layer's bank (written through the keeper's domain key)."""
    kdom = yield from s.slot(dom, (yield from s.proc_node(dom, pid)), s.P_KEEPER)
    pdom = (yield dom.call(kdom, Domain.GetKey + kp.KK_DOM)).keys[0]
    yield dom.call(pdom, Domain.SwapMemory, seg)
    yield dom.call(kdom, Domain.SwapKey + kp.KK_MEM, node)
    yield dom.call(kdom, Domain.SwapKey + kp.KK_LAYER, bank)


def cow_fork(dom, msg, pid, ints, payload):
    """``S_COWFORK(cpid, how)`` from ``pid``'s keeper, ``cpid`` its embryo child: both
    memories become VCSs of the parent's, frozen (module docstring). ENOSYS when the
    copy is wanted (``how`` :data:`COPY_FORK`, or 0 with the KeyNIX set to copy)."""
    cpid, how = (tuple(ints[:2]) + (0, 0))[:2]
    mode = dom.regs[s.R_FORK]
    err = 0
    if how == COPY_FORK or (how != COW_FORK and mode == s.FORK_COPY):
        err = abi.ENOSYS
    elif not 0 < cpid <= abi.MAX_PROCS or cpid == pid:
        err = abi.ESRCH
    else:
        state, ppid, _, _, _ = yield from s.table_entry(dom, cpid)
        if state != s.EMBRYO or ppid != pid:
            err = abi.ESRCH
    space = DK0 if err else (yield from s.keeper_key(dom, pid, kp.KK_MEM))
    if not err and space == DK0:
        err = abi.EINVAL
    if not err:
        err = yield from _freeze_and_copy(dom, pid, cpid, space)
    yield dom.return_(msg.resume, err, data=abi.pack())


def _freeze_and_copy(dom, pid: int, cpid: int, space):
    sysbank = dom.keys[s.K_BANK]
    pnode = yield from s.proc_node(dom, pid)
    cnode = yield from s.proc_node(dom, cpid)
    frozen = yield from s.slot(dom, pnode, s.P_LAYER)
    original = (yield dom.call(space, Node.MakeSenseKey)).keys[0]
    made = []
    for _ in range(2):
        layer, bank = yield from layers.new_layer(dom, sysbank, frozen)
        seg, node = (DK0, DK0) if layer == DK0 else (yield from make_vcs(dom, bank, original))
        if seg != DK0:
            seg = yield from bound(dom, bank, seg)
        made.append((layer, bank, seg, node))
    if any(seg == DK0 for _, _, seg, _ in made):
        for layer, *_ in made:
            yield from layers.release(dom, sysbank, layer)
        return abi.ENOMEM
    (play, pbank, pseg, pvnode), (clay, cbank, cseg, cvnode) = made
    yield from layers.release(dom, sysbank, (yield from s.slot(dom, cnode, s.P_LAYER)))
    yield dom.call(cnode, Node.Swap + s.P_LAYER, clay)
    yield dom.call(pnode, Node.Swap + s.P_LAYER, play)
    yield from layers.release(dom, sysbank, frozen)  # the parent's own count: now the copies'
    yield from _install(dom, pid, pseg, pvnode, pbank)
    yield from _install(dom, cpid, cseg, cvnode, cbank)
    return 0


__all__ = ["COPY_FORK", "COW_FORK", "COW_READY", "VCS_SLOT", "bound", "cow_fork", "make_vcs"]
