"""A process's keeper: one per process, holding only that process's keys.

docs/primer.md#primer-keepers, docs/primer.md#primer-keynix: a KeyNIX process is a
domain whose keeper slot holds a start key to **its own keeper** (databyte 0). A trap
arrives as an implicit CALL carrying the process's domain key (key 3) and a fault key
(key 4); the keeper does the work, writes registers 0–2 (GetRegs/PutRegs) and memory,
and resumes the process through the fault key. As in the C release, where each Unix
program's keeper holds its own process's domain key (``ukeeperf.c:96``, ``udom``) and
the domain keys of that process's threads (``ukeeperf.c:90``, ``NODEUDOMS``), a keeper
here holds, in its key registers (``KK_*``):

* its process's domain key, its address space (a node key), its bank (everything
  private to the process is bought there), its fd table (a node of open files), a node
  of the keepers of its embryo children (see :mod:`.procs`), the format key and its own
  domain key;
* a start key to the **system domain** (:mod:`.server`), databyte = its pid: what
  processes share — the process table, the file system, open files and pipes, the
  terminal — is reached only through it (:mod:`.services`);
* its process's fault key, in ``KK_FAULT``, while the process waits (a blocked
  ``read`` or ``wait``: the keeper then waits in a CALL to the system domain).

Data register ``R_PID`` holds the pid. Databyte ``PARENT`` is the facet the keeper's
parent process's keeper uses while the process is an embryo (:mod:`.procs`).

>>> KK_SYS, KK_DOM, KK_FAULT, PARENT
(0, 1, 5, 64)
"""

from __future__ import annotations

import struct

from keykos_lab.kernel.keys import DK0
from keykos_lab.kernel.oc import Domain, Node
from keykos_lab.programs.keynix import abi, fs
from keykos_lab.programs.keynix import server as s
from keykos_lab.programs.keynix.layout import (  # noqa: F401  (the keeper's registers)
    KK_BANK,
    KK_DC,
    KK_DOM,
    KK_FAULT,
    KK_FDS,
    KK_FORMAT,
    KK_KIDS,
    KK_LAYER,
    KK_MEM,
    KK_METER,
    KK_SELF,
    KK_SYS,
    KK_THREADS,
    MAX_KIDS,
    PARENT,
    R_KIDS,
    R_PID,
)

KILLED = 128 + abi.SIGSEGV  #: shell status of a process a fault ended
_REGS = struct.Struct(">16Q")


def pid_of(dom) -> int:
    return int(dom.regs[R_PID])


# ------------------------------------------------------------ the system domain
def system(dom, order: int, *ints: int, keys=(), payload: bytes = b""):
    """CALL the system domain: ``(errno, ints, payload, keys)`` of its answer."""
    r = yield dom.call(dom.keys[KK_SYS], order, keys=keys, data=abi.pack(*ints, payload=payload))
    try:
        values, data = abi.unpack(r.data)
    except ValueError:
        values, data = (), b""
    return r.rc, values, data, r.keys


# ------------------------------------------------------------ answering
def answer(dom, dkey, fault, value: int = 0, errno: int = 0, value2: int = 0):
    """Write registers 0–2 of the process and resume it through ``fault``."""
    regs = list(_REGS.unpack((yield dom.call(dkey, Domain.GetRegs)).data))
    regs[abi.R_VALUE] = (-1 if errno else value) & 0xFFFFFFFFFFFFFFFF
    regs[abi.R_ERRNO], regs[abi.R_VALUE2] = errno, value2 & 0xFFFFFFFFFFFFFFFF
    yield dom.call(dkey, Domain.PutRegs, data=_REGS.pack(*regs))
    yield dom.return_(fault, 0)


def wait_in_system(dom, fault, order: int, *ints: int, keys=()):
    """A call that may block: the process's fault key waits in ``KK_FAULT`` meanwhile."""
    dom.keys[KK_FAULT] = fault
    result = yield from system(dom, order, *ints, keys=keys)
    dom.keys[KK_FAULT] = DK0
    return result


def end(dom, status: int):
    """End this process with wait status ``status``: the system domain destroys it, and
    this keeper with it, so the call does not come back."""
    yield from system(dom, s.S_EXIT, status)
    yield dom.return_(DK0)  # not reached: the bank is gone


# ------------------------------------------------------------- fd table
def fd_get(dom, fd: int):
    if not 0 <= fd < abi.NFD:
        return DK0
    return (yield dom.call(dom.keys[KK_FDS], Node.Fetch + fd)).keys[0]


def fd_free(dom, lowest: int = 0):
    for fd in range(lowest, abi.NFD):
        if (yield from fd_get(dom, fd)) == DK0:
            return fd
    return -1


def fd_set(dom, fd: int, of):
    yield dom.call(dom.keys[KK_FDS], Node.Swap + fd, of)


def _args(ints, n):
    return tuple(ints[:n]) if len(ints) >= n else None


# ------------------------------------------------------------ system calls
def sys_getpid(dom, dkey, fault, ints, payload):
    yield from answer(dom, dkey, fault, pid_of(dom))


def sys_exit(dom, dkey, fault, ints, payload):
    yield from end(dom, abi.exited(ints[0] if ints else 0))


def sys_open(dom, dkey, fault, ints, payload):
    fd = yield from fd_free(dom)
    if fd < 0:
        yield from answer(dom, dkey, fault, errno=abi.EMFILE)
        return
    err, _, _, keys = yield from system(dom, s.S_OPEN, ints[0] if ints else 0, payload=payload)
    if not err:
        yield from fd_set(dom, fd, keys[0])
    yield from answer(dom, dkey, fault, fd, err)


def sys_close(dom, dkey, fault, ints, payload):
    fd = ints[0] if ints else -1
    of = yield from fd_get(dom, fd)
    if of == DK0:
        yield from answer(dom, dkey, fault, errno=abi.EBADF)
        return
    yield from fd_set(dom, fd, DK0)
    yield from system(dom, s.S_RELEASE, keys=(of,))
    yield from answer(dom, dkey, fault, 0)


def sys_dup(dom, dkey, fault, ints, payload):
    of = yield from fd_get(dom, ints[0] if ints else -1)
    new = -1 if of == DK0 else (yield from fd_free(dom))
    if of == DK0 or new < 0:
        yield from answer(dom, dkey, fault, errno=abi.EBADF if of == DK0 else abi.EMFILE)
        return
    yield from fd_set(dom, new, of)
    yield from system(dom, s.S_ADDREF, keys=(of,))
    yield from answer(dom, dkey, fault, new)


def _io_args(dom, ints):
    """``(errno, open file, address, n)`` for read and write."""
    args = _args(ints, 3)
    if args is None:
        return abi.EINVAL, DK0, 0, 0
    fd, address, n = args
    of = yield from fd_get(dom, fd)
    if of == DK0:
        return abi.EBADF, DK0, 0, 0
    if not fs.valid_buffer(address, n) or n > abi.BUF_SIZE:
        return abi.EFAULT, of, 0, 0
    return 0, of, address, n


#: Bytes of file data in one message to or from the system domain (a message string is
#: at most a page; the packed header takes a few bytes): a longer ``read`` is short, a
#: longer ``write`` is sent in pieces.
CHUNK = abi.PAGE - 64


def sys_read(dom, dkey, fault, ints, payload):
    err, of, address, n = yield from _io_args(dom, ints)
    if not err:
        err, _, data, _ = yield from wait_in_system(dom, fault, s.S_READ, min(n, CHUNK), keys=(of,))
    if err:
        yield from answer(dom, dkey, fault, errno=err)
        return
    data = data[:n]
    if data:
        yield from fs.mem_write(dom, dom.keys[KK_MEM], address, data)
    yield from answer(dom, dkey, fault, len(data))


def sys_write(dom, dkey, fault, ints, payload):
    err, of, address, n = yield from _io_args(dom, ints)
    if err:
        yield from answer(dom, dkey, fault, errno=err)
        return
    data = yield from fs.mem_read(dom, dom.keys[KK_MEM], address, n)
    done = 0
    while True:
        piece = data[done : done + CHUNK]
        err, values, _, _ = yield from system(dom, s.S_WRITE, keys=(of,), payload=piece)
        wrote = values[0] if values and not err else 0
        done += wrote
        if err or wrote < len(piece) or done >= len(data):
            break
    yield from answer(dom, dkey, fault, done, 0 if done else err)


def sys_pipe(dom, dkey, fault, ints, payload):
    rfd = yield from fd_free(dom)
    wfd = -1 if rfd < 0 else (yield from fd_free(dom, rfd + 1))
    if wfd < 0:
        yield from answer(dom, dkey, fault, errno=abi.EMFILE)
        return
    err, _, _, keys = yield from system(dom, s.S_PIPE)
    if not err:
        yield from fd_set(dom, rfd, keys[0])
        yield from fd_set(dom, wfd, keys[1])
    yield from answer(dom, dkey, fault, rfd, err, wfd)


def sys_wait(dom, dkey, fault, ints, payload):
    want = ints[0] if ints else -1
    err, values, _, _ = yield from wait_in_system(dom, fault, s.S_WAIT, want)
    if err or len(values) < 2:
        yield from answer(dom, dkey, fault, errno=err or abi.EINVAL)
        return
    yield from answer(dom, dkey, fault, values[0], 0, values[1])


def sys_geteuid(dom, dkey, fault, ints, payload):
    _, values, _, _ = yield from system(dom, s.S_GETEUID)
    yield from answer(dom, dkey, fault, values[0] if values else 0)


def sys_kill(dom, dkey, fault, ints, payload):
    if len(ints) < 2:
        yield from answer(dom, dkey, fault, errno=abi.EINVAL)
        return
    err, _, _, _ = yield from system(dom, s.S_KILL, ints[0], ints[1])
    yield from answer(dom, dkey, fault, 0, err)


def sys_run(dom, dkey, fault, ints, payload):
    """``SYS_RUN``: a privileged command as a factory yield (:mod:`.setuid`); the
    process's bank goes with the request, as the requestor's (the system domain adds
    the meter: a keeper holds none, as a meter shared by keepers is a channel)."""
    err, values, _, _ = yield from system(dom, s.S_RUN, keys=(dom.keys[KK_BANK],), payload=payload)
    if err:
        yield from answer(dom, dkey, fault, errno=err)
        return
    yield from answer(dom, dkey, fault, values[0] if values else 0)
