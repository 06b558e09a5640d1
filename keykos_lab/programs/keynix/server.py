"""The Unix system domain: what KeyNIX processes share, behind start keys.

Each process has a keeper of its own (:mod:`.keeper`); what processes share — the
process table, the file system, the open files and pipes, the terminal — is kept here,
in one domain, so that every change to shared state is made by one program at a time.
A keeper reaches it through a start key whose **databyte is its pid** (a facet per
process, minted when the process is made); databyte 0 is the operator (:mod:`.admin`).

Key registers (``K_*``): the table of per-pid nodes, the bank everything shared is
bought from, a DC, the system domain's own domain key, the meter, the root directory,
the format key of inodes and address spaces, the process-table page, the terminal's
input pipe and output inode, and a read-only page holding the keeper's program image.

A *per-pid node* (slots ``P_*``) holds the keeper's **domain key** (this domain made
the keeper; it reads the keeper's key registers with it, never sends to it), the resume
key of the keeper while it waits here (a blocked ``read`` or ``wait``), the process's
bank (destroyed when the process ends) and its root directory.

This domain never jumps to a keeper's start key (a keeper may be waiting for it: that
would deadlock, docs/fidelity.md, KeyNIX); it answers a waiting keeper through the
resume key it kept. Keepers call it; it calls only the bank, the DC, nodes and pages.

>>> K_PTAB, K_KIMAGE, P_KEEPER, P_WAITKEY
(0, 10, 0, 1)
"""

from __future__ import annotations

from keykos_lab.kernel.keys import DK0
from keykos_lab.kernel.oc import KT, SB, Discrim, Domain, Node, Page
from keykos_lab.programs.keynix import abi, fs, layers, pipe
from keykos_lab.programs.keynix import layout as kp
from keykos_lab.programs.primordial.dc import DC

# Key registers of the system domain.
K_PTAB, K_BANK, K_DC, K_SELF, K_METER, K_ROOT, K_FORMAT, K_TABLE, K_TTY, K_TTYOUT = range(10)
K_KIMAGE, K_OFTAB, K_DISCRIM = 10, 11, 12
#: The virtual copy segment's program image and the zero segment it fills trees with
#: (:mod:`.cow`).
K_VCSIMAGE, K_ZERO = 13, 14
#: Data register of the system domain: how ``fork`` copies memory (:mod:`.cow`).
R_FORK = 0
FORK_COW, FORK_COPY = 0, 1
MAX_OPEN = 256  #: open files in the system: the private table is 16 nodes of 16
# Per-pid node slots (``P_LAYER``: the process's memory layer, :mod:`.layers`).
P_KEEPER, P_WAITKEY, P_BANK, P_ROOT, P_LAYER = range(5)
# Process-table page: 16 bytes per pid.
FREE, EMBRYO, RUNNING, ZOMBIE = 0, 1, 2, 3
#: Byte 3 of an entry: 1 for an orphan, a process whose parent ended first. There is no
#: init to adopt it: it is reaped when it ends (no zombie is left for nobody to wait for).
ORPHAN = 3
WAIT_ANY = 0xFFFF
# Open files: a node (0 the inode or pipe, 1 a page: kind, flags, refs, offset, index,
# 2 the token). The system domain keeps a node key to each in its private table
# (K_OFTAB, by index); a keeper holds a *sense key* to its token, a node holding only the
# fields page: it can pass it back and read the fields, never the file, and never store
# a key into it (two keepers sharing a writable node could pass keys).
OF_FILE, OF_PIPE_R, OF_PIPE_W = 1, 2, 3
OF_OBJ, OF_PAGE, OF_TOKEN = 0, 1, 2
CREATE_BANK = 67  #: SB CreateBank
DESTROY_BANK = 64  #: SB DestroyBankAndSpace

# Orders a keeper sends (its databyte is its pid).
(
    S_OPEN,
    S_RELEASE,
    S_ADDREF,
    S_READ,
    S_WRITE,
    S_PIPE,
    S_NEWPROC,
    S_TEXT,
    S_STARTED,
    S_WAIT,
    S_EXIT,
    S_GETEUID,
    S_SETEUID0,
    S_RUN,
    S_KILL,
    S_STATE,
    S_FSTAT,
    S_COWFORK,
    S_NEWLAYER,
) = range(19)
#: ``S_READ``'s answer when the caller waited and a signal ended the wait.
INTERRUPTED = 0x7FFF


# ------------------------------------------------------------ process table
def table_entry(dom, pid: int):
    """``(state, ppid, euid, status, waitfor)`` of ``pid`` (status: the wait status)."""
    raw = yield from fs.read_page(dom, dom.keys[K_TABLE], pid * 16, 16)
    return (
        raw[0],
        raw[1],
        raw[2],
        int.from_bytes(raw[4:8], "big", signed=True),
        int.from_bytes(raw[8:10], "big"),
    )


def set_entry(dom, pid: int, state: int, ppid: int, euid: int, status: int = 0, waitfor: int = 0):
    """Write ``pid``'s entry; byte 3 (``ORPHAN``) is kept, but by a FREE entry."""
    page = dom.keys[K_TABLE]
    if state == FREE:
        yield dom.call(page, Page.WriteData + pid * 16, data=bytes(16))
        return
    yield dom.call(page, Page.WriteData + pid * 16, data=bytes([state, ppid, min(euid, 255)]))
    rest = status.to_bytes(4, "big", signed=True) + waitfor.to_bytes(2, "big")
    yield dom.call(page, Page.WriteData + pid * 16 + 4, data=rest)


def proc_node(dom, pid: int, create: bool = False):
    """The per-pid node of ``pid`` (DK(0) if none); ``create`` buys it."""
    if not 0 < pid <= abi.MAX_PROCS:
        return DK0
    hi = (yield dom.call(dom.keys[K_PTAB], Node.Fetch + pid // 16)).keys[0]
    if hi == DK0:
        if not create:
            return DK0
        hi = yield from fs.buy(dom, dom.keys[K_BANK], SB.CreateNode)
        yield dom.call(dom.keys[K_PTAB], Node.Swap + pid // 16, hi)
    node = (yield dom.call(hi, Node.Fetch + pid % 16)).keys[0]
    if node == DK0 and create:
        node = yield from fs.buy(dom, dom.keys[K_BANK], SB.CreateNode)
        yield dom.call(hi, Node.Swap + pid % 16, node)
    return node


def slot(dom, node, n: int):
    return (yield dom.call(node, Node.Fetch + n)).keys[0]


def alloc_pid(dom):
    raw = yield from fs.read_page(dom, dom.keys[K_TABLE], 0, abi.PAGE)
    for pid in range(1, abi.MAX_PROCS + 1):
        if raw[pid * 16] == FREE:
            return pid
    return 0


# ------------------------------------------------------------- open files
def of_fields(dom, of):
    page = yield from slot(dom, of, OF_PAGE)
    return (yield from fs.get_ints(dom, page, 0, 4))  # kind, flags, refs, offset


def of_set(dom, of, index: int, value: int):
    page = yield from slot(dom, of, OF_PAGE)
    yield from fs.put_ints(dom, page, index * 4, value)


def _oftab(dom, index: int, create: bool = False):
    """The node of the private open-file table holding ``index``."""
    hi = (yield dom.call(dom.keys[K_OFTAB], Node.Fetch + index // 16)).keys[0]
    if hi == DK0 and create:
        hi = yield from fs.buy(dom, dom.keys[K_BANK], SB.CreateNode)
        yield dom.call(dom.keys[K_OFTAB], Node.Swap + index // 16, hi)
    return hi


def new_open_file(dom, obj, kind: int, flags: int):
    """An open file on ``obj`` (an inode or a pipe): a sense key to it for a keeper;
    the node key stays in the private table. A pipe end counts itself in the pipe's
    header (:func:`release` uncounts it). DK(0) if there is no room (nothing is kept)."""
    index = -1
    for i in range(1, MAX_OPEN):
        hi = yield from _oftab(dom, i, create=True)
        if hi != DK0 and (yield from slot(dom, hi, i % 16)) == DK0:
            index = i
            break
    bank = dom.keys[K_BANK]
    of = DK0 if index < 0 else (yield from fs.buy(dom, bank, SB.CreateNode))
    page = DK0 if of == DK0 else (yield from fs.buy(dom, bank))
    # The keeper's token is a second node holding only the fields page: through its
    # sense key a keeper reads the flags and offset, never the file (a keeper for a
    # write-only descriptor must not be able to read what others wrote there).
    token = DK0 if page == DK0 else (yield from fs.buy(dom, bank, SB.CreateNode))
    if token == DK0:
        yield from fs.sell(dom, bank, of, page)
        return DK0
    yield dom.call(of, Node.Swap + OF_OBJ, obj)
    yield dom.call(of, Node.Swap + OF_PAGE, page)
    yield dom.call(token, Node.Swap + OF_PAGE, page)
    yield dom.call(of, Node.Swap + OF_TOKEN, token)
    yield from fs.put_ints(dom, page, 0, kind, flags, 1, 0, index)
    yield dom.call((yield from _oftab(dom, index)), Node.Swap + index % 16, of)
    if kind in (OF_PIPE_R, OF_PIPE_W):
        field = pipe.READERS if kind == OF_PIPE_R else pipe.WRITERS
        count = (yield from pipe.header(dom, obj))[field // 4]
        yield from pipe.set_field(dom, obj, field, count + 1)
    return (yield dom.call(token, Node.MakeSenseKey)).keys[0]


def valid_of(dom, key):
    """``(fields, node key)`` of the open file a keeper passed (a sense key to it), or
    ``(None, DK(0))``: what a keeper passes is checked, never trusted."""
    if key == DK0 or (yield dom.call(key, KT)).rc not in (Node.AKT, Node.SenseAKT):
        return None, DK0
    page = yield from slot(dom, key, OF_PAGE)
    if page == DK0 or (yield dom.call(page, KT)).rc not in (Page.AKT, Page.ROAKT):
        return None, DK0
    index = (yield from fs.get_ints(dom, page, 16, 1))[0]
    if not 0 < index < MAX_OPEN:
        return None, DK0
    hi = yield from _oftab(dom, index)
    of = DK0 if hi == DK0 else (yield from slot(dom, hi, index % 16))
    if of == DK0:
        return None, DK0
    fields = yield from of_fields(dom, of)
    mine = (yield from fs.get_ints(dom, (yield from slot(dom, of, OF_PAGE)), 16, 1))[0]
    if mine != index or fields[2] <= 0:
        return None, DK0
    # The key must be this open file's own token, not a node a keeper made with a
    # forged index in it: compared with the discrim key (jmiscc.c:416).
    token = yield from slot(dom, of, OF_TOKEN)
    ours = DK0 if token == DK0 else (yield dom.call(token, Node.MakeSenseKey)).keys[0]
    if ours == DK0 or (yield dom.call(dom.keys[K_DISCRIM], Discrim.Compare, key, ours)).rc:
        return None, DK0
    return fields, of


def add_ref(dom, of):
    _, _, refs, _ = yield from of_fields(dom, of)
    yield from of_set(dom, of, 2, refs + 1)


def release(dom, of):
    """Drop one reference. The last one takes the open file out of the private table
    and sells it (its node, token and fields page: a keeper still holding the token's
    sense key holds a key to nothing); a pipe end is uncounted (the last write end may
    wake a reader with end of file) and a pipe with no end left is sold too."""
    kind, _, refs, _ = yield from of_fields(dom, of)
    yield from of_set(dom, of, 2, refs - 1)
    if refs - 1 > 0:
        return
    bank = dom.keys[K_BANK]
    page = yield from slot(dom, of, OF_PAGE)
    index = (yield from fs.get_ints(dom, page, 16, 1))[0]
    yield dom.call((yield from _oftab(dom, index)), Node.Swap + index % 16, DK0)
    p = yield from slot(dom, of, OF_OBJ)
    yield from fs.sell(dom, bank, (yield from slot(dom, of, OF_TOKEN)), page, of)
    if kind == OF_FILE:
        return
    head = yield from pipe.header(dom, p)
    if kind == OF_PIPE_R:
        head[2] -= 1
        yield from pipe.set_field(dom, p, pipe.READERS, head[2])
    else:
        head[3] -= 1
        yield from pipe.set_field(dom, p, pipe.WRITERS, head[3])
        yield from wake_reader(dom, p)
    if head[2] <= 0 and head[3] <= 0:
        yield from pipe.free_pipe(dom, bank, p)


def wake_reader(dom, p):
    """If a keeper waits on pipe ``p`` and data (or end of file) is there, answer it
    through the resume key the pipe keeps (``pipe.WAITER``): the bytes, in the string."""
    _, count, _, writers, wpid, _, wlen = yield from pipe.header(dom, p)
    if wpid == 0 or (count == 0 and writers > 0):
        return
    yield from pipe.set_field(dom, p, pipe.WPID, 0)
    resume = yield dom.call(p, Node.Swap + pipe.WAITER, DK0)
    resume = resume.keys[0]
    if resume == DK0:  # the reader is gone (its keeper destroyed with its bank)
        return
    data = yield from pipe.take(dom, p, wlen)
    yield dom.fork(resume, 0, data=abi.pack(payload=data))


# ------------------------------------------------------------- processes
def new_process(dom, pid: int, ppid: int, euid: int):
    """A process: its own bank, a domain and a keeper domain from the DC, bought there;
    the keeper's registers (:mod:`.keeper`) and the domain's keeper slot (a start key to
    the keeper, databyte 0). ``(errno, start key to the keeper's parent facet)``."""
    r = yield dom.call(dom.keys[K_BANK], CREATE_BANK)
    if r.rc != 0:
        return abi.ENOMEM, DK0
    bank = r.keys[0]
    made = yield dom.call(dom.keys[K_DC], DC.CreateDomain, bank)
    kmade = yield dom.call(dom.keys[K_DC], DC.CreateDomain, bank)
    fds = yield from fs.buy(dom, bank, SB.CreateNode)
    kids = yield from fs.buy(dom, bank, SB.CreateNode)
    layer, lbank = yield from layers.new_layer(dom, dom.keys[K_BANK])
    if made.rc != 0 or kmade.rc != 0 or fds == DK0 or kids == DK0 or layer == DK0:
        yield dom.call(bank, DESTROY_BANK)
        yield from layers.release(dom, dom.keys[K_BANK], layer)
        return abi.ENOMEM, DK0
    child, kdom = made.keys[0], kmade.keys[0]
    yield dom.call(kdom, Domain.SwapMemory, dom.keys[K_KIMAGE])
    yield dom.call(kdom, Domain.SwapMeter, dom.keys[K_METER])
    facet = (yield dom.call(dom.keys[K_SELF], Domain.MakeStart, data=bytes([pid]))).keys[0]
    for n, key in (
        (kp.KK_SYS, facet),
        (kp.KK_DOM, child),
        (kp.KK_BANK, bank),
        (kp.KK_FDS, fds),
        (kp.KK_KIDS, kids),
        (kp.KK_FORMAT, dom.keys[K_FORMAT]),
        (kp.KK_SELF, kdom),
        (kp.KK_LAYER, lbank),
    ):
        yield dom.call(kdom, Domain.SwapKey + n, key)
    regs = bytearray(16 * 8)
    regs[kp.R_PID * 8 : kp.R_PID * 8 + 8] = pid.to_bytes(8, "big")
    yield dom.call(kdom, Domain.PutRegs, data=bytes(regs))
    to_keeper = (yield dom.call(kdom, Domain.MakeStart, data=bytes([0]))).keys[0]
    yield dom.call(child, Domain.SwapKeeper, to_keeper)
    yield dom.call(child, Domain.SwapMeter, dom.keys[K_METER])
    node = yield from proc_node(dom, pid, create=True)
    for n, key in ((P_KEEPER, kdom), (P_WAITKEY, DK0), (P_BANK, bank), (P_LAYER, layer)):
        yield dom.call(node, Node.Swap + n, key)
    yield from set_entry(dom, pid, EMBRYO, ppid, euid)
    parent = (yield dom.call(kdom, Domain.MakeStart, data=bytes([kp.PARENT]))).keys[0]
    return 0, parent


def keeper_key(dom, pid: int, n: int):
    """Key register ``n`` of ``pid``'s keeper (read through its domain key), or DK(0)."""
    node = yield from proc_node(dom, pid)
    kdom = DK0 if node == DK0 else (yield from slot(dom, node, P_KEEPER))
    if kdom == DK0:
        return DK0
    return (yield dom.call(kdom, Domain.GetKey + n)).keys[0]


def terminate(dom, pid: int, status: int):
    """The end of ``pid``, by ``exit`` or a signal: close its files, destroy its bank
    (its domain, its keeper, its threads), release its memory layer (:mod:`.layers`: gone
    unless a copy-on-write child still reads it); its children: a zombie is freed, an
    embryo (never started: only this process could) is destroyed, a running one becomes
    an orphan (``ORPHAN``). Then leave a zombie with wait status ``status`` and answer a
    waiting parent — or, for an orphan, free the entry: as if init had reaped it."""
    state, ppid, euid, _, _ = yield from table_entry(dom, pid)
    if state not in (EMBRYO, RUNNING):
        return
    orphan = (yield from fs.read_page(dom, dom.keys[K_TABLE], pid * 16 + ORPHAN, 1))[0]
    node = yield from proc_node(dom, pid)
    fds = yield from keeper_key(dom, pid, kp.KK_FDS)
    if fds != DK0:
        for fd in range(abi.NFD):
            _, of = yield from valid_of(dom, (yield from slot(dom, fds, fd)))
            if of != DK0:
                yield from release(dom, of)
    bank = yield from slot(dom, node, P_BANK)
    layer = yield from slot(dom, node, P_LAYER)
    for n in range(P_LAYER + 1):
        yield dom.call(node, Node.Swap + n, DK0)
    if bank != DK0:
        yield dom.call(bank, DESTROY_BANK)
    yield from layers.release(dom, dom.keys[K_BANK], layer)
    raw = yield from fs.read_page(dom, dom.keys[K_TABLE], 0, abi.PAGE)
    for c in range(1, abi.MAX_PROCS + 1):  # orphans: no one will wait for them
        if raw[c * 16] != FREE and raw[c * 16 + 1] == pid:
            if raw[c * 16] == EMBRYO:
                yield from terminate(dom, c, 0)
            if raw[c * 16] in (EMBRYO, ZOMBIE):
                yield from set_entry(dom, c, FREE, 0, 0)
            else:  # ppid 0, its euid, ORPHAN 1
                orphaned = bytes([0, raw[c * 16 + 2], 1])
                yield dom.call(dom.keys[K_TABLE], Page.WriteData + c * 16 + 1, data=orphaned)
    if orphan:
        yield from set_entry(dom, pid, FREE, 0, 0)
        return
    yield from set_entry(dom, pid, ZOMBIE, ppid, euid, status)
    if ppid:
        yield from wake_parent(dom, ppid, pid, status)


def wake_parent(dom, ppid: int, pid: int, status: int):
    """If ``ppid``'s keeper waits in ``wait`` for ``pid`` (or any child), answer it
    ``(pid, status)`` and free the zombie. (SIGCHLD's default action is to ignore it.)"""
    pstate, pp, peuid, pstatus, waitfor = yield from table_entry(dom, ppid)
    if pstate != RUNNING or waitfor not in (WAIT_ANY, pid):
        return
    pnode = yield from proc_node(dom, ppid)
    resume = yield from slot(dom, pnode, P_WAITKEY)
    if resume == DK0:
        return
    yield dom.call(pnode, Node.Swap + P_WAITKEY, DK0)
    yield from set_entry(dom, ppid, pstate, pp, peuid, pstatus)
    yield from set_entry(dom, pid, FREE, 0, 0)
    yield dom.fork(resume, 0, data=abi.pack(pid, status))
