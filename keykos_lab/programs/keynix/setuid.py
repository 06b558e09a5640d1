"""setuid two ways: a Unix setuid file, and a privileged command that is a factory yield.

docs/primer.md#primer-tso-answers ("What about setuid?"): in KeyKOS the privileged program is a
factory yield (docs/primer.md#primer-factories) whose extra authority is a key its builder
installed — a
*hole*, like ``password_checker``'s page in ``scenarios.tso_setuid``. The
requestor pays (bank, meter) and talks to it, but never holds its domain key,
its memory or its keys, so nothing it controls reaches the program.

The same password checker is built both ways over a ``PRIVILEGED`` file
``/etc/shadow`` (opens only for euid 0):

* **the Unix way** — ``/sbin/checkpw`` is a ``SETUID`` program file: ``exec``
  runs it *inside the caller's process* with euid 0 (:func:`.keeper.sys_exec`).
  The caller's environment comes along, and with it the naive loader's
  ``LD_PRELOAD`` (:func:`.libc.unix_program`) and the program's own
  ``CHECKPW_DEBUG`` switch;
* **the capability way** — ``/cmd/checkpw`` is a command inode holding the
  requestor's key of a factory whose yield runs :func:`checkpw_yield` with the
  shadow file's inode as a hole. ``SYS_RUN`` (:func:`run_command`) makes the
  keeper ask that factory for a yield with the process's bank and the meter,
  passing only the argument string; the yield answers an rc and destroys
  itself.

``keykos_lab.system.keynix.install_setuid`` sets both up on a KeyNIX; the
``intruder`` program tries the attacks; ``keykos_lab.scenarios.setuid_contrast``
runs them.

>>> from keykos_lab.system.keynix import KeyNIX, install_setuid
>>> knx = KeyNIX(); parts = install_setuid(knx)
>>> _ = knx.spawn("/bin/intruder", ["intruder", "cap", "hunter2"]); _ = knx.run()
>>> knx.tty()
b'run: rc=0\\n'
"""

from __future__ import annotations

from keykos_lab.kernel.keys import DK0
from keykos_lab.kernel.oc import Node
from keykos_lab.kernel.process import program
from keykos_lab.programs.keynix import abi, fs
from keykos_lab.programs.keynix import libc as c
from keykos_lab.programs.keynix.server import K_METER, P_ROOT, proc_node, slot, table_entry

SHADOW = "/etc/shadow"
PASSWORD = b"hunter2"
SETUID_PATH = "/sbin/checkpw"
COMMAND_PATH = "/cmd/checkpw"
YIELD_PROGRAM = "keynix:checkpw-yield"
DC_DESTROY_ME = 8  # dc.h, as password_checker uses it
HOLE_SLOT = 0


# ------------------------------------------------------------ the Unix way
@c.unix_program("checkpw")
def checkpw(dom, argv, forked):
    """``checkpw GUESS``: 0 if GUESS is the password in ``/etc/shadow``, 1 if not,
    2 if the file cannot be opened. ``CHECKPW_DEBUG`` in the environment makes it
    print the stored password (a debug switch left in, as real ones were)."""
    fd = yield from c.open_(dom, SHADOW)
    if fd < 0:
        yield from c.write(dom, 1, f"checkpw: {abi.errno_name(-fd)}\n")
        return 2
    _, stored = yield from c.read(dom, fd)
    stored = stored.rstrip(b"\n")
    if (yield from c.getenv(dom, "CHECKPW_DEBUG")) is not None:
        yield from c.write(dom, 1, b"checkpw debug: stored=" + stored + b"\n")
    ok = len(argv) > 1 and argv[1] == stored
    yield from c.write(dom, 1, b"checkpw: ok\n" if ok else b"checkpw: wrong\n")
    return 0 if ok else 1


@c.preload_hook("steal")
def steal(dom, argv, forked):
    """An ``LD_PRELOAD`` hook: runs before main in whatever process loads it, with
    that process's euid, and tries to read ``/etc/shadow``."""
    euid = yield from c.syscall(dom, abi.SYS_GETEUID)
    fd = yield from c.open_(dom, SHADOW)
    if fd < 0:
        yield from c.write(dom, 1, f"steal(euid={euid}): {abi.errno_name(-fd)}\n")
        return
    _, data = yield from c.read(dom, fd)
    yield from c.close(dom, fd)
    yield from c.write(dom, 1, f"steal(euid={euid}): ".encode() + data)


# ------------------------------------------------------ the capability way
@program(YIELD_PROGRAM)
def checkpw_yield(dom, msg):
    """The privileged command as a factory yield. Component 0 (a hole) is the
    inode of ``/etc/shadow``; order 0 checks ``msg.data`` against it: rc 0
    match, 1 not. It reads nothing else the requestor has — no environment, no
    memory, no keys but the bank and meter the factory installed — and then
    destroys itself (its weakened DC, key 6), answering the requestor."""
    inode = (yield dom.call(dom.keys[0], Node.Fetch + HOLE_SLOT)).keys[0]
    _, _, size = yield from fs.stat(dom, inode)
    stored = (yield from fs.file_read(dom, inode, 0, size)).rstrip(b"\n")
    rc = 0 if msg.order == 0 and msg.data == stored else 1
    yield dom.call(dom.keys[6], DC_DESTROY_ME, msg.resume, dom.keys[4], data=rc.to_bytes(4, "big"))


def run_command(dom, msg, pid, payload):
    """``S_RUN`` (a sub-generator of the system domain): look ``path`` up in the
    process's root; it must be a command inode (else ``ENOEXEC``). Ask its factory for
    a yield with the bank the process's keeper passed (its process's own) and the meter,
    passing the argument string and no other key; answer the yield's rc. The system
    domain holds only the requestor's key; the yield replies to its resume key."""
    path, _, arg = payload.partition(b"\0")
    node = yield from proc_node(dom, pid)
    euid = (yield from table_entry(dom, pid))[2]
    err, inode, _, _ = yield from fs.lookup(dom, (yield from slot(dom, node, P_ROOT)), path, euid)
    if not err:
        kind, _, _ = yield from fs.stat(dom, inode)
        err = 0 if kind == fs.COMMAND else abi.ENOEXEC
    if err:
        yield dom.return_(msg.resume, err, data=abi.pack())
        return
    requestor = yield from slot(dom, inode, 0)
    r = yield dom.call(requestor, 0, msg.keys[0], dom.keys[K_METER], DK0, data=arg)
    yield dom.return_(msg.resume, 0, data=abi.pack(r.rc))


# --------------------------------------------------------------- attacker
def _scan(dom, me: int):
    """ptrace every pid but mine: ``(answered, errnos, found the password)``."""
    answered, errs, found = 0, set(), False
    for pid in range(1, 33):
        if pid == me:
            continue
        for page in range(1, abi.SPACE_PAGES):
            rc = yield from c.syscall(dom, abi.SYS_PTRACE, pid, page * abi.PAGE, abi.BUF)
            if rc < 0:
                errs.add(abi.errno_name(-rc))
                break
            answered += 1
            if PASSWORD in (yield dom.read(abi.BUF, abi.PAGE)):
                found = True
    return answered, errs, found


@c.unix_program("intruder")
def intruder(dom, argv, forked):
    """``intruder unix GUESS`` execs the setuid ``/sbin/checkpw GUESS`` (with
    the environment it was given); ``intruder cap GUESS`` runs ``/cmd/checkpw``
    through ``SYS_RUN``; ``intruder ptrace`` scans every process's memory for
    the password; ``intruder open`` opens ``/etc/shadow`` itself."""
    how = argv[1] if len(argv) > 1 else b""
    guess = argv[2] if len(argv) > 2 else b""
    if how == b"unix":
        yield from c.exec_(dom, SETUID_PATH, [b"checkpw", guess])
        return 127
    if how == b"cap":
        rc = yield from c.run_command(dom, COMMAND_PATH, guess)
        yield from c.write(dom, 1, f"run: rc={rc}\n")
        return 0
    if how == b"ptrace":
        answered, errs, found = yield from _scan(dom, (yield from c.getpid(dom)))
        yield from c.write(
            dom,
            1,
            f"ptrace: {answered} pages read, refused "
            f"{'/'.join(sorted(errs))}, password found: {found}\n",
        )
        return 0
    fd = yield from c.open_(dom, SHADOW)
    yield from c.write(dom, 1, f"open: {abi.errno_name(-fd) if fd < 0 else 'ok'}\n")
    return 0


__all__ = [
    "COMMAND_PATH",
    "PASSWORD",
    "SETUID_PATH",
    "SHADOW",
    "checkpw",
    "checkpw_yield",
    "intruder",
    "run_command",
    "steal",
]
