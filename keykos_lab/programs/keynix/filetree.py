"""A file's data: a tree of pages under its inode, as deep as its size needs.

An inode is a red segment node (docs/primer.md#primer-segments) whose 14 initial slots
(``abi.FILE_PAGES``) map the file; its format key (slot 15) says how much each slot
spans, so that ``MakeSegmentKey`` on the inode maps the whole file as one segment
at every size:

========= ===================== ============================================
depth     format key (slot 15)  slots 0–13 of the inode hold
========= ===================== ============================================
0         lss 3: a page a slot  the pages (up to 14 pages, 56 KiB)
1         lss 4: 64 KiB a slot  node keys (databyte lss 3) to black nodes of
                                16 pages each (up to 896 KiB)
2         lss 5: 1 MiB a slot   node keys (lss 4) to nodes of 16 such nodes
                                (up to 14 MiB, ``abi.FILE_MAX``)
========= ===================== ============================================

Interior nodes are *black* segment nodes: the lss is in their key's databyte and
all 16 slots are mapped. A file grows a level when a write runs past what its
depth holds: a new node takes over slots 0–13 and becomes slot 0, and the inode
writes its own new format key (``Node WriteData`` makes the data key). Pages and
nodes are bought as writes reach them, so a hole reads as zeros; the depth is
byte 2 of the meta page (:mod:`.fs`). Every function is a sub-generator.

>>> [capacity(d) // 1024 for d in range(abi.FILE_DEPTH + 1)]
[56, 896, 14336]
>>> depth_for(56 * 1024), depth_for(56 * 1024 + 1), page_path(1, 17)
(0, 1, [1, 1])
"""

from __future__ import annotations

import struct

from keykos_lab.kernel.keys import DK0
from keykos_lab.kernel.oc import SB, Node, Page
from keykos_lab.kernel.segments import MIN_LSS, NO_SLOT, format_key_value
from keykos_lab.programs.keynix import abi

FAN = 16  #: slots of an interior (black) node
META, FORMAT_SLOT = 14, 15  #: the inode's meta page (outside the initial slots), its format
H_DEPTH, H_SIZE = 2, 4  #: meta-page bytes: the tree's depth, the size (4 bytes)
_WRITE_ONE = struct.Struct(">II")  # Node WriteData: first and last slot


def capacity(depth: int) -> int:
    """Bytes a file of ``depth`` holds.

    >>> capacity(0) == abi.FILE_PAGES * abi.PAGE
    True
    """
    return abi.FILE_PAGES * FAN**depth * abi.PAGE


def depth_for(size: int) -> int:
    """The smallest depth holding ``size`` bytes (``abi.FILE_DEPTH`` + 1 if none does).

    >>> depth_for(0), depth_for(abi.FILE_MAX), depth_for(abi.FILE_MAX + 1) > abi.FILE_DEPTH
    (0, 2, True)
    """
    depth = 0
    while size > capacity(depth) and depth <= abi.FILE_DEPTH:
        depth += 1
    return depth


def format_value(depth: int) -> int:
    """The inode's format key at ``depth``: lss 3 + depth, 14 initial slots, no keeper.

    >>> hex(format_value(0)), hex(format_value(1))
    ('0xfffffe3', '0xfffffe4')
    """
    return format_key_value(MIN_LSS + depth, initial=abi.FILE_PAGES, keeper=NO_SLOT)


def page_path(depth: int, page: int) -> list[int]:
    """The slots from the inode down to file page ``page``: the inode's, then one a level.

    >>> page_path(0, 13), page_path(1, 16 * 13 + 15), page_path(2, 300)
    ([13], [13, 15], [1, 2, 12])
    """
    path = [page // FAN**depth]
    for level in range(depth - 1, -1, -1):
        path.append(page // FAN**level % FAN)
    return path


def _header(dom, inode):
    meta = (yield dom.call(inode, Node.Fetch + META)).keys[0]
    head = (yield dom.call(meta, Page.ReadData, data=(8).to_bytes(4, "big"))).data
    return meta, head[H_DEPTH], int.from_bytes(head[H_SIZE:8], "big")


def _page(dom, inode, depth: int, page: int, bank=None):
    """The page key of file page ``page``; with ``bank``, buy what is missing on
    the way. DK(0) for a hole (or when the bank refuses)."""
    node = inode
    path = page_path(depth, page)
    for i, s in enumerate(path):
        key = (yield dom.call(node, Node.Fetch + s)).keys[0]
        if key == DK0:
            if bank is None:
                return DK0
            last = i == len(path) - 1
            r = yield dom.call(bank, SB.CreatePage if last else SB.CreateNode)
            if r.rc != 0:
                return DK0
            key = r.keys[0]
            if not last:  # a black node: its lss in the key's databyte
                lss = bytes([MIN_LSS + depth - i - 1])
                key = (yield dom.call(key, Node.MakeNodeKey, data=lss)).keys[0]
            yield dom.call(node, Node.Swap + s, key)
        node = key
    return node


def _set_format(dom, inode, depth: int):
    record = bytes(5) + format_value(depth).to_bytes(11, "big")
    yield dom.call(inode, Node.WriteData, data=_WRITE_ONE.pack(FORMAT_SLOT, FORMAT_SLOT) + record)


def _grow(dom, inode, meta, bank, depth: int, want: int):
    """Deepen the tree from ``depth`` to ``want``; the depth reached."""
    while depth < want:
        r = yield dom.call(bank, SB.CreateNode)
        if r.rc != 0:
            break
        lss = bytes([MIN_LSS + depth])
        node = (yield dom.call(r.keys[0], Node.MakeNodeKey, data=lss)).keys[0]
        for s in range(abi.FILE_PAGES):
            old = (yield dom.call(inode, Node.Swap + s, DK0)).keys[0]
            if old != DK0:
                yield dom.call(node, Node.Swap + s, old)
        yield dom.call(inode, Node.Swap + 0, node)
        depth += 1
        yield from _set_format(dom, inode, depth)
        yield dom.call(meta, Page.WriteData + H_DEPTH, data=bytes([depth]))
    return depth


def file_read(dom, inode, offset: int, n: int):
    """Up to ``n`` bytes from ``offset`` (b"" at or past the end)."""
    _, depth, size = yield from _header(dom, inode)
    end = min(size, offset + max(n, 0))
    out = []
    pos = max(offset, 0)
    while pos < end:
        page = yield from _page(dom, inode, depth, pos // abi.PAGE)
        take = min(abi.PAGE - pos % abi.PAGE, end - pos)
        if page == DK0:
            out.append(bytes(take))
        else:
            order = Page.ReadData + pos % abi.PAGE
            out.append((yield dom.call(page, order, data=take.to_bytes(4, "big"))).data)
        pos += take
    return b"".join(out)


def file_write(dom, inode, bank, offset: int, data: bytes):
    """Write at ``offset``, buying pages and levels as needed: the count, or
    ``-errno`` (EFBIG past ``abi.FILE_MAX``, ENOSPC when the bank refuses)."""
    if offset < 0:
        return -abi.EINVAL
    meta, depth, size = yield from _header(dom, inode)
    if offset >= abi.FILE_MAX and data:
        return -abi.EFBIG
    data = data[: abi.FILE_MAX - offset]
    want = depth_for(offset + len(data))
    if want > depth:
        depth = yield from _grow(dom, inode, meta, bank, depth, want)
        data = data[: max(capacity(depth) - offset, 0)]
    pos = offset
    while pos < offset + len(data):
        page = yield from _page(dom, inode, depth, pos // abi.PAGE, bank)
        if page == DK0:
            break
        take = min(abi.PAGE - pos % abi.PAGE, offset + len(data) - pos)
        chunk = data[pos - offset : pos - offset + take]
        yield dom.call(page, Page.WriteData + pos % abi.PAGE, data=chunk)
        pos += take
    if pos > size:
        yield dom.call(meta, Page.WriteData + H_SIZE, data=pos.to_bytes(4, "big"))
    return pos - offset if pos > offset or not data else -abi.ENOSPC


def truncate(dom, inode):
    """Size 0; the pages that held data are cleared (the tree stays, for reuse)."""
    meta, depth, size = yield from _header(dom, inode)
    for n in range((size + abi.PAGE - 1) // abi.PAGE):
        page = yield from _page(dom, inode, depth, n)
        if page != DK0:
            yield dom.call(page, Page.Clear)
    yield dom.call(meta, Page.WriteData + H_SIZE, data=bytes(4))
