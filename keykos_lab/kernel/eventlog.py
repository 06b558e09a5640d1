"""The event log: one fixed-width row per kernel event, packed into chunks.

Rows go into preallocated ``bytearray`` chunks with one precompiled
``struct.pack_into`` call — no Python object per event, so logging costs about
as much as appending a tuple and leaves nothing for the garbage collector. A row
holds eight int64 fields; the small categorical codes share two of them:

* ``kind`` = event | jump << 4 | state_before << 8 | state_after << 12 | cause << 16
* ``keyf`` = (key_type + 1) | (databyte + 1) << 8 | n_keys << 17

``keykos_lab.views.frames`` views the chunks as one int64 matrix and unpacks these
with vectorised bit operations into the columns of the schema (``COLUMNS``).

>>> log = EventLog()
>>> log.emit(5, EV_INVOKE, J_CALL, 1, 1, 2, 0, 39, 0, 0, 0, S_RUNNING, S_RUNNING, C_NONE)
>>> len(log), log.row(0)[:4]
(1, (0, 5, 0, 1))
"""

from __future__ import annotations

import struct
from typing import Protocol

from keykos_lab.kernel.keys import MISC, MISC_NAMES, TYPE_NAMES
from keykos_lab.kernel.native import mypyc_attr

#: Column names, in row order (``seq`` is the row number and is not stored).
COLUMNS = (
    "tick",
    "event",
    "jump",
    "actor",
    "key_type",
    "target",
    "databyte",
    "order",
    "rc",
    "n_keys",
    "string_len",
    "state_before",
    "state_after",
    "cause",
)
#: The stored fields of a row, in order.
FIELDS = ("tick", "kind", "actor", "keyf", "target", "order", "rc", "string_len")
ROW = struct.Struct("<8q")
CHUNK_ROWS = 1 << 14
FIRST_ROWS = 256  # a new log starts this small and doubles up to a chunk

EVENTS = (
    "invoke",
    "deliver",
    "reply",
    "stall",
    "keeper",
    "fault",
    "state",
    "create",
    "destroy",
    "sever",
    "read",
    "write",
)
(
    EV_INVOKE,
    EV_DELIVER,
    EV_REPLY,
    EV_STALL,
    EV_KEEPER,
    EV_FAULT,
    EV_STATE,
    EV_CREATE,
    EV_DESTROY,
    EV_SEVER,
    EV_READ,
    EV_WRITE,
) = range(len(EVENTS))

JUMPS = ("none", "call", "return", "fork", "implicit")
J_NONE, J_CALL, J_RETURN, J_FORK, J_IMPLICIT = range(len(JUMPS))

STATES = ("none", "available", "running", "waiting")
S_NONE, S_AVAILABLE, S_RUNNING, S_WAITING = range(len(STATES))

CAUSES = (
    "none",
    "trap",
    "segfault",
    "meter",
    "selfcall",
    "exception",
    "badkey",
    "badjump",
    "illegal",
    "nokeeper",
    "stall",
    "svc",
    "dead",
    "console",
)
(
    C_NONE,
    C_TRAP,
    C_SEGFAULT,
    C_METER,
    C_SELFCALL,
    C_EXCEPTION,
    C_BADKEY,
    C_BADJUMP,
    C_ILLEGAL,
    C_NOKEEPER,
    C_STALL,
    C_SVC,
    C_DEAD,
    C_CONSOLE,
) = range(len(CAUSES))

#: key_type codes: kernel key types 0..18, then misc subtypes from MISC_BASE.
MISC_BASE = 19
KEY_TYPES = tuple(TYPE_NAMES.get(i, f"type{i}") for i in range(MISC_BASE)) + tuple(
    MISC_NAMES[i] for i in sorted(MISC_NAMES)
)

CATEGORIES = {
    "event": EVENTS,
    "jump": JUMPS,
    "key_type": KEY_TYPES,
    "state_before": STATES,
    "state_after": STATES,
    "cause": CAUSES,
}


def kind_field(event: int, jump: int, state_before: int, state_after: int, cause: int) -> int:
    """The packed ``kind`` field of a row."""
    return event | jump << 4 | state_before << 8 | state_after << 12 | cause << 16


def key_code(key_type: int, obj: int) -> int:
    """The ``key_type`` column code of a key (misc keys by subtype)."""
    return MISC_BASE + obj if key_type == MISC else key_type


class ChunkSink(Protocol):
    """Where full chunks of the log go (``views.spill.ParquetSpill`` is one)."""

    def write(self, chunk: bytes) -> None: ...

    def read(self, n: int) -> bytes: ...


# A native class when compiled (fast attribute access), which Python code may subclass
# (the history's tests watch rows as they are written).
@mypyc_attr(allow_interpreted_subclasses=True)
class EventLog:
    """Append-only packed rows; ``chunks()`` exposes them for columnar readers."""

    __slots__ = ("_full", "_buf", "_off", "_cap", "_rows", "enabled", "sink", "keep", "_spilled")
    # The kernel's hot path writes rows in place through _buf, _off and _cap.

    def __init__(self, chunk_rows: int = CHUNK_ROWS) -> None:
        if type(chunk_rows) is not int or chunk_rows < 1:
            raise ValueError(f"chunk_rows is a positive int, not {chunk_rows!r}")
        self._rows = chunk_rows
        self._full: list[bytearray] = []
        self._buf = bytearray(ROW.size * min(chunk_rows, FIRST_ROWS))
        self._off = 0
        self._cap = len(self._buf)
        self.enabled = True
        #: Where full chunks go once more than ``keep`` are in memory: an object with
        #: ``write(chunk: bytes)`` (store chunk number n, n = 0, 1, …) and ``read(n) ->
        #: bytes`` (give it back). None keeps every chunk in memory.
        self.sink: ChunkSink | None = None
        self.keep = 0
        self._spilled = 0  # chunks handed to the sink (always the oldest)

    def emit(
        self,
        tick,
        event,
        jump,
        actor,
        key_type,
        target,
        databyte,
        order,
        rc,
        n_keys,
        string_len,
        state_before,
        state_after,
        cause,
    ) -> None:
        """Append one row given its schema columns (all ints; -1 for none)."""
        if not self.enabled:
            return
        ROW.pack_into(
            self._buf,
            self._off,
            tick,
            event | jump << 4 | state_before << 8 | state_after << 12 | cause << 16,
            actor,
            (key_type + 1) | (databyte + 1) << 8 | n_keys << 17,
            target,
            order,
            rc,
            string_len,
        )
        self._off += ROW.size
        if self._off == self._cap:
            self.next_chunk()

    def next_chunk(self) -> None:
        """Make room: grow the first chunk (small logs stay small), or start a new one."""
        full = ROW.size * self._rows
        if self._cap < full:
            try:
                self._buf.extend(bytes(min(self._cap, full - self._cap)))
                self._cap = len(self._buf)
                return
            except BufferError:  # a reader still holds a view: keep it intact
                self._buf = bytearray(self._buf)
                self._buf.extend(bytes(min(self._cap, full - self._cap)))
                self._cap = len(self._buf)
                return
        self._full.append(self._buf)
        self._buf = bytearray(full)
        self._cap = full
        self._off = 0
        if self.sink is not None:
            self.spill()

    def spill(self) -> None:
        """Hand the oldest full chunks to ``sink`` until at most ``keep`` stay in memory.

        >>> class Box(list):
        ...     def write(self, chunk): self.append(bytes(chunk))
        ...     def read(self, n): return self[n]
        >>> log = EventLog(chunk_rows=2); log.sink = Box()
        >>> for t in range(5):
        ...     log.emit(t, EV_STATE, 0, 1, -1, -1, -1, 0, -1, 0, 0, 1, 1, 0)
        >>> len(log.sink), len(log._full), len(log), [r[1] for r in log.rows()]
        (2, 0, 5, [0, 1, 2, 3, 4])
        """
        while len(self._full) > self.keep:
            assert self.sink is not None, "keep < len(full) only with a sink"
            self.sink.write(bytes(self._full[0]))
            del self._full[0]
            self._spilled += 1

    def emit_packed(self, tick, kind, actor, keyf, target, order, rc, string_len) -> None:
        """Append one row given its stored fields (the kernel's hot paths)."""
        if not self.enabled:
            return
        ROW.pack_into(self._buf, self._off, tick, kind, actor, keyf, target, order, rc, string_len)
        self._off += ROW.size
        if self._off == self._cap:
            self.next_chunk()

    def extend_rows(self, raw: bytes) -> None:
        """Append packed rows (whole rows, as :meth:`chunks` gives them), filling and
        growing chunks exactly as emitting them one by one would.

        >>> a, b = EventLog(chunk_rows=4), EventLog(chunk_rows=4)
        >>> for t in range(6):
        ...     a.emit(t, EV_STATE, 0, 1, -1, -1, -1, 0, -1, 0, 0, 1, 1, 0)
        >>> b.extend_rows(b"".join(bytes(c) for c in a.chunks()))
        >>> list(b.rows()) == list(a.rows()), b._cap == a._cap
        (True, True)
        """
        if len(raw) % ROW.size:
            raise ValueError(f"{len(raw)} bytes are not whole rows of {ROW.size}")
        view = memoryview(raw)
        pos = 0
        while pos < len(raw):
            take = min(self._cap - self._off, len(raw) - pos)
            self._buf[self._off : self._off + take] = view[pos : pos + take]
            self._off += take
            pos += take
            if self._off == self._cap:
                self.next_chunk()

    def _spilled_chunk(self, n: int) -> bytes:
        assert self.sink is not None, "chunks are spilled only to a sink"
        return self.sink.read(n)

    def __len__(self) -> int:
        return (self._spilled + len(self._full)) * self._rows + self._off // ROW.size

    def chunks(self) -> list[memoryview]:
        """Read-only views of the packed rows, oldest first (no copy; spilled chunks
        are read back from the sink)."""
        views = [memoryview(self._spilled_chunk(n)).toreadonly() for n in range(self._spilled)]
        views += [memoryview(b).toreadonly() for b in self._full]
        if self._off:
            views.append(memoryview(self._buf)[: self._off].toreadonly())
        return views

    def row(self, seq: int) -> tuple[int, ...]:
        """Row ``seq`` as ``(seq, *COLUMNS)``, unpacked."""
        if seq >= len(self) or seq < 0:
            raise IndexError(f"no event #{seq}; the log has {len(self)}")
        chunk, i = divmod(seq, self._rows)
        buf: bytes | bytearray
        if chunk < self._spilled:
            buf = self._spilled_chunk(chunk)
        else:
            chunk -= self._spilled
            buf = self._full[chunk] if chunk < len(self._full) else self._buf
        tick, kind, actor, keyf, target, order, rc, slen = ROW.unpack_from(buf, i * ROW.size)
        return (
            seq,
            tick,
            kind & 15,
            (kind >> 4) & 15,
            actor,
            (keyf & 255) - 1,
            target,
            ((keyf >> 8) & 511) - 1,
            order,
            rc,
            keyf >> 17,
            slen,
            (kind >> 8) & 15,
            (kind >> 12) & 15,
            kind >> 16,
        )

    def rows(self, start: int = 0):
        """Rows from ``start`` on, each as in :meth:`row`."""
        for seq in range(start, len(self)):
            yield self.row(seq)
