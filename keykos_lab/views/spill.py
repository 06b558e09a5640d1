"""Spilling the event log to Parquet: long runs with flat memory.

The kernel's event log (``keykos_lab.kernel.eventlog``) keeps packed chunks of rows
in memory. Give it a sink and it hands every full chunk past ``keep`` to the sink
instead; :class:`ParquetSpill` writes each chunk as one Parquet file (one int64
column per stored field, zstd-compressed) and reads it back on demand, so
``k.events()`` still returns every event.

>>> import tempfile, keykos_lab as kl
>>> k = kl.Kernel()
>>> spill = spill_events(k, tempfile.mkdtemp(), chunk_rows=64)
>>> for _ in range(100):
...     _ = k.console.call(k.console["dkc"], 0)
>>> spill.chunks >= 1, len(k.events()) == len(k.log)
(True, True)
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from keykos_lab.kernel.eventlog import FIELDS, ROW

if TYPE_CHECKING:
    from keykos_lab.kernel.core import Kernel

_N = len(FIELDS)


class ParquetSpill:
    """A sink for ``EventLog``: chunk ``n`` is ``folder/events-<n>.parquet``.

    >>> import tempfile, numpy as np
    >>> sink = ParquetSpill(tempfile.mkdtemp())
    >>> rows = np.arange(16, dtype="<i8").tobytes()     # two rows of 8 fields
    >>> sink.write(rows); sink.read(0) == rows, sink.chunks
    (True, 1)
    """

    def __init__(self, folder: str | os.PathLike[str], compression: str = "zstd") -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.compression = compression
        self.chunks = 0
        self.bytes_written = 0

    def path(self, n: int) -> Path:
        """Where chunk ``n`` lives."""
        return self.folder / f"events-{n:06d}.parquet"

    def write(self, chunk: bytes) -> None:
        """Store the next chunk (packed little-endian int64 rows) as a Parquet file."""
        rows = np.frombuffer(chunk, dtype="<i8").reshape(-1, _N)
        table = pa.table({name: rows[:, i] for i, name in enumerate(FIELDS)})
        path = self.path(self.chunks)
        pq.write_table(table, path, compression=self.compression)
        self.chunks += 1
        self.bytes_written += path.stat().st_size

    def read(self, n: int) -> bytes:
        """Chunk ``n`` as the packed rows it was written from."""
        if not 0 <= n < self.chunks:
            raise IndexError(f"no spilled chunk {n}; {self.chunks} were written")
        table = pq.read_table(self.path(n))
        rows = np.empty((table.num_rows, _N), dtype="<i8")
        for i, name in enumerate(FIELDS):
            rows[:, i] = table.column(name).to_numpy()
        return rows.tobytes()


def spill_events(kernel: Kernel, folder: str | os.PathLike[str], keep: int = 0,
                 chunk_rows: int | None = None) -> ParquetSpill:
    """Make ``kernel``'s event log spill full chunks past ``keep`` to Parquet in ``folder``.

    ``chunk_rows`` (rows per chunk, default the log's) can be set only while the log
    is still in its first chunk. Returns the sink (``.chunks``, ``.bytes_written``).
    """
    log = kernel.log
    if chunk_rows is not None and chunk_rows != log._rows:
        if log._full or log._spilled:
            raise ValueError("chunk_rows can change only before the first chunk is full")
        if log._off > ROW.size * chunk_rows:
            raise ValueError(f"the log already holds more than {chunk_rows} rows")
        log._rows = chunk_rows
        if log._cap > ROW.size * chunk_rows:
            del log._buf[ROW.size * chunk_rows:]
            log._cap = len(log._buf)
        if log._off == log._cap:
            log.next_chunk()
    sink = ParquetSpill(folder)
    # EventLog.__init__ sets ``self.sink = None`` unannotated, so mypy infers the type None;
    # unused-ignore: the kernel's own typing (issue 17) may declare the sink protocol.
    log.sink = sink  # type: ignore[assignment, unused-ignore]
    log.keep = keep
    log.spill()
    return sink
