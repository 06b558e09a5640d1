"""Names for the numbers of the event log: objects by their labels, order codes by name.

The event log (``k.events()``) holds ids and codes; :func:`label_events` adds three
categorical columns beside them, built with one lookup table per column (no Python
per row), so a million-row log gains them in milliseconds:

* ``actor_label`` — the acting domain's label (``"console"``, ``"echo #43"``, a name
  given with ``con.name`` or ``con.label``), ``"kernel"`` for the kernel's own rows;
* ``target_label`` — the label of the object the row's key designates, or the kernel
  object a misc or range key names (``"discrim"``, ``"page_range"``); NaN where none;
* ``order_name`` — the order code of a CALL or FORK (``jump`` call or fork) on a key
  whose orders ``keykos_lab.kernel.oc`` names: ``"Page.WriteData+0"``,
  ``"SB.CreatePage"``, ``"Node.Swap+3"``, ``"KT"``; NaN on other rows (a RETURN's
  code stays the number in ``order``).

Labels are the kernel's labels *now* (as ``k.objects()`` and ``k.capability_graph()``
show them), not as they were when the event happened; a start key's orders are named
after the program its domain runs now (``spacebank`` → ``SB``, ``sbt`` → ``SBT``).

>>> order_name("page", 4096), order_name("node", 19), order_name("start", 16, "spacebank")
('Page.WriteData+0', 'Node.Swap+3', 'SB.CreatePage')
>>> order_name("start", 16, "echo") is None, order_name("discrim", oc.KT)
(True, 'KT')
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import pandas as pd

from keykos_lab.kernel import oc
from keykos_lab.kernel.eventlog import JUMPS, KEY_TYPES, MISC_BASE
from keykos_lab.kernel.snapshot import Snapshot

if TYPE_CHECKING:
    from keykos_lab.kernel.core import Kernel

#: The ``oc`` class whose orders a key type takes (start keys: by program, below).
KEY_TYPE_ORDERS: dict[str, type] = {
    "page": oc.Page,
    "node": oc.Node,
    "fetch": oc.Node,
    "sense": oc.Node,
    "segment": oc.Segment,
    "meter": oc.Meter,
    "domain": oc.Domain,
    "node_range": oc.Range,
    "page_range": oc.Range,
    "discrim": oc.Discrim,
    "dkc": oc.DKC,
    "keybits": oc.KeyBits,
    "domtool": oc.DomTool,
    "systimer": oc.Systimer,
    "calclock": oc.Calclock,
}
#: The ``oc`` class whose orders a start key to a domain running this program takes.
PROGRAM_ORDERS: dict[str, type] = {"spacebank": oc.SB, "sbt": oc.SBT}
#: Orders that take an operand added to the code: (class, name) → how many values.
RANGED: dict[tuple[str, str], int] = {
    ("Page", "WriteData"): 4096,
    ("Page", "ReadData"): 4096,
    ("Node", "Fetch"): 16,
    ("Node", "Swap"): 16,
    ("Domain", "Get"): 16,
    ("Domain", "GetKey"): 16,
    ("Domain", "Swap"): 16,
    ("Domain", "SwapKey"): 16,
    ("SB", "Forbid"): 8,
}
#: Codes every key answers (the alleged key type) or most objects take.
COMMON = {oc.KT: "KT", oc.DESTROY: "DESTROY"}
KERNEL = "kernel"  # actor_label of the kernel's own rows (actor -1)
#: Key types whose target is a kernel object with no id: named after the type.
MISC_TARGETS = ("node_range", "page_range", *KEY_TYPES[MISC_BASE:])
_NAMING_JUMPS = ("call", "fork")


def orders(cls: type) -> dict[int, str]:
    """Code → name of the order codes an ``oc`` class names: its CamelCase attributes
    (the UPPER_CASE ones and the ``…AKT`` answers are answers, not orders).

    >>> orders(oc.Discrim)
    {0: 'Type', 1: 'Discreet', 2: 'Compare'}
    """
    out: dict[int, str] = {}
    for name, value in vars(cls).items():
        if name.startswith("_") or name.isupper() or name.endswith("AKT"):
            continue
        if isinstance(value, int) and not isinstance(value, bool):
            out.setdefault(value, name)
    return out


def order_name(key_type: str, order: int, program: str | None = None) -> str | None:
    """The name of ``order`` invoked on a key of ``key_type`` (a start key: to a
    domain running ``program``), as ``Class.Order`` or ``Class.Order+operand``;
    None when ``keykos_lab.kernel.oc`` does not name it.

    >>> order_name("domain", 1), order_name("domain", 17), order_name("sense", 0)
    ('Domain.GetMeter', 'Domain.GetKey+1', 'Node.Fetch+0')
    >>> order_name("start", 2, "sbt"), order_name("page", 12345)
    ('SBT.Create', None)
    """
    if order in COMMON:
        return COMMON[order]
    cls = PROGRAM_ORDERS.get(program or "") if key_type == "start" else None
    cls = cls or KEY_TYPE_ORDERS.get(key_type)
    return None if cls is None else _name_in(cls, order)


def _name_in(cls: type, order: int) -> str | None:
    if order in COMMON:
        return COMMON[order]
    exact = orders(cls)
    head = cls.__name__
    if order in exact and (head, exact[order]) not in RANGED:
        return f"{head}.{exact[order]}"
    for (owner, name), span in RANGED.items():
        base = getattr(cls, name, None) if owner == head else None
        if base is not None and base <= order < base + span:
            return f"{head}.{name}+{order - base}"
    return None


def label_events(events: pd.DataFrame, kernel: Kernel) -> pd.DataFrame:
    """``events`` (``k.events()``, or any slice of it) with ``actor_label``,
    ``target_label`` and ``order_name`` added (categoricals; see the module).

    >>> import keykos_lab as kl
    >>> k = kl.Kernel(); con = k.console
    >>> page = con.call(con["bank"], kl.oc.SB.CreatePage).keys[0]
    >>> con.label(page, "diary"); _ = con.call(page, kl.oc.Page.WriteData + 0, data=b"hi")
    >>> ev = label_events(k.events(), k)
    >>> ev[["actor_label", "target_label", "order_name"]].iloc[-1].tolist()
    ['console', 'diary', 'Page.WriteData+0']
    >>> ev["order_name"].iloc[0], ev["target_label"].iloc[0]
    ('SB.CreatePage', 'prime bank')
    """
    actor = events["actor"].to_numpy(dtype=np.int64)
    target = events["target"].to_numpy(dtype=np.int64)
    ktype = _codes(events["key_type"], KEY_TYPES)
    jump = _codes(events["jump"], JUMPS)
    names = _Labels(kernel)
    # One table over the ids, shifted by one so that -1 ("none") reads cell 0.
    top = int(max(actor.max(initial=-1), target.max(initial=-1)))
    seen = np.zeros(top + 2, dtype=bool)
    seen[actor + 1] = True
    seen[target + 1] = True
    seen[0] = False
    present = np.flatnonzero(seen)  # id + 1
    labels = [names.label(int(v) - 1) for v in present]
    # Categories: the labels of the ids present, "kernel", then the misc objects.
    cats, inverse = _unique([*labels, KERNEL, *MISC_TARGETS])
    n_ids = len(labels)
    table = np.full(top + 2, -1, dtype=np.int32)
    table[present] = inverse[:n_ids]
    target_codes = table[target + 1]
    table[0] = inverse[n_ids]  # actor -1: the kernel
    actor_codes = table[actor + 1]
    misc_code = np.full(len(KEY_TYPES) + 1, -1, dtype=np.int32)  # the last cell: NaN
    for t, c in zip(MISC_TARGETS, inverse[n_ids + 1 :]):
        misc_code[KEY_TYPES.index(t)] = c
    none = np.flatnonzero(target < 0)
    target_codes[none] = misc_code[ktype[none]]
    out = events.copy(deep=False)
    out["actor_label"] = pd.Categorical.from_codes(actor_codes, categories=cats, validate=False)
    out["target_label"] = pd.Categorical.from_codes(target_codes, categories=cats, validate=False)
    out["order_name"] = _order_names(events, ktype, jump, target, names)
    return out


class _Labels:
    """Labels as ``k.objects()`` has them, the snapshot built only when one is needed."""

    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel
        self._snap: Snapshot | None = None

    def label(self, oid: int) -> str:
        k = self.kernel
        given = k.store.labels.get(oid)
        if given:
            return given
        if self._snap is None:
            self._snap = Snapshot(k)
        snap = self._snap
        if oid not in snap.kind and oid in snap.owner:  # a domain's keys or registers node
            return snap.label(snap.owner[oid]) + " part"
        return snap.label(oid)

    def program(self, oid: int) -> str:
        k = self.kernel
        ds = k.domains.get(oid)
        return (ds.program if ds is not None else None) or k.program_image(oid) or ""


def _codes(column: pd.Series, cats: tuple[str, ...]) -> npt.NDArray[np.integer]:
    """Codes of a categorical column in ``cats`` order (-1 for NaN): the frame's own
    int8 codes when its categories are the schema's (they are: no copy, no search)."""
    dtype = column.dtype
    if isinstance(dtype, pd.CategoricalDtype) and tuple(dtype.categories) == cats:
        return column.cat.codes.to_numpy()
    return pd.Categorical(column.astype("object"), categories=list(cats)).codes


def _unique(names: list[str]) -> tuple[pd.Index, npt.NDArray[np.int64]]:
    codes, uniques = pd.factorize(pd.Index(names, dtype=object))
    return pd.Index(uniques, dtype=object), codes.astype(np.int64)


def _order_names(
    events: pd.DataFrame,
    ktype: npt.NDArray[np.integer],
    jump: npt.NDArray[np.integer],
    target: npt.NDArray[np.int64],
    names: _Labels,
) -> pd.Categorical:
    """``order_name``: the CALL and FORK rows on keys of a known class, grouped by
    (class, order) with one hash pass, each group named once, spread back by code."""
    n = len(events)
    codes = np.full(n, -1, dtype=np.int32)
    empty = pd.Index([], dtype=object)
    rows = np.flatnonzero((jump == JUMPS.index("call")) | (jump == JUMPS.index("fork")))
    if not len(rows):
        return pd.Categorical.from_codes(codes, categories=empty)
    order = events["order"].to_numpy(dtype=np.int64)[rows]
    kt = ktype[rows]
    cls = _KT_CLASS[kt]
    start = np.flatnonzero(kt == KEY_TYPES.index("start"))
    if len(start):  # start keys: by the program of the domain they start
        who = target[rows[start]] + 1  # id + 1: a table over the ids, as for labels
        seen = np.zeros(int(who.max(initial=0)) + 1, dtype=bool)
        seen[who] = True
        by_who = np.full(len(seen), -1, dtype=np.int16)
        for w in np.flatnonzero(seen[1:]).tolist():
            c = PROGRAM_ORDERS.get(names.program(w))
            by_who[w + 1] = -1 if c is None else _CLASSES.index(c)
        cls[start] = by_who[who]
    common = np.isin(order, list(COMMON))
    cls[common] = len(_CLASSES)  # named alike on every key
    keep = np.flatnonzero(cls >= 0)
    key = cls[keep].astype(np.int64) << 40 | order[keep] & ((1 << 40) - 1)
    group, uniques = pd.factorize(key)
    group_names = []
    for g in uniques.tolist():
        c, o = g >> 40, g & ((1 << 40) - 1)
        group_names.append(COMMON.get(o) if c == len(_CLASSES) else _name_in(_CLASSES[c], o))
    cats, first = _unique([g for g in group_names if g is not None])
    where = dict(zip([g for g in group_names if g is not None], first.tolist()))
    per_group = np.array([where.get(g, -1) if g else -1 for g in group_names], dtype=np.int32)
    codes[rows[keep]] = per_group[group]
    return pd.Categorical.from_codes(codes, categories=cats, validate=False)


#: Every class of orders, and each key type's index into it (-1: none; the last cell
#: for NaN key types).
_CLASSES: list[type] = list(dict.fromkeys([*KEY_TYPE_ORDERS.values(), *PROGRAM_ORDERS.values()]))
_KT_CLASS = np.full(len(KEY_TYPES) + 1, -1, dtype=np.int16)
for _t, _c in KEY_TYPE_ORDERS.items():
    _KT_CLASS[KEY_TYPES.index(_t)] = _CLASSES.index(_c)
