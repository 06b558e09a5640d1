"""Threads, 320–339: domains sharing their process's address space, one keeper for all.

As the C release's Unix keeper makes a lightweight process (``makelwp``,
``ukeeperf.c:5255-5287``), ``thread_create(label, arg)`` here makes a **domain** from
the process's bank, gives it the caller's key registers, memory and meter (copied
through the caller's domain key, ``ukeeperf.c:5271-5280``) and, as its keeper, the
process's own keeper through a start key whose **databyte is the thread id**
(``ukeeperf.c:5282-5284``; databyte 0 is the main thread, ``ukeeperf.c:866-868``). Its
domain key goes into a node of thread domains the keeper holds in ``KK_THREADS``
(``NODEUDOMS``, ``ukeeperf.c:90``, ``5286``). A trap tells the keeper which thread made
it by its databyte, kept in register ``R_TID`` while the call is served
(``ukeeperf.c:940``). The thread starts its program with ``BORN_THREAD``, the caller's
registers, the label in ``PC_REG`` and ``arg`` in ``ARG_REG`` (the C release starts the
domain with the registers of a context the caller gives, ``ukeeperf.c:5217``, 5245).

``thread_exit(status)`` destroys that domain only (``dolwpexit``,
``ukeeperf.c:5661-5680``); the process, its memory and its other threads go on. The
process's ``exit`` — from any thread — or a signal destroys its bank, and every thread
domain with it (the C keeper destroys each with the DC, ``ukeeperf.c:2675-2683``).
``exec`` ends the other threads first; a copy-on-write ``fork`` gives them the parent's
new memory (:mod:`.procs`).

Where this departs from the C release:

* The keeper holds no DC: the system domain buys the domain from the process's bank
  with its own (``S_THREAD``) and destroys it (``S_THREAD_END``), reading the domain key
  from the keeper's thread node, never from what the keeper passes.
* ``thread_join(tid)`` is KeyNIX's own (the C release leaves joining to the thread
  library, over ``lwp_cond_wait`` and friends): a joiner's fault key waits in the thread
  node (slot ``JOINER + tid``) and the keeper, free meanwhile, answers it when that thread
  ends. A thread that has ended and not been joined keeps its slot (its status) until
  joined, as in POSIX.
* At most :data:`MAX_THREADS` threads besides the main one (the C release: 15,
  ``ukeeperf.c:247``, 5201-5208, which answers EINVAL when none is free; here EAGAIN, as
  ``pthread_create`` does).
* A thread blocked in a ``read`` or ``wait`` holds the keeper (it waits in a CALL to the
  system domain), so the other threads' calls wait until it returns; the C keeper parks
  such a thread and serves the others (``THREADWAITING``, ``ukeeperf.c:260``).
* The main thread's ``thread_exit`` is ``exit``.

>>> MAX_THREADS, JOINER, TABLE
(7, 8, 0)
>>> sorted(abi.NAMES[n] for n in CALLS)
['thread_create', 'thread_exit', 'thread_join', 'thread_self']
"""

from __future__ import annotations

from keykos_lab.kernel.keys import DK0
from keykos_lab.kernel.oc import SB, Domain, Node, Page
from keykos_lab.programs.keynix import abi, fs
from keykos_lab.programs.keynix import server as s
from keykos_lab.programs.keynix.keeper import (
    KK_BANK,
    KK_DOM,
    KK_SELF,
    KK_THREADS,
    answer,
    end,
    system,
)
from keykos_lab.programs.keynix.layout import R_TID
from keykos_lab.programs.primordial.dc import DC

MAX_THREADS = 7  #: thread ids 1..7 (0 is the main thread)
#: Slots of the thread node: the thread table page, the domain key of thread ``tid`` in
#: slot ``tid``, the fault key of the thread joining ``tid`` (0 too) in ``JOINER + tid``.
TABLE, JOINER = 0, 8
#: A thread's state in the table page (8 bytes a thread: state, joiner + 1, 0, 0, status).
T_FREE, T_RUNNING, T_ENDED = 0, 1, 2
#: The system domain's orders (numbered as the calls, apart from :mod:`.server`'s).
S_THREAD, S_THREAD_END = abi.SYS_THREAD_CREATE, abi.SYS_THREAD_EXIT


# ------------------------------------------------------------ the thread table
def _node(dom, create: bool = False):
    """The thread node (``KK_THREADS``), bought from the process's bank with its table
    page the first time a thread is made; DK(0) if none. (``ukeeperf.c:843-845`` buys
    it when the keeper starts.)"""
    node = dom.keys[KK_THREADS]
    if node != DK0 or not create:
        return node
    node = yield from fs.buy(dom, dom.keys[KK_BANK], SB.CreateNode)
    page = DK0 if node == DK0 else (yield from fs.buy(dom, dom.keys[KK_BANK]))
    if page == DK0:
        return DK0
    yield dom.call(node, Node.Swap + TABLE, page)
    dom.keys[KK_THREADS] = node
    return node


def _entry(dom, node, tid: int):
    """``(state, joiner, status)`` of ``tid``; joiner -1 if no thread waits to join it."""
    page = (yield dom.call(node, Node.Fetch + TABLE)).keys[0]
    raw = yield from fs.read_page(dom, page, tid * 8, 8)
    return raw[0], raw[1] - 1, int.from_bytes(raw[4:8], "big", signed=True)


def _set(dom, node, tid: int, state: int, joiner: int = -1, status: int = 0):
    page = (yield dom.call(node, Node.Fetch + TABLE)).keys[0]
    data = bytes([state, joiner + 1, 0, 0]) + (status & 0xFFFFFFFF).to_bytes(4, "big")
    yield dom.call(page, Page.WriteData + tid * 8, data=data)


def _domain(dom, node, tid: int):
    """The domain key of thread ``tid`` (the process's own for 0)."""
    if tid == 0:
        return dom.keys[KK_DOM]
    return (yield dom.call(node, Node.Fetch + tid)).keys[0]


def _me(dom) -> int:
    return int(dom.regs[R_TID])


# ------------------------------------------------------------ system calls
def sys_thread_create(dom, dkey, fault, ints, payload):
    """``thread_create(label, arg)``: a new thread's id, or EAGAIN (no free id), ENOMEM."""
    if len(ints) < 2:
        yield from answer(dom, dkey, fault, errno=abi.EINVAL)
        return
    label, arg = ints[0], ints[1]
    node = yield from _node(dom, create=True)
    if node == DK0:
        yield from answer(dom, dkey, fault, errno=abi.ENOMEM)
        return
    tid = 0
    for t in range(1, MAX_THREADS + 1):
        if (yield from _entry(dom, node, t))[0] == T_FREE:
            tid = t
            break
    if not tid:
        yield from answer(dom, dkey, fault, errno=abi.EAGAIN)
        return
    err, _, _, keys = yield from system(dom, S_THREAD)
    if err:
        yield from answer(dom, dkey, fault, errno=err)
        return
    tdom = keys[0]
    yield from _make_thread(dom, dkey, tdom, tid, label, arg)
    yield dom.call(node, Node.Swap + tid, tdom)
    yield from _set(dom, node, tid, T_RUNNING)
    start = (yield dom.call(tdom, Domain.MakeStart, data=bytes([0]))).keys[0]
    yield dom.fork(start, abi.BORN_THREAD)
    yield from answer(dom, dkey, fault, tid)


def _make_thread(dom, dkey, tdom, tid: int, label: int, arg: int):
    """``makelwp`` (``ukeeperf.c:5264-5284``): the caller's keys, memory and meter; my
    start key, databyte ``tid``, as its keeper; the caller's registers, with the label
    and the argument."""
    for n in range(16):
        key = (yield dom.call(dkey, Domain.GetKey + n)).keys[0]
        yield dom.call(tdom, Domain.SwapKey + n, key)
    for get, swap in ((Domain.GetMemory, Domain.SwapMemory), (Domain.GetMeter, Domain.SwapMeter)):
        yield dom.call(tdom, swap, (yield dom.call(dkey, get)).keys[0])
    keeper = (yield dom.call(dom.keys[KK_SELF], Domain.MakeStart, data=bytes([tid]))).keys[0]
    yield dom.call(tdom, Domain.SwapKeeper, keeper)
    regs = bytearray((yield dom.call(dkey, Domain.GetRegs)).data.ljust(128, b"\0"))
    for reg, value in ((abi.PC_REG, label), (abi.ARG_REG, arg)):
        regs[reg * 8 : reg * 8 + 8] = (value & 0xFFFFFFFFFFFFFFFF).to_bytes(8, "big")
    yield dom.call(tdom, Domain.PutRegs, data=bytes(regs))


def sys_thread_exit(dom, dkey, fault, ints, payload):
    """``thread_exit(status)``: this thread's domain is destroyed; a thread waiting to
    join it gets ``(tid, status)``, else the status waits for a join. Not answered."""
    me, status = _me(dom), (ints[0] if ints else 0)
    node = yield from _node(dom)
    if me == 0 or node == DK0:
        yield from end(dom, abi.exited(status))
        return
    _, joiner, _ = yield from _entry(dom, node, me)
    yield from system(dom, S_THREAD_END, me)  # dolwpexit: DC_DestroyDomain
    yield dom.call(node, Node.Swap + me, DK0)
    jfault = DK0 if joiner < 0 else (yield dom.call(node, Node.Swap + JOINER + me, DK0)).keys[0]
    jdom = DK0 if jfault == DK0 else (yield from _domain(dom, node, joiner))
    if jdom != DK0:
        yield from _set(dom, node, me, T_FREE)
        yield from answer(dom, jdom, jfault, me, 0, status)
        return
    yield from _set(dom, node, me, T_ENDED, status=status)
    yield dom.return_(DK0)  # the caller is gone: nothing to answer


def sys_thread_join(dom, dkey, fault, ints, payload):
    """``thread_join(tid)``: ``(tid, status)`` when thread ``tid`` has ended: now, or
    later (the caller's fault key waits in the thread node). EDEADLK: myself, or a
    thread waiting to join me; ESRCH: no such thread; EINVAL: another joins it. The
    main thread (0) ends only with its process, which ends its joiner too."""
    me, tid = _me(dom), (ints[0] if ints else -1)
    node = yield from _node(dom)
    err = 0
    if tid == me:
        err = abi.EDEADLK
    elif not 0 <= tid <= MAX_THREADS or node == DK0:
        err = abi.ESRCH
    if err:
        yield from answer(dom, dkey, fault, errno=err)
        return
    state, joiner, status = yield from _entry(dom, node, tid)
    if tid == 0:  # the main thread runs until the process ends
        state = T_RUNNING
    mine = (yield from _entry(dom, node, me))[1]
    if state == T_FREE:
        err = abi.ESRCH
    elif state == T_RUNNING and joiner >= 0:
        err = abi.EINVAL
    elif state == T_RUNNING and mine == tid:
        err = abi.EDEADLK
    if err:
        yield from answer(dom, dkey, fault, errno=err)
        return
    if state == T_ENDED:
        yield from _set(dom, node, tid, T_FREE)
        yield from answer(dom, dkey, fault, tid, 0, status)
        return
    yield dom.call(node, Node.Swap + JOINER + tid, fault)
    yield from _set(dom, node, tid, T_RUNNING, joiner=me)
    yield dom.return_(DK0)  # free for the other threads; the joiner waits


def sys_thread_self(dom, dkey, fault, ints, payload):
    """``thread_self()``: my thread id (``lwp_self``, ``ukeeperf.c:5172-5179``, answers
    it plus one)."""
    yield from answer(dom, dkey, fault, _me(dom))


# ------------------------------------------------- for exec and fork (:mod:`.procs`)
def end_all(dom):
    """Destroy every thread but the main one (``exec``: the new program has one)."""
    node = yield from _node(dom)
    if node == DK0:
        return
    for tid in range(1, MAX_THREADS + 1):
        if (yield from _domain(dom, node, tid)) != DK0:
            yield from system(dom, S_THREAD_END, tid)
            yield dom.call(node, Node.Swap + tid, DK0)
        yield dom.call(node, Node.Swap + JOINER + tid, DK0)
        yield from _set(dom, node, tid, T_FREE)


def share_memory(dom):
    """Give every thread the main thread's memory again (after a copy-on-write ``fork``
    replaced it with a virtual copy segment, :mod:`.cow`)."""
    node = yield from _node(dom)
    if node == DK0:
        return
    memory = (yield dom.call(dom.keys[KK_DOM], Domain.GetMemory)).keys[0]
    for tid in range(1, MAX_THREADS + 1):
        tdom = yield from _domain(dom, node, tid)
        if tdom != DK0:
            yield dom.call(tdom, Domain.SwapMemory, memory)


# ------------------------------------------------------- the system domain's half
def thread_service(dom, msg, pid, ints, payload):
    """``S_THREAD``: a domain for a new thread of ``pid``, bought from its bank with the
    system domain's DC (key 0; the keeper fills it in)."""
    node = yield from s.proc_node(dom, pid)
    bank = DK0 if node == DK0 else (yield from s.slot(dom, node, s.P_BANK))
    made = None if bank == DK0 else (yield dom.call(dom.keys[s.K_DC], DC.CreateDomain, bank))
    if made is None or made.rc:
        yield dom.return_(msg.resume, abi.ENOMEM, data=abi.pack())
        return
    yield dom.return_(msg.resume, 0, made.keys[0], data=abi.pack())


def thread_end_service(dom, msg, pid, ints, payload):
    """``S_THREAD_END(tid)``: destroy thread ``tid`` of ``pid`` — the domain key read
    from its keeper's thread node — with the DC, back to the process's bank."""
    tid = ints[0] if ints else 0
    node = yield from s.proc_node(dom, pid)
    bank = DK0 if node == DK0 else (yield from s.slot(dom, node, s.P_BANK))
    threads = yield from s.keeper_key(dom, pid, KK_THREADS)
    tdom = DK0
    if bank != DK0 and threads != DK0 and 1 <= tid <= MAX_THREADS:
        tdom = yield from s.slot(dom, threads, tid)
    if tdom == DK0:
        yield dom.return_(msg.resume, abi.ESRCH, data=abi.pack())
        return
    r = yield dom.call(dom.keys[s.K_DC], DC.DestroyDomain, tdom, bank)
    yield dom.return_(msg.resume, abi.ESRCH if r.rc else 0, data=abi.pack())


CALLS = {
    abi.SYS_THREAD_CREATE: sys_thread_create,
    abi.SYS_THREAD_JOIN: sys_thread_join,
    abi.SYS_THREAD_EXIT: sys_thread_exit,
    abi.SYS_THREAD_SELF: sys_thread_self,
}
SERVICES = {S_THREAD: thread_service, S_THREAD_END: thread_end_service}

__all__ = ["CALLS", "MAX_THREADS", "SERVICES", "end_all", "share_memory"]
