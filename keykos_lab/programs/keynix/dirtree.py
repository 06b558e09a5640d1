"""Directories: entries in *buckets*, as many buckets as the entries need.

A bucket is a node whose slots 0–13 hold child inodes and whose slot 14 holds a
names page: entry ``s`` is named by the 64 bytes at ``NAMES_AT + 64 s``
(``NAME_MAX`` 63, NUL-padded; all zero for a free entry).

* depth 0 — a small directory is its own bucket: the inode's slots 0–13 and its
  meta page (the layout :mod:`.fs` has always had), up to 14 entries;
* depth 1 — when the 15th name comes, a bucket node takes over the 14 entries
  and becomes slot 0 of the inode; slots 0–13 then hold buckets (node keys),
  bought as they fill, up to 14 × 14 = 196 entries (``abi.DIR_MAX``).

Entry ``i`` of a directory is slot ``i % 14`` of bucket ``i // 14``; entries
are never removed (KeyNIX has no ``unlink``), so an index is stable, which is
what ``getdents`` (:mod:`.dirs`) counts in. Every function is a sub-generator.

>>> NAMES_AT + ENTRY * abi.FILE_PAGES <= abi.PAGE, abi.DIR_MAX
(True, 196)
"""

from __future__ import annotations

from keykos_lab.kernel.keys import DK0
from keykos_lab.kernel.oc import SB, Node, Page
from keykos_lab.programs.keynix import abi
from keykos_lab.programs.keynix.filetree import H_DEPTH, META

NAMES_AT, ENTRY = 64, 64
PER = abi.FILE_PAGES  #: entries in a bucket
_NAMES_LEN = ENTRY * PER


def _read(dom, page, offset: int, n: int):
    return (yield dom.call(page, Page.ReadData + offset, data=n.to_bytes(4, "big"))).data


def _depth(dom, inode):
    meta = (yield dom.call(inode, Node.Fetch + META)).keys[0]
    return meta, (yield from _read(dom, meta, H_DEPTH, 1))[0]


def buckets(dom, inode):
    """The directory's buckets, in order (the inode itself at depth 0)."""
    _, depth = yield from _depth(dom, inode)
    if depth == 0:
        return [inode]
    out = []
    for s in range(PER):
        bucket = (yield dom.call(inode, Node.Fetch + s)).keys[0]
        if bucket == DK0:
            break
        out.append(bucket)
    return out


def bucket_names(dom, bucket):
    """The 14 names of a bucket (b"" for a free entry)."""
    meta = (yield dom.call(bucket, Node.Fetch + META)).keys[0]
    raw = yield from _read(dom, meta, NAMES_AT, _NAMES_LEN)
    return [raw[i * ENTRY : (i + 1) * ENTRY].rstrip(b"\0") for i in range(PER)]


def dir_names(dom, inode):
    """Every entry's name in index order, b"" for a free one."""
    names = []
    for bucket in (yield from buckets(dom, inode)):
        names += yield from bucket_names(dom, bucket)
    return names


def dir_child(dom, inode, index: int):
    """The inode of entry ``index`` (DK(0) if there is none)."""
    all_buckets = yield from buckets(dom, inode)
    if not 0 <= index < PER * len(all_buckets):
        return DK0
    return (yield dom.call(all_buckets[index // PER], Node.Fetch + index % PER)).keys[0]


def dir_entries(dom, inode, start: int = 0):
    """``([(index, name, child inode)], capacity)``: the used entries from index
    ``start`` on, and the number of entries the buckets hold (used or free)."""
    all_buckets = yield from buckets(dom, inode)
    out = []
    for b, bucket in enumerate(all_buckets):
        if (b + 1) * PER <= start:
            continue
        for s, name in enumerate((yield from bucket_names(dom, bucket))):
            if b * PER + s >= start and name:
                child = (yield dom.call(bucket, Node.Fetch + s)).keys[0]
                out.append((b * PER + s, name, child))
    return out, PER * len(all_buckets)


def dir_find(dom, inode, name: bytes):
    """``(index, child inode)`` or ``(-1, DK(0))``."""
    for b, bucket in enumerate((yield from buckets(dom, inode))):
        names = yield from bucket_names(dom, bucket)
        if name in names:
            s = names.index(name)
            return b * PER + s, (yield dom.call(bucket, Node.Fetch + s)).keys[0]
    return -1, DK0


def _put(dom, bucket, s: int, name: bytes, child):
    meta = (yield dom.call(bucket, Node.Fetch + META)).keys[0]
    yield dom.call(meta, Page.WriteData + NAMES_AT + s * ENTRY, data=name.ljust(ENTRY, b"\0"))
    yield dom.call(bucket, Node.Swap + s, child)


def _new_bucket(dom, bank):
    node = yield dom.call(bank, SB.CreateNode)
    page = yield dom.call(bank, SB.CreatePage)
    if node.rc != 0 or page.rc != 0:
        return DK0
    yield dom.call(node.keys[0], Node.Swap + META, page.keys[0])
    return node.keys[0]


def _deepen(dom, inode, meta, bank):
    """Depth 0 → 1: a new bucket takes the 14 entries and becomes slot 0."""
    bucket = yield from _new_bucket(dom, bank)
    if bucket == DK0:
        return DK0
    names = yield from _read(dom, meta, NAMES_AT, _NAMES_LEN)
    inner = (yield dom.call(bucket, Node.Fetch + META)).keys[0]
    yield dom.call(inner, Page.WriteData + NAMES_AT, data=names)
    for s in range(PER):
        yield dom.call(bucket, Node.Swap + s, (yield dom.call(inode, Node.Swap + s, DK0)).keys[0])
    yield dom.call(meta, Page.WriteData + NAMES_AT, data=bytes(_NAMES_LEN))
    yield dom.call(inode, Node.Swap + 0, bucket)
    yield dom.call(meta, Page.WriteData + H_DEPTH, data=b"\1")
    return bucket


def dir_add(dom, inode, name: bytes, child, bank=DK0):
    """Link ``child`` as ``name``: errno — EEXIST, EINVAL for a bad name, ENOSPC
    when ``abi.DIR_MAX`` entries are used or a bucket is needed and ``bank``
    (to buy it from) is DK(0) or refuses."""
    if not name or len(name) > abi.NAME_MAX or b"\0" in name or b"/" in name:
        return abi.EINVAL
    meta, depth = yield from _depth(dom, inode)
    all_buckets = yield from buckets(dom, inode)
    free = None
    for bucket in all_buckets:
        names = yield from bucket_names(dom, bucket)
        if name in names:
            return abi.EEXIST
        if free is None and b"" in names:
            free = bucket, names.index(b"")
    if free is None and bank != DK0 and len(all_buckets) < PER:
        if depth == 0:
            if (yield from _deepen(dom, inode, meta, bank)) == DK0:
                return abi.ENOSPC
        bucket = yield from _new_bucket(dom, bank)
        if bucket != DK0:
            yield dom.call(inode, Node.Swap + len((yield from buckets(dom, inode))), bucket)
            free = bucket, 0
    if free is None:
        return abi.ENOSPC
    yield from _put(dom, free[0], free[1], name, child)
    return 0
