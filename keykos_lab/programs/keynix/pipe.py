"""Pipes: a page ring with a keeper — the Unix keeper itself.

A pipe is a node: slot 0 a page used as a ring buffer, slot 1 (``WAITER``) the resume
key of the keeper of a reader waiting for data (at most one; a second gets ``EAGAIN``).
The waiter is the key itself, not a pid: a reader that ends leaves a key that no longer
designates anything (its keeper is destroyed with its bank), and a process that reuses
its pid is a different keeper, which that key never reaches. The page's first 64 bytes
are the header — ring head, byte count, open read ends, open write ends, and the waiting
reader's pid (for show), buffer address and length — and the ring is the remaining 4032
bytes. A read of an empty pipe whose write end is still open *blocks*: the system domain
keeps the reader's keeper's resume key in slot 1 and answers it when a writer comes (or
the last writer closes: end of file). Writes never block: they take what fits, ``EAGAIN``
when the ring is full, and ``EPIPE`` when no read end is open. (A departure from Unix,
whose writers block: :func:`.libc.write_all` tries a full ring again up to
``WRITE_TRIES`` times in a row and then gives up with a short count, which the shipped
commands do not check. A pipe of several hundred KiB has been seen to lose bytes that
way under some schedules; blocking writers are still to do.) Each open read or write
end counts itself in the header when it is made and uncounts itself at its last close;
a pipe with neither left is sold back to the bank (:func:`.server.release`).

>>> CAPACITY
4032
"""

from __future__ import annotations

from keykos_lab.kernel.keys import DK0
from keykos_lab.kernel.oc import SB, Node
from keykos_lab.programs.keynix import abi
from keykos_lab.programs.keynix.fs import buy, get_ints, put_ints, read_page, sell

HEADER = 64
CAPACITY = abi.PAGE - HEADER
RING, WAITER = 0, 1
# header word offsets
HEAD, COUNT, READERS, WRITERS, WPID, WADDR, WLEN = 0, 4, 8, 12, 16, 20, 24


def new_pipe(dom, bank, readers: int = 0, writers: int = 0):
    """A pipe with ``readers`` read ends and ``writers`` write ends counted (the open
    files made on it count themselves); DK(0) if no space."""
    node = yield from buy(dom, bank, SB.CreateNode)
    page = DK0 if node == DK0 else (yield from buy(dom, bank))
    if page == DK0:
        yield from sell(dom, bank, node)
        return DK0
    yield dom.call(node, Node.Swap + RING, page)
    yield from put_ints(dom, page, 0, 0, 0, readers, writers)
    return node


def free_pipe(dom, bank, pipe):
    """Sell a pipe (its ring page and its node) back to ``bank``."""
    yield from sell(dom, bank, (yield from ring(dom, pipe)), pipe)


def waiter(dom, pipe):
    """The resume key of the keeper waiting to read ``pipe`` (DK(0) if none, or if the
    reader is gone)."""
    return (yield dom.call(pipe, Node.Fetch + WAITER)).keys[0]


def ring(dom, pipe):
    return (yield dom.call(pipe, Node.Fetch + RING)).keys[0]


def header(dom, pipe):
    """``[head, count, readers, writers, waiting pid, waiting address, waiting length]``."""
    return (yield from get_ints(dom, (yield from ring(dom, pipe)), 0, 7))


def set_field(dom, pipe, offset: int, value: int):
    yield from put_ints(dom, (yield from ring(dom, pipe)), offset, value)


def take(dom, pipe, n: int):
    """Up to ``n`` bytes out of the ring (b"" when empty)."""
    page = yield from ring(dom, pipe)
    head, count = yield from get_ints(dom, page, 0, 2)
    n = min(n, count)
    if n <= 0:
        return b""
    first = min(n, CAPACITY - head)
    data = yield from read_page(dom, page, HEADER + head, first)
    if first < n:
        data += yield from read_page(dom, page, HEADER, n - first)
    yield from put_ints(dom, page, 0, (head + n) % CAPACITY, count - n)
    return data


def put(dom, pipe, data: bytes):
    """Append what fits: the count written, ``-EAGAIN`` if full, ``-EPIPE`` if no reader."""
    page = yield from ring(dom, pipe)
    head, count, readers = yield from get_ints(dom, page, 0, 3)
    if readers <= 0:
        return -abi.EPIPE
    n = min(len(data), CAPACITY - count)
    if n == 0 and data:
        return -abi.EAGAIN
    tail = (head + count) % CAPACITY
    first = min(n, CAPACITY - tail)
    from keykos_lab.kernel.oc import Page

    yield dom.call(page, Page.WriteData + HEADER + tail, data=data[:first])
    if first < n:
        yield dom.call(page, Page.WriteData + HEADER, data=data[first:n])
    yield from put_ints(dom, page, COUNT, count + n)
    return n
