"""Spilling the event log to Parquet: long runs with flat memory.

The kernel's event log (``keykos_lab.kernel.eventlog``) keeps packed chunks of rows
in memory. Give it a sink and it hands every full chunk past ``keep`` to the sink
instead; :class:`ParquetSpill` writes each chunk as one Parquet file in the public
event schema — the columns and dtypes of ``k.events()``, ``seq`` included, categoricals
as dictionary columns — so pandas, pyarrow or DuckDB read the folder as they read any
Parquet, and reads each chunk back on demand, so ``k.events()`` still returns every
event.

A spill folder belongs to one kernel run. The folder's manifest (``_keykos_spill.json``,
which Parquet readers skip) is created exclusively and names the run; a second kernel,
or a second ``spill_events`` of the same kernel, is refused the folder. The manifest
records each chunk's size and SHA-256, and the sink checks them before it reads a chunk
back: a chunk that is missing, changed, truncated, swapped with another, or not a
regular file raises :class:`SpillError` saying which, never rows silently missing or
mixed. :func:`read_spill` reads a whole folder, someone else's included, with the same
checks (docs/reliability.md#reliability-strangers).

>>> import tempfile, keykos_lab as kl
>>> k = kl.Kernel()
>>> folder = tempfile.mkdtemp()
>>> spill = spill_events(k, folder, chunk_rows=64)
>>> for _ in range(100):
...     _ = k.console.call(k.console["dkc"], 0)
>>> spill.chunks >= 1, len(k.events()) == len(k.log)
(True, True)
>>> read_spill(folder).equals(k.events().iloc[:64 * spill.chunks])
True
>>> spill_events(kl.Kernel(), folder)
Traceback (most recent call last):
...
keykos_lab.views.spill.SpillError: ... already holds the event log of another run (...
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from keykos_lab.kernel.errors import KernelError
from keykos_lab.kernel.eventlog import CATEGORIES, COLUMNS, FIELDS, ROW
from keykos_lab.views.frames import _DTYPES, _PACKED

if TYPE_CHECKING:
    from keykos_lab.kernel.core import Kernel

_N = len(FIELDS)
MANIFEST = "_keykos_spill.json"  # a leading "_": pyarrow and DuckDB globs skip it
SPILL_FORMAT = "keykos_lab-spill"
SPILL_VERSION = 1
#: Rows a spilled chunk may hold when a folder is read (a bound on what a stranger's
#: folder can make the reader allocate: about 120 bytes a row).
MAX_CHUNK_ROWS = 1 << 20
MAX_MANIFEST = 16 << 20  # bytes of manifest a reader accepts
_RAW_KEY = b"keykos_lab.raw"  # Parquet metadata: rows the public columns cannot hold
_SCHEMA_COLUMNS = ("seq", *COLUMNS)
_FIELD_AT = {name: i for i, name in enumerate(FIELDS)}


class SpillError(KernelError):
    """A spill folder cannot be used or read back: taken by another run, or a chunk
    missing, changed or not in the event schema. The message says which."""


# ------------------------------------------------------------------ the schema
def _schema() -> pa.Schema:
    fields = []
    for name in _SCHEMA_COLUMNS:
        if name in CATEGORIES:
            fields.append(pa.field(name, pa.dictionary(pa.int8(), pa.string())))
        else:
            dtype = _DTYPES.get(name, np.int64)
            fields.append(pa.field(name, pa.from_numpy_dtype(np.dtype(dtype)), nullable=False))
    return pa.schema(fields)


SCHEMA = _schema()


def chunk_table(chunk: bytes, first_seq: int) -> pa.Table:
    """Packed rows (eventlog.ROW) as a table in the public event schema, rows numbered
    from ``first_seq``; rows whose packed fields the public columns cannot hold exactly
    (an out-of-range code, a count past int8) are kept in the table's metadata.

    >>> t = chunk_table(bytes(ROW.size * 2), 10)
    >>> t.column_names[:3], t.column("seq").to_pylist(), t.column("event").to_pylist()
    (['seq', 'tick', 'event'], [10, 11], ['invoke', 'invoke'])
    """
    rows = np.frombuffer(chunk, dtype="<i8").reshape(-1, _N)
    n = len(rows)
    f = {name: rows[:, i] for i, name in enumerate(FIELDS)}
    cols: dict[str, Any] = {"seq": np.arange(first_seq, first_seq + n, dtype=np.int64)}
    for name in ("tick", "actor", "target", "order", "rc", "string_len"):
        cols[name] = np.ascontiguousarray(f[name])
    for name, field, shift, mask, minus in _PACKED:
        value = f[field] >> shift if shift else f[field]
        value = np.bitwise_and(value, mask) if mask else value
        cols[name] = (value - minus).astype(_DTYPES.get(name, np.int64))
    arrays = []
    for name in _SCHEMA_COLUMNS:
        cats = CATEGORIES.get(name)
        if cats is None:
            arrays.append(pa.array(cols[name]))
            continue
        codes = cols[name]
        bad = (codes < 0) | (codes >= len(cats))
        arrays.append(
            pa.DictionaryArray.from_arrays(
                pa.array(np.where(bad, 0, codes).astype(np.int8), mask=bad),
                pa.array(list(cats), pa.string()),
            )
        )
    table = pa.Table.from_arrays(arrays, schema=SCHEMA)
    back = _packed(table, n)
    odd = np.flatnonzero((back != rows).any(axis=1))
    if len(odd):
        raw = [[int(i), *(int(x) for x in rows[i])] for i in odd]
        table = table.replace_schema_metadata({_RAW_KEY: json.dumps(raw).encode()})
    return table


def _packed(table: pa.Table, n: int) -> np.ndarray:
    """The packed rows a table in the public schema stands for (its metadata aside)."""
    out = np.empty((n, _N), dtype="<i8")
    for name in ("tick", "actor", "target", "order", "rc", "string_len"):
        out[:, _FIELD_AT[name]] = table.column(name).to_numpy()
    codes = {}
    for name in _SCHEMA_COLUMNS:
        if name in CATEGORIES:
            col = table.column(name).combine_chunks()
            idx = pc.fill_null(col.indices, 0).to_numpy(zero_copy_only=False)
            codes[name] = np.where(
                col.is_null().to_numpy(zero_copy_only=False), -1, idx.astype(np.int64)
            )
    nk = table.column("n_keys").to_numpy().astype(np.int64)
    db = table.column("databyte").to_numpy().astype(np.int64)
    out[:, _FIELD_AT["kind"]] = (
        codes["event"]
        | codes["jump"] << 4
        | codes["state_before"] << 8
        | codes["state_after"] << 12
        | codes["cause"] << 16
    )
    out[:, _FIELD_AT["keyf"]] = (codes["key_type"] + 1) | (db + 1) << 8 | nk << 17
    return out


def table_rows(table: pa.Table, first_seq: int, n_rows: int, what: str) -> bytes:
    """The packed rows of a chunk read back: its schema, ``seq`` numbers and codes
    checked (:class:`SpillError` otherwise)."""
    if table.column_names != list(_SCHEMA_COLUMNS):
        raise SpillError(
            f"{what}: columns {table.column_names[:20]!r:.300}, not the event "
            f"schema's {list(_SCHEMA_COLUMNS)}"
        )
    if table.num_rows != n_rows:
        raise SpillError(f"{what}: {table.num_rows} rows, not {n_rows}")
    holes: dict[str, np.ndarray] = {}
    for field in SCHEMA:
        col = table.column(field.name)
        if field.name in CATEGORIES:
            if not pa.types.is_dictionary(col.type) or not pa.types.is_integer(col.type.index_type):
                raise SpillError(
                    f"{what}: column {field.name!r} is {col.type}, not a dictionary column"
                )
            cats = list(CATEGORIES[field.name])
            for piece in col.chunks:
                if piece.dictionary.to_pylist() != cats:
                    raise SpillError(
                        f"{what}: column {field.name!r} has categories "
                        f"{piece.dictionary.to_pylist()[:30]!r:.200}, not the "
                        "schema's"
                    )
            if field.name != "key_type" and col.null_count:  # only where a raw row is kept
                holes[field.name] = np.flatnonzero(col.is_null().to_numpy(zero_copy_only=False))
        else:
            if col.type != field.type or col.null_count:
                raise SpillError(
                    f"{what}: column {field.name!r} is {col.type}"
                    f"{' with nulls' if col.null_count else ''}, not "
                    f"{field.type}"
                )
    seq = table.column("seq").to_numpy()
    if n_rows and not np.array_equal(seq, np.arange(first_seq, first_seq + n_rows)):
        raise SpillError(
            f"{what}: its seq numbers are not {first_seq}..{first_seq + n_rows - 1}"
            " (a chunk of another place or run?)"
        )
    rows = _packed(table, n_rows)
    raw = (table.schema.metadata or {}).get(_RAW_KEY)
    fixed: set[int] = set()
    if raw is not None:
        try:
            fixes = json.loads(raw)
            if type(fixes) is not list or len(fixes) > n_rows:
                raise ValueError(fixes)
            for fix in fixes:
                if (
                    type(fix) is not list
                    or len(fix) != _N + 1
                    or not all(type(x) is int and -(1 << 63) <= x < 1 << 63 for x in fix)
                    or not 0 <= fix[0] < n_rows
                ):
                    raise ValueError(fix)
                rows[fix[0]] = fix[1:]
                fixed.add(fix[0])
        except (ValueError, TypeError, RecursionError):
            raise SpillError(f"{what}: its raw-row metadata is corrupt") from None
    for name, at in holes.items():
        if not fixed.issuperset(at.tolist()):
            raise SpillError(f"{what}: column {name!r} has missing values")
    return rows.tobytes()


# ------------------------------------------------------------------ the sink
class ParquetSpill:
    """A sink for ``EventLog``: chunk ``n`` is ``folder/events-<n>.parquet``.

    Creating it claims ``folder`` for this run (:class:`SpillError` if another run
    has it). ``chunks`` and ``bytes_written`` count what was written.

    >>> import tempfile, numpy as np
    >>> sink = ParquetSpill(tempfile.mkdtemp())
    >>> rows = np.arange(16, dtype="<i8").tobytes()     # two rows of 8 fields
    >>> sink.write(rows); sink.read(0) == rows, sink.chunks
    (True, 1)
    """

    def __init__(self, folder: str | os.PathLike[str], compression: str = "zstd") -> None:
        self.folder = Path(folder)
        self.compression = compression
        self.chunks = 0
        self.bytes_written = 0
        self.run = uuid.uuid4().hex
        #: (rows, first seq, bytes, sha256) of every chunk written, by number.
        self._index: list[tuple[int, int, int, str]] = []
        #: Chunks a copy of the kernel made, kept in memory (the folder is the original's).
        self._memory: dict[int, bytes] | None = None
        self._claim()

    def __repr__(self) -> str:
        return f"<ParquetSpill {str(self.folder)!r}: {self.chunks} chunks, run {self.run[:8]}>"

    def _claim(self) -> None:
        """Make the folder this run's: create the manifest exclusively."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SpillError(f"cannot make the spill folder {self.folder}: {exc}") from None
        manifest = self.folder / MANIFEST
        try:
            fd = os.open(manifest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            other = _peek_run(manifest)
            raise SpillError(
                f"{self.folder} already holds the event log of another run "
                f"({other}): a spill folder belongs to one kernel run; give "
                "this one an empty folder"
            ) from None
        except OSError as exc:
            raise SpillError(f"cannot claim the spill folder {self.folder}: {exc}") from None
        os.close(fd)
        leftovers = sorted(p.name for p in self.folder.glob("events-*.parquet"))
        if leftovers:
            os.unlink(manifest)
            raise SpillError(
                f"{self.folder} already holds spilled chunks of an unknown run "
                f"({', '.join(leftovers[:3])}…): give this run an empty folder"
            )
        self._save_manifest()

    def _manifest(self) -> dict[str, Any]:
        return {
            "format": SPILL_FORMAT,
            "version": SPILL_VERSION,
            "run": self.run,
            "columns": list(_SCHEMA_COLUMNS),
            "chunks": [
                {"n": n, "rows": rows, "first_seq": first, "bytes": size, "sha256": digest}
                for n, (rows, first, size, digest) in enumerate(self._index)
            ],
        }

    def _save_manifest(self) -> None:
        data = json.dumps(self._manifest(), indent=1).encode()
        tmp = self.folder / f".{MANIFEST}.{self.run}.tmp"
        tmp.write_bytes(data)
        os.replace(tmp, self.folder / MANIFEST)

    def path(self, n: int) -> Path:
        """Where chunk ``n`` lives."""
        return self.folder / f"events-{n:06d}.parquet"

    def write(self, chunk: bytes) -> None:
        """Store the next chunk (packed little-endian int64 rows) as a Parquet file."""
        n = self.chunks
        first = self._index[-1][0] + self._index[-1][1] if self._index else 0
        rows = len(chunk) // ROW.size
        if self._memory is not None:  # a copy's chunk: the folder is not its own
            self._memory[n] = bytes(chunk)
            self._index.append((rows, first, len(chunk), ""))
            self.chunks += 1
            return
        sink = pa.BufferOutputStream()
        pq.write_table(chunk_table(chunk, first), sink, compression=self.compression)
        data = sink.getvalue().to_pybytes()
        path = self.path(n)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)
        self._index.append((rows, first, len(data), hashlib.sha256(data).hexdigest()))
        self.chunks += 1
        self.bytes_written += len(data)
        self._save_manifest()

    def read(self, n: int) -> bytes:
        """Chunk ``n`` as the packed rows it was written from (checked: SpillError)."""
        if not 0 <= n < self.chunks:
            raise IndexError(f"no spilled chunk {n}; {self.chunks} were written")
        if self._memory is not None and n in self._memory:
            return self._memory[n]
        rows, first, size, digest = self._index[n]
        what = f"spilled chunk {n} ({self.path(n)})"
        data = _read_regular(self.path(n), size, what)
        if hashlib.sha256(data).hexdigest() != digest:
            raise SpillError(
                f"{what} was changed since it was written (its SHA-256 is not "
                "the one recorded): the event log cannot be read back"
            )
        return table_rows(_parse(data, what), first, rows, what)

    def __deepcopy__(self, memo: dict[int, Any]) -> ParquetSpill:
        """A copy for a copied kernel (``Kernel.copy``): it reads the chunks spilled so
        far from this folder, checked as ever, and keeps its own new ones in memory, so
        that two kernels never write one folder."""
        twin = ParquetSpill.__new__(ParquetSpill)
        twin.folder, twin.compression, twin.run = self.folder, self.compression, self.run
        twin.chunks, twin.bytes_written = self.chunks, 0
        twin._index = list(self._index)
        twin._memory = dict(self._memory or {})
        memo[id(self)] = twin
        return twin


def _peek_run(manifest: Path) -> str:
    """The run a manifest names, for an error message (never trusted further)."""
    try:
        doc = json.loads(_read_regular(manifest, None, str(manifest), limit=MAX_MANIFEST))
        return f"run {str(doc.get('run'))[:40]}"
    except (SpillError, ValueError, AttributeError, RecursionError):
        return "its manifest is unreadable"


def _read_regular(path: Path, size: int | None, what: str, limit: int | None = None) -> bytes:
    """The bytes of a regular file (opened without blocking), of exactly ``size`` bytes
    when given, else at most ``limit``."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise SpillError(f"{what} is missing: the event log cannot be read back") from None
    except OSError as exc:
        raise SpillError(f"{what} cannot be opened: {exc}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise SpillError(f"{what} is not a regular file")
        f = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    with f:
        most = size if size is not None else limit
        if size is not None and st.st_size != size:
            raise SpillError(
                f"{what} holds {st.st_size} bytes, not the {size} written (truncated or replaced)"
            )
        if most is not None and st.st_size > most:
            raise SpillError(f"{what} holds {st.st_size} bytes, more than {most}")
        data = f.read(most + 1 if most is not None else -1)
    if size is not None and len(data) != size:
        raise SpillError(f"{what} changed while it was read")
    return data


def _parse(data: bytes, what: str, rows: int | None = None) -> pa.Table:
    """A Parquet file's table; with ``rows``, its metadata is checked first (row count,
    declared sizes) so that a small file cannot make the reader allocate much more."""
    try:
        f = pq.ParquetFile(pa.BufferReader(data))
        meta = f.metadata
        if rows is not None:
            if meta.num_rows != rows:
                raise SpillError(f"{what}: {meta.num_rows} rows, not the {rows} of its chunk")
            declared = sum(
                meta.row_group(g).column(c).total_uncompressed_size
                for g in range(meta.num_row_groups)
                for c in range(meta.num_columns)
            )
            if declared > rows * 8 * len(_SCHEMA_COLUMNS) * 2 + (1 << 20):
                raise SpillError(f"{what}: declares {declared} bytes of data for {rows} rows")
        return f.read()
    except SpillError:
        raise
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise SpillError(f"{what} is not a readable Parquet file: {exc}"[:400]) from None


# ------------------------------------------------------------------ the folder
def read_spill(
    folder: str | os.PathLike[str], max_chunk_rows: int = MAX_CHUNK_ROWS
) -> pd.DataFrame:
    """Every spilled event of a spill folder as a DataFrame in the event schema,
    checked: the manifest, each chunk's size and SHA-256, its schema and ``seq``
    numbers. A folder from someone else gets the same checks; anything wrong raises
    :class:`SpillError` (``max_chunk_rows`` bounds the rows one chunk may claim)."""
    folder = Path(folder)
    doc = _load_manifest(folder)
    chunks = _chunk_list(doc, folder, max_chunk_rows)
    frames = []
    for n, rows, first, size, digest in chunks:
        what = f"spilled chunk {n} ({folder / f'events-{n:06d}.parquet'})"
        data = _read_regular(folder / f"events-{n:06d}.parquet", size, what)
        if hashlib.sha256(data).hexdigest() != digest:
            raise SpillError(f"{what}: its SHA-256 is not the one the manifest records")
        table = _parse(data, what, rows)
        table_rows(table, first, rows, what)  # the schema and seq checked
        frames.append(table.replace_schema_metadata(None).to_pandas())
    if not frames:
        return chunk_table(b"", 0).to_pandas()
    return pd.concat(frames, ignore_index=True)


def _load_manifest(folder: Path) -> dict[str, Any]:
    what = f"the spill manifest {folder / MANIFEST}"
    data = _read_regular(folder / MANIFEST, None, what, limit=MAX_MANIFEST)

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        out = dict(items)
        if len(out) != len(items):
            raise SpillError(f"{what} repeats a field")
        return out

    def constant(name: str) -> Any:
        raise SpillError(f"{what} holds {name}")

    try:
        doc = json.loads(data, object_pairs_hook=pairs, parse_constant=constant)
    except (ValueError, RecursionError):
        raise SpillError(f"{what} is not JSON") from None
    if type(doc) is not dict or doc.get("format") != SPILL_FORMAT:
        raise SpillError(f"{what} is not a keykos_lab spill manifest")
    if doc.get("version") != SPILL_VERSION or type(doc.get("version")) is not int:
        raise SpillError(f"{what}: unknown version {doc.get('version')!r:.30}")
    if type(doc.get("run")) is not str or doc.get("columns") != list(_SCHEMA_COLUMNS):
        raise SpillError(f"{what}: no run id, or not the event schema's columns")
    return doc


def _chunk_list(
    doc: dict[str, Any], folder: Path, max_rows: int
) -> list[tuple[int, int, int, int, str]]:
    what = f"the spill manifest {folder / MANIFEST}"
    chunks = doc.get("chunks")
    if type(chunks) is not list:
        raise SpillError(f"{what}: 'chunks' is not a list")
    out = []
    first = 0
    is_int: Callable[[Any], bool] = lambda v: type(v) is int  # noqa: E731
    for n, c in enumerate(chunks):
        if type(c) is not dict or set(c) != {"n", "rows", "first_seq", "bytes", "sha256"}:
            raise SpillError(
                f"{what}: chunk entry {n} is not {{n, rows, first_seq, bytes, sha256}}"
            )
        if c["n"] != n or not is_int(c["n"]):
            raise SpillError(f"{what}: chunk entry {n} is numbered {c['n']!r:.20}")
        if not is_int(c["rows"]) or not 0 < c["rows"] <= max_rows:
            raise SpillError(
                f"{what}: chunk {n} claims {c['rows']!r:.20} rows (at most {max_rows})"
            )
        if c["first_seq"] != first or not is_int(c["first_seq"]):
            raise SpillError(
                f"{what}: chunk {n} starts at seq {c['first_seq']!r:.20}, not "
                f"{first}: chunks missing or out of order"
            )
        if not is_int(c["bytes"]) or not 0 < c["bytes"] < 1 << 40:
            raise SpillError(f"{what}: chunk {n}'s size {c['bytes']!r:.20} is not valid")
        digest = c["sha256"]
        if type(digest) is not str or len(digest) != 64 or digest.strip("0123456789abcdef"):
            raise SpillError(f"{what}: chunk {n}'s sha256 is not a hex digest")
        out.append((n, c["rows"], first, c["bytes"], digest))
        first += c["rows"]
    extra = sorted(
        p.name
        for p in folder.glob("events-*.parquet")
        if p.name not in {f"events-{n:06d}.parquet" for n, *_ in out}
    )
    if extra:
        raise SpillError(
            f"{what}: the folder holds chunks the manifest does not list: {', '.join(extra[:3])}"
        )
    return out


def spill_events(
    kernel: Kernel, folder: str | os.PathLike[str], keep: int = 0, chunk_rows: int | None = None
) -> ParquetSpill:
    """Make ``kernel``'s event log spill full chunks past ``keep`` to Parquet in ``folder``.

    ``chunk_rows`` (rows per chunk, default the log's) can be set only while the log
    is still in its first chunk. ``folder`` must not hold another run's spill, and a
    log spills to one folder for good (:class:`SpillError` otherwise). Returns the
    sink (``.chunks``, ``.bytes_written``).
    """
    log = kernel.log
    if log.sink is not None:
        where = getattr(log.sink, "folder", log.sink)
        raise SpillError(
            f"this kernel's event log already spills to {where}; a log "
            "spills to one folder for good"
        )
    if type(keep) is not int or keep < 0:
        raise ValueError(f"keep is a count of chunks, not {keep!r}")
    if chunk_rows is not None and (type(chunk_rows) is not int or chunk_rows < 1):
        raise ValueError(f"chunk_rows is a positive int, not {chunk_rows!r}")
    if chunk_rows is not None and chunk_rows != log._rows:
        if log._full or log._spilled:
            raise ValueError("chunk_rows can change only before the first chunk is full")
        if log._off > ROW.size * chunk_rows:
            raise ValueError(f"the log already holds more than {chunk_rows} rows")
    sink = ParquetSpill(folder)
    if chunk_rows is not None and chunk_rows != log._rows:
        log._rows = chunk_rows
        if log._cap > ROW.size * chunk_rows:
            del log._buf[ROW.size * chunk_rows :]
            log._cap = len(log._buf)
        if log._off == log._cap:
            log.next_chunk()
    log.sink = sink
    log.keep = keep
    log.spill()
    return sink
