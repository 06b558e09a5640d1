"""The KeyNIX system-call ABI: numbers, argument encoding, results, errno, memory map.

A KeyNIX process makes a system call the way a Unix binary does on KeyKOS: it
*traps* (``dom.trap(number, args)``, a non-jump SVC), the kernel sets trap code
``0x100 + number`` and makes an implicit CALL to the domain keeper, the Unix
keeper (docs/primer.md#primer-keepers, [ARCH Three.Special]). The keeper answers by writing the
process's registers (Domain PutRegs) and memory, then resumes it through the
fault key.

* **Numbers** are Linux/i386's where Linux has the call (``exit`` 1 … ``pipe``
  42); ``spawn`` and the empty-child calls have numbers of their own.
* **Arguments** travel in the trap string: one byte ``n``, ``n`` signed
  32-bit big-endian integers, then a byte payload (a path, or an argv block).
  Buffers (``read``/``write``) stay in the process's memory, passed by address,
  as in Unix.
* **Results**: register 0 holds the value, register 1 the errno (0 on
  success), register 2 a second value (``pipe``'s write end, ``wait``'s
  status). :mod:`.libc` turns them into the Linux raw-syscall convention:
  a non-negative value, or ``-errno``.

>>> pack(3, 4096, 10, payload=b"x")
b'\\x03\\x00\\x00\\x00\\x03\\x00\\x00\\x10\\x00\\x00\\x00\\x00\\nx'
>>> unpack(pack(-1, payload=b"/bin/sh"))
((-1,), b'/bin/sh')
>>> errno_name(ENOENT)
'ENOENT'
"""

from __future__ import annotations

import struct

# ------------------------------------------------------------ call numbers
SYS_EXIT = 1
SYS_FORK = 2
SYS_READ = 3
SYS_WRITE = 4
SYS_OPEN = 5
SYS_CLOSE = 6
SYS_WAIT = 7
SYS_EXEC = 11
SYS_GETPID = 20
SYS_KILL = 37  #: (pid, sig): send a signal (:mod:`.signals`)
SYS_PTRACE = 26  #: (pid, address, my buffer): copy a page of its memory (PEEK)
SYS_DUP = 41
SYS_GETEUID = 49
SYS_PIPE = 42
SYS_SPAWN = 200  #: posix_spawn: path, argv and the files to pass, in one call
SYS_CREATE = 210  #: empty child: a new process with nothing in it; its pid
SYS_INSTALL_FD = 211  #: (pid, child fd, my fd): put one of my open files in the child
SYS_INSTALL_PROG = 212  #: (pid; path): ReplaceMemory of the child with a program
SYS_START = 213  #: (pid; argv block): start the child
SYS_RUN = 220  #: (; path, argv block): run a setuid command (a factory), rc back
# 300–319: the directory calls (:mod:`.dirs`).
SYS_GETDENTS = 300  #: (index, address, n; path): directory entries from ``index`` into a buffer
SYS_CHDIR = 301  #: (; absolute path): is it a directory I may enter? (the cwd is ``PWD``)
# 320–339: threads (:mod:`.threads`; Linux has no such calls: its threads are ``clone``).
SYS_THREAD_CREATE = 320  #: (label, arg): a thread, a domain sharing my memory; its tid
SYS_THREAD_JOIN = 321  #: (tid): wait for a thread to end; its tid, and its status second
SYS_THREAD_EXIT = 322  #: (status): end this thread only (the main thread's is ``exit``)
SYS_THREAD_SELF = 323  #: my thread id (0: the main thread)

NAMES = {v: k[4:].lower() for k, v in dict(globals()).items() if k.startswith("SYS_")}

# ------------------------------------------------------------------ errno
EPERM, ENOENT, ESRCH, EIO, E2BIG, ENOEXEC, EBADF, ECHILD, EAGAIN = 1, 2, 3, 5, 7, 8, 9, 10, 11
ENOMEM, EACCES, EFAULT, EEXIST, ENOTDIR, EISDIR, EINVAL, EMFILE = 12, 13, 14, 17, 20, 21, 22, 24
EFBIG, ENOSPC, EPIPE, EDEADLK, ENAMETOOLONG, ENOSYS = 27, 28, 32, 35, 36, 38
_ERRNO = {v: k for k, v in dict(globals()).items() if k.startswith("E") and isinstance(v, int)}


def errno_name(n: int) -> str:
    """The symbolic name of errno ``n`` (``'E?'`` if unknown).

    >>> errno_name(9), errno_name(999)
    ('EBADF', 'E?')
    """
    return _ERRNO.get(n, "E?")


# ---------------------------------------------------------- open(2) flags
O_RDONLY, O_WRONLY, O_RDWR, O_CREAT, O_TRUNC, O_APPEND = 0, 1, 2, 0x40, 0x200, 0x400
O_ACCMODE = 3  #: the access-mode bits of ``open``'s flags: O_RDONLY, O_WRONLY or O_RDWR


def open_mode(flags: int) -> tuple[int, int]:
    """``(errno, flags)``: ``open``'s flags checked once, for every later use. The access
    mode must be O_RDONLY, O_WRONLY or O_RDWR (3 is EINVAL: it was once "not writing" to
    the permission check and "writing" to ``O_TRUNC`` and ``write``); the flags kept are
    the access mode, ``O_CREAT``, ``O_TRUNC`` and ``O_APPEND``, and ``O_TRUNC`` only with
    a mode that writes.

    >>> open_mode(O_WRONLY | O_TRUNC | 0x8000) == (0, O_WRONLY | O_TRUNC)
    True
    >>> open_mode(3)[0] == EINVAL, open_mode(O_RDONLY | O_TRUNC) == (0, O_RDONLY)
    (True, True)
    """
    access = flags & O_ACCMODE
    if access not in (O_RDONLY, O_WRONLY, O_RDWR):
        return EINVAL, 0
    kept = access | flags & (O_CREAT | O_APPEND)
    if writes(access):
        kept |= flags & O_TRUNC
    return 0, kept


def reads(flags: int) -> bool:
    """Whether an open file's (checked) flags allow ``read``.

    >>> reads(O_RDONLY), reads(O_RDWR), reads(O_WRONLY), reads(3)
    (True, True, False, False)
    """
    return flags & O_ACCMODE in (O_RDONLY, O_RDWR)


def writes(flags: int) -> bool:
    """Whether an open file's (checked) flags allow ``write``.

    >>> writes(O_RDONLY), writes(O_RDWR), writes(O_WRONLY), writes(3)
    (False, True, True, False)
    """
    return flags & O_ACCMODE in (O_WRONLY, O_RDWR)


# ---------------------------------------------------------- limits, layout
NFD = 16  #: file descriptors per process (one node of open files)
NAME_MAX = 63  #: bytes in a path component (a 64-byte directory entry)
PATH_MAX = 1024
MAX_PROCS = 255  #: pids 1..255: a start-key databyte names the process
PAGE = 4096
FILE_PAGES = 14  #: an inode's initial slots: 14 pages, or 14 subtrees (:mod:`.filetree`)
FILE_DEPTH = 2  #: levels of nodes a file's page tree may have below its inode
FILE_MAX = FILE_PAGES * 16**FILE_DEPTH * PAGE  #: 14 MiB: the largest file
DIR_MAX = FILE_PAGES * FILE_PAGES  #: entries in a directory: 14 buckets of 14 (:mod:`.dirtree`)

#: The address space of a process: a red segment node, one page per slot.
TEXT, ENV, ARGV, BUF, DATA = 0, 4096, 8192, 12288, 16384
SPACE_PAGES = 5  #: text (read-only program image), env, argv, buffer, data
BUF_SIZE = PAGE

#: Birth orders: the first message a process's program receives.
BORN_EXEC, BORN_FORK, BORN_THREAD = 0, 1, 2
#: Register where a program leaves the label a fork child resumes at (its "PC").
PC_REG = 15
#: Register where a new thread finds the argument its creator gave (:mod:`.threads`).
ARG_REG = 14
#: Result registers.
R_VALUE, R_ERRNO, R_VALUE2 = 0, 1, 2

# ---------------------------------------------------------------- signals
#: Linux/i386 signal numbers; the default action of each here is to terminate, but
#: SIGCHLD's, which is to ignore it.
SIGHUP, SIGINT, SIGQUIT, SIGILL, SIGKILL, SIGSEGV, SIGPIPE, SIGTERM, SIGCHLD = (
    1,
    2,
    3,
    4,
    9,
    11,
    13,
    15,
    17,
)
NSIG = 64


def exited(code: int) -> int:
    """The wait status of a process that called ``exit(code)`` (Linux encoding).

    >>> exited(3), wifexited(exited(3)), wexitstatus(exited(3))
    (768, True, 3)
    """
    return (code & 0xFF) << 8


def signaled(sig: int) -> int:
    """The wait status of a process a signal ended (Linux encoding).

    >>> wifsignaled(signaled(SIGPIPE)), wtermsig(signaled(SIGPIPE)), wifexited(13)
    (True, 13, False)
    """
    return sig & 0x7F


def wifexited(status: int) -> bool:
    return status & 0x7F == 0


def wexitstatus(status: int) -> int:
    return (status >> 8) & 0xFF


def wifsignaled(status: int) -> bool:
    return status & 0x7F not in (0, 0x7F)


def wtermsig(status: int) -> int:
    return status & 0x7F


def shell_status(status: int) -> int:
    """What a shell shows: the exit code, or 128 + the signal.

    >>> shell_status(exited(2)), shell_status(signaled(SIGSEGV))
    (2, 139)
    """
    return wexitstatus(status) if wifexited(status) else 128 + wtermsig(status)


_HEAD = struct.Struct(">B")


def pack(*ints: int, payload: bytes = b"") -> bytes:
    """The trap string for a call with integer arguments and a byte payload."""
    if len(ints) > 255:
        raise ValueError("at most 255 integer arguments")
    return _HEAD.pack(len(ints)) + struct.pack(f">{len(ints)}i", *ints) + bytes(payload)


def unpack(data: bytes) -> tuple[tuple[int, ...], bytes]:
    """``(ints, payload)`` from a trap string; ``ValueError`` if it is malformed."""
    if not data:
        return (), b""
    n = data[0]
    if len(data) < 1 + 4 * n:
        raise ValueError("trap string shorter than its integer count")
    return struct.unpack(f">{n}i", data[1 : 1 + 4 * n]), data[1 + 4 * n :]


def argv_block(argv: list[bytes] | list[str]) -> bytes:
    """An argv (or environment) block: NUL-terminated strings, an empty one last.

    >>> argv_block(["echo", "hi"])
    b'echo\\x00hi\\x00\\x00'
    """
    return b"".join((a.encode() if isinstance(a, str) else bytes(a)) + b"\0" for a in argv) + b"\0"


def parse_block(block: bytes) -> list[bytes]:
    """The strings of an argv or environment block (up to its empty string).

    >>> parse_block(b"a\\x00bc\\x00\\x00junk")
    [b'a', b'bc']
    """
    out = []
    for part in block.split(b"\0"):
        if not part:
            break
        out.append(part)
    return out
