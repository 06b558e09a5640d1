"""The Unix keeper's operator facet (databyte 0): orders from the console side.

The operator (``keykos_lab.system.keynix.KeyNIX``) boots the file system, writes
files, links commands, types at the terminal and spawns processes through
these orders, each a sub-generator of the keeper's handler.
"""

from __future__ import annotations

from keykos_lab.kernel import oc
from keykos_lab.kernel.keys import DK0
from keykos_lab.programs.keynix import abi, fs, keeper, pipe
from keykos_lab.programs.keynix.keeper import K_BANK, K_FORMAT, K_ROOT, K_TTY, K_TTYOUT

# Operator orders (databyte 0).
A_INIT, A_MKDIR, A_WRITE, A_READ, A_SPAWN, A_TYPE, A_EOF, A_STATUS, A_PROC, A_LINK, A_INODE = range(
    11
)
STATES = {
    keeper.FREE: "free",
    keeper.EMBRYO: "embryo",
    keeper.RUNNING: "running",
    keeper.ZOMBIE: "zombie",
}


def admin(dom, msg):
    """The operator's orders (a sub-generator of the keeper's handler): one handler each
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
    dom.keys[K_TTY] = yield from pipe.new_pipe(dom, bank)
    yield dom.return_(msg.resume, 0)


_MADE = {A_MKDIR: fs.DIR, A_WRITE: fs.FILE, A_LINK: fs.COMMAND}


def _make(dom, msg, ints, payload):
    """mkdir, write a file (created if missing), link a command (a requestor's key)."""
    order = msg.order
    path, _, data = payload.partition(b"\0")
    err, inode, parent, name = yield from fs.lookup(dom, dom.keys[K_ROOT], path)
    if err == abi.ENOENT and parent != DK0:
        inode = yield from fs.new_inode(
            dom, dom.keys[K_BANK], dom.keys[K_FORMAT], _MADE[order], ints[0] if ints else 0
        )
        err = yield from fs.dir_add(dom, parent, name, inode)
    if not err and order == A_WRITE:
        yield from fs.truncate(dom, inode)
        rc = yield from fs.file_write(dom, inode, dom.keys[K_BANK], 0, data)
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
    yield from keeper.wake_reader(dom, tty)
    yield dom.return_(msg.resume, 0 if rc >= 0 else -rc, data=max(rc, 0).to_bytes(4, "big"))


def _eof(dom, msg, ints, payload):
    """End of input at the terminal."""
    tty = dom.keys[K_TTY]
    yield from pipe.set_field(dom, tty, pipe.WRITERS, 0)
    yield from keeper.wake_reader(dom, tty)
    yield dom.return_(msg.resume, 0)


def _pid(ints):
    return ints[0] if ints and 0 < ints[0] <= abi.MAX_PROCS else 0


def _status(dom, msg, ints, payload):
    """A process's state (rc) and exit status."""
    state, _, _, status, _ = yield from keeper.table_entry(dom, _pid(ints))
    yield dom.return_(msg.resume, state, data=status.to_bytes(4, "big", signed=True))


def _proc(dom, msg, ints, payload):
    """A process's domain key and process node."""
    pid = _pid(ints)
    node = (yield from keeper.proc_node(dom, pid)) if pid else DK0
    dkey = DK0 if node == DK0 else (yield from keeper.slot(dom, node, keeper.P_DOM))
    yield dom.return_(msg.resume, 0 if node != DK0 else abi.ESRCH, keys=(dkey, node))


def _inode(dom, msg, ints, payload):
    """A node key to the inode at a path."""
    err, inode, _, _ = yield from fs.lookup(dom, dom.keys[K_ROOT], payload)
    yield dom.return_(msg.resume, err, keys=(inode,))


def _spawn(dom, resume, ints, payload):
    """A process on the terminal: fd 0 the tty pipe, fds 1 and 2 ``/dev/tty``."""
    euid, argv_len = (ints + (0, 0))[:2]
    path, _, rest = payload.partition(b"\0")
    argv, env = rest[:argv_len], rest[argv_len:]
    pid = yield from keeper.alloc_pid(dom)
    err, node = (abi.EAGAIN, DK0) if not pid else (yield from keeper.new_process(dom, pid, 0, euid))
    if not err:
        yield dom.call(node, oc.Node.Swap + keeper.P_ROOT, dom.keys[K_ROOT])
        err = yield from keeper._load(dom, node, dom.keys[K_ROOT], path, argv, env)
    if err:
        if node != DK0:
            yield from keeper.finish(dom, pid, 0)
            yield from keeper.set_entry(dom, pid, keeper.FREE, 0, 0)
        yield dom.return_(resume, err)
        return
    fds = yield from keeper.slot(dom, node, keeper.P_FDS)
    tin = yield from keeper.new_open_file(dom, dom.keys[K_TTY], keeper.OF_PIPE_R, abi.O_RDONLY)
    tout = yield from keeper.new_open_file(
        dom, dom.keys[K_TTYOUT], keeper.OF_FILE, abi.O_WRONLY | abi.O_APPEND
    )
    yield dom.call(fds, oc.Node.Swap + 0, tin)
    yield dom.call(fds, oc.Node.Swap + 1, tout)
    yield dom.call(fds, oc.Node.Swap + 2, tout)
    yield from keeper.add_ref(dom, tout)
    yield from keeper.start(dom, pid, node, abi.BORN_EXEC)
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
