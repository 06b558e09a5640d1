"""Booting KeyNIX, and the operator's facet of the Unix keeper (databyte 0).

:class:`KeyNIX` is the console-side handle: it builds the keeper domain from
ordinary invocations (a DC of its own from the DCC, a sub-bank, a format key
from the DKC), makes the root directory, ``/bin`` holding every Unix program
(a program file is a segment whose first page is the program's image, D3),
``/dev/tty`` (the terminal's output, a file) and the terminal's input (a pipe
the operator types into), then starts processes on that terminal.

>>> from keykos_lab.programs.keynix import KeyNIX
>>> knx = KeyNIX()
>>> pid = knx.spawn("/bin/echo", ["echo", "hello,", "world"])
>>> _ = knx.run(); knx.tty()
b'hello, world\\n'
>>> knx.status(pid)
('zombie', 0)
"""

from __future__ import annotations

from ...kernel import oc
from ...kernel.keys import DK0
from ...kernel.process import PROGRAMS, image_bytes
from ...kernel.segments import format_key_value
from ..dc import DCC
from . import abi, fs, keeper, pipe
from .keeper import K_BANK, K_FORMAT, K_ROOT, K_TABLE, K_TTY, K_TTYOUT

# Operator orders (databyte 0).
A_INIT, A_MKDIR, A_WRITE, A_READ, A_SPAWN, A_TYPE, A_EOF, A_STATUS, A_PROC, A_LINK, A_INODE = \
    range(11)
STATES = {keeper.FREE: "free", keeper.EMBRYO: "embryo", keeper.RUNNING: "running",
          keeper.ZOMBIE: "zombie"}


def admin(dom, msg):
    """The operator's orders (a sub-generator of the keeper's handler)."""
    order, resume = msg.order, msg.resume
    try:
        ints, payload = abi.unpack(msg.data)
    except ValueError:
        yield dom.return_(resume, abi.EINVAL)
        return
    root = dom.keys[K_ROOT]
    if order == A_INIT:
        bank, fmt = dom.keys[K_BANK], dom.keys[K_FORMAT]
        dom.keys[K_ROOT] = yield from fs.new_inode(dom, bank, fmt, fs.DIR)
        dom.keys[K_TTY] = yield from pipe.new_pipe(dom, bank)
        yield dom.return_(resume, 0)
    elif order in (A_MKDIR, A_WRITE, A_LINK):
        path, _, data = payload.partition(b"\0")
        err, inode, parent, name = yield from fs.lookup(dom, root, path)
        if err == abi.ENOENT and parent != DK0:
            kind = {A_MKDIR: fs.DIR, A_WRITE: fs.FILE, A_LINK: fs.COMMAND}[order]
            inode = yield from fs.new_inode(dom, dom.keys[K_BANK], dom.keys[K_FORMAT], kind,
                                            ints[0] if ints else 0)
            err = yield from fs.dir_add(dom, parent, name, inode)
        if not err and order == A_WRITE:
            yield from fs.truncate(dom, inode)
            rc = yield from fs.file_write(dom, inode, dom.keys[K_BANK], 0, data)
            err = -rc if rc < 0 else 0
            if path == b"/dev/tty":
                dom.keys[K_TTYOUT] = inode
        if not err and order == A_LINK:
            yield dom.call(inode, oc.Node.Swap + 0, msg.keys[0])
        yield dom.return_(resume, err)
    elif order == A_READ:
        err, inode, _, _ = yield from fs.lookup(dom, root, payload)
        data = b"" if err else (yield from fs.file_read(dom, inode, ints[0] if ints else 0,
                                                        abi.PAGE))
        yield dom.return_(resume, err, data=data)
    elif order == A_SPAWN:
        yield from _spawn(dom, resume, ints, payload)
    elif order == A_TYPE:
        tty = dom.keys[K_TTY]
        rc = yield from pipe.put(dom, tty, payload)
        yield from keeper.wake_reader(dom, tty)
        yield dom.return_(resume, 0 if rc >= 0 else -rc, data=max(rc, 0).to_bytes(4, "big"))
    elif order == A_EOF:
        tty = dom.keys[K_TTY]
        yield from pipe.set_field(dom, tty, pipe.WRITERS, 0)
        yield from keeper.wake_reader(dom, tty)
        yield dom.return_(resume, 0)
    elif order == A_STATUS:
        pid = ints[0] if ints and 0 < ints[0] <= abi.MAX_PROCS else 0
        state, _, _, status, _ = yield from keeper.table_entry(dom, pid)
        yield dom.return_(resume, state, data=status.to_bytes(4, "big", signed=True))
    elif order == A_PROC:
        pid = ints[0] if ints and 0 < ints[0] <= abi.MAX_PROCS else 0
        node = (yield from keeper.proc_node(dom, pid)) if pid else DK0
        dkey = DK0 if node == DK0 else (yield from keeper.slot(dom, node, keeper.P_DOM))
        yield dom.return_(resume, 0 if node != DK0 else abi.ESRCH, keys=(dkey, node))
    elif order == A_INODE:
        err, inode, _, _ = yield from fs.lookup(dom, root, payload)
        yield dom.return_(resume, err, keys=(inode,))
    else:
        yield dom.return_(resume, oc.RC.INVALIDOC)


def _spawn(dom, resume, ints, payload):
    """A process on the terminal: fd 0 the tty pipe, fds 1 and 2 ``/dev/tty``."""
    euid, argv_len = (ints + (0, 0))[:2]
    path, _, rest = payload.partition(b"\0")
    argv, env = rest[:argv_len], rest[argv_len:]
    pid = yield from keeper.alloc_pid(dom)
    err, node = (abi.EAGAIN, DK0) if not pid else (yield from keeper.new_process(dom, pid, 0,
                                                                                 euid))
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
    tout = yield from keeper.new_open_file(dom, dom.keys[K_TTYOUT], keeper.OF_FILE,
                                           abi.O_WRONLY | abi.O_APPEND)
    yield dom.call(fds, oc.Node.Swap + 0, tin)
    yield dom.call(fds, oc.Node.Swap + 1, tout)
    yield dom.call(fds, oc.Node.Swap + 2, tout)
    yield from keeper.add_ref(dom, tout)
    yield from keeper.start(dom, pid, node, abi.BORN_EXEC)
    yield dom.return_(resume, 0, data=pid.to_bytes(4, "big"))
    _ = K_TABLE


class KeyNIXError(RuntimeError):
    """An operator request failed; ``errno`` says why."""

    def __init__(self, what: str, errno: int) -> None:
        super().__init__(f"{what}: {abi.errno_name(errno)} ({errno})")
        self.errno = errno


class KeyNIX:
    """A booted KeyNIX on a kernel: the operator's handle (console side).

    ``kernel`` defaults to a fresh ``keykos_lab.Kernel()``. Attributes:
    ``kernel``, ``con``, ``keeper`` (the keeper's domain key), ``admin`` (its
    operator start key, databyte 0), ``bank`` (the sub-bank everything is bought
    from).
    """

    def __init__(self, kernel=None) -> None:
        from ... import system
        from ...lab import Kernel
        self.kernel = kernel if kernel is not None else Kernel()
        con = self.con = self.kernel.console
        self.bank = _ok(con.call(con["bank"], keeper.CREATE_BANK), "a bank for KeyNIX")
        dc = _ok(con.call(con["dcc"], DCC.Create, con["bank"], con["meter"]), "a DC")
        table = _ok(con.call(self.bank, oc.SB.CreatePage), "the process table page")
        ptab = _ok(con.call(self.bank, oc.SB.CreateNode), "the process table node")
        fmt = format_key_value(3, initial=abi.FILE_PAGES, keeper=15)
        fmt_key = _ok(con.call(con["dkc"], oc.DKC.Create11, data=fmt.to_bytes(11, "big")),
                      "the format key")
        self.keeper = system.build_domain(con, "keynix", keys={
            keeper.K_PTAB: ptab, K_BANK: self.bank, keeper.K_DC: dc, keeper.K_METER: con["meter"],
            K_FORMAT: fmt_key, K_TABLE: table})
        con.call(self.keeper, oc.Domain.SwapKey + keeper.K_SELF, self.keeper)
        self.kernel.store.labels[con.target(self.keeper)] = "Unix keeper"
        self.admin = system.start_key(con, self.keeper, 0)
        self._order(A_INIT, what="init")
        for d in ("/bin", "/dev", "/etc", "/home", "/tmp"):
            self.mkdir(d)
        self.write_file("/dev/tty", b"")
        for name in sorted(PROGRAMS):
            command = getattr(PROGRAMS[name], "unix_name", None)
            if command is not None:
                self.write_file(f"/bin/{command}", image_bytes(name), mode=fs.READONLY)

    # ------------------------------------------------------------ operator
    def _order(self, order: int, *ints: int, payload: bytes = b"", keys=(), what: str = ""):
        r = self.con.call(self.admin, order, *keys, data=abi.pack(*ints, payload=payload))
        if r.rc != 0 and order not in (A_STATUS,):
            raise KeyNIXError(what or f"operator order {order}", r.rc)
        return r

    def mkdir(self, path: str) -> None:
        self._order(A_MKDIR, payload=path.encode(), what=f"mkdir {path}")

    def write_file(self, path: str, data: bytes | str, mode: int = 0) -> None:
        """Create or overwrite a file (``mode``: ``fs.READONLY``, ``PRIVILEGED``, ``SETUID``)."""
        data = data.encode() if isinstance(data, str) else data
        self._order(A_WRITE, mode, payload=path.encode() + b"\0" + data, what=f"write {path}")

    def read_file(self, path: str) -> bytes:
        out, offset = [], 0
        while True:
            r = self._order(A_READ, offset, payload=path.encode(), what=f"read {path}")
            out.append(r.data)
            offset += len(r.data)
            if len(r.data) < abi.PAGE:
                return b"".join(out)

    def link_command(self, path: str, requestor) -> None:
        """Put a factory's requestor key in the tree as a setuid-style command."""
        self._order(A_LINK, payload=path.encode(), keys=(requestor,), what=f"link {path}")

    def inode(self, path: str):
        """A node key to the inode at ``path`` (the operator's, to build with)."""
        return self._order(A_INODE, payload=path.encode(), what=f"inode {path}").keys[0]

    def spawn(self, path: str, argv: list, env: dict | None = None, euid: int = 100) -> int:
        """Start ``path`` on the terminal; its pid. Run it with :meth:`run`."""
        block = abi.argv_block(argv)
        envb = abi.argv_block([f"{k}={v}" for k, v in (env or {}).items()])
        r = self._order(A_SPAWN, euid, len(block), payload=path.encode() + b"\0" + block + envb,
                        what=f"spawn {path}")
        return int.from_bytes(r.data, "big")

    def run(self) -> int:
        """Run every domain until none can run; the scheduler steps taken."""
        return self.con.run()

    def type(self, text: bytes | str) -> None:
        """Type at the terminal: the bytes go into the tty pipe (fd 0 of its processes)."""
        text = text.encode() if isinstance(text, str) else text
        self._order(A_TYPE, payload=text, what="type")

    def eof(self) -> None:
        self._order(A_EOF, what="eof")

    def tty(self) -> bytes:
        """What the processes wrote to the terminal (``/dev/tty``)."""
        return self.read_file("/dev/tty")

    def status(self, pid: int) -> tuple[str, int]:
        """``(state, exit status)``: state is free, embryo, running or zombie."""
        r = self._order(A_STATUS, pid)
        return STATES.get(r.rc, str(r.rc)), int.from_bytes(r.data, "big", signed=True)

    def process(self, pid: int):
        """``(domain key, process node key)`` handles of a live process."""
        r = self._order(A_PROC, pid, what=f"process {pid}")
        return r.keys[0], r.keys[1]


def _ok(reply, what: str):
    if reply.rc != 0:
        raise RuntimeError(f"{what} failed with rc {reply.rc:#x}")
    return reply.keys[0]
