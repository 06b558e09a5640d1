"""Kernel state out to pandas in one call: the event log and the object table.

>>> import keykos_lab as kl
>>> k = kl.Kernel()
>>> _ = k.console.call(k.console["bank"], kl.oc.SB.CreatePage)
>>> ev = k.events()
>>> list(ev.columns[:4]), str(ev["event"].dtype)
(['seq', 'tick', 'event', 'jump'], 'category')
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .kernel.eventlog import CATEGORIES, COLUMNS, FIELDS
from .kernel.snapshot import Snapshot

_NFIELD = len(FIELDS)
_SMALL = {"databyte": np.int16, "n_keys": np.int8}


def events(kernel) -> pd.DataFrame:
    """One row per kernel event, typed columns (see DESIGN.md, event log schema).

    ``target``, ``databyte`` and ``rc`` hold -1 where the event has none;
    categorical columns hold NaN where they do not apply.

    >>> import keykos_lab as kl
    >>> k = kl.Kernel()
    >>> _ = k.console.call(k.console["discrim"], kl.oc.KT)
    >>> last = events(k).iloc[-1]
    >>> str(last["event"]), str(last["key_type"]), int(last["rc"])
    ('invoke', 'discrim', 1033)
    """
    chunks = kernel.log.chunks()
    if chunks:
        parts = [np.frombuffer(c, dtype="<i8").reshape(-1, _NFIELD) for c in chunks]
        rows = parts[0] if len(parts) == 1 else np.concatenate(parts)
    else:
        rows = np.empty((0, _NFIELD), dtype=np.int64)
    f = {name: rows[:, i] for i, name in enumerate(FIELDS)}
    kind, keyf = f["kind"], f["keyf"]
    cols = {
        "tick": f["tick"], "event": kind & 15, "jump": (kind >> 4) & 15, "actor": f["actor"],
        "key_type": (keyf & 255) - 1, "target": f["target"],
        "databyte": ((keyf >> 8) & 511) - 1, "order": f["order"], "rc": f["rc"],
        "n_keys": keyf >> 17, "string_len": f["string_len"],
        "state_before": (kind >> 8) & 15, "state_after": (kind >> 12) & 15, "cause": kind >> 16,
    }
    data: dict[str, object] = {"seq": np.arange(len(rows), dtype=np.int64)}
    for name in COLUMNS:
        col = cols[name]
        cats = CATEGORIES.get(name)
        if cats is not None:
            data[name] = pd.Categorical.from_codes(col.astype(np.int8), categories=list(cats))
        else:
            data[name] = np.ascontiguousarray(col, dtype=_SMALL.get(name, np.int64))
    return pd.DataFrame(data, copy=False)


def objects(kernel) -> pd.DataFrame:
    """One row per live page and node: id, kind, label, the domain it folds into.

    >>> import keykos_lab as kl
    >>> k = kl.Kernel()
    >>> objs = objects(k); objs[objs["id"] == k.console.root]["kind"].item()
    'domain'
    """
    snap = Snapshot(kernel)
    ids, kinds, labels, owners, allocs = [], [], [], [], []
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
    kind_cats = ["page", "node", "segment", "meter", "domain", "domain_part"]
    return pd.DataFrame({
        "id": np.array(ids, dtype=np.int64),
        "kind": pd.Categorical(kinds, categories=kind_cats),
        "label": pd.array(labels, dtype="string"),
        "domain": np.array(owners, dtype=np.int64),
        "alloc": np.array(allocs, dtype=np.int64),
    })
