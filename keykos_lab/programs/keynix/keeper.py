"""The Unix keeper: a domain keeper that turns traps into Unix system calls.

docs/primer.md#primer-keepers, docs/primer.md#primer-keynix: a KeyNIX process is a domain whose
keeper slot holds a
start key to this keeper, with the process's **pid as databyte** — one facet
per process. A trap arrives as an implicit CALL carrying the process's domain
key (key 3) and a fault key (key 4); the keeper does the work on KeyKOS
objects, writes registers 0–2 (GetRegs/PutRegs) and memory, and resumes the
process through the fault key — or keeps the fault key (a blocked ``read`` or
``wait``) and answers it later with a FORK. Databyte 0 is the operator's facet
(:mod:`.admin`).

Everything the keeper knows lives in KeyKOS objects, reached from its key
registers: a two-level node tree of *process nodes*, a page of per-pid integers,
the root directory, the tty pipe. A process node holds (slots): 0 the domain
key, 1 the fd table (a node of open files), 2 the root directory, 3 a node key
to the address space, 4 the fault key while it waits in ``wait``, 5 its own
sub-bank (everything private to the process is bought there, so ``exit``
destroys it in one call, docs/primer.md#primer-space-bank). An *open file* is a node (0 the inode
or pipe,
1 a page: kind, flags, reference count, offset), shared by ``dup`` and ``fork``
as in Unix.

Where the sources are silent (docs/primer.md#primer-keynix, docs/primer.md#primer-uncertainties):
how 1992 KeyNIX did
``fork``/``exec`` is not known. Here ``fork`` copies the writable pages (a
*plain copy*, not a copy-on-write segment keeper) and shares the read-only
program page; ``exec`` is MakeAvailable + ReplaceMemory + a start-key message;
a fork child restarts its program with ``BORN_FORK`` and the copied registers
(``PC_REG`` is its program counter) — Python generators cannot be cloned.

>>> K_PTAB, K_BANK, K_SELF
(0, 1, 3)
"""

from __future__ import annotations

import struct

from keykos_lab.kernel.keys import DK0
from keykos_lab.kernel.oc import SB, Domain, Node, Page
from keykos_lab.kernel.process import parse_image
from keykos_lab.programs.keynix import abi, fs, pipe
from keykos_lab.programs.primordial.dc import DC

# Keeper key registers.
K_PTAB, K_BANK, K_DC, K_SELF, K_METER, K_ROOT, K_FORMAT, K_TABLE, K_TTY, K_TTYOUT = range(10)
# Process-node slots.
P_DOM, P_FDS, P_ROOT, P_MEM, P_WAITKEY, P_BANK = range(6)
# Process-table page: 16 bytes per pid.
T_STATE, T_PPID, T_EUID, T_STATUS, T_WAITFOR = 0, 1, 2, 4, 8
FREE, EMBRYO, RUNNING, ZOMBIE = 0, 1, 2, 3
WAIT_ANY = 0xFFFF
# Open-file kinds (byte 0 of its page); fields: kind, flags, refs, offset (4 bytes each).
OF_FILE, OF_PIPE_R, OF_PIPE_W = 1, 2, 3
OF_OBJ, OF_PAGE = 0, 1
KILLED = 128 + 11  #: status of a process killed for a fault (like SIGSEGV)
CREATE_BANK = 67  #: SB CreateBank
DESTROY_BANK = 64  #: SB DestroyBankAndSpace
_REGS = struct.Struct(">16Q")


# ------------------------------------------------------------ process table
def table_entry(dom, pid: int):
    """``(state, ppid, euid, status, waitfor)``."""
    raw = yield from fs.read_page(dom, dom.keys[K_TABLE], pid * 16, 16)
    return (
        raw[0],
        raw[1],
        raw[2],
        int.from_bytes(raw[4:8], "big", signed=True),
        int.from_bytes(raw[8:10], "big"),
    )


def set_entry(dom, pid: int, state: int, ppid: int, euid: int, status: int = 0, waitfor: int = 0):
    data = (
        bytes([state, ppid, min(euid, 255), 0])
        + status.to_bytes(4, "big", signed=True)
        + waitfor.to_bytes(2, "big")
    )
    yield dom.call(dom.keys[K_TABLE], Page.WriteData + pid * 16, data=data)


def proc_node(dom, pid: int, create: bool = False):
    """The process node of ``pid`` (DK(0) if none); ``create`` buys it."""
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


def new_open_file(dom, obj, kind: int, flags: int):
    bank = dom.keys[K_BANK]
    of = yield from fs.buy(dom, bank, SB.CreateNode)
    page = yield from fs.buy(dom, bank)
    if of == DK0 or page == DK0:
        return DK0
    yield dom.call(of, Node.Swap + OF_OBJ, obj)
    yield dom.call(of, Node.Swap + OF_PAGE, page)
    yield from fs.put_ints(dom, page, 0, kind, flags, 1, 0)
    return of


def add_ref(dom, of):
    _, _, refs, _ = yield from of_fields(dom, of)
    yield from of_set(dom, of, 2, refs + 1)


def release(dom, of):
    """Drop one reference; the last one closes a pipe end (and may wake a reader)."""
    kind, _, refs, _ = yield from of_fields(dom, of)
    yield from of_set(dom, of, 2, refs - 1)
    if refs - 1 > 0 or kind == OF_FILE:
        return
    p = yield from slot(dom, of, OF_OBJ)
    head = yield from pipe.header(dom, p)
    if kind == OF_PIPE_R:
        yield from pipe.set_field(dom, p, pipe.READERS, head[2] - 1)
    else:
        yield from pipe.set_field(dom, p, pipe.WRITERS, head[3] - 1)
        yield from wake_reader(dom, p)


def fd_get(dom, fds, fd: int):
    if not 0 <= fd < abi.NFD or fds == DK0:
        return DK0
    return (yield from slot(dom, fds, fd))


def fd_free(dom, fds, lowest: int = 0):
    for fd in range(lowest, abi.NFD):
        if (yield from slot(dom, fds, fd)) == DK0:
            return fd
    return -1


# ------------------------------------------------------------ answering
def answer(dom, dkey, fault, value: int = 0, errno: int = 0, value2: int = 0, *, fork=False):
    """Write registers 0–2 of the process and resume it through ``fault``."""
    regs = list(_REGS.unpack((yield dom.call(dkey, Domain.GetRegs)).data))
    regs[abi.R_VALUE] = (-1 if errno else value) & 0xFFFFFFFFFFFFFFFF
    regs[abi.R_ERRNO], regs[abi.R_VALUE2] = errno, value2 & 0xFFFFFFFFFFFFFFFF
    yield dom.call(dkey, Domain.PutRegs, data=_REGS.pack(*regs))
    if fork:
        yield dom.fork(fault, 0)
    else:
        yield dom.return_(fault, 0)


def wake_reader(dom, p):
    """If a reader waits on pipe ``p`` and data (or end of file) is there, answer it."""
    head = yield from pipe.header(dom, p)
    _, count, _, writers, wpid, waddr, wlen = head
    if wpid == 0 or (count == 0 and writers > 0):
        return
    fault = yield from slot(dom, p, pipe.WAITER)
    yield dom.call(p, Node.Swap + pipe.WAITER, DK0)
    yield from pipe.set_field(dom, p, pipe.WPID, 0)
    node = yield from proc_node(dom, wpid)
    if node == DK0:
        return
    data = yield from pipe.take(dom, p, wlen)
    space = yield from slot(dom, node, P_MEM)
    if data:
        yield from fs.mem_write(dom, space, waddr, data)
    yield from answer(dom, (yield from slot(dom, node, P_DOM)), fault, len(data), fork=True)


# ------------------------------------------------------------ processes
def new_process(dom, pid: int, ppid: int, euid: int):
    """A domain from the DC, on its own sub-bank, with this keeper (databyte pid)
    and the meter; its process node with an empty fd table. ``(errno, node)``."""
    r = yield dom.call(dom.keys[K_BANK], CREATE_BANK)
    if r.rc != 0:
        return abi.ENOMEM, DK0
    bank = r.keys[0]
    made = yield dom.call(dom.keys[K_DC], DC.CreateDomain, bank)
    fds = yield from fs.buy(dom, bank, SB.CreateNode)
    if made.rc != 0 or fds == DK0:
        yield dom.call(bank, DESTROY_BANK)
        return abi.ENOMEM, DK0
    child = made.keys[0]
    keeper = (yield dom.call(dom.keys[K_SELF], Domain.MakeStart, data=bytes([pid]))).keys[0]
    yield dom.call(child, Domain.SwapKeeper, keeper)
    yield dom.call(child, Domain.SwapMeter, dom.keys[K_METER])
    node = yield from proc_node(dom, pid, create=True)
    for n, key in ((P_DOM, child), (P_FDS, fds), (P_BANK, bank)):
        yield dom.call(node, Node.Swap + n, key)
    yield from set_entry(dom, pid, EMBRYO, ppid, euid)
    return 0, node


def new_space(dom, bank, text):
    """An address space: a red node, ``text`` (read-only) at 0 and fresh pages."""
    space = yield from fs.buy(dom, bank, SB.CreateNode)
    if space == DK0:
        return DK0
    yield dom.call(space, Node.Swap + fs.FORMAT, dom.keys[K_FORMAT])
    yield dom.call(space, Node.Swap + 0, text)
    for n in range(1, abi.SPACE_PAGES):
        page = yield from fs.buy(dom, bank)
        if page == DK0:
            return DK0
        yield dom.call(space, Node.Swap + n, page)
    return space


def copy_space(dom, bank, src):
    """fork's plain copy: the same text page, copies of the writable pages."""
    text = yield from slot(dom, src, 0)
    space = yield from new_space(dom, bank, text)
    if space == DK0:
        return DK0
    for n in range(1, abi.SPACE_PAGES):
        old = yield from slot(dom, src, n)
        data = yield from fs.read_page(dom, old, 0, abi.PAGE)
        if data.strip(b"\0"):
            yield dom.call((yield from slot(dom, space, n)), Page.WriteData, data=data)
    return space


def program_text(dom, root, path: bytes):
    """``(errno, read-only page key)`` of the program file at ``path``."""
    err, inode, _, _ = yield from fs.lookup(dom, root, path)
    if err:
        return err, DK0
    kind, _, size = yield from fs.stat(dom, inode)
    if kind == fs.DIR:
        return abi.EACCES, DK0
    page = yield from slot(dom, inode, 0)
    if kind != fs.FILE or page == DK0:
        return abi.ENOEXEC, DK0
    head = yield from fs.read_page(dom, page, 0, 64)
    if parse_image(head) is None:
        return abi.ENOEXEC, DK0
    return 0, (yield dom.call(page, Page.MakeReadOnlyKey)).keys[0]


def install_space(dom, node, space):
    """ReplaceMemory (docs/primer.md#primer-domains) with ``space``, start address 0; the node
    keeps a node key."""
    seg = (yield dom.call(space, Node.MakeSegmentKey, data=bytes([0]))).keys[0]
    child = yield from slot(dom, node, P_DOM)
    yield dom.call(child, Domain.ReplaceMemory, seg, data=bytes(8))
    old = yield from slot(dom, node, P_MEM)
    yield dom.call(node, Node.Swap + P_MEM, space)
    if old != DK0:
        bank = yield from slot(dom, node, P_BANK)
        for n in range(1, abi.SPACE_PAGES):
            yield dom.call(bank, SB.DestroyPage, (yield from slot(dom, old, n)))
        yield dom.call(bank, SB.DestroyNode, old)


def start(dom, pid: int, node, born: int):
    """Start the process's program with a message through a new start key."""
    child = yield from slot(dom, node, P_DOM)
    state, ppid, euid, _, _ = yield from table_entry(dom, pid)
    yield from set_entry(dom, pid, RUNNING, ppid, euid)
    key = (yield dom.call(child, Domain.MakeStart, data=bytes([0]))).keys[0]
    yield dom.fork(key, born)


def finish(dom, pid: int, status: int):
    """exit: close the files, destroy the process's bank (domain, memory, fd
    table), leave a zombie and answer a waiting parent."""
    node = yield from proc_node(dom, pid)
    fds = yield from slot(dom, node, P_FDS)
    for fd in range(abi.NFD):
        of = yield from slot(dom, fds, fd)
        if of != DK0:
            yield from release(dom, of)
    bank = yield from slot(dom, node, P_BANK)
    yield dom.call(bank, DESTROY_BANK)
    for n in range(6):
        yield dom.call(node, Node.Swap + n, DK0)
    _, ppid, euid, _, _ = yield from table_entry(dom, pid)
    yield from set_entry(dom, pid, ZOMBIE, ppid, euid, status)
    if ppid:
        pstate, pp, peuid, pstatus, waitfor = yield from table_entry(dom, ppid)
        if pstate == RUNNING and waitfor in (WAIT_ANY, pid):
            pnode = yield from proc_node(dom, ppid)
            fault = yield from slot(dom, pnode, P_WAITKEY)
            yield dom.call(pnode, Node.Swap + P_WAITKEY, DK0)
            yield from set_entry(dom, ppid, pstate, pp, peuid, pstatus)
            yield from set_entry(dom, pid, FREE, 0, 0)
            yield from answer(
                dom, (yield from slot(dom, pnode, P_DOM)), fault, pid, 0, status, fork=True
            )


def _args(ints, n):
    return tuple(ints[:n]) if len(ints) >= n else None


def sys_getpid(dom, pid, dkey, fault, ints, payload):
    yield from answer(dom, dkey, fault, pid)


def sys_exit(dom, pid, dkey, fault, ints, payload):
    yield from finish(dom, pid, ints[0] if ints else 0)
    yield dom.return_(DK0)


def sys_open(dom, pid, dkey, fault, ints, payload):
    flags = ints[0] if ints else 0
    node = yield from proc_node(dom, pid)
    _, _, euid, _, _ = yield from table_entry(dom, pid)
    root = yield from slot(dom, node, P_ROOT)
    err, inode, parent, name = yield from fs.lookup(dom, root, payload)
    if err == abi.ENOENT and flags & abi.O_CREAT and parent != DK0:
        inode = yield from fs.new_inode(dom, dom.keys[K_BANK], dom.keys[K_FORMAT], fs.FILE)
        err = abi.ENOSPC if inode == DK0 else (yield from fs.dir_add(dom, parent, name, inode))
    if not err:
        kind, mode, _ = yield from fs.stat(dom, inode)
        writing = flags & 3 in (abi.O_WRONLY, abi.O_RDWR)
        if kind == fs.DIR:
            err = abi.EISDIR
        elif mode & fs.PRIVILEGED and euid != 0:
            err = abi.EACCES
        elif writing and (mode & fs.READONLY or kind != fs.FILE):
            err = abi.EACCES
    fds = yield from slot(dom, node, P_FDS)
    fd = -1 if err else (yield from fd_free(dom, fds))
    if not err and fd < 0:
        err = abi.EMFILE
    if err:
        yield from answer(dom, dkey, fault, errno=err)
        return
    if flags & abi.O_TRUNC and flags & 3:
        yield from fs.truncate(dom, inode)
    of = yield from new_open_file(dom, inode, OF_FILE, flags)
    yield dom.call(fds, Node.Swap + fd, of)
    yield from answer(dom, dkey, fault, fd)


def sys_close(dom, pid, dkey, fault, ints, payload):
    fds = yield from slot(dom, (yield from proc_node(dom, pid)), P_FDS)
    of = yield from fd_get(dom, fds, ints[0] if ints else -1)
    if of == DK0:
        yield from answer(dom, dkey, fault, errno=abi.EBADF)
        return
    yield dom.call(fds, Node.Swap + ints[0], DK0)
    yield from release(dom, of)
    yield from answer(dom, dkey, fault, 0)


def sys_dup(dom, pid, dkey, fault, ints, payload):
    fds = yield from slot(dom, (yield from proc_node(dom, pid)), P_FDS)
    of = yield from fd_get(dom, fds, ints[0] if ints else -1)
    new = -1 if of == DK0 else (yield from fd_free(dom, fds))
    if of == DK0 or new < 0:
        yield from answer(dom, dkey, fault, errno=abi.EBADF if of == DK0 else abi.EMFILE)
        return
    yield dom.call(fds, Node.Swap + new, of)
    yield from add_ref(dom, of)
    yield from answer(dom, dkey, fault, new)


def _io_args(dom, pid, ints):
    """``(errno, node, open file, fields, address, n)`` for read and write."""
    args = _args(ints, 3)
    if args is None:
        return abi.EINVAL, DK0, DK0, None, 0, 0
    fd, address, n = args
    node = yield from proc_node(dom, pid)
    of = yield from fd_get(dom, (yield from slot(dom, node, P_FDS)), fd)
    if of == DK0:
        return abi.EBADF, node, DK0, None, 0, 0
    if not fs.valid_buffer(address, n) or n > abi.BUF_SIZE:
        return abi.EFAULT, node, of, None, 0, 0
    return 0, node, of, (yield from of_fields(dom, of)), address, n


def sys_read(dom, pid, dkey, fault, ints, payload):
    err, node, of, fields, address, n = yield from _io_args(dom, pid, ints)
    if not err and (fields[0] == OF_PIPE_W or fields[1] & 3 == abi.O_WRONLY):
        err = abi.EBADF
    if err:
        yield from answer(dom, dkey, fault, errno=err)
        return
    kind, _, _, offset = fields
    obj = yield from slot(dom, of, OF_OBJ)
    if kind == OF_FILE:
        data = yield from fs.file_read(dom, obj, offset, n)
        yield from of_set(dom, of, 3, offset + len(data))
    else:
        head = yield from pipe.header(dom, obj)
        if head[1] == 0 and head[3] > 0:  # empty, a writer is open: block
            if head[4]:
                yield from answer(dom, dkey, fault, errno=abi.EAGAIN)
                return
            yield dom.call(obj, Node.Swap + pipe.WAITER, fault)
            page = yield from pipe.ring(dom, obj)
            yield from fs.put_ints(dom, page, pipe.WPID, pid, address, n)
            yield dom.return_(DK0)
            return
        data = yield from pipe.take(dom, obj, n)
    if data:
        yield from fs.mem_write(dom, (yield from slot(dom, node, P_MEM)), address, data)
    yield from answer(dom, dkey, fault, len(data))


def sys_write(dom, pid, dkey, fault, ints, payload):
    err, node, of, fields, address, n = yield from _io_args(dom, pid, ints)
    if not err and (fields[0] == OF_PIPE_R or fields[1] & 3 == abi.O_RDONLY):
        err = abi.EBADF
    if err:
        yield from answer(dom, dkey, fault, errno=err)
        return
    kind, flags, _, offset = fields
    data = yield from fs.mem_read(dom, (yield from slot(dom, node, P_MEM)), address, n)
    obj = yield from slot(dom, of, OF_OBJ)
    if kind == OF_FILE:
        if flags & abi.O_APPEND:
            offset = (yield from fs.stat(dom, obj))[2]
        rc = yield from fs.file_write(dom, obj, dom.keys[K_BANK], offset, data)
        if rc > 0:
            yield from of_set(dom, of, 3, offset + rc)
    else:
        rc = yield from pipe.put(dom, obj, data)
        if rc > 0:
            yield from wake_reader(dom, obj)
    yield from answer(dom, dkey, fault, rc if rc >= 0 else 0, -rc if rc < 0 else 0)


def sys_pipe(dom, pid, dkey, fault, ints, payload):
    fds = yield from slot(dom, (yield from proc_node(dom, pid)), P_FDS)
    rfd = yield from fd_free(dom, fds)
    wfd = -1 if rfd < 0 else (yield from fd_free(dom, fds, rfd + 1))
    if wfd < 0:
        yield from answer(dom, dkey, fault, errno=abi.EMFILE)
        return
    p = yield from pipe.new_pipe(dom, dom.keys[K_BANK])
    r = yield from new_open_file(dom, p, OF_PIPE_R, abi.O_RDONLY)
    w = yield from new_open_file(dom, p, OF_PIPE_W, abi.O_WRONLY)
    yield dom.call(fds, Node.Swap + rfd, r)
    yield dom.call(fds, Node.Swap + wfd, w)
    yield from answer(dom, dkey, fault, rfd, 0, wfd)


def sys_fork(dom, pid, dkey, fault, ints, payload):
    cpid = yield from alloc_pid(dom)
    parent = yield from proc_node(dom, pid)
    _, _, euid, _, _ = yield from table_entry(dom, pid)
    err, node = (abi.EAGAIN, DK0) if not cpid else (yield from new_process(dom, cpid, pid, euid))
    if err:
        yield from answer(dom, dkey, fault, errno=err)
        return
    bank = yield from slot(dom, node, P_BANK)
    space = yield from copy_space(dom, bank, (yield from slot(dom, parent, P_MEM)))
    child = yield from slot(dom, node, P_DOM)
    seg = (yield dom.call(space, Node.MakeSegmentKey, data=bytes([0]))).keys[0]
    yield dom.call(child, Domain.SwapMemory, seg)
    yield dom.call(node, Node.Swap + P_MEM, space)
    yield dom.call(child, Domain.PutRegs, data=(yield dom.call(dkey, Domain.GetRegs)).data)
    yield dom.call(node, Node.Swap + P_ROOT, (yield from slot(dom, parent, P_ROOT)))
    pfds, cfds = (yield from slot(dom, parent, P_FDS)), (yield from slot(dom, node, P_FDS))
    for fd in range(abi.NFD):
        of = yield from slot(dom, pfds, fd)
        if of != DK0:
            yield dom.call(cfds, Node.Swap + fd, of)
            yield from add_ref(dom, of)
    yield from start(dom, cpid, node, abi.BORN_FORK)
    yield from answer(dom, dkey, fault, cpid)


def _load(dom, node, root, path: bytes, argv: bytes, env: bytes):
    """Build a fresh address space holding the program at ``path``; errno."""
    err, text = yield from program_text(dom, root, path)
    if err:
        return err
    if len(argv) > abi.PAGE or len(env) > abi.PAGE:
        return abi.E2BIG
    space = yield from new_space(dom, (yield from slot(dom, node, P_BANK)), text)
    if space == DK0:
        return abi.ENOMEM
    yield from fs.mem_write(dom, space, abi.ARGV, argv)
    yield from fs.mem_write(dom, space, abi.ENV, env)
    yield from install_space(dom, node, space)
    return 0


def _path_argv(payload: bytes):
    path, _, rest = payload.partition(b"\0")
    return path, rest or b"\0"


def sys_exec(dom, pid, dkey, fault, ints, payload):
    node = yield from proc_node(dom, pid)
    path, argv = _path_argv(payload)
    old = yield from slot(dom, node, P_MEM)
    env = (yield from fs.mem_read(dom, old, abi.ENV, abi.PAGE)) if old != DK0 else b""
    root = yield from slot(dom, node, P_ROOT)
    err, _ = yield from program_text(dom, root, path)
    if err:
        yield from answer(dom, dkey, fault, errno=err)
        return
    yield dom.call(dkey, Domain.MakeAvailable)  # the old program is gone
    yield from _load(dom, node, root, path, argv, env)
    _, inode, _, _ = yield from fs.lookup(dom, root, path)
    state, ppid, euid, _, _ = yield from table_entry(dom, pid)
    if (yield from fs.stat(dom, inode))[1] & fs.SETUID:
        yield from set_entry(dom, pid, state, ppid, 0)  # the Unix way: euid 0
    yield from start(dom, pid, node, abi.BORN_EXEC)
    yield dom.return_(DK0)


def sys_spawn(dom, pid, dkey, fault, ints, payload):
    if len(ints) % 2:
        yield from answer(dom, dkey, fault, errno=abi.EINVAL)
        return
    parent = yield from proc_node(dom, pid)
    pfds = yield from slot(dom, parent, P_FDS)
    pairs = list(zip(ints[::2], ints[1::2]))
    for cfd, fd in pairs:
        if not 0 <= cfd < abi.NFD or (yield from fd_get(dom, pfds, fd)) == DK0:
            yield from answer(dom, dkey, fault, errno=abi.EBADF)
            return
    root = yield from slot(dom, parent, P_ROOT)
    path, argv = _path_argv(payload)
    err, _ = yield from program_text(dom, root, path)
    cpid = 0 if err else (yield from alloc_pid(dom))
    _, _, euid, _, _ = yield from table_entry(dom, pid)
    if not err:
        err, node = (
            (abi.EAGAIN, DK0) if not cpid else (yield from new_process(dom, cpid, pid, euid))
        )
    if err:
        yield from answer(dom, dkey, fault, errno=err)
        return
    env = yield from fs.mem_read(dom, (yield from slot(dom, parent, P_MEM)), abi.ENV, abi.PAGE)
    yield dom.call(node, Node.Swap + P_ROOT, root)  # inherited defaults: root, env
    err = yield from _load(dom, node, root, path, argv, env)
    cfds = yield from slot(dom, node, P_FDS)
    for cfd, fd in pairs:  # and exactly the files listed
        of = yield from fd_get(dom, pfds, fd)
        yield dom.call(cfds, Node.Swap + cfd, of)
        yield from add_ref(dom, of)
    yield from start(dom, cpid, node, abi.BORN_EXEC)
    yield from answer(dom, dkey, fault, cpid)


def sys_wait(dom, pid, dkey, fault, ints, payload):
    want = ints[0] if ints else -1
    raw = yield from fs.read_page(dom, dom.keys[K_TABLE], 0, abi.PAGE)
    children = [
        c
        for c in range(1, abi.MAX_PROCS + 1)
        if raw[c * 16] != FREE and raw[c * 16 + 1] == pid and want in (-1, c)
    ]
    for c in children:
        if raw[c * 16] == ZOMBIE:
            status = int.from_bytes(raw[c * 16 + 4 : c * 16 + 8], "big", signed=True)
            yield from set_entry(dom, c, FREE, 0, 0)
            yield from answer(dom, dkey, fault, c, 0, status)
            return
    if not children:
        yield from answer(dom, dkey, fault, errno=abi.ECHILD)
        return
    node = yield from proc_node(dom, pid)
    yield dom.call(node, Node.Swap + P_WAITKEY, fault)
    state, ppid, euid, status, _ = yield from table_entry(dom, pid)
    yield from set_entry(dom, pid, state, ppid, euid, status, WAIT_ANY if want < 0 else want)
    yield dom.return_(DK0)


def _my_embryo(dom, pid, cpid):
    """The process node of ``cpid`` if it is an unstarted child of ``pid``."""
    if not 0 < cpid <= abi.MAX_PROCS:
        return DK0
    state, ppid, _, _, _ = yield from table_entry(dom, cpid)
    if state != EMBRYO or ppid != pid:
        return DK0
    return (yield from proc_node(dom, cpid))


def sys_create(dom, pid, dkey, fault, ints, payload):
    cpid = yield from alloc_pid(dom)
    _, _, euid, _, _ = yield from table_entry(dom, pid)
    err, _ = (abi.EAGAIN, DK0) if not cpid else (yield from new_process(dom, cpid, pid, euid))
    yield from answer(dom, dkey, fault, cpid, err)


def sys_install_fd(dom, pid, dkey, fault, ints, payload):
    args = _args(ints, 3)
    node = DK0 if args is None else (yield from _my_embryo(dom, pid, args[0]))
    if node == DK0:
        yield from answer(dom, dkey, fault, errno=abi.ESRCH if args else abi.EINVAL)
        return
    _, cfd, fd = args
    of = yield from fd_get(dom, (yield from slot(dom, (yield from proc_node(dom, pid)), P_FDS)), fd)
    if of == DK0 or not 0 <= cfd < abi.NFD:
        yield from answer(dom, dkey, fault, errno=abi.EBADF)
        return
    cfds = yield from slot(dom, node, P_FDS)
    old = yield from slot(dom, cfds, cfd)
    if old != DK0:
        yield from release(dom, old)
    yield dom.call(cfds, Node.Swap + cfd, of)
    yield from add_ref(dom, of)
    yield from answer(dom, dkey, fault, 0)


def sys_install_prog(dom, pid, dkey, fault, ints, payload):
    node = (yield from _my_embryo(dom, pid, ints[0])) if ints else DK0
    if node == DK0:
        yield from answer(dom, dkey, fault, errno=abi.ESRCH)
        return
    parent = yield from proc_node(dom, pid)
    err = yield from _load(dom, node, (yield from slot(dom, parent, P_ROOT)), payload, b"\0", b"\0")
    yield from answer(dom, dkey, fault, 0, err)


def sys_start(dom, pid, dkey, fault, ints, payload):
    node = (yield from _my_embryo(dom, pid, ints[0])) if ints else DK0
    space = DK0 if node == DK0 else (yield from slot(dom, node, P_MEM))
    if space == DK0:
        yield from answer(dom, dkey, fault, errno=abi.ESRCH if node == DK0 else abi.ENOEXEC)
        return
    if len(payload) > abi.PAGE:
        yield from answer(dom, dkey, fault, errno=abi.E2BIG)
        return
    yield from fs.mem_write(dom, space, abi.ARGV, payload or b"\0")
    yield from start(dom, ints[0], node, abi.BORN_EXEC)
    yield from answer(dom, dkey, fault, 0)


def sys_geteuid(dom, pid, dkey, fault, ints, payload):
    yield from answer(dom, dkey, fault, (yield from table_entry(dom, pid))[2])


def sys_ptrace(dom, pid, dkey, fault, ints, payload):
    """PEEK a page: ``(pid, address, my buffer)`` copies the target's page at
    ``address`` into mine. Allowed as Unix allows it: euid 0, or the same euid
    and the target is my child. A process only — a factory yield has no pid."""
    args = _args(ints, 3)
    if (
        args is None
        or not fs.valid_buffer(args[1], abi.PAGE)
        or not fs.valid_buffer(args[2], abi.PAGE)
    ):
        yield from answer(dom, dkey, fault, errno=abi.EINVAL if args is None else abi.EFAULT)
        return
    target, address, buf = args
    state = FREE if not 0 < target <= abi.MAX_PROCS else (yield from table_entry(dom, target))[0]
    if state not in (EMBRYO, RUNNING):
        yield from answer(dom, dkey, fault, errno=abi.ESRCH)
        return
    _, tppid, teuid, _, _ = yield from table_entry(dom, target)
    _, _, euid, _, _ = yield from table_entry(dom, pid)
    if euid != 0 and (teuid != euid or tppid != pid):
        yield from answer(dom, dkey, fault, errno=abi.EPERM)
        return
    tspace = yield from slot(dom, (yield from proc_node(dom, target)), P_MEM)
    if tspace == DK0:
        yield from answer(dom, dkey, fault, errno=abi.ESRCH)
        return
    data = yield from fs.mem_read(dom, tspace, address, abi.PAGE)
    yield from fs.mem_write(
        dom, (yield from slot(dom, (yield from proc_node(dom, pid)), P_MEM)), buf, data
    )
    yield from answer(dom, dkey, fault, abi.PAGE)
