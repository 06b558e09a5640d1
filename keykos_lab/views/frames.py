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
from keykos_lab.kernel.eventlog import CATEGORIES, COLUMNS, FIELDS
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
    chunks = [np.frombuffer(c, dtype="<i8").reshape(-1, _NFIELD) for c in kernel.log.chunks()]
    n = sum(len(rows) for rows in chunks)
    # Decode chunk by chunk into arrays allocated once: no stacked copy of the whole
    # log and no log-length temporaries, so memory stays near the frame's own size.
    cols: dict[str, npt.NDArray[np.integer]] = {
        name: np.empty(n, dtype=_DTYPES.get(name, np.int64)) for name in COLUMNS
    }
    at = 0
    for rows in chunks:
        part = slice(at, at + len(rows))
        f = dict(zip(FIELDS, np.ascontiguousarray(rows.T)))  # one pass: fields contiguous
        for name in ("tick", "actor", "target", "order", "rc", "string_len"):
            cols[name][part] = f[name]
        for name, field, shift, mask, minus in _PACKED:
            value = f[field] >> shift if shift else f[field]
            value = np.bitwise_and(value, mask) if mask else value
            np.subtract(value, minus, out=cols[name][part], casting="unsafe")
        at += len(rows)
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
