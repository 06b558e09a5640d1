"""The user side of KeyNIX: system-call stubs and the ``unix_program`` wrapper.

Every function here is a sub-generator a Unix program runs with ``yield from``
inside its domain: it puts arguments where :mod:`.abi` says, traps to the Unix
keeper, and reads the answer from registers 0–2. Results follow the Linux
raw-syscall convention: a non-negative value, or ``-errno``.

The environment and argv blocks are pages of the process's own memory (``ENV``
and ``ARGV`` in :mod:`.abi`): ``getenv``/``setenv`` touch memory only, no system
call, just as in Unix, where ``environ`` is the process's data.

>>> from keykos_lab.programs.keynix import abi
>>> abi.NAMES[abi.SYS_PIPE]
'pipe'
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

from keykos_lab.kernel.process import PROGRAMS, program
from keykos_lab.programs.keynix import abi

UnixMain = Callable[[Any, list[bytes], "int | None"], Generator[Any, Any, "int | None"]]

#: Names of registered *preload hooks*: code the naive loader runs before main
#: when ``LD_PRELOAD`` names it (the setuid contrast, :mod:`.setuid`).
PRELOADS: dict[str, UnixMain] = {}


def syscall(dom, number: int, *ints: int, payload: bytes = b""):
    """Trap with ``number`` and the packed arguments; the value or ``-errno``."""
    yield dom.trap(number, abi.pack(*ints, payload=payload))
    err = dom.regs[abi.R_ERRNO]
    return -err if err else dom.regs[abi.R_VALUE]


def getpid(dom):
    return (yield from syscall(dom, abi.SYS_GETPID))


def open_(dom, path: bytes | str, flags: int = abi.O_RDONLY):
    return (yield from syscall(dom, abi.SYS_OPEN, flags, payload=_b(path)))


def close(dom, fd: int):
    return (yield from syscall(dom, abi.SYS_CLOSE, fd))


def dup(dom, fd: int):
    return (yield from syscall(dom, abi.SYS_DUP, fd))


def read(dom, fd: int, n: int = abi.BUF_SIZE):
    """``(rc, bytes)``: up to ``n`` bytes read into the buffer page, then fetched."""
    rc = yield from syscall(dom, abi.SYS_READ, fd, abi.BUF, min(n, abi.BUF_SIZE))
    data = (yield dom.read(abi.BUF, rc)) if rc > 0 else b""
    return rc, data


def read_all(dom, fd: int):
    """Everything until end of file: ``(rc, bytes)`` with rc the last read's."""
    out: list[bytes] = []
    while True:
        rc, data = yield from read(dom, fd)
        if rc <= 0:
            return rc, b"".join(out)
        out.append(data)


def write(dom, fd: int, data: bytes | str):
    """Write ``data`` through the buffer page; the count written or ``-errno``."""
    data = _b(data)
    done = 0
    while True:
        chunk = data[done : done + abi.BUF_SIZE]
        if chunk:
            yield dom.write(abi.BUF, chunk)
        rc = yield from syscall(dom, abi.SYS_WRITE, fd, abi.BUF, len(chunk))
        if rc < 0:
            return rc if done == 0 else done
        done += rc
        if done >= len(data) or rc == 0:
            return done


def pipe(dom):
    """``(read fd, write fd)``, or ``(-errno, -errno)``."""
    rc = yield from syscall(dom, abi.SYS_PIPE)
    return (rc, rc) if rc < 0 else (rc, dom.regs[abi.R_VALUE2])


def fork(dom, label: int = 1):
    """The child's pid in the parent; in the child the program starts again with
    ``forked == label`` (the register ``PC_REG`` is its program counter)."""
    dom.regs[abi.PC_REG] = label
    return (yield from syscall(dom, abi.SYS_FORK))


def exec_(dom, path: bytes | str, argv: list):
    """Replace this process's program (returns only on failure, with ``-errno``)."""
    return (yield from syscall(dom, abi.SYS_EXEC, payload=_b(path) + b"\0" + abi.argv_block(argv)))


def spawn(dom, path: bytes | str, argv: list, fds: dict[int, int]):
    """posix_spawn: a new process running ``path``; ``fds`` maps child fd → my fd."""
    pairs = [x for cfd, fd in sorted(fds.items()) for x in (cfd, fd)]
    return (
        yield from syscall(
            dom, abi.SYS_SPAWN, *pairs, payload=_b(path) + b"\0" + abi.argv_block(argv)
        )
    )


def wait(dom, pid: int = -1):
    """``(pid, status)`` of a child that exited, or ``(-errno, 0)``."""
    rc = yield from syscall(dom, abi.SYS_WAIT, pid)
    return (rc, 0) if rc < 0 else (rc, _signed(dom.regs[abi.R_VALUE2]))


def exit_(dom, status: int = 0):
    """Exit; the keeper takes the domain apart, so this does not come back."""
    yield dom.trap(abi.SYS_EXIT, abi.pack(status))


def create(dom):
    """Empty child (docs/primer.md#primer-fork-routine): a new process with no memory, files or
    environment."""
    return (yield from syscall(dom, abi.SYS_CREATE))


def install_fd(dom, pid: int, child_fd: int, fd: int):
    return (yield from syscall(dom, abi.SYS_INSTALL_FD, pid, child_fd, fd))


def install_program(dom, pid: int, path: bytes | str):
    return (yield from syscall(dom, abi.SYS_INSTALL_PROG, pid, payload=_b(path)))


def start(dom, pid: int, argv: list):
    return (yield from syscall(dom, abi.SYS_START, pid, payload=abi.argv_block(argv)))


def run_command(dom, path: bytes | str, arg: bytes | str = b""):
    """Run a setuid command (a factory) with one argument; its answer (rc)."""
    return (yield from syscall(dom, abi.SYS_RUN, payload=_b(path) + b"\0" + _b(arg)))


# ------------------------------------------------------------- memory only
def argv(dom):
    """The argv strings, from the ARGV page."""
    return abi.parse_block((yield dom.read(abi.ARGV, abi.PAGE)))


def environ(dom):
    """The environment as a dict, from the ENV page."""
    env = {}
    for item in abi.parse_block((yield dom.read(abi.ENV, abi.PAGE))):
        name, _, value = item.partition(b"=")
        env[name] = value
    return env


def getenv(dom, name: bytes | str):
    return (yield from environ(dom)).get(_b(name))


def setenv(dom, name: bytes | str, value: bytes | str):
    """Set a variable in the ENV page; ``-E2BIG`` if the block would not fit."""
    env = yield from environ(dom)
    env[_b(name)] = _b(value)
    block = abi.argv_block([k + b"=" + v for k, v in env.items()])
    if len(block) > abi.PAGE:
        return -abi.E2BIG
    yield dom.write(abi.ENV, block)
    return 0


# ----------------------------------------------------------------- programs
UNIX_PREFIX = "unix:"


def unix_program(name: str, preload: bool = True):
    """Register ``main(dom, argv, forked)`` as a KeyNIX program called ``name``:
    the kernel knows it as ``unix:<name>`` (so ``echo`` the command and ``echo``
    the kernel test program stay apart), and ``/bin/<name>`` holds its image.

    The wrapper is the C runtime: it reads argv from memory, calls ``main`` —
    with ``forked`` the label given to :func:`fork` when this is a fork child,
    else None — and exits with main's return value. With ``preload`` it is also
    a naive dynamic loader: when the environment has ``LD_PRELOAD=<hook>`` it
    runs that registered hook first, in this process, with its authority.

    >>> @unix_program("doc-true")
    ... def true(dom, argv, forked):
    ...     return 0
    ...     yield
    >>> "unix:doc-true" in PROGRAMS
    True
    """

    def register(main: UnixMain) -> UnixMain:
        @program(UNIX_PREFIX + name)
        def runtime(dom, msg):
            if msg.order == abi.BORN_THREAD:  # a thread of this program (:func:`thread_create`)
                yield from run_thread(dom, name)
                return
            forked = dom.regs[abi.PC_REG] if msg.order == abi.BORN_FORK else None
            args = yield from argv(dom)
            if preload and forked is None:
                hook = yield from getenv(dom, b"LD_PRELOAD")
                if hook is not None and hook.decode(errors="replace") in PRELOADS:
                    yield from PRELOADS[hook.decode()](dom, args, None)
            status = yield from main(dom, args, forked)
            yield from exit_(dom, status or 0)

        runtime.unix_main = main  # type: ignore[attr-defined]
        runtime.unix_name = name  # type: ignore[attr-defined]
        return main

    return register


def preload_hook(name: str):
    """Register a generator ``hook(dom, argv, None)`` the naive loader may run."""

    def register(fn: UnixMain) -> UnixMain:
        PRELOADS[name] = fn
        return fn

    return register


def _b(s: bytes | str) -> bytes:
    return s.encode() if isinstance(s, str) else bytes(s)


def _signed(v: int) -> int:
    v &= 0xFFFFFFFF
    return v - (1 << 32) if v & 0x80000000 else v


__all__ = [
    "PRELOADS",
    "argv",
    "close",
    "create",
    "dup",
    "environ",
    "exec_",
    "exit_",
    "fork",
    "getenv",
    "getpid",
    "install_fd",
    "install_program",
    "open_",
    "pipe",
    "preload_hook",
    "read",
    "read_all",
    "run_command",
    "setenv",
    "spawn",
    "start",
    "syscall",
    "unix_program",
    "wait",
    "write",
]
_ = PROGRAMS


# ------------------------------------------------------ directories (300–319)
def getcwd(dom):
    """The current directory: ``PWD`` in my environment (``/`` if unset); memory
    only, as :func:`getenv` (the cwd is the process's own data, :mod:`.dirs`)."""
    return (yield from getenv(dom, b"PWD")) or b"/"


def abspath(dom, path: bytes | str):
    """``path`` made absolute from the current directory (``fs.join``)."""
    from keykos_lab.programs.keynix.fs import join

    return join((yield from getcwd(dom)), _b(path))


def chdir(dom, path: bytes | str):
    """Enter a directory: the keeper checks it (``SYS_CHDIR``), then ``PWD`` records it."""
    where = yield from abspath(dom, path)
    rc = yield from syscall(dom, abi.SYS_CHDIR, payload=where)
    return rc if rc < 0 else (yield from setenv(dom, b"PWD", where))


def getdents(dom, path: bytes | str, index: int = 0):
    """``(rc, [(kind, name)], next index)``: one buffer of entries of a directory."""
    rc = yield from syscall(
        dom, abi.SYS_GETDENTS, index, abi.BUF, abi.BUF_SIZE, payload=(yield from abspath(dom, path))
    )
    if rc <= 0:
        return rc, [], index
    upto = dom.regs[abi.R_VALUE2]
    raw = yield dom.read(abi.BUF, abi.BUF_SIZE)
    entries, pos = [], 0
    for _ in range(rc):
        end = raw.find(b"\0", pos + 1)
        if end < 0:
            break
        entries.append((raw[pos], raw[pos + 1 : end]))
        pos = end + 1
    return rc, entries, upto


def listdir(dom, path: bytes | str):
    """``(rc, [(kind, name)])``: every entry of a directory (``getdents`` until 0)."""
    out: list = []
    index = 0
    while True:
        rc, entries, upto = yield from getdents(dom, path, index)
        if rc < 0:
            return rc, out
        out += entries
        if rc == 0 or upto <= index:
            return len(out), out
        index = upto


#: How many times in a row :func:`write_all` tries a full pipe before it gives up.
WRITE_TRIES = 1000


def write_all(dom, fd: int, data: bytes | str):
    """:func:`write` until all of ``data`` is written: a pipe's writes do not
    block (:mod:`.pipe`), so a full ring is tried again — the reader runs in
    between — up to ``WRITE_TRIES`` times in a row. The count, or ``-errno``."""
    data, done, tries = _b(data), 0, 0
    while True:
        rc = yield from write(dom, fd, data[done:])
        if rc < 0 and rc != -abi.EAGAIN:
            return done or rc
        done += max(rc, 0)
        if done >= len(data):
            return done
        tries = 0 if rc > 0 else tries + 1
        if tries > WRITE_TRIES:
            return done or -abi.EAGAIN


__all__ += ["abspath", "chdir", "getcwd", "getdents", "listdir", "write_all"]


# ------------------------------------------------------------------ signals
def kill(dom, pid: int, sig: int):
    """Send signal ``sig`` to ``pid`` (:mod:`.signals`: default actions only); 0 or
    ``-errno`` (EPERM: another user's; ESRCH: no such process; EINVAL: a bad signal).
    Killing myself does not come back.

    >>> from keykos_lab.system import KeyNIX
    >>> knx = KeyNIX()
    >>> cat = knx.spawn("/bin/cat", ["cat"])
    >>> _ = knx.spawn("/bin/kill", ["kill", "-9", str(cat)]); _ = knx.run()
    >>> abi.wtermsig(knx.status(cat)[1])
    9
    """
    return (yield from syscall(dom, abi.SYS_KILL, pid, sig))


__all__ += ["kill"]


# ------------------------------------------------------------ threads (320–339)
#: Thread entries by ``(program name, label)`` (:func:`thread_entry`).
THREAD_ENTRIES: dict[tuple[str, int], Callable[[Any, int], Generator[Any, Any, Any]]] = {}
#: The status of a thread whose label names no entry (as a shell's "not found").
NO_ENTRY = 127


def thread_entry(name: str, label: int):
    """Register a generator ``fn(dom, arg)`` as the code a thread of the program
    ``name`` runs when it is created with ``label`` (:func:`thread_create`); what it
    returns is the thread's status (:func:`thread_join`).

    >>> @thread_entry("doc-true", 1)
    ... def worker(dom, arg):
    ...     return arg + 1
    ...     yield
    >>> THREAD_ENTRIES[("doc-true", 1)] is worker
    True
    """

    def register(fn):
        THREAD_ENTRIES[(name, label)] = fn
        return fn

    return register


def thread_create(dom, label: int, arg: int = 0):
    """A thread of my program running the entry registered for ``label`` with ``arg``,
    sharing my memory, files and keeper (:mod:`.threads`); its id, or ``-errno``."""
    return (yield from syscall(dom, abi.SYS_THREAD_CREATE, label, arg))


def thread_join(dom, tid: int):
    """``(tid, status)`` once thread ``tid`` has ended, or ``(-errno, 0)``."""
    rc = yield from syscall(dom, abi.SYS_THREAD_JOIN, tid)
    return (rc, 0) if rc < 0 else (rc, _signed(dom.regs[abi.R_VALUE2]))


def thread_exit(dom, status: int = 0):
    """End this thread only (in the main thread: ``exit``); does not come back."""
    yield dom.trap(abi.SYS_THREAD_EXIT, abi.pack(status))


def thread_self(dom):
    """My thread id: 0 in the main thread."""
    return (yield from syscall(dom, abi.SYS_THREAD_SELF))


def run_thread(dom, name: str):
    """A new thread's runtime: the entry for its label (``PC_REG``) with its argument
    (``ARG_REG``), then :func:`thread_exit` with what the entry returned."""
    entry = THREAD_ENTRIES.get((name, int(dom.regs[abi.PC_REG])))
    status = NO_ENTRY
    if entry is not None:
        status = yield from entry(dom, _signed(dom.regs[abi.ARG_REG]))
    yield from thread_exit(dom, status or 0)


__all__ += [
    "THREAD_ENTRIES",
    "run_thread",
    "thread_create",
    "thread_entry",
    "thread_exit",
    "thread_join",
    "thread_self",
]
