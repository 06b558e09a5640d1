"""Hostile spill folders (issue 15): a spill folder belongs to one kernel run; a chunk
that is missing, changed, swapped or not a regular file is a clear ``SpillError`` when
the log is read, never rows silently missing or mixed; a stranger's folder read with
``read_spill`` gets the same checks. Spilled files are the public event schema.
docs/reliability.md#reliability-strangers lists what was tried and what is promised.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import keykos_lab as kl
from keykos_lab.kernel.eventlog import ROW
from keykos_lab.views.spill import (
    MANIFEST,
    ParquetSpill,
    SpillError,
    chunk_table,
    read_spill,
    spill_events,
)

TIMEOUT = 10
ROWS = 64


def _work(k: kl.Kernel, n: int = 120) -> None:
    con = k.console
    echo = kl.start_key(con, kl.build_domain(con, "echo"))
    for i in range(n):
        con.call(echo, i, data=b"x" * (i % 5))


def spilled(folder: Path, keep: int = 0) -> tuple[kl.Kernel, ParquetSpill]:
    k = kl.Kernel()
    sink = spill_events(k, folder, keep=keep, chunk_rows=ROWS)
    _work(k)
    assert sink.chunks >= 4
    return k, sink


def in_time(fn: Callable[[], object]) -> BaseException | None:
    """Run ``fn`` in a thread; a hang fails the test. The exception it raised, if any."""
    out: dict[str, BaseException] = {}

    def run() -> None:
        try:
            fn()
        except BaseException as exc:  # noqa: BLE001
            out["error"] = exc

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(TIMEOUT)
    assert not t.is_alive(), "reading the spill folder hangs"
    return out.get("error")


def chunk(folder: Path, n: int) -> Path:
    return folder / f"events-{n:06d}.parquet"


# ------------------------------------------------------------------ tampering with a live run
def _delete(folder: Path) -> None:
    chunk(folder, 1).unlink()


def _truncate(folder: Path) -> None:
    p = chunk(folder, 1)
    p.write_bytes(p.read_bytes()[:-7])


def _flip(folder: Path) -> None:
    p = chunk(folder, 1)
    raw = bytearray(p.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    p.write_bytes(bytes(raw))


def _swap(folder: Path) -> None:
    a, b = chunk(folder, 0), chunk(folder, 1)
    tmp = folder / "t"
    a.rename(tmp)
    b.rename(a)
    tmp.rename(b)


def _duplicate(folder: Path) -> None:
    shutil.copyfile(chunk(folder, 0), chunk(folder, 1))


def _other_run(folder: Path) -> None:
    other = folder.parent / "other"
    k = kl.Kernel()
    spill_events(k, other, chunk_rows=ROWS)
    for i in range(150):
        k.console.call(k.console["dkc"], i)
    shutil.copyfile(chunk(other, 1), chunk(folder, 1))


def _same_size_garbage(folder: Path) -> None:
    p = chunk(folder, 1)
    p.write_bytes(os.urandom(p.stat().st_size))


def _empty(folder: Path) -> None:
    chunk(folder, 1).write_bytes(b"")


def _fifo(folder: Path) -> None:
    chunk(folder, 1).unlink()
    os.mkfifo(chunk(folder, 1))


def _directory(folder: Path) -> None:
    chunk(folder, 1).unlink()
    chunk(folder, 1).mkdir()


def _dev_zero(folder: Path) -> None:
    chunk(folder, 1).unlink()
    chunk(folder, 1).symlink_to("/dev/zero")


def _dangling_link(folder: Path) -> None:
    chunk(folder, 1).unlink()
    chunk(folder, 1).symlink_to(folder / "gone")


def _folder_gone(folder: Path) -> None:
    shutil.rmtree(folder)


def _reencoded(folder: Path) -> None:
    """The same rows, written again by someone else (a valid Parquet file, same data):
    not the bytes this run wrote."""
    p = chunk(folder, 1)
    pq.write_table(pq.read_table(p), p, compression="snappy")


LIVE: list[tuple[str, Callable[[Path], None], str]] = [
    ("deleted", _delete, r"spilled chunk 1 .* is missing"),
    ("truncated", _truncate, r"holds \d+ bytes, not the \d+ written"),
    ("byte-flipped", _flip, r"was changed since it was written"),
    ("swapped-with-chunk-0", _swap, r"spilled chunk [01] .*(changed|bytes)"),
    ("copy-of-chunk-0", _duplicate, r"spilled chunk 1 .*(changed|bytes)"),
    ("chunk-of-another-run", _other_run, r"spilled chunk 1 .*(changed|bytes)"),
    ("same-size-garbage", _same_size_garbage, r"was changed since it was written"),
    ("emptied", _empty, r"holds 0 bytes"),
    ("replaced-by-fifo", _fifo, r"is not a regular file"),
    ("replaced-by-folder", _directory, r"is not a regular file"),
    ("symlink-to-dev-zero", _dev_zero, r"is not a regular file"),
    ("dangling-symlink", _dangling_link, r"is missing"),
    ("folder-deleted", _folder_gone, r"is missing"),
    ("rewritten-same-rows", _reencoded, r"spilled chunk 1 .*(changed|bytes)"),
]


@pytest.mark.parametrize("name, tamper, match", LIVE, ids=[c[0] for c in LIVE])
def test_a_tampered_chunk_is_a_clear_error(tmp_path, name, tamper, match):
    folder = tmp_path / "spill"
    k, _ = spilled(folder)
    before = len(k.log)
    tamper(folder)
    for read in (k.events, lambda: k.log.row(ROWS + 3), k.log.chunks):
        err = in_time(read)
        assert isinstance(err, SpillError), f"{type(err).__name__}: {err}"
        import re

        assert re.search(match, str(err)), f"{match!r} not in {err}"
    err = in_time(lambda: k.checkpoint(tmp_path / "k.ckpt"))
    assert isinstance(err, kl.CheckpointError) and "spilled chunk" in str(err)
    assert not (tmp_path / "k.ckpt").exists()
    assert len(k.log) == before


# ------------------------------------------------------------------ one folder, one run
def _second_kernel(tmp: Path) -> None:
    spilled(tmp / "spill")
    spill_events(kl.Kernel(), tmp / "spill")


def _second_spill_same_kernel(tmp: Path) -> None:
    k, _ = spilled(tmp / "spill")
    spill_events(k, tmp / "spill")


def _second_spill_other_folder(tmp: Path) -> None:
    k, _ = spilled(tmp / "spill")
    spill_events(k, tmp / "elsewhere")


def _leftover_chunks(tmp: Path) -> None:
    spilled(tmp / "spill")
    (tmp / "spill" / MANIFEST).unlink()
    spill_events(kl.Kernel(), tmp / "spill")


def _corrupt_manifest(tmp: Path) -> None:
    (tmp / "spill").mkdir()
    (tmp / "spill" / MANIFEST).write_bytes(b"\xff\x00not json")
    spill_events(kl.Kernel(), tmp / "spill")


def _manifest_fifo(tmp: Path) -> None:
    (tmp / "spill").mkdir()
    os.mkfifo(tmp / "spill" / MANIFEST)
    spill_events(kl.Kernel(), tmp / "spill")


def _folder_is_a_file(tmp: Path) -> None:
    (tmp / "spill").write_bytes(b"x")
    spill_events(kl.Kernel(), tmp / "spill")


def _folder_under_a_file(tmp: Path) -> None:
    (tmp / "f").write_bytes(b"x")
    spill_events(kl.Kernel(), tmp / "f" / "spill")


CLAIMS: list[tuple[str, Callable[[Path], None], str]] = [
    ("second-kernel", _second_kernel, r"already holds the event log of another run \(run "),
    ("second-spill-same-kernel", _second_spill_same_kernel, r"already spills to"),
    ("second-spill-other-folder", _second_spill_other_folder, r"already spills to"),
    ("leftover-chunks-no-manifest", _leftover_chunks, r"spilled chunks of an unknown run"),
    ("corrupt-manifest", _corrupt_manifest, r"another run \(its manifest is unreadable\)"),
    ("manifest-is-a-fifo", _manifest_fifo, r"another run \(its manifest is unreadable\)"),
    ("folder-is-a-file", _folder_is_a_file, r"cannot make the spill folder"),
    ("folder-under-a-file", _folder_under_a_file, r"cannot make the spill folder"),
]


@pytest.mark.parametrize("name, attempt, match", CLAIMS, ids=[c[0] for c in CLAIMS])
def test_a_folder_belongs_to_one_run(tmp_path, name, attempt, match):
    err = in_time(lambda: attempt(tmp_path))
    assert isinstance(err, SpillError), f"{type(err).__name__}: {err}"
    import re

    assert re.search(match, str(err)), f"{match!r} not in {err}"


def test_a_refused_second_kernel_leaves_the_first_intact(tmp_path):
    k, sink = spilled(tmp_path / "spill")
    other = kl.Kernel()
    with pytest.raises(SpillError):
        spill_events(other, tmp_path / "spill")
    assert other.log.sink is None
    assert k.events().equals(
        read_spill(tmp_path / "spill").pipe(
            lambda s: pd.concat([s, k.events().iloc[len(s) :]], ignore_index=True)
        )
    )


def test_a_copied_kernel_never_writes_the_folder(tmp_path):
    k, sink = spilled(tmp_path / "spill")
    files = sorted(os.listdir(tmp_path / "spill"))
    twin = k.copy()
    _work(twin, 200)
    assert sorted(os.listdir(tmp_path / "spill")) == files
    assert twin.log.sink.chunks > sink.chunks
    n = ROWS * sink.chunks
    assert twin.events().iloc[:n].equals(k.events().iloc[:n])
    _work(k, 30)
    assert read_spill(tmp_path / "spill").equals(k.events().iloc[: ROWS * sink.chunks])


# ------------------------------------------------------------------ strangers' folders
def _manifest(folder: Path) -> dict:
    return json.loads((folder / MANIFEST).read_text())


def _put_manifest(folder: Path, doc) -> None:
    (folder / MANIFEST).write_text(doc if isinstance(doc, str) else json.dumps(doc))


def edit(change: Callable[[dict], object]) -> Callable[[Path], None]:
    def apply(folder: Path) -> None:
        doc = _manifest(folder)
        change(doc)
        _put_manifest(folder, doc)

    return apply


def entry(at: int, **fields) -> Callable[[Path], None]:
    return edit(lambda d: d["chunks"][at].update(fields))


def forged_chunk(make: Callable[[pa.Table], pa.Table | bytes], n: int = 1):
    """Chunk ``n`` rewritten by ``make`` and its manifest entry fixed to match: only the
    content checks can catch it."""

    def apply(folder: Path) -> None:
        p = chunk(folder, n)
        out = make(pq.read_table(p))
        if isinstance(out, pa.Table):
            sink = pa.BufferOutputStream()
            pq.write_table(out, sink)
            out = sink.getvalue().to_pybytes()
        p.write_bytes(out)
        edit(
            lambda d: d["chunks"][n].update(bytes=len(out), sha256=hashlib.sha256(out).hexdigest())
        )(folder)

    return apply


def col(table: pa.Table, name: str, array) -> pa.Table:
    i = table.column_names.index(name)
    return table.set_column(i, name, array)


def _shifted_seq(t: pa.Table) -> pa.Table:
    return col(t, "seq", pa.array(np.arange(t.num_rows, dtype=np.int64) + 10**6))


def _other_categories(t: pa.Table) -> pa.Table:
    ev = t.column("event").combine_chunks()
    bad = pa.DictionaryArray.from_arrays(ev.indices, pa.array(["a"] * 12))
    return col(t, "event", bad)


def _null_events(t: pa.Table) -> pa.Table:
    ev = t.column("event").combine_chunks()
    mask = np.zeros(t.num_rows, dtype=bool)
    mask[3] = True
    return col(
        t,
        "event",
        pa.DictionaryArray.from_arrays(pa.array(ev.indices.to_numpy(), mask=mask), ev.dictionary),
    )


def _raw_meta(value: bytes) -> Callable[[pa.Table], pa.Table]:
    return lambda t: t.replace_schema_metadata({b"keykos_lab.raw": value})


STRANGERS: list[tuple[str, Callable[[Path], None], str]] = [
    ("no-manifest", lambda f: (f / MANIFEST).unlink(), r"manifest .* is missing"),
    ("manifest-not-json", lambda f: _put_manifest(f, "{nope"), r"is not JSON"),
    ("manifest-a-list", lambda f: _put_manifest(f, "[]"), r"not a keykos_lab spill manifest"),
    ("manifest-other-format", edit(lambda d: d.update(format="x")), r"not a keykos_lab spill"),
    ("manifest-version-2", edit(lambda d: d.update(version=2)), r"unknown version 2"),
    ("manifest-version-bool", edit(lambda d: d.update(version=True)), r"unknown version"),
    (
        "manifest-nan",
        lambda f: _put_manifest(
            f, (f / MANIFEST).read_text().replace('"version": 1', '"version": 1, "x": NaN')
        ),
        r"holds NaN",
    ),
    (
        "manifest-repeats-field",
        lambda f: _put_manifest(
            f, (f / MANIFEST).read_text().replace('"version": 1', '"version": 1, "version": 1')
        ),
        r"repeats a field",
    ),
    ("manifest-deep", lambda f: _put_manifest(f, "[" * 100_000), r"is not JSON"),
    ("manifest-run-int", edit(lambda d: d.update(run=5)), r"no run id"),
    ("manifest-columns-other", edit(lambda d: d["columns"].reverse()), r"columns"),
    ("manifest-chunks-dict", edit(lambda d: d.update(chunks={})), r"'chunks' is not a list"),
    ("manifest-over-16MiB", lambda f: _put_manifest(f, " " * (17 << 20)), r"more than"),
    (
        "manifest-a-fifo",
        lambda f: ((f / MANIFEST).unlink(), os.mkfifo(f / MANIFEST)),
        r"not a regular file",
    ),
    (
        "manifest-a-folder",
        lambda f: ((f / MANIFEST).unlink(), (f / MANIFEST).mkdir()),
        r"not a regular file",
    ),
    ("entry-missing-field", edit(lambda d: d["chunks"][0].pop("sha256")), r"chunk entry 0"),
    ("entry-extra-field", entry(0, extra=1), r"chunk entry 0"),
    ("entry-renumbered", entry(1, n=5), r"numbered 5"),
    ("entry-rows-zero", entry(0, rows=0), r"claims 0 rows"),
    ("entry-rows-billion", entry(0, rows=10**9), r"claims 1000000000 rows"),
    ("entry-rows-float", entry(0, rows=64.0), r"claims 64.0 rows"),
    ("entry-seq-gap", entry(1, first_seq=ROWS + 1), r"chunks missing or out of order"),
    ("entry-dropped", edit(lambda d: d["chunks"].pop(0)), r"numbered|out of order"),
    ("entries-swapped", edit(lambda d: d["chunks"].reverse()), r"numbered"),
    ("entry-bytes-negative", entry(0, bytes=-1), r"size -1"),
    ("entry-bytes-huge", entry(0, bytes=1 << 50), r"size"),
    ("entry-sha-short", entry(0, sha256="ab"), r"not a hex digest"),
    ("entry-sha-upper", entry(0, sha256="A" * 64), r"not a hex digest"),
    ("entry-wrong-sha", entry(0, sha256="0" * 64), r"SHA-256 is not the one"),
    ("entry-wrong-size", entry(0, bytes=10), r"holds \d+ bytes, not the 10"),
    ("chunk-missing", lambda f: chunk(f, 2).unlink(), r"spilled chunk 2 .* is missing"),
    (
        "chunk-unlisted",
        lambda f: shutil.copyfile(chunk(f, 0), chunk(f, 99)),
        r"does not list: events-000099.parquet",
    ),
    (
        "chunk-a-fifo",
        lambda f: (chunk(f, 0).unlink(), os.mkfifo(chunk(f, 0))),
        r"not a regular file",
    ),
    (
        "chunk-not-parquet",
        forged_chunk(lambda t: b"PAR1 not really PAR1"),
        r"not a readable Parquet file",
    ),
    (
        "chunk-more-rows",
        forged_chunk(lambda t: pa.concat_tables([t, t])),
        r"rows, not the 64 of its chunk",
    ),
    ("chunk-fewer-rows", forged_chunk(lambda t: t.slice(0, 10)), r"10 rows, not the 64"),
    ("chunk-no-seq", forged_chunk(lambda t: t.drop_columns(["seq"])), r"columns"),
    (
        "chunk-extra-column",
        forged_chunk(lambda t: t.append_column("evil", t.column("tick"))),
        r"columns",
    ),
    (
        "chunk-columns-reordered",
        forged_chunk(lambda t: t.select(["tick", "seq", *t.column_names[2:]])),
        r"columns",
    ),
    (
        "chunk-tick-float",
        forged_chunk(lambda t: col(t, "tick", t.column("tick").cast(pa.float64()))),
        r"column 'tick' is double",
    ),
    (
        "chunk-databyte-int64",
        forged_chunk(lambda t: col(t, "databyte", t.column("databyte").cast(pa.int64()))),
        r"column 'databyte' is int64",
    ),
    (
        "chunk-event-plain-text",
        forged_chunk(lambda t: col(t, "event", t.column("event").cast(pa.string()))),
        r"column 'event' is string, not a dictionary",
    ),
    ("chunk-other-categories", forged_chunk(_other_categories), r"has categories"),
    ("chunk-null-event", forged_chunk(_null_events), r"'event' has missing values"),
    (
        "chunk-null-tick",
        forged_chunk(lambda t: col(t, "tick", pa.array([None] * t.num_rows, pa.int64()))),
        r"column 'tick' is int64 with nulls",
    ),
    ("chunk-seq-shifted", forged_chunk(_shifted_seq), r"seq numbers are not"),
    (
        "chunk-of-another-place",
        forged_chunk(lambda t: pq.read_table(t and chunk(FOLDER[0], 2)), n=1),
        r"seq numbers are not",
    ),
    ("raw-meta-not-json", forged_chunk(_raw_meta(b"{")), r"raw-row metadata is corrupt"),
    (
        "raw-meta-row-out-of-range",
        forged_chunk(_raw_meta(json.dumps([[10**6, 0, 0, 0, 0, 0, 0, 0, 0]]).encode())),
        r"raw-row metadata is corrupt",
    ),
    ("raw-meta-short-row", forged_chunk(_raw_meta(b"[[0, 1]]")), r"raw-row metadata"),
    (
        "raw-meta-huge-int",
        forged_chunk(_raw_meta(json.dumps([[0, 1 << 70, 0, 0, 0, 0, 0, 0, 0]]).encode())),
        r"raw-row metadata is corrupt",
    ),
]
FOLDER: list[Path] = []  # the folder being attacked (chunk-of-another-place reads it)


@pytest.mark.parametrize("name, tamper, match", STRANGERS, ids=[c[0] for c in STRANGERS])
def test_a_strangers_folder_is_checked(tmp_path, name, tamper, match):
    folder = tmp_path / "spill"
    k, sink = spilled(folder)
    FOLDER[:] = [folder]
    read_spill(folder)  # untouched, it reads
    tamper(folder)
    err = in_time(lambda: read_spill(folder))
    assert isinstance(err, SpillError), f"{type(err).__name__}: {err}"
    import re

    assert re.search(match, str(err)), f"{match!r} not in {err}"


def test_a_bomb_is_refused_before_it_is_read(tmp_path):
    """A tiny file claiming a million identical rows: refused from its metadata."""
    folder = tmp_path / "spill"
    spilled(folder)
    rows = 1 << 20
    table = chunk_table(bytes(ROW.size * rows), 0)
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd")
    data = sink.getvalue().to_pybytes()
    chunk(folder, 0).write_bytes(data)
    doc = _manifest(folder)
    doc["chunks"] = [
        dict(doc["chunks"][0], rows=rows, bytes=len(data), sha256=hashlib.sha256(data).hexdigest())
    ]
    for n in range(1, 99):
        if chunk(folder, n).exists():
            chunk(folder, n).unlink()
    _put_manifest(folder, doc)
    with pytest.raises(SpillError, match=r"claims 1048576 rows \(at most 65536\)"):
        read_spill(folder, max_chunk_rows=1 << 16)


# ------------------------------------------------------------------ the public schema
def test_spilled_files_are_the_event_schema(tmp_path):
    folder = tmp_path / "spill"
    k, sink = spilled(folder, keep=1)
    n = ROWS * sink.chunks
    expect = k.events().iloc[:n].reset_index(drop=True)
    got = pd.read_parquet(folder)  # pandas, the whole folder
    assert list(got.columns) == list(expect.columns) and got.columns[0] == "seq"
    assert (got.dtypes == expect.dtypes).all()
    assert got.equals(expect)
    table = pq.read_table(chunk(folder, 1))  # pyarrow, one chunk
    assert table.column("seq").to_pylist() == list(range(ROWS, 2 * ROWS))
    assert str(table.schema.field("event").type).startswith("dictionary")
    assert read_spill(folder).equals(expect)


def test_duckdb_reads_the_folder(tmp_path):
    duckdb = pytest.importorskip("duckdb", reason="duckdb is not installed in this venv")
    folder = tmp_path / "spill"
    k, sink = spilled(folder)
    n = duckdb.sql(f"select count(*), min(seq), max(seq) from '{folder}/*.parquet'").fetchone()
    assert n == (ROWS * sink.chunks, 0, ROWS * sink.chunks - 1)


def test_rows_the_columns_cannot_hold_round_trip_exactly(tmp_path):
    """A stall row of a keeper call counts its bytes as keys (n_keys past int8); an
    out-of-range code: the packed row comes back exactly all the same."""
    rows = np.zeros((4, 8), dtype="<i8")
    rows[1, 3] = 7 | 1 << 8 | 4097 << 17  # n_keys 4097
    rows[2, 1] = 15  # event code 15 (no such event)
    rows[3] = [5, 0, 1, 0, 2, 3, 4, 5]
    sink = ParquetSpill(tmp_path / "spill")
    sink.write(rows.tobytes())
    assert sink.read(0) == rows.tobytes()
    table = pq.read_table(chunk(tmp_path / "spill", 0))
    assert table.column("event").to_pylist()[2] is None


def test_the_manifest_names_the_run_and_every_chunk(tmp_path):
    folder = tmp_path / "spill"
    k, sink = spilled(folder)
    doc = _manifest(folder)
    assert doc["run"] == sink.run and len(doc["chunks"]) == sink.chunks
    for n, c in enumerate(doc["chunks"]):
        data = chunk(folder, n).read_bytes()
        assert c["sha256"] == hashlib.sha256(data).hexdigest() and c["rows"] == ROWS
    assert not [p for p in os.listdir(folder) if p.endswith(".tmp")]
