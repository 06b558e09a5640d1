"""The KeyNIX file system, kept by the Unix keeper in nodes and pages.

* An **inode** is a red segment node (docs/primer.md#primer-segments): slots 0–13 map the
  file's pages (a file *is* a segment: ``MakeSegmentKey`` on the inode maps
  it), slot 14 — outside the 14 initial slots, so not mapped — holds the
  inode's *meta page*, slot 15 the format key.
* A **directory** is the same node with child inodes in slots 0–13 and their
  names (64-byte entries, ``NAME_MAX`` 63) in the meta page: the directory tree
  is a node tree.
* A **command** inode (kind ``COMMAND``) holds a factory's requestor key in slot
  0: running it asks the factory for a yield (:mod:`.setuid`).

Meta page: byte 0 kind, byte 1 mode bits, bytes 4–8 size, names from byte 64.
Every function is a sub-generator run by the keeper (``yield from``).

>>> split(b"/bin/cat")
(0, [b'bin', b'cat'])
>>> split(b"bin")[0] == abi.ENOENT, split(b"/" + b"x" * 64)[0] == abi.ENAMETOOLONG
(True, True)
"""

from __future__ import annotations

from keykos_lab.kernel.keys import DK0
from keykos_lab.kernel.oc import SB, Node, Page
from keykos_lab.programs.keynix import abi

FILE, DIR, COMMAND = 1, 2, 3
#: Mode bits: READONLY refuses writes; PRIVILEGED opens only for euid 0; SETUID
#: makes exec run the program with euid 0 (the Unix way, for the contrast).
READONLY, PRIVILEGED, SETUID = 1, 2, 4
META, FORMAT = 14, 15
NAMES_AT, ENTRY = 64, 64


def split(path: bytes) -> tuple[int, list[bytes]]:
    """``(errno, components)`` of an absolute path (KeyNIX has no cwd)."""
    if len(path) > abi.PATH_MAX:
        return abi.ENAMETOOLONG, []
    if not path.startswith(b"/"):
        return abi.ENOENT, []
    parts = [p for p in path.split(b"/") if p and p != b"."]
    if any(len(p) > abi.NAME_MAX or b"\0" in p for p in parts):
        return abi.ENAMETOOLONG, []
    return 0, parts


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
    meta = yield from buy(dom, bank)
    if node == DK0 or meta == DK0:
        return DK0
    yield dom.call(node, Node.Swap + FORMAT, fmt)
    yield dom.call(node, Node.Swap + META, meta)
    yield dom.call(meta, Page.WriteData, data=bytes([kind, mode]))
    return node


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


def dir_names(dom, inode):
    page = yield from meta(dom, inode)
    raw = yield from read_page(dom, page, NAMES_AT, ENTRY * abi.FILE_PAGES)
    return [raw[i * ENTRY : (i + 1) * ENTRY].rstrip(b"\0") for i in range(abi.FILE_PAGES)]


def dir_find(dom, inode, name: bytes):
    """``(slot, child inode)`` or ``(-1, DK(0))``."""
    names = yield from dir_names(dom, inode)
    if name in names:
        slot = names.index(name)
        return slot, (yield dom.call(inode, Node.Fetch + slot)).keys[0]
    return -1, DK0


def dir_add(dom, inode, name: bytes, child):
    """Link ``child`` as ``name``; errno (ENOSPC when the 14 entries are used)."""
    names = yield from dir_names(dom, inode)
    if b"" not in names:
        return abi.ENOSPC
    slot = names.index(b"")
    page = yield from meta(dom, inode)
    yield dom.call(page, Page.WriteData + NAMES_AT + slot * ENTRY, data=name.ljust(ENTRY, b"\0"))
    yield dom.call(inode, Node.Swap + slot, child)
    return 0


def lookup(dom, root, path: bytes):
    """``(errno, inode, parent directory, last name)``: resolve ``path`` from ``root``.

    errno is ENOENT when only the last component is missing (then the parent
    and the name are set, for O_CREAT), and for a process with no root.
    """
    err, parts = split(path)
    if err:
        return err, DK0, DK0, b""
    if root == DK0:
        return abi.ENOENT, DK0, DK0, b""
    node, parent, name = root, DK0, b""
    for i, part in enumerate(parts):
        kind, _, _ = yield from stat(dom, node)
        if kind != DIR:
            return abi.ENOTDIR, DK0, DK0, b""
        parent, name = node, part
        _, node = yield from dir_find(dom, node, part)
        if node == DK0:
            return abi.ENOENT, DK0, (parent if i == len(parts) - 1 else DK0), name
    return 0, node, parent, name


# ------------------------------------------------------------- file data
def file_read(dom, inode, offset: int, n: int):
    _, _, size = yield from stat(dom, inode)
    end = min(size, offset + n)
    out = []
    pos = offset
    while pos < end:
        page = (yield dom.call(inode, Node.Fetch + pos // abi.PAGE)).keys[0]
        take = min(abi.PAGE - pos % abi.PAGE, end - pos)
        out.append(
            (yield from read_page(dom, page, pos % abi.PAGE, take)) if page != DK0 else bytes(take)
        )
        pos += take
    return b"".join(out)


def file_write(dom, inode, bank, offset: int, data: bytes):
    """Write at ``offset``, buying pages as needed: the count, or ``-errno``."""
    _, _, size = yield from stat(dom, inode)
    limit = abi.FILE_PAGES * abi.PAGE
    if offset >= limit and data:
        return -abi.EFBIG
    data = data[: limit - offset]
    pos = offset
    while pos < offset + len(data):
        slot = pos // abi.PAGE
        page = (yield dom.call(inode, Node.Fetch + slot)).keys[0]
        if page == DK0:
            page = yield from buy(dom, bank)
            if page == DK0:
                break
            yield dom.call(inode, Node.Swap + slot, page)
        take = min(abi.PAGE - pos % abi.PAGE, offset + len(data) - pos)
        yield dom.call(
            page, Page.WriteData + pos % abi.PAGE, data=data[pos - offset : pos - offset + take]
        )
        pos += take
    if pos > size:
        yield from set_size(dom, inode, pos)
    return pos - offset if pos > offset or not data else -abi.ENOSPC


def truncate(dom, inode):
    yield from set_size(dom, inode, 0)


# ------------------------------------------------- a process's address space
def mem_read(dom, space, address: int, n: int):
    out = []
    pos = address
    while pos < address + n:
        page = (yield dom.call(space, Node.Fetch + pos // abi.PAGE)).keys[0]
        take = min(abi.PAGE - pos % abi.PAGE, address + n - pos)
        out.append((yield from read_page(dom, page, pos % abi.PAGE, take)))
        pos += take
    return b"".join(out)


def mem_write(dom, space, address: int, data: bytes):
    pos = address
    while pos < address + len(data):
        page = (yield dom.call(space, Node.Fetch + pos // abi.PAGE)).keys[0]
        take = min(abi.PAGE - pos % abi.PAGE, address + len(data) - pos)
        yield dom.call(
            page, Page.WriteData + pos % abi.PAGE, data=data[pos - address : pos - address + take]
        )
        pos += take


def valid_buffer(address: int, n: int) -> bool:
    """A user buffer must lie in the writable pages (ENV..end), else EFAULT.

    >>> valid_buffer(abi.BUF, 4096), valid_buffer(0, 10), valid_buffer(abi.DATA, 4097)
    (True, False, False)
    """
    return abi.ENV <= address and n >= 0 and address + n <= abi.SPACE_PAGES * abi.PAGE
