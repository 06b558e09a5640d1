"""Making processes, keeper side: fork, exec, spawn, the empty child, ptrace.

A new process is made by the system domain (``S_NEWPROC``, :func:`.server.new_process`):
its bank, its domain and its keeper. The caller's keeper gets back a start key to the new
keeper's ``PARENT`` facet and uses it to fill the embryo — ``C_FORK`` (copy my memory,
registers and files), ``C_LOAD`` (a program), ``C_INSTALL_FD`` (one open file) — and to
start it (``C_START``). For ``fork`` and ``spawn`` the key is dropped once the child
runs; for the empty child (``create``) the parent's keeper keeps it in its ``KIDS`` node
until ``start``: holding it is what lets it install files and a program, or PEEK
(``ptrace``) the embryo's memory. A running process's memory is reached by its keeper
alone.

``fork`` makes the child's memory a copy-on-write copy (:mod:`.cow`: parent and child
each get a virtual copy segment of the parent's frozen memory), or, with the KeyNIX set
to copy (``KeyNIX(fork="copy")``) or ``fork(COPY_FORK)``, a plain copy (the written
pages copied, the program page shared read-only). A process's memory is bought from
its memory layer (:mod:`.layers`); ``exec`` starts a new one. Where the sources are
silent (docs/primer.md#primer-uncertainties): how 1992 KeyNIX did ``fork`` is not
known; a fork child restarts its program with ``BORN_FORK`` and the copied registers
(``PC_REG`` is its program counter) — Python generators cannot be cloned.

>>> C_FORK, C_START
(0, 3)
"""

from __future__ import annotations

from keykos_lab.kernel.keys import DK0
from keykos_lab.kernel.oc import SB, Domain, Node
from keykos_lab.programs.keynix import abi, fs, threads
from keykos_lab.programs.keynix import server as s
from keykos_lab.programs.keynix.cow import COPY_FORK, COW_FORK
from keykos_lab.programs.keynix.keeper import (
    KK_DOM,
    KK_FDS,
    KK_FORMAT,
    KK_KIDS,
    KK_LAYER,
    KK_MEM,
    MAX_KIDS,
    R_KIDS,
    _args,
    answer,
    fd_get,
    fd_set,
    system,
)

# Orders of the PARENT facet.
C_FORK, C_LOAD, C_INSTALL_FD, C_START, C_PEEK = range(5)
__all__ = ["COPY_FORK", "COW_FORK"]  # fork's first argument (:mod:`.cow`), re-exported


# ------------------------------------------------------------ address spaces
def new_space(dom, bank, text):
    """An address space: a red node, ``text`` (read-only) at 0 and fresh pages."""
    space = yield from fs.buy(dom, bank, SB.CreateNode)
    if space == DK0:
        return DK0
    yield dom.call(space, Node.Swap + fs.FORMAT, dom.keys[KK_FORMAT])
    yield dom.call(space, Node.Swap + 0, text)
    for n in range(1, abi.SPACE_PAGES):
        page = yield from fs.buy(dom, bank)
        if page == DK0:
            return DK0
        yield dom.call(space, Node.Swap + n, page)
    return space


def copy_space(dom, bank, src):
    """fork's plain copy: the same text page, copies of the writable pages. DK(0) if
    ``src`` is not the flat node of pages this takes it to be (a slot that is not a page
    answers ``Page.ReadData`` with a non-zero rc), rather than a copy missing them."""
    text = (yield dom.call(src, Node.Fetch + 0)).keys[0]
    space = yield from new_space(dom, bank, text)
    if space == DK0:
        return DK0
    for n in range(1, abi.SPACE_PAGES):
        old = (yield dom.call(src, Node.Fetch + n)).keys[0]
        r = yield dom.call(old, fs.Page.ReadData, data=abi.PAGE.to_bytes(4, "big"))
        if r.rc:
            return DK0
        data = r.data
        if data.strip(b"\0"):
            new = (yield dom.call(space, Node.Fetch + n)).keys[0]
            yield dom.call(new, fs.Page.WriteData, data=data)
    return space


def install_space(dom, space):
    """ReplaceMemory of my process with ``space`` (start address 0). The old space went
    with the layer it was bought from (``exec``, :mod:`.layers`)."""
    seg = (yield dom.call(space, Node.MakeSegmentKey, data=bytes([0]))).keys[0]
    yield dom.call(dom.keys[KK_DOM], Domain.ReplaceMemory, seg, data=bytes(8))
    dom.keys[KK_MEM] = space


def load(dom, text, argv: bytes, env: bytes):
    """A fresh address space holding ``text``, ``argv`` and ``env``; errno."""
    if len(argv) + len(env) > abi.PAGE - 64:
        return abi.E2BIG
    space = yield from new_space(dom, dom.keys[KK_LAYER], text)
    if space == DK0:
        return abi.ENOMEM
    yield from fs.mem_write(dom, space, abi.ARGV, argv)
    yield from fs.mem_write(dom, space, abi.ENV, env)
    yield from install_space(dom, space)
    return 0


def start_program(dom, born: int):
    """Start my process's program with a message through a new start key."""
    key = (yield dom.call(dom.keys[KK_DOM], Domain.MakeStart, data=bytes([0]))).keys[0]
    yield dom.fork(key, born)


# ------------------------------------------------------- the parent facet
def parent_order(dom, msg):
    """An order from the keeper of my parent while my process is an embryo."""
    try:
        ints, payload = abi.unpack(msg.data)
    except ValueError:
        yield dom.return_(msg.resume, abi.EINVAL)
        return
    err = abi.EINVAL
    if msg.order == C_FORK:
        err = yield from _fork_into(dom, msg, ints)
    elif msg.order == C_LOAD and ints:
        argv, env = payload[: ints[0]], payload[ints[0] :]
        err = yield from load(dom, msg.keys[0], argv or b"\0", env or b"\0")
    elif msg.order == C_INSTALL_FD and ints and 0 <= ints[0] < abi.NFD:
        old = yield from fd_get(dom, ints[0])
        if old != DK0:
            yield from system(dom, s.S_RELEASE, keys=(old,))
        yield from fd_set(dom, ints[0], msg.keys[0])
        err = 0
    elif msg.order == C_START and ints:
        err = abi.ENOEXEC if dom.keys[KK_MEM] == DK0 else 0
        if not err and payload:
            if len(payload) > abi.PAGE:
                err = abi.E2BIG
            else:
                yield from fs.mem_write(dom, dom.keys[KK_MEM], abi.ARGV, payload)
        if not err:
            yield from start_program(dom, ints[0])
    elif msg.order == C_PEEK and ints and fs.valid_buffer(ints[0], abi.PAGE):
        space = dom.keys[KK_MEM]
        err = abi.ESRCH
        if space != DK0:
            err = yield from fs.space_fault(dom, space, ints[0], abi.PAGE)
        data = b"" if err else (yield from fs.mem_read(dom, space, ints[0], abi.PAGE))
        yield dom.return_(msg.resume, err, data=data)
        return
    yield dom.return_(msg.resume, err)


def _fork_into(dom, msg, ints):
    """``C_FORK(cow; parent's space, parent's fd table; registers)``: with ``cow`` my
    memory is in place already (the system domain made it, :mod:`.cow`), else a copy of
    the parent's space (a sense key)."""
    src, pfds = msg.keys[0], msg.keys[1]
    if not (ints and ints[0] == COW_FORK):
        space = yield from copy_space(dom, dom.keys[KK_LAYER], src)
        if space == DK0:
            return abi.ENOMEM
        seg = (yield dom.call(space, Node.MakeSegmentKey, data=bytes([0]))).keys[0]
        yield dom.call(dom.keys[KK_DOM], Domain.SwapMemory, seg)
        dom.keys[KK_MEM] = space
    elif dom.keys[KK_MEM] == DK0:
        return abi.ENOMEM
    yield dom.call(dom.keys[KK_DOM], Domain.PutRegs, data=ints_regs(ints[1:]))
    for fd in range(abi.NFD):
        of = (yield dom.call(pfds, Node.Fetch + fd)).keys[0]
        if of != DK0:
            yield from fd_set(dom, fd, of)
            yield from system(dom, s.S_ADDREF, keys=(of,))
    return 0


def ints_regs(values) -> bytes:
    """Registers as 16 32-bit halves pairs (what :func:`regs_ints` made) back to bytes."""
    raw = b"".join((v & 0xFFFFFFFF).to_bytes(4, "big") for v in values)
    return raw.ljust(128, b"\0")[:128]


def regs_ints(raw: bytes) -> list[int]:
    """128 bytes of registers as 32 signed integers (for :func:`.abi.pack`)."""
    out = []
    for i in range(0, 128, 4):
        v = int.from_bytes(raw[i : i + 4], "big")
        out.append(v - (1 << 32) if v & 0x80000000 else v)
    return out


# ------------------------------------------------------------ system calls
def _newproc(dom, root: int = 1):
    """``(errno, pid, start key to the embryo's keeper)``; ``root`` 0: no root directory."""
    err, values, _, keys = yield from system(dom, s.S_NEWPROC, root)
    return err, (values[0] if values else 0), keys[0]


def _started(dom, kid, cpid: int, born: int, argv: bytes = b""):
    r = yield dom.call(kid, C_START, data=abi.pack(born, payload=argv))
    if r.rc == 0:
        yield from system(dom, s.S_STARTED, cpid)
    return r.rc


def sys_fork(dom, dkey, fault, ints, payload):
    """``fork(how)``: the child's memory a copy-on-write copy (:mod:`.cow`) or a plain
    copy: ``how`` 0 as the KeyNIX is set, :data:`COW_FORK` or :data:`COPY_FORK`."""
    how = ints[0] if ints and ints[0] in (COW_FORK, COPY_FORK) else 0
    err, cpid, kid = yield from _newproc(dom)
    if err:
        yield from answer(dom, dkey, fault, errno=err)
        return
    regs = regs_ints((yield dom.call(dkey, Domain.GetRegs)).data)
    err, _, _, _ = yield from system(dom, s.S_COWFORK, cpid, how)
    if not err:  # my memory is a new virtual copy segment: my threads' too
        yield from threads.share_memory(dom)
    cow, space = COW_FORK, DK0
    if err == abi.ENOSYS:  # the plain copy
        cow, err = 0, 0
        space = (yield dom.call(dom.keys[KK_MEM], Node.MakeSenseKey)).keys[0]
    if not err:
        err = (yield dom.call(kid, C_FORK, space, dom.keys[KK_FDS], data=abi.pack(cow, *regs))).rc
    if err:
        yield from system(dom, s.S_KILL, cpid, abi.SIGKILL)
        yield from answer(dom, dkey, fault, errno=err)
        return
    yield from _started(dom, kid, cpid, abi.BORN_FORK)
    yield from answer(dom, dkey, fault, cpid)


def _path_argv(payload: bytes):
    path, _, rest = payload.partition(b"\0")
    return path, rest or b"\0"


def _my_env(dom):
    """My process's environment block, as long as it is (a message string is short)."""
    space = dom.keys[KK_MEM]
    raw = (yield from fs.mem_read(dom, space, abi.ENV, abi.PAGE)) if space != DK0 else b""
    return abi.argv_block(abi.parse_block(raw))


def sys_exec(dom, dkey, fault, ints, payload):
    path, argv = _path_argv(payload)
    err, values, _, keys = yield from system(dom, s.S_TEXT, payload=path)
    if err:
        yield from answer(dom, dkey, fault, errno=err)
        return
    env = yield from _my_env(dom)
    yield from threads.end_all(dom)  # the new program has one thread
    yield dom.call(dom.keys[KK_DOM], Domain.MakeAvailable)  # the old program is gone
    err, _, _, layer = yield from system(dom, s.S_NEWLAYER)  # and its memory (:mod:`.layers`)
    if not err:
        dom.keys[KK_LAYER] = layer[0]
        err = yield from load(dom, keys[0], argv, env)
    if err:
        yield from _end(dom, err)
        return
    if values and values[0] & fs.SETUID and values[0] & fs.READONLY:  # no process wrote it
        yield from system(dom, s.S_SETEUID0)  # the Unix way: euid 0
    yield from start_program(dom, abi.BORN_EXEC)
    yield dom.return_(DK0)


def _end(dom, err: int):
    from keykos_lab.programs.keynix.keeper import end

    yield from end(dom, abi.exited(127 if err else 0))


def sys_spawn(dom, dkey, fault, ints, payload):
    if len(ints) % 2:
        yield from answer(dom, dkey, fault, errno=abi.EINVAL)
        return
    pairs = list(zip(ints[::2], ints[1::2], strict=True))
    files = []
    for cfd, fd in pairs:
        of = yield from fd_get(dom, fd)
        if not 0 <= cfd < abi.NFD or of == DK0:
            yield from answer(dom, dkey, fault, errno=abi.EBADF)
            return
        files.append((cfd, of))
    path, argv = _path_argv(payload)
    env = yield from _my_env(dom)
    err, _, _, keys = yield from system(dom, s.S_TEXT, payload=path)
    if not err and len(argv) + len(env) > abi.PAGE - 64:
        err = abi.E2BIG
    cpid, kid = 0, DK0
    if not err:
        err, cpid, kid = yield from _newproc(dom)
    if err:
        yield from answer(dom, dkey, fault, errno=err)
        return
    yield dom.call(kid, C_LOAD, keys[0], data=abi.pack(len(argv), payload=argv + env))
    for cfd, of in files:  # exactly the files listed
        yield from system(dom, s.S_ADDREF, keys=(of,))
        yield dom.call(kid, C_INSTALL_FD, of, data=abi.pack(cfd))
    yield from _started(dom, kid, cpid, abi.BORN_EXEC)
    yield from answer(dom, dkey, fault, cpid)


# ------------------------------------------------------------ the empty child
def _kid(dom, cpid: int):
    """``(slot, key)`` of my embryo child ``cpid`` in my KIDS node, or ``(-1, DK(0))``."""
    for i in range(MAX_KIDS):
        if cpid > 0 and dom.regs[R_KIDS + i] == cpid:
            return i, (yield dom.call(dom.keys[KK_KIDS], Node.Fetch + i)).keys[0]
    return -1, DK0


def sys_create(dom, dkey, fault, ints, payload):
    free = next((n for n in range(MAX_KIDS) if not dom.regs[R_KIDS + n]), -1)
    if free < 0:
        yield from answer(dom, dkey, fault, errno=abi.EAGAIN)
        return
    err, cpid, kid = yield from _newproc(dom, root=0)
    if not err:
        yield dom.call(dom.keys[KK_KIDS], Node.Swap + free, kid)
        dom.regs[R_KIDS + free] = cpid
    yield from answer(dom, dkey, fault, cpid, err)


def sys_install_fd(dom, dkey, fault, ints, payload):
    args = _args(ints, 3)
    _, kid = (-1, DK0) if args is None else (yield from _kid(dom, args[0]))
    if kid == DK0:
        yield from answer(dom, dkey, fault, errno=abi.ESRCH if args else abi.EINVAL)
        return
    _, cfd, fd = args
    of = yield from fd_get(dom, fd)
    if of == DK0 or not 0 <= cfd < abi.NFD:
        yield from answer(dom, dkey, fault, errno=abi.EBADF)
        return
    yield from system(dom, s.S_ADDREF, keys=(of,))
    r = yield dom.call(kid, C_INSTALL_FD, of, data=abi.pack(cfd))
    yield from answer(dom, dkey, fault, 0, r.rc)


def sys_install_prog(dom, dkey, fault, ints, payload):
    _, kid = (yield from _kid(dom, ints[0])) if ints else (-1, DK0)
    if kid == DK0:
        yield from answer(dom, dkey, fault, errno=abi.ESRCH)
        return
    err, _, _, keys = yield from system(dom, s.S_TEXT, payload=payload)
    if not err:
        err = (yield dom.call(kid, C_LOAD, keys[0], data=abi.pack(1, payload=b"\0\0"))).rc
    yield from answer(dom, dkey, fault, 0, err)


def sys_start(dom, dkey, fault, ints, payload):
    i, kid = (yield from _kid(dom, ints[0])) if ints else (-1, DK0)
    if kid == DK0:
        yield from answer(dom, dkey, fault, errno=abi.ESRCH)
        return
    if len(payload) > abi.PAGE:
        yield from answer(dom, dkey, fault, errno=abi.E2BIG)
        return
    rc = yield from _started(dom, kid, ints[0], abi.BORN_EXEC, payload or b"\0")
    if rc == 0:  # it runs: its memory is its keeper's alone now
        yield dom.call(dom.keys[KK_KIDS], Node.Swap + i, DK0)
        dom.regs[R_KIDS + i] = 0
    yield from answer(dom, dkey, fault, 0, rc)


def sys_ptrace(dom, dkey, fault, ints, payload):
    """PEEK a page: ``(pid, address, my buffer)`` copies the target's page at ``address``
    into mine. Only an embryo child whose keeper I hold (the empty child before
    ``start``): a running process's memory is its own keeper's alone (EPERM)."""
    args = _args(ints, 3)
    if (
        args is None
        or not fs.valid_buffer(args[1], abi.PAGE)
        or not fs.valid_buffer(args[2], abi.PAGE)
    ):
        yield from answer(dom, dkey, fault, errno=abi.EINVAL if args is None else abi.EFAULT)
        return
    target, address, buf = args
    _, kid = yield from _kid(dom, target)
    if kid == DK0:
        _, values, _, _ = yield from system(dom, s.S_STATE, target)
        live = bool(values) and values[0] in (s.EMBRYO, s.RUNNING)
        yield from answer(dom, dkey, fault, errno=abi.EPERM if live else abi.ESRCH)
        return
    r = yield dom.call(kid, C_PEEK, data=abi.pack(address))
    if r.rc:
        yield from answer(dom, dkey, fault, errno=r.rc)
        return
    if (yield from fs.space_fault(dom, dom.keys[KK_MEM], buf, len(r.data))):
        yield from answer(dom, dkey, fault, errno=abi.EFAULT)
        return
    yield from fs.mem_write(dom, dom.keys[KK_MEM], buf, r.data)
    yield from answer(dom, dkey, fault, abi.PAGE)


CALLS = {
    abi.SYS_FORK: sys_fork,
    abi.SYS_EXEC: sys_exec,
    abi.SYS_SPAWN: sys_spawn,
    abi.SYS_CREATE: sys_create,
    abi.SYS_INSTALL_FD: sys_install_fd,
    abi.SYS_INSTALL_PROG: sys_install_prog,
    abi.SYS_START: sys_start,
    abi.SYS_PTRACE: sys_ptrace,
}
