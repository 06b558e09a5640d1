"""``k.events()``'s fast decoding of the packed log agrees with the simple, general paths.

``views.frames._columns`` reads each chunk field by field and takes the small columns from
the low 32-bit words of the packed fields. Two references it must match exactly:

* on any bytes at all (every int64 in every field), the shift-and-mask description of the
  packed fields (``frames._PACKED``, which the Parquet spill also uses), applied with int64
  arithmetic and cast as an unsafe cast does;
* on logs the kernel could write (``EventLog.emit``, chunked and spilled at random), the
  frame built from ``EventLog.row`` tuples with the schema's types, dtypes included.
"""

from types import SimpleNamespace

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from keykos_lab.kernel.eventlog import (
    CATEGORIES,
    CAUSES,
    COLUMNS,
    EVENTS,
    FIELDS,
    JUMPS,
    KEY_TYPES,
    ROW,
    STATES,
    EventLog,
)
from keykos_lab.views import frames

_SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
INT64 = st.integers(-(1 << 63), (1 << 63) - 1)


def reference_columns(chunks: list[bytes]) -> dict[str, np.ndarray]:
    """The columns as ``_PACKED`` describes them: int64 shifts and masks, then a cast."""
    n = sum(len(c) for c in chunks) // ROW.size
    rows = np.frombuffer(b"".join(chunks), dtype="<i8").reshape(n, len(FIELDS))
    f = dict(zip(FIELDS, rows.T))
    out = {
        name: f[name].copy() for name in ("tick", "actor", "target", "order", "rc", "string_len")
    }
    for name, field, shift, mask, minus in frames._PACKED:
        value = f[field] >> shift
        if mask:
            value = value & mask
        out[name] = (value - minus).astype(frames._DTYPES.get(name, np.int64))
    return out


ANY_ROW = st.tuples(*[INT64] * len(FIELDS))
#: Chunks of whole rows whose fields are any int64 (sizes vary, empty ones too).
RAW_CHUNKS = st.lists(
    st.lists(ANY_ROW, max_size=40).map(lambda rows: b"".join(ROW.pack(*r) for r in rows)),
    max_size=5,
)


@_SETTINGS
@given(RAW_CHUNKS)
def test_fast_columns_match_the_packed_description_on_any_bits(chunks):
    fast = frames._columns([memoryview(c) for c in chunks])
    ref = reference_columns(chunks)
    assert set(fast) == set(COLUMNS)
    for name in COLUMNS:
        assert fast[name].dtype == ref[name].dtype, name
        np.testing.assert_array_equal(fast[name], ref[name], err_msg=name)


ROWS = st.tuples(
    st.integers(0, 1 << 40),  # tick (sorted below)
    st.integers(0, len(EVENTS) - 1),
    st.integers(0, len(JUMPS) - 1),
    st.integers(-1, 1 << 40),  # actor
    st.integers(-1, len(KEY_TYPES) - 1),
    st.integers(-1, 1 << 40),  # target
    st.integers(-1, 255),  # databyte
    INT64,  # order
    INT64,  # rc
    st.integers(0, 1 << 20),  # n_keys (stall rows count a keeper call's bytes)
    st.integers(0, 1 << 16),  # string_len
    st.integers(0, len(STATES) - 1),
    st.integers(0, len(STATES) - 1),
    st.integers(0, len(CAUSES) - 1),
)


class Box(list):
    """An in-memory chunk sink: spilled chunks read back from here."""

    def write(self, chunk: bytes) -> None:
        self.append(bytes(chunk))

    def read(self, n: int) -> bytes:
        return self[n]


def general_frame(log: EventLog) -> pd.DataFrame:
    """The frame from ``EventLog.row`` tuples, typed as the schema says."""
    rows = pd.DataFrame(list(log.rows()), columns=["seq", *COLUMNS])
    out: dict[str, object] = {"seq": rows["seq"].to_numpy(dtype=np.int64)}
    for name in COLUMNS:
        col = rows[name].to_numpy(dtype=np.int64)
        cats = CATEGORIES.get(name)
        if cats is None:
            out[name] = col.astype(frames._DTYPES.get(name, np.int64))
        else:
            out[name] = pd.Categorical.from_codes(col.astype(np.int8), categories=list(cats))
    return pd.DataFrame(out)


@_SETTINGS
@given(
    rows=st.lists(ROWS, max_size=120),
    chunk_rows=st.integers(1, 40),
    spill=st.booleans(),
    keep=st.integers(0, 2),
)
def test_events_equal_the_frame_of_row_tuples(rows, chunk_rows, spill, keep):
    log = EventLog(chunk_rows=chunk_rows)
    if spill:
        log.sink, log.keep = Box(), keep
    for row in sorted(rows):  # ticks never go backwards in a kernel's log
        log.emit(*row)
    got = frames.events(SimpleNamespace(log=log))  # type: ignore[arg-type]  # a log is enough
    want = general_frame(log)
    assert list(got.columns) == list(want.columns)
    assert got.dtypes.equals(want.dtypes)
    assert got.equals(want)
    if spill and len(log) > (keep + 1) * chunk_rows:
        assert log._spilled > 0  # the spilled chunks were read back, not skipped
