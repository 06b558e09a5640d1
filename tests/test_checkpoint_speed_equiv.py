"""The faster checkpoint writer and reader make and accept exactly what the simple forms
did: the file's bytes, the journal's base, the checksum, and the event-log checks."""

from __future__ import annotations

import gc
import hashlib
import importlib
import json
import operator
import os
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import keykos_lab as kl
from keykos_lab import oc
from keykos_lab.kernel.errors import CheckpointError
from keykos_lab.kernel.eventlog import ROW, EventLog

# The modules (the package's names ``save`` and ``load`` are its functions).
fmt = importlib.import_module("keykos_lab.kernel.checkpoint.format")
ld = importlib.import_module("keykos_lab.kernel.checkpoint.load")
sv = importlib.import_module("keykos_lab.kernel.checkpoint.save")

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=80, deadline=None)
@given(st.dictionaries(st.text(max_size=8), JSON, max_size=6))
def test_a_body_joined_from_its_records_is_its_canonical_json(body):
    records = {name: sv.canonical(value) for name, value in body.items()}
    assert sv.joined(records) == sv.canonical(body)
    # ... and as pieces, a record given as its own pieces (the log's, at the write)
    pieces = {name: [r[:3], r[3:]] if len(r) % 2 else r for name, r in records.items()}
    assert b"".join(sv.joined_parts(pieces)) == sv.canonical(body)


@settings(max_examples=40, deadline=None)
@given(st.dictionaries(st.text(max_size=8), JSON, max_size=4), st.binary(max_size=300))
def test_the_checksum_is_sha256_of_header_newline_body(header, blob):
    header = {**header, "sha256": "x"}
    rest = {k: v for k, v in header.items() if k != "sha256"}
    canonical = json.dumps(rest, sort_keys=True, separators=(",", ":")).encode()
    assert fmt._digest(header, blob) == hashlib.sha256(canonical + b"\n" + blob).hexdigest()
    assert fmt._digest(header, [blob[:7], b"", blob[7:]]) == fmt._digest(header, blob)


def test_the_file_and_the_journal_base_are_the_canonical_body(k, tmp_path):
    con = k.console
    page = con.call(con["bank"], oc.SB.CreatePage).keys[0]
    con.call(page, oc.Page.WriteData, data=b"\1\2\3")
    echo = kl.start_key(con, kl.build_domain(con, "echo"))
    con.call(echo, 7, data=b"hi")
    path = os.path.join(tmp_path, "k.ckpt")
    header = k.checkpoint(path)
    body = sv.encode(k)  # nothing ran since: the same state
    blob = open(path, "rb").read().split(b"\n", 1)[1]
    want = sv.canonical(body)
    assert blob.rstrip(b" ") == want and len(blob) == header["length"]
    body["log"] = None
    body.pop("history")  # a journal base has an empty log, so no history (a replay starts one)
    assert k.console.journal.base == sv.canonical(body)
    restored = kl.Kernel.restore(path)
    assert sv.canonical(sv.encode(restored)) == want
    # A restore's base is the body as read, its log null and its history left out.
    read = json.loads(blob)
    read["log"] = None
    read.pop("history")
    assert restored.console.journal.base == sv.canonical(read)
    assert ld.load(path).console.journal.base == sv.canonical(read)


def test_the_collector_runs_again_after_a_refused_file(k, tmp_path):
    path = os.path.join(tmp_path, "k.ckpt")
    k.checkpoint(path)
    head, blob = open(path, "rb").read().split(b"\n", 1)
    header = json.loads(head)
    header["length"] = 2
    header["sha256"] = fmt._digest(header, b"[]")
    open(path, "wb").write(json.dumps(header).encode() + b"\n[]")
    assert gc.isenabled()
    with pytest.raises(CheckpointError, match="the body has records"):
        kl.Kernel.restore(path)
    assert gc.isenabled()


def old_ticks_wrong(ticks: list[int], last: int, tick: int) -> bool:
    """The reader's earlier test of a chunk's ticks (one comparison per pair)."""
    return ticks[0] < last or max(ticks) > tick or not all(map(operator.le, ticks[:-1], ticks[1:]))


@settings(max_examples=150, deadline=None)
@given(
    ticks=st.lists(st.integers(0, 50), min_size=1, max_size=30),
    last=st.integers(0, 50),
    tick=st.integers(0, 60),
    sort=st.booleans(),
)
def test_the_tick_check_refuses_exactly_what_it_did(ticks, last, tick, sort):
    if sort:
        ticks = sorted(ticks)
    raw = b"".join(ROW.pack(t, 0, -1, 0, -1, 0, 0, 0) for t in ticks)
    dec = ld._Decoder({}, "<t>", None)
    dec.tick, dec.n_objects = tick, 10
    if old_ticks_wrong(ticks, last, tick):
        with pytest.raises(CheckpointError, match="ticks go backwards"):
            dec._rows(raw, "rows", last)
    else:
        assert dec._rows(raw, "rows", last) == ticks[-1]


@pytest.mark.parametrize(
    "key",
    [[True, 1, 0, 1], [2, 1.0, 0, 1], [2, 1, None, 1], [2, 1, 0, "1"], [2, 1, 0], "2,1,0,1"],
)
def test_a_key_of_other_than_four_ints_is_refused(key):
    with pytest.raises(CheckpointError, match="four ints|not a list of 4"):
        fmt._Validator("<t>").key(key, "a key")


def test_a_saved_log_row_out_of_order_is_still_refused(k, tmp_path):
    con = k.console
    for _ in range(3):
        con.call(con["bank"], oc.SB.CreatePage)
    body = sv.encode(k)
    raw = bytearray(fmt._Validator("<t>").bytes_(body["log"]["current"], "log", 1 << 30))
    first, second = struct.unpack_from("<q", raw, 0)[0], struct.unpack_from("<q", raw, ROW.size)[0]
    struct.pack_into("<q", raw, 0, second + 1)  # the first row now later than the second
    assert second + 1 > first
    body["log"]["current"] = fmt._b64(bytes(raw))
    with pytest.raises(CheckpointError, match="ticks go backwards"):
        ld.decode(json.loads(sv.canonical(body)))


class _Box(list):
    def write(self, chunk: bytes) -> None:
        self.append(bytes(chunk))

    def read(self, n: int) -> bytes:
        return self[n]


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(0, 60),
    chunk_rows=st.integers(1, 9),
    spill=st.booleans(),
    enabled=st.booleans(),
)
def test_the_log_record_made_as_bytes_is_its_canonical_json(n, chunk_rows, spill, enabled):
    log = EventLog(chunk_rows=chunk_rows)
    if spill:
        log.sink = _Box()
    for t in range(n):
        log.emit(t, 0, 1, t, 2, t * 7, 3, -t, t << 40, 1, 5, 1, 2, 0)
    log.enabled = enabled
    assert fmt._log_json(log) == sv.canonical(fmt._log_record(log))
    assert b"".join(fmt.log_json_parts(log)) == fmt._log_json(log)
