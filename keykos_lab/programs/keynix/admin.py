"""The system domain's operator facet (databyte 0): orders from the console side.

The operator (``keykos_lab.system.keynix.KeyNIX``) boots the file system, writes
files, links commands, types at the terminal and spawns processes through
these orders, each a sub-generator of the system domain's handler.
"""

from __future__ import annotations

from keykos_lab.kernel import oc
from keykos_lab.kernel.keys import DK0
from keykos_lab.programs.keynix import abi, fs, pipe, server
from keykos_lab.programs.keynix.server import K_BANK, K_FORMAT, K_ROOT, K_TTY, K_TTYOUT

# Operator orders (databyte 0).
A_INIT, A_MKDIR, A_WRITE, A_READ, A_SPAWN, A_TYPE, A_EOF, A_STATUS, A_PROC, A_LINK, A_INODE = range(
    11
)
STATES = {
    server.FREE: "free",
    server.EMBRYO: "embryo",
    server.RUNNING: "running",
    server.ZOMBIE: "zombie",
}


def admin(dom, msg):
    """The operator's orders (a sub-generator of the system domain's handler): one handler each
    in :data:`ORDERS`; an unknown order answers ``RC.INVALIDOC``."""
    try:
        ints, payload = abi.unpack(msg.data)
    except ValueError:
        yield dom.return_(msg.resume, abi.EINVAL)
        return
    handler = ORDERS.get(msg.order)
    if handler is None:
        yield dom.return_(msg.resume, oc.RC.INVALIDOC)
        return
    yield from handler(dom, msg, ints, payload)


def _init(dom, msg, ints, payload):
    """The root directory and the terminal's input pipe."""
    bank, fmt = dom.keys[K_BANK], dom.keys[K_FORMAT]
    dom.keys[K_ROOT] = yield from fs.new_inode(dom, bank, fmt, fs.DIR)
    # The terminal holds a read end and a write end of its own: its processes' read
    # ends come and go, and typing never meets EPIPE.
    dom.keys[K_TTY] = yield from pipe.new_pipe(dom, bank, readers=1, writers=1)
    yield dom.return_(msg.resume, 0)


_MADE = {A_MKDIR: fs.DIR, A_WRITE: fs.FILE, A_LINK: fs.COMMAND}


def _make(dom, msg, ints, payload):
    """mkdir, write a file (created if missing), link a command (a requestor's key). The
    mode (int 0) is set on the inode whether it is new or not: a file a user made and
    the operator then writes has the operator's mode (docs/primer.md#primer-keynix); a
    path of another kind is EEXIST."""
    order = msg.order
    mode = ints[0] if ints else 0
    path, _, data = payload.partition(b"\0")
    bank = dom.keys[K_BANK]
    err, inode, parent, name = yield from fs.lookup(dom, dom.keys[K_ROOT], path)
    if err == abi.ENOENT and parent != DK0:
        inode = yield from fs.new_inode(dom, bank, dom.keys[K_FORMAT], _MADE[order], mode)
        err = (
            abi.ENOSPC if inode == DK0 else (yield from fs.dir_add(dom, parent, name, inode, bank))
        )
        if err and inode != DK0:
            yield from fs.free_inode(dom, bank, inode)
    elif not err:
        kind, _, _ = yield from fs.stat(dom, inode)
        if kind != _MADE[order]:
            err = abi.EEXIST
        else:
            yield dom.call(
                (yield from fs.meta(dom, inode)), oc.Page.WriteData + 1, data=bytes([mode])
            )
    if not err and order == A_WRITE:
        offset = ints[1] if len(ints) > 1 else 0  # a write in pieces: 0 starts the file anew
        if offset == 0:
            yield from fs.truncate(dom, inode)
        rc = yield from fs.file_write(dom, inode, dom.keys[K_BANK], offset, data)
        err = -rc if rc < 0 else 0
        if path == b"/dev/tty":
            dom.keys[K_TTYOUT] = inode
    if not err and order == A_LINK:
        yield dom.call(inode, oc.Node.Swap + 0, msg.keys[0])
    yield dom.return_(msg.resume, err)


def _read(dom, msg, ints, payload):
    """A page of a file, from an offset."""
    err, inode, _, _ = yield from fs.lookup(dom, dom.keys[K_ROOT], payload)
    data = b"" if err else (yield from fs.file_read(dom, inode, ints[0] if ints else 0, abi.PAGE))
    yield dom.return_(msg.resume, err, data=data)


def _spawn_order(dom, msg, ints, payload):
    yield from _spawn(dom, msg.resume, ints, payload)


def _type(dom, msg, ints, payload):
    """Typing at the terminal: the bytes go into the tty pipe."""
    tty = dom.keys[K_TTY]
    rc = yield from pipe.put(dom, tty, payload)
    yield from server.wake_reader(dom, tty)
    yield dom.return_(msg.resume, 0 if rc >= 0 else -rc, data=max(rc, 0).to_bytes(4, "big"))


def _eof(dom, msg, ints, payload):
    """End of input at the terminal."""
    tty = dom.keys[K_TTY]
    yield from pipe.set_field(dom, tty, pipe.WRITERS, 0)
    yield from server.wake_reader(dom, tty)
    yield dom.return_(msg.resume, 0)


def _pid(ints):
    return ints[0] if ints and 0 < ints[0] <= abi.MAX_PROCS else 0


def _status(dom, msg, ints, payload):
    """A process's state (rc) and exit status."""
    state, _, _, status, _ = yield from server.table_entry(dom, _pid(ints))
    yield dom.return_(msg.resume, state, data=status.to_bytes(4, "big", signed=True))


def _proc(dom, msg, ints, payload):
    """A process's domain key and its keeper's domain key."""
    from keykos_lab.programs.keynix.keeper import KK_DOM

    pid = _pid(ints)
    node = (yield from server.proc_node(dom, pid)) if pid else DK0
    kdom = DK0 if node == DK0 else (yield from server.slot(dom, node, server.P_KEEPER))
    dkey = DK0 if kdom == DK0 else (yield dom.call(kdom, oc.Domain.GetKey + KK_DOM)).keys[0]
    yield dom.return_(msg.resume, 0 if kdom != DK0 else abi.ESRCH, keys=(dkey, kdom))


def _inode(dom, msg, ints, payload):
    """A node key to the inode at a path."""
    err, inode, _, _ = yield from fs.lookup(dom, dom.keys[K_ROOT], payload)
    yield dom.return_(msg.resume, err, keys=(inode,))


def _spawn(dom, resume, ints, payload):
    """A process on the terminal: fd 0 the tty pipe, fds 1 and 2 ``/dev/tty``. The
    system domain fills the embryo through its keeper's parent facet, as a parent's
    keeper would (:mod:`.procs`); the new keeper is available, and answers without
    calling back."""
    from keykos_lab.programs.keynix import procs, services

    euid, argv_len = (ints + (0, 0))[:2]
    path, _, rest = payload.partition(b"\0")
    argv, env = rest[:argv_len], rest[argv_len:]
    err, text, _ = yield from services.program_text(dom, dom.keys[K_ROOT], path, euid)
    pid = 0 if err else (yield from server.alloc_pid(dom))
    if not err and not pid:
        err = abi.EAGAIN
    if not err:
        err, kid = yield from server.new_process(dom, pid, 0, euid)
    if not err:
        node = yield from server.proc_node(dom, pid)
        yield dom.call(node, oc.Node.Swap + server.P_ROOT, dom.keys[K_ROOT])
        load = abi.pack(len(argv), payload=argv + env)
        err = (yield dom.call(kid, procs.C_LOAD, text, data=load)).rc
        if err:
            yield from server.terminate(dom, pid, 0)
            yield from server.set_entry(dom, pid, server.FREE, 0, 0)
    if err:
        yield dom.return_(resume, err)
        return
    tin = yield from server.new_open_file(dom, dom.keys[K_TTY], server.OF_PIPE_R, abi.O_RDONLY)
    tout = yield from server.new_open_file(
        dom, dom.keys[K_TTYOUT], server.OF_FILE, abi.O_WRONLY | abi.O_APPEND
    )
    yield from server.add_ref(dom, (yield from server.valid_of(dom, tout))[1])
    for fd, of in ((0, tin), (1, tout), (2, tout)):
        yield dom.call(kid, procs.C_INSTALL_FD, of, data=abi.pack(fd))
    _, ppid, _, _, _ = yield from server.table_entry(dom, pid)
    yield from server.set_entry(dom, pid, server.RUNNING, ppid, euid)
    yield dom.call(kid, procs.C_START, data=abi.pack(abi.BORN_EXEC))
    yield dom.return_(resume, 0, data=pid.to_bytes(4, "big"))


#: The operator's orders, by order code.
ORDERS = {
    A_INIT: _init,
    A_MKDIR: _make,
    A_WRITE: _make,
    A_LINK: _make,
    A_READ: _read,
    A_SPAWN: _spawn_order,
    A_TYPE: _type,
    A_EOF: _eof,
    A_STATUS: _status,
    A_PROC: _proc,
    A_INODE: _inode,
}
