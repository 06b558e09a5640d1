"""Booting KeyNIX, and the operator's facet of its system domain (databyte 0).

:class:`KeyNIX` is the console-side handle: it builds the system domain from
ordinary invocations (a DC of its own from the DCC, a sub-bank, a format key
from the DKC), makes the root directory, ``/bin`` holding every Unix program
(a program file is a segment whose first page is the program's image, D3),
``/dev/tty`` (the terminal's output, a file) and the terminal's input (a pipe
the operator types into), then starts processes on that terminal.

>>> from keykos_lab.system import KeyNIX
>>> knx = KeyNIX()
>>> pid = knx.spawn("/bin/echo", ["echo", "hello,", "world"])
>>> _ = knx.run(); knx.tty()
b'hello, world\\n'
>>> knx.status(pid)
('zombie', 0)
"""

from __future__ import annotations

from typing import NamedTuple

from keykos_lab.kernel import oc
from keykos_lab.kernel.process import MAX_STRING, PROGRAMS, image_bytes
from keykos_lab.kernel.segments import format_key_value
from keykos_lab.programs.keynix import abi, fs, libc, server, setuid
from keykos_lab.programs.keynix.admin import (
    A_EOF,
    A_INIT,
    A_INODE,
    A_LINK,
    A_MKDIR,
    A_PROC,
    A_READ,
    A_SPAWN,
    A_STATUS,
    A_TYPE,
    A_WRITE,
    STATES,
)
from keykos_lab.programs.keynix.server import K_BANK, K_FORMAT, K_TABLE
from keykos_lab.programs.primordial.dc import DCC
from keykos_lab.system.boot import new_system
from keykos_lab.system.factories import FactoryKeys, build_factory
from keykos_lab.system.recipes import build_domain, image, start_key
from keykos_lab.system.vcs import build_zero_segment


class KeyNIXError(RuntimeError):
    """An operator request failed; ``errno`` says why."""

    def __init__(self, what: str, errno: int) -> None:
        super().__init__(f"{what}: {abi.errno_name(errno)} ({errno})")
        self.errno = errno


class KeyNIX:
    """A booted KeyNIX on a kernel: the operator's handle (console side).

    ``kernel`` defaults to a fresh ``keykos_lab.Kernel()``. Attributes:
    ``kernel``, ``con``, ``system`` (the system domain's domain key; ``keeper`` is
    the same key, its former name), ``admin`` (its operator start key, databyte 0),
    ``bank`` (the sub-bank everything shared is bought from). Each process has a
    keeper of its own (:mod:`keykos_lab.programs.keynix.keeper`).
    """

    def __init__(self, kernel=None, name: str = "keynix", fork: str = "cow") -> None:
        self.kernel = kernel if kernel is not None else new_system()
        con = self.con = self.kernel.console
        if not isinstance(name, str) or not name:
            raise ValueError(f"a KeyNIX's name is a non-empty string, not {name!r}")
        if fork not in FORK_MODES:
            raise ValueError(f"fork is one of {sorted(FORK_MODES)}, not {fork!r}")
        if f"{name}.admin" in con:
            raise ValueError(f"this kernel runs a KeyNIX named {name!r} already: attach() to it")
        self.name = name
        self.bank = _ok(con.call(con["bank"], server.CREATE_BANK), "a bank for KeyNIX")
        dc = _ok(con.call(con["dcc"], DCC.Create, con["bank"], con["meter"]), "a DC")
        table = _ok(con.call(self.bank, oc.SB.CreatePage), "the process table page")
        ptab = _ok(con.call(self.bank, oc.SB.CreateNode), "the process table node")
        oftab = _ok(con.call(self.bank, oc.SB.CreateNode), "the open-file table node")
        fmt = format_key_value(3, initial=abi.FILE_PAGES, keeper=15)
        fmt_key = _ok(
            con.call(con["dkc"], oc.DKC.Create11, data=fmt.to_bytes(11, "big")), "the format key"
        )
        self.system = self.keeper = build_domain(
            con,
            "keynix",
            keys={
                server.K_PTAB: ptab,
                K_BANK: self.bank,
                server.K_DC: dc,
                server.K_METER: con["meter"],
                K_FORMAT: fmt_key,
                K_TABLE: table,
                server.K_KIMAGE: image(con, "keynix-keeper"),
                server.K_OFTAB: oftab,
                server.K_DISCRIM: con["discrim"],
                server.K_VCSIMAGE: image(con, "vcs"),
                server.K_ZERO: build_zero_segment(con),
            },
        )
        con.call(self.system, oc.Domain.SwapKey + server.K_SELF, self.system)
        con.label(self.system, "Unix system")
        self.admin = start_key(con, self.system, 0)
        # The console names its keys, so that a restored kernel's KeyNIX can be found.
        for part in ("system", "admin", "bank"):
            con.name(f"{name}.{part}", getattr(self, part), label=False)
        self.fork = fork
        self._order(A_INIT, what="init")
        for d in ("/bin", "/dev", "/etc"):  # new names from euid 0 only
            self.mkdir(d)
        for d in ("/home", "/tmp"):  # anyone's
            self.mkdir(d, mode=fs.PUBLIC)
        self.write_file("/dev/tty", b"")
        for name in sorted(PROGRAMS):
            command = getattr(PROGRAMS[name], "unix_name", None)
            if command is not None:
                self.write_file(f"/bin/{command}", image_bytes(name), mode=fs.READONLY)

    @classmethod
    def attach(cls, kernel, name: str = "keynix") -> KeyNIX:
        """The operator's handle on the KeyNIX named ``name`` that ``kernel`` runs
        already: a restored checkpoint's, say (nothing is booted again).

        >>> import os, tempfile, keykos_lab as kl
        >>> knx = KeyNIX(); _ = knx.spawn("/bin/cat", ["cat"]); _ = knx.run()
        >>> path = os.path.join(tempfile.mkdtemp(), "knx.ckpt")
        >>> _ = knx.kernel.checkpoint(path)          # cat is mid-flight: by replay
        >>> again = KeyNIX.attach(kl.Kernel.restore(path))
        >>> again.type("still here\\n"); _ = again.run(); again.tty()
        b'still here\\n'
        """
        con = kernel.console
        if f"{name}.admin" not in con:
            raise KeyError(f"this kernel runs no KeyNIX named {name!r}")
        self = cls.__new__(cls)
        self.kernel, self.con, self.name = kernel, con, name
        self.system = self.keeper = con[f"{name}.system"]
        self.admin, self.bank = con[f"{name}.admin"], con[f"{name}.bank"]
        return self

    # ------------------------------------------------------------ operator
    @property
    def fork(self) -> str:
        """How ``fork`` copies memory: ``"cow"`` (a virtual copy segment each for parent
        and child, a page copied on its first write) or ``"copy"`` (every written page
        copied at once); the system domain's register ``R_FORK``. Settable.

        >>> knx = KeyNIX(fork="copy"); knx.fork
        'copy'
        >>> knx.fork = "cow"; knx.fork
        'cow'
        """
        regs = self.con.call(self.system, oc.Domain.GetRegs).data
        value = int.from_bytes(regs[server.R_FORK * 8 : server.R_FORK * 8 + 8], "big")
        return {v: k for k, v in FORK_MODES.items()}.get(value, "cow")

    @fork.setter
    def fork(self, mode: str) -> None:
        if mode not in FORK_MODES:
            raise ValueError(f"fork is one of {sorted(FORK_MODES)}, not {mode!r}")
        regs = bytearray(self.con.call(self.system, oc.Domain.GetRegs).data.ljust(128, b"\0"))
        regs[server.R_FORK * 8 : server.R_FORK * 8 + 8] = FORK_MODES[mode].to_bytes(8, "big")
        self.con.call(self.system, oc.Domain.PutRegs, data=bytes(regs))

    def _order(self, order: int, *ints: int, payload: bytes = b"", keys=(), what: str = ""):
        r = self.con.call(self.admin, order, *keys, data=abi.pack(*ints, payload=payload))
        if r.rc != 0 and order not in (A_STATUS,):
            raise KeyNIXError(what or f"operator order {order}", r.rc)
        return r

    def mkdir(self, path: str, mode: int = 0) -> None:
        """Make a directory (or set the mode of one): with ``fs.PUBLIC`` any euid may add
        names to it, else only euid 0; ``fs.PRIVILEGED``: only euid 0 may look in it.

        >>> knx = KeyNIX(); knx.mkdir("/srv", mode=fs.PUBLIC)
        """
        self._order(A_MKDIR, mode, payload=path.encode(), what=f"mkdir {path}")

    def write_file(self, path: str, data: bytes | str, mode: int = 0) -> None:
        """Create or overwrite a file (``mode``: ``fs.READONLY``, ``PRIVILEGED``, ``SETUID``),
        in as many operator orders as a message's string needs (up to ``abi.FILE_MAX``).

        >>> knx = KeyNIX(); knx.write_file("/tmp/big", b"x" * 10_000)
        >>> len(knx.read_file("/tmp/big"))
        10000
        """
        data = data.encode() if isinstance(data, str) else data
        head = path.encode() + b"\0"
        room = MAX_STRING - len(abi.pack(mode, len(data), payload=head))
        if room <= 0:
            raise KeyNIXError(f"write {path}: the path is too long", abi.ENAMETOOLONG)
        offset = 0
        while True:
            piece = data[offset : offset + room]
            self._order(A_WRITE, mode, offset, payload=head + piece, what=f"write {path}")
            offset += len(piece)
            if offset >= len(data):
                return

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
        r = self._order(
            A_SPAWN,
            euid,
            len(block),
            payload=path.encode() + b"\0" + block + envb,
            what=f"spawn {path}",
        )
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
        """``(state, wait status)``: state is free, embryo, running or zombie; the status
        in Linux's encoding (``abi.wifexited``, ``abi.wexitstatus``, ``abi.wifsignaled``,
        ``abi.wtermsig``; ``abi.shell_status`` gives what a shell shows)."""
        r = self._order(A_STATUS, pid)
        return STATES.get(r.rc, str(r.rc)), int.from_bytes(r.data, "big", signed=True)

    def process(self, pid: int):
        """``(domain key, keeper's domain key)`` handles of a live process."""
        r = self._order(A_PROC, pid, what=f"process {pid}")
        return r.keys[0], r.keys[1]


#: ``KeyNIX(fork=...)``: the value of the system domain's register ``R_FORK``.
FORK_MODES = {"cow": server.FORK_COW, "copy": server.FORK_COPY}


def _ok(reply, what: str):
    if reply.rc != 0:
        raise RuntimeError(f"{what} failed with rc {reply.rc:#x}")
    return reply.keys[0]


class Setuid(NamedTuple):
    """What :func:`install` made: the factory's keys and the shadow inode (console handles)."""

    factory: FactoryKeys
    shadow: object


def install_setuid(knx: KeyNIX) -> Setuid:
    """Put both versions on ``knx``: ``/etc/shadow`` (``PRIVILEGED``, holding
    ``setuid.PASSWORD``), the setuid file ``/sbin/checkpw`` and the command
    ``/cmd/checkpw`` — a factory built by the operator (the console) with the
    shadow inode as a hole."""
    knx.write_file(setuid.SHADOW, setuid.PASSWORD + b"\n", mode=fs.PRIVILEGED)
    for d in ("/sbin", "/cmd"):
        knx.mkdir(d)
    knx.write_file(
        setuid.SETUID_PATH, image_bytes(libc.UNIX_PREFIX + "checkpw"), mode=fs.READONLY | fs.SETUID
    )
    shadow = knx.inode(setuid.SHADOW)
    factory = build_factory(knx.con, setuid.YIELD_PROGRAM, holes={setuid.HOLE_SLOT: shadow})
    knx.link_command(setuid.COMMAND_PATH, factory.requestor)
    return Setuid(factory, shadow)
