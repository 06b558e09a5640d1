"""The KeyNIX file system, kept by the Unix keeper in nodes and pages.

* An **inode** is a red segment node (docs/primer.md#primer-segments): slots 0–13 map the
  file (a file *is* a segment: ``MakeSegmentKey`` on the inode maps it), slot
  14 — outside the 14 initial slots, so not mapped — holds the inode's *meta
  page*, slot 15 the format key. A small file's slots hold its pages; a larger
  one's hold a tree of black nodes, as deep as its size needs, and the inode's
  format key says how much a slot spans (:mod:`.filetree`): files up to
  ``abi.FILE_MAX`` (14 MiB).
* A **directory** is the same node with child inodes in slots 0–13 and their
  names (64-byte entries, ``NAME_MAX`` 63) in the meta page: the directory tree
  is a node tree. Past 14 entries its slots hold *buckets* of 14 entries each
  (:mod:`.dirtree`): up to ``abi.DIR_MAX`` (196) entries.
* A **command** inode (kind ``COMMAND``) holds a factory's requestor key in slot
  0: running it asks the factory for a yield (:mod:`.setuid`).

Meta page: byte 0 kind, byte 1 mode bits, byte 2 the tree's depth, bytes 4–8
size, names from byte 64. Every function is a sub-generator run by whichever
domain keeps the file system (``yield from``), with the keys it is given.

>>> split(b"/bin/cat")
(0, [b'bin', b'cat'])
>>> split(b"bin")[0] == abi.ENOENT, split(b"/" + b"x" * 64)[0] == abi.ENAMETOOLONG
(True, True)
>>> join(b"/home/ann", b"../bob/./notes")
b'/home/bob/notes'
"""

from __future__ import annotations

import struct

from keykos_lab.kernel.keys import DK0
from keykos_lab.kernel.oc import KT, SB, Fault, Keeper, Node, Page
from keykos_lab.programs.keynix import abi
from keykos_lab.programs.keynix.dirtree import (
    ENTRY,
    NAMES_AT,
    dir_add,
    dir_child,
    dir_entries,
    dir_find,
    dir_names,
)
from keykos_lab.programs.keynix.filetree import META, file_read, file_write, truncate

FILE, DIR, COMMAND = 1, 2, 3
#: Mode bits, set only by the operator (a process's ``O_CREAT`` makes mode 0):
#: READONLY refuses every process's writes (checked at ``open`` and at each ``write``);
#: PRIVILEGED opens, runs and is walked through only for euid 0; SETUID makes exec run
#: the program with euid 0 (the Unix way, for the contrast), honoured only with
#: READONLY — a file no process can have changed; PUBLIC, on a directory, lets any euid
#: add names to it (``O_CREAT``), which otherwise only euid 0 may.
READONLY, PRIVILEGED, SETUID, PUBLIC = 1, 2, 4, 8
FORMAT = 15


def split(path: bytes) -> tuple[int, list[bytes]]:
    """``(errno, components)`` of an absolute path; ``.`` stays, ``..`` goes up
    (lexically: KeyNIX has no links). Relative paths are the caller's to make
    absolute (:func:`join`; libc does it with the cwd, ``PWD``).

    >>> split(b"/a/../../b/.")
    (0, [b'b'])
    """
    if len(path) > abi.PATH_MAX:
        return abi.ENAMETOOLONG, []
    if not path.startswith(b"/"):
        return abi.ENOENT, []
    parts: list[bytes] = []
    for p in path.split(b"/"):
        if len(p) > abi.NAME_MAX or b"\0" in p:
            return abi.ENAMETOOLONG, []
        if p == b"..":
            parts = parts[:-1]
        elif p and p != b".":
            parts.append(p)
    return 0, parts


def join(cwd: bytes, path: bytes) -> bytes:
    """``path`` made absolute from ``cwd`` and normalised (``.``, ``..``, ``//``);
    a name too long is kept, for :func:`split` to refuse.

    >>> join(b"/tmp", b"x"), join(b"/tmp", b"/etc//passwd"), join(b"/", b".."), join(b"/a", b"")
    (b'/tmp/x', b'/etc/passwd', b'/', b'/a')
    """
    parts: list[bytes] = []
    for p in (path if path.startswith(b"/") else cwd + b"/" + path).split(b"/"):
        if p == b"..":
            parts = parts[:-1]
        elif p and p != b".":
            parts.append(p)
    return b"/" + b"/".join(parts)


# -------------------------------------------------------------- page ints
def get_ints(dom, page, offset: int, n: int, size: int = 4):
    data = (yield dom.call(page, Page.ReadData + offset, data=(n * size).to_bytes(4, "big"))).data
    return [int.from_bytes(data[i * size : (i + 1) * size], "big", signed=True) for i in range(n)]


def put_ints(dom, page, offset: int, *values: int, size: int = 4):
    data = b"".join(v.to_bytes(size, "big", signed=True) for v in values)
    yield dom.call(page, Page.WriteData + offset, data=data)


def read_page(dom, page, offset: int, n: int):
    return (yield dom.call(page, Page.ReadData + offset, data=n.to_bytes(4, "big"))).data


def buy(dom, bank, order: int = SB.CreatePage):
    """A page (or node, with ``SB.CreateNode``) from ``bank``; DK(0) if refused."""
    r = yield dom.call(bank, order)
    return r.keys[0] if r.rc == 0 else DK0


# ----------------------------------------------------------------- inodes
def new_inode(dom, bank, fmt, kind: int, mode: int = 0):
    """A new inode of ``kind`` (a red node with a meta page); DK(0) if no space."""
    node = yield from buy(dom, bank, SB.CreateNode)
    meta = DK0 if node == DK0 else (yield from buy(dom, bank))
    if meta == DK0:
        yield from sell(dom, bank, node)
        return DK0
    yield dom.call(node, Node.Swap + FORMAT, fmt)
    yield dom.call(node, Node.Swap + META, meta)
    yield dom.call(meta, Page.WriteData, data=bytes([kind, mode]))
    return node


def sell(dom, bank, *objects):
    """Sell pages and nodes back to ``bank`` (DK(0)s are skipped)."""
    for key in objects:
        if key == DK0:
            continue
        r = yield dom.call(key, KT)
        order = SB.DestroyPage if r.rc in (Page.AKT, Page.ROAKT) else SB.DestroyNode
        yield dom.call(bank, order, key)


def free_inode(dom, bank, inode):
    """Sell an empty inode (a file with no data pages) back to ``bank``."""
    yield from sell(dom, bank, (yield from meta(dom, inode)), inode)


def create(dom, bank, fmt, parent, name: bytes):
    """``(errno, inode)``: a new empty file called ``name`` in directory ``parent``
    (ENOSPC if the bank or the directory has no room: nothing bought is kept)."""
    inode = yield from new_inode(dom, bank, fmt, FILE)
    if inode == DK0:
        return abi.ENOSPC, DK0
    err = yield from dir_add(dom, parent, name, inode)
    if err:
        yield from free_inode(dom, bank, inode)
        return err, DK0
    return 0, inode


def may_add(dom, directory, euid: int):
    """Whether ``euid`` may add names to ``directory``: euid 0, or a PUBLIC directory."""
    return euid == 0 or bool((yield from stat(dom, directory))[1] & PUBLIC)


def meta(dom, inode):
    return (yield dom.call(inode, Node.Fetch + META)).keys[0]


def stat(dom, inode):
    """``(kind, mode, size)``."""
    page = yield from meta(dom, inode)
    head = yield from read_page(dom, page, 0, 8)
    return head[0], head[1], int.from_bytes(head[4:8], "big")


def set_size(dom, inode, size: int):
    page = yield from meta(dom, inode)
    yield from put_ints(dom, page, 4, size)


def lookup(dom, root, path: bytes, euid: int = 0):
    """``(errno, inode, parent directory, last name)``: resolve ``path`` from ``root``
    for ``euid`` (0: the operator, or root).

    errno is ENOENT when only the last component is missing (then the parent
    and the name are set, for O_CREAT), and for a process with no root; EACCES
    when the path goes through a PRIVILEGED directory and ``euid`` is not 0.
    """
    err, parts = split(path)
    if err:
        return err, DK0, DK0, b""
    if root == DK0:
        return abi.ENOENT, DK0, DK0, b""
    node, parent, name = root, DK0, b""
    for i, part in enumerate(parts):
        kind, mode, _ = yield from stat(dom, node)
        if kind != DIR:
            return abi.ENOTDIR, DK0, DK0, b""
        if mode & PRIVILEGED and euid != 0:
            return abi.EACCES, DK0, DK0, b""
        parent, name = node, part
        _, node = yield from dir_find(dom, node, part)
        if node == DK0:
            return abi.ENOENT, DK0, (parent if i == len(parts) - 1 else DK0), name
    return 0, node, parent, name


# ------------------------------------------------- a process's address space
class NotFlat(AssertionError):
    """A process's address space is not the flat node of :data:`.abi.SPACE_PAGES` page
    keys that :func:`mem_read` and :func:`mem_write` take it to be (an assertion: a
    copy-on-write space is bounded so that it stays flat, :func:`.cow.bound`)."""


def space_fault(dom, space, address: int, n: int):
    """EFAULT unless the ``n`` bytes at ``address`` lie in slots ``0..SPACE_PAGES-1`` of
    ``space`` and each of those slots holds a page key (read-only or not), else 0: the
    flat layout slot n = page n the keeper's reads and writes rely on."""
    if address < 0 or n < 0 or address + n > abi.SPACE_PAGES * abi.PAGE:
        return abi.EFAULT
    for index in range(address // abi.PAGE, (address + n + abi.PAGE - 1) // abi.PAGE):
        key = (yield dom.call(space, Node.Fetch + index)).keys[0]
        if (yield dom.call(key, KT)).rc not in (Page.AKT, Page.ROAKT):
            return abi.EFAULT
    return 0


def _flat(address: int, n: int) -> None:
    if address < 0 or n < 0 or address + n > abi.SPACE_PAGES * abi.PAGE:
        raise NotFlat(f"{address:#x}+{n} is past the address space: refusing to move data")


def mem_read(dom, space, address: int, n: int):
    """The ``n`` bytes at ``address`` of the address space ``space`` (a node key);
    :class:`NotFlat` rather than wrong bytes if its layout is not the flat one (a slot
    that is not a page answers ``Page.ReadData`` with a non-zero rc)."""
    _flat(address, n)
    out = []
    pos = address
    while pos < address + n:
        page = (yield dom.call(space, Node.Fetch + pos // abi.PAGE)).keys[0]
        take = min(abi.PAGE - pos % abi.PAGE, address + n - pos)
        r = yield dom.call(page, Page.ReadData + pos % abi.PAGE, data=take.to_bytes(4, "big"))
        if r.rc:
            raise NotFlat(f"slot {pos // abi.PAGE} of the address space is not a page")
        out.append(r.data)
        pos += take
    return b"".join(out)


def mem_write(dom, space, address: int, data: bytes):
    """Write ``data`` into the address space ``space`` (a node key). A read-only page of a
    virtual copy (:mod:`.cow`) is first faulted in through the space's segment key, as the
    process's own write would be: its keeper copies it. :class:`NotFlat` rather than
    dropping ``data`` if the space's layout is not the flat one."""
    _flat(address, len(data))
    pos = address
    while pos < address + len(data):
        take = min(abi.PAGE - pos % abi.PAGE, address + len(data) - pos)
        piece = data[pos - address : pos - address + take]
        for attempt in range(2):
            page = (yield dom.call(space, Node.Fetch + pos // abi.PAGE)).keys[0]
            if (yield dom.call(page, Page.WriteData + pos % abi.PAGE, data=piece)).rc == 0:
                break
            if attempt:
                raise NotFlat(f"slot {pos // abi.PAGE} of the address space is not a page")
            seg = (yield dom.call(space, Node.MakeSegmentKey, data=bytes([0]))).keys[0]
            yield dom.call(seg, Keeper.Segment, data=_FAULT.pack(Fault.READONLY, pos))
        pos += take


_FAULT = struct.Struct(">HI")  # a segment fault's string: code, address (oc.Keeper)


def valid_buffer(address: int, n: int) -> bool:
    """A user buffer must lie in the writable pages (ENV..end), else EFAULT.

    >>> valid_buffer(abi.BUF, 4096), valid_buffer(0, 10), valid_buffer(abi.DATA, 4097)
    (True, False, False)
    """
    return abi.ENV <= address and n >= 0 and address + n <= abi.SPACE_PAGES * abi.PAGE


__all__ = [
    "COMMAND",
    "DIR",
    "ENTRY",
    "FILE",
    "FORMAT",
    "META",
    "NAMES_AT",
    "NotFlat",
    "PRIVILEGED",
    "PUBLIC",
    "READONLY",
    "SETUID",
    "buy",
    "create",
    "dir_add",
    "dir_child",
    "dir_entries",
    "dir_find",
    "dir_names",
    "file_read",
    "file_write",
    "free_inode",
    "get_ints",
    "join",
    "lookup",
    "may_add",
    "mem_read",
    "mem_write",
    "space_fault",
    "new_inode",
    "put_ints",
    "read_page",
    "sell",
    "split",
    "stat",
    "truncate",
    "valid_buffer",
]
