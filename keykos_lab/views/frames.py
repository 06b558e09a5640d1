"""Kernel state out to pandas in one call: the event log and the object table.

>>> import keykos_lab as kl
>>> k = kl.Kernel()
>>> _ = k.console.call(k.console["bank"], kl.oc.SB.CreatePage)
>>> ev = k.events()
>>> list(ev.columns[:4]), str(ev["event"].dtype)
(['seq', 'tick', 'event', 'jump'], 'category')
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import pandas as pd

from keykos_lab.kernel.domains import STATE_NAMES
from keykos_lab.kernel.eventlog import CATEGORIES, COLUMNS, FIELDS, ROW
from keykos_lab.kernel.past import past
from keykos_lab.kernel.snapshot import Snapshot
from keykos_lab.views.names import label_events

if TYPE_CHECKING:
    from keykos_lab.kernel.core import Kernel

_NFIELD = len(FIELDS)
#: Column dtypes other than int64: small ints, and int8 codes of the categoricals.
_DTYPES: dict[str, type[np.integer]] = {
    "databyte": np.int16,
    "n_keys": np.int8,
    **{name: np.int8 for name in CATEGORIES},
}


#: How the packed fields hold the small columns: (column, field, shift, mask, minus).
_PACKED = (
    ("event", "kind", 0, 15, 0),
    ("jump", "kind", 4, 15, 0),
    ("state_before", "kind", 8, 15, 0),
    ("state_after", "kind", 12, 15, 0),
    ("cause", "kind", 16, 0, 0),
    ("key_type", "keyf", 0, 255, 1),
    ("databyte", "keyf", 8, 511, 1),
    ("n_keys", "keyf", 17, 0, 0),
)


#: The stored fields that are int64 columns as they are, and where they sit in a row.
_WORDS = tuple(
    (name, FIELDS.index(name)) for name in ("tick", "actor", "target", "order", "rc", "string_len")
)
#: A row seen as 32-bit words: the low halves of ``kind`` and ``keyf`` hold every bit the
#: small columns take (``_PACKED``: the highest is bit 24 of ``keyf``, n_keys' last).
_KIND32, _KEYF32 = 2 * FIELDS.index("kind"), 2 * FIELDS.index("keyf")
_WORDS32 = 2 * _NFIELD


def _unpack_small(
    cols: dict[str, npt.NDArray[np.integer]],
    part: slice,
    kind: npt.NDArray[np.uint32],
    keyf: npt.NDArray[np.uint32],
) -> None:
    """The small columns of rows ``part`` from the low 32 bits of their ``kind`` and
    ``keyf`` (contiguous; both are overwritten), exactly as ``_PACKED`` says: each result
    is the low bits of the field shifted and masked, cast as an unsafe int64 cast would."""

    def out(name: str) -> npt.NDArray[np.unsignedinteger]:
        col = cols[name][part]
        return col.view(np.uint8 if col.itemsize == 1 else np.uint16)

    for name in ("event", "jump", "state_before", "state_after"):  # 4 bits each, in order
        np.bitwise_and(kind, 15, out=out(name), casting="unsafe")
        np.right_shift(kind, 4, out=kind)
    np.copyto(out("cause"), kind, casting="unsafe")  # kind >> 16, its low byte
    np.subtract(keyf, 1, out=out("key_type"), casting="unsafe")  # (keyf & 255) - 1
    np.right_shift(keyf, 8, out=keyf)
    databyte = out("databyte")
    np.bitwise_and(keyf, 511, out=databyte, casting="unsafe")
    np.subtract(databyte, 1, out=databyte)  # wraps 0 to 0xFFFF: int16 -1
    np.right_shift(keyf, 9, out=keyf)
    np.copyto(out("n_keys"), keyf, casting="unsafe")  # keyf >> 17, its low byte


def _columns(chunks: list[memoryview]) -> dict[str, npt.NDArray[np.integer]]:
    """The schema's columns (``seq`` aside) of packed chunks, in arrays allocated once.

    Each chunk is read field by field while it is in the cache: six strided copies for the
    int64 columns, two for the low words of ``kind`` and ``keyf`` into small contiguous
    buffers, then vectorised bit operations on those. No per-row Python, no stacked copy
    of the log, no log-length temporaries."""
    sizes = [len(c) // ROW.size for c in chunks]
    n = sum(sizes)
    cols: dict[str, npt.NDArray[np.integer]] = {
        name: np.empty(n, dtype=_DTYPES.get(name, np.int64)) for name in COLUMNS
    }
    most = max(sizes, default=0)
    kind_buf, keyf_buf = np.empty(most, np.uint32), np.empty(most, np.uint32)
    at = 0
    for chunk, m in zip(chunks, sizes):
        rows = np.frombuffer(chunk, dtype="<i8").reshape(m, _NFIELD)
        part = slice(at, at + m)
        for name, i in _WORDS:
            np.copyto(cols[name][part], rows[:, i])
        words = np.frombuffer(chunk, dtype="<u4").reshape(m, _WORDS32)
        kind, keyf = kind_buf[:m], keyf_buf[:m]
        np.copyto(kind, words[:, _KIND32])
        np.copyto(keyf, words[:, _KEYF32])
        _unpack_small(cols, part, kind, keyf)
        at += m
    return cols


def events(kernel: Kernel, *, labels: bool = False) -> pd.DataFrame:
    """One row per kernel event, typed columns (see docs/analyses.md#analyses-event-log).

    ``target``, ``databyte`` and ``rc`` hold -1 where the event has none;
    categorical columns hold NaN where they do not apply. ``labels=True`` adds the
    name columns ``actor_label``, ``target_label`` and ``order_name`` after them
    (:func:`keykos_lab.views.names.label_events`; the typed columns are unchanged).

    >>> import keykos_lab as kl
    >>> k = kl.Kernel()
    >>> _ = k.console.call(k.console["discrim"], kl.oc.KT)
    >>> last = events(k).iloc[-1]
    >>> str(last["event"]), str(last["key_type"]), int(last["rc"])
    ('invoke', 'discrim', 1033)
    >>> events(k, labels=True)[["actor_label", "target_label", "order_name"]].iloc[-1].tolist()
    ['console', 'discrim', 'KT']
    """
    cols = _columns(kernel.log.chunks())
    n = len(cols["tick"])
    data: dict[str, object] = {"seq": np.arange(n, dtype=np.int64)}
    for name in COLUMNS:
        cats = CATEGORIES.get(name)
        data[name] = (
            cols[name]
            if cats is None
            else pd.Categorical.from_codes(
                cols[name], categories=pd.Index(list(cats)), validate=False
            )
        )
    frame = pd.DataFrame(data, copy=False)
    return label_events(frame, kernel) if labels else frame


def objects(kernel: Kernel, at: int | None = None) -> pd.DataFrame:
    """One row per live page and node: id, kind, label, the domain it folds into, its
    allocation id, and for a domain's root its ``state`` and why it is ``parked`` (a
    domain that can never run until someone resets it: a trap with no keeper, a runaway
    the console stopped …; "" when it is not).

    >>> import keykos_lab as kl
    >>> k = kl.Kernel()
    >>> objs = objects(k); objs[objs["id"] == k.console.root]["kind"].item()
    'domain'
    >>> objs[objs["id"] == k.console.root][["state", "parked"]].values.tolist()
    [['running', '']]

    ``at=seq``: the objects as they were when event ``seq`` was logged (the kernel's history,
    as ``capability_graph(at=seq)``).
    """
    if at is not None:
        kernel = past(kernel, at)  # type: ignore[assignment]  # reads as a kernel
    snap = Snapshot(kernel)
    ids, kinds, labels, owners, allocs, states, parked = [], [], [], [], [], [], []
    for obj in kernel.objs:
        if obj is None:
            continue
        ids.append(obj.id)
        kind = snap.kind.get(obj.id)
        owner = snap.owner.get(obj.id, -1)
        kinds.append(kind if kind else "domain_part")
        labels.append(snap.label(obj.id) if kind else snap.label(owner) + " part")
        owners.append(owner)
        allocs.append(obj.alloc)
        ds = kernel.domains.get(obj.id) if kind == "domain" else None
        states.append(STATE_NAMES[ds.state] if ds is not None else "")
        parked.append(ds.parked or "" if ds is not None else "")
    kind_cats = ["page", "node", "segment", "meter", "domain", "domain_part"]
    return pd.DataFrame(
        {
            "id": np.array(ids, dtype=np.int64),
            "kind": pd.Categorical(kinds, categories=kind_cats),
            "label": pd.array(labels, dtype="string"),
            "domain": np.array(owners, dtype=np.int64),
            "alloc": np.array(allocs, dtype=np.int64),
            "state": pd.Categorical(states, categories=["", *STATE_NAMES.values()]),
            "parked": pd.array(parked, dtype="string"),
        }
    )
