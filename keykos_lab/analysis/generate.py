"""Random KeyKOS-like capability systems, built as arrays (no Python loop per key).

Vertices come in blocks: domains (the subjects, 5 %), nodes (35 %), pages
(55 %), segments (3 %) and meters (2 %). Every domain holds a meter key (root
slot 1) and an address key (slot 3), some a keeper's start key (slot 2); every
meter but the first a key to its superior meter. The other keys sit in domains'
key registers and in node and segment slots 0–15, at most one key a slot, low
slots and some holders fuller than others; their types are drawn per holder
class, targets uniformly (start and meter keys favour a few popular servers).
``rights`` and ``sensory`` are what the kernel gives each key type and databyte.

>>> csr = random_csr(10_000, 50_000, seed=3)
>>> csr.n_vertices, csr.n_edges
(10000, 50000)
>>> G = random_system(100, 300, seed=3)
>>> sorted({d["key_type"] for *_, d in G.edges(data=True)})[:4]
['domain', 'fetch', 'meter', 'node']
"""

from __future__ import annotations

from typing import TypeAlias

import networkx as nx
import numpy as np
import numpy.typing as npt

from keykos_lab.analysis.convert import (
    KEY_TYPES,
    SLOT_KINDS,
    VERTEX_KINDS,
    CapabilityCSR,
    from_csr,
    rights_mask,
    sensory_mask,
)

__all__ = ["random_csr", "random_system"]

_KT = {name: i for i, name in enumerate(KEY_TYPES)}
_SK = {name: i for i, name in enumerate(SLOT_KINDS)}
_VK = {name: i for i, name in enumerate(VERTEX_KINDS)}

#: Shares of the non-domain objects (of all objects: 35 % nodes, 55 % pages, …).
_SHARES = {"page": 55 / 95, "segment": 3 / 95, "meter": 2 / 95}

#: Key-type weights for keys in general slots, by holder class.
_MIX = {
    "domain": {
        "start": 28,
        "page": 18,
        "node": 12,
        "segment": 8,
        "fetch": 5,
        "sense": 8,
        "meter": 6,
        "resume": 3,
        "domain": 3,
    },
    "node": {
        "page": 55,
        "node": 18,
        "fetch": 4,
        "sense": 4,
        "segment": 3,
        "start": 12,
        "meter": 1,
        "resume": 1,
        "domain": 1,
    },
    "segment": {"page": 70, "node": 18, "segment": 8, "sense": 2, "fetch": 2},
    "address": {"segment": 5, "node": 3, "page": 2},
}
#: The vertex kind each key type designates.
_TARGET = {
    "page": "page",
    "segment": "segment",
    "node": "node",
    "fetch": "node",
    "sense": "node",
    "meter": "meter",
    "start": "domain",
    "resume": "domain",
    "domain": "domain",
}
_HOLDER_WEIGHT = {"domain": 3.0, "node": 1.0, "segment": 1.5}
_SLOTS = 16


def _counts(n_objects: int, n_subjects: int) -> dict[str, int]:
    rest = n_objects - n_subjects
    meter = min(rest, max(1, int(rest * _SHARES["meter"]))) if rest else 0
    segment = min(rest - meter, int(rest * _SHARES["segment"]))
    page = min(rest - meter - segment, round(rest * _SHARES["page"]))
    node = rest - meter - segment - page
    return {"domain": n_subjects, "node": node, "page": page, "segment": segment, "meter": meter}


#: (holders, slot, slot kind, key type codes, targets): keys :func:`_fixed_keys` places.
_Fixed: TypeAlias = tuple[
    npt.NDArray[np.integer], int, str, npt.NDArray[np.int8], npt.NDArray[np.integer]
]


def _targets(
    rng: np.random.Generator,
    types: npt.NDArray[np.integer],
    first: dict[str, int],
    count: dict[str, int],
) -> npt.NDArray[np.int32]:
    """A target vertex for every key type code; start and meter keys skewed to low ids."""
    out = np.empty(len(types), dtype=np.int32)
    for name, kind in _TARGET.items():
        where = np.flatnonzero(types == _KT[name])
        if not where.size:
            continue
        u = rng.random(where.size)
        if name in ("start", "meter"):
            u = u**3
        out[where] = first[kind] + (u * count[kind]).astype(np.int32)
    return out


def _databytes(rng: np.random.Generator, types: npt.NDArray[np.integer]) -> npt.NDArray[np.int16]:
    db = np.zeros(len(types), dtype=np.int16)
    u = rng.random(len(types))
    page, seg = types == _KT["page"], types == _KT["segment"]
    db[page & (u < 0.4)] = 0x80  # read-only pages
    db[seg] = 2 + (u[seg] * 4).astype(np.int16)  # LSS 2..5
    db[seg & (u < 0.2)] |= 0x80  # RO segments
    db[seg & (u < 0.05)] |= 0x40  # sensory (RO|NOCALL)
    db[types == _KT["sense"]] = 0xC0
    start = types == _KT["start"]
    db[start & (u < 0.25)] = 1 + (u[start & (u < 0.25)] * 12).astype(np.int16)  # 1..3
    resume = types == _KT["resume"]
    db[resume] = np.where(u[resume] < 0.8, 2, np.where(u[resume] < 0.9, 0, 4))
    return db


def _draw_types(
    rng: np.random.Generator, mix: str, size: int, count: dict[str, int]
) -> npt.NDArray[np.int8]:
    """``size`` key type codes drawn from ``_MIX[mix]``, leaving out absent target kinds
    (code 0, ``data``, when none is present)."""
    weights = {t: w for t, w in _MIX[mix].items() if count[_TARGET[t]]}
    if not weights or not size:
        return np.zeros(size, dtype=np.int8)
    p = np.array(list(weights.values()), dtype=float)
    codes = np.array([_KT[t] for t in weights], dtype=np.int8)
    return codes[rng.choice(len(codes), size=size, p=p / p.sum())]


def _fixed_keys(
    rng: np.random.Generator, first: dict[str, int], count: dict[str, int]
) -> list[_Fixed]:
    """(holders, slot, slot kind, key types, targets) for root slots and superior meters."""
    doms = np.arange(first["domain"], first["domain"] + count["domain"], dtype=np.int64)
    meter = np.full(doms.size if count["meter"] else 0, _KT["meter"], dtype=np.int8)
    address = _draw_types(rng, "address", doms.size, count)
    has_address = address != 0
    keeper = doms[rng.random(doms.size) < 0.3]
    keeper_kt = np.full(keeper.size, _KT["start"], dtype=np.int8)
    sub = np.arange(1, count["meter"], dtype=np.int64)  # superior: a meter below i
    sup = first["meter"] + (rng.random(sub.size) * sub).astype(np.int64)
    return [
        (doms[: meter.size], 1, "meter", meter, _targets(rng, meter, first, count)),
        (
            doms[has_address],
            3,
            "address",
            address[has_address],
            _targets(rng, address[has_address], first, count),
        ),
        (keeper, 2, "keeper", keeper_kt, _targets(rng, keeper_kt, first, count)),
        (first["meter"] + sub, 1, "slot", np.full(sub.size, _KT["meter"], np.int8), sup),
    ]


def _general_slots(
    rng: np.random.Generator,
    n: int,
    holders: npt.NDArray[np.integer],
    classes: npt.NDArray[np.integer],
) -> npt.NDArray[np.int64]:
    """``n`` distinct slot positions (holder * 16 + slot), weighted by holder class, a
    random per-holder fullness and slot number: exponential clocks, the first ``n`` win."""
    capacity = len(holders) * _SLOTS
    if n >= capacity or not n:
        return np.arange(min(n, capacity), dtype=np.int64)
    weight = np.array(list(_HOLDER_WEIGHT.values()), dtype=np.float32)[classes] * rng.lognormal(
        0.0, 1.0, len(classes)
    ).astype(np.float32)
    slot_weight = 1 / (1 + np.arange(_SLOTS, dtype=np.float32) / 4)
    clocks = rng.standard_exponential(capacity, dtype=np.float32).reshape(-1, _SLOTS)
    clocks /= weight[:, None] * slot_weight[None, :]
    return np.sort(np.argpartition(clocks.reshape(-1), n)[:n]).astype(np.int64)


def random_csr(
    n_objects: int, n_keys: int, *, n_subjects: int | None = None, seed: int = 0
) -> CapabilityCSR:
    """A random KeyKOS-like system of ``n_objects`` vertices holding ``n_keys`` keys.

    ``n_subjects`` domains (default ``n_objects // 20``, at least one); the same
    ``seed`` gives identical arrays. Vertex ids are ``0 … n_objects - 1`` in
    blocks of kind; each holder's keys are sorted by target, then slot. Raises
    ``ValueError`` when the keys do not fit the slots (about 7 keys an object).

    >>> csr = random_csr(1000, 4000, seed=1)
    >>> (csr.n_vertices, csr.n_edges)
    (1000, 4000)
    >>> [VERTEX_KINDS[c] for c in np.unique(csr.kind)]
    ['domain', 'node', 'page', 'segment', 'meter']
    >>> bool((random_csr(1000, 4000, seed=1).indices == csr.indices).all())
    True
    """
    if n_objects < 0 or n_keys < 0:
        raise ValueError("n_objects and n_keys must be non-negative")
    if n_objects >= 2**31:
        raise ValueError("at most 2**31 - 1 objects (int32 indices)")
    if n_subjects is None:
        n_subjects = max(1, n_objects // 20) if n_objects else 0
    if not (1 if n_objects else 0) <= n_subjects <= n_objects:
        raise ValueError(f"n_subjects must be in 1..n_objects, not {n_subjects}")
    rng = np.random.default_rng(seed)
    count = _counts(n_objects, n_subjects)
    first = dict(zip(VERTEX_KINDS[:5], np.cumsum([0] + [count[k] for k in VERTEX_KINDS[:4]])))
    first = {k: int(v) for k, v in first.items()}

    fixed = _fixed_keys(rng, first, count)
    src, slot, slot_kind, key_type, tgt = (
        np.concatenate([np.asarray(p[0], np.int32) for p in fixed]),
        np.concatenate([np.full(p[0].size, p[1], np.int16) for p in fixed]),
        np.concatenate([np.full(p[0].size, _SK[p[2]], np.int8) for p in fixed]),
        np.concatenate([p[3] for p in fixed]),
        np.concatenate([np.asarray(p[4], np.int32) for p in fixed]),
    )
    if len(src) > n_keys:
        keep = np.sort(rng.choice(len(src), size=n_keys, replace=False))
        src, slot, slot_kind, key_type, tgt = (
            src[keep],
            slot[keep],
            slot_kind[keep],
            key_type[keep],
            tgt[keep],
        )

    classes = np.repeat(
        np.arange(3, dtype=np.int8), [count["domain"], count["node"], count["segment"]]
    )
    holders = np.concatenate(
        [np.arange(first[k], first[k] + count[k]) for k in ("domain", "node", "segment")]
    ).astype(np.int32)
    n_general = n_keys - len(src)
    if n_general > len(holders) * _SLOTS:
        raise ValueError(
            f"{n_keys} keys do not fit {n_objects} objects: at most "
            f"{len(holders) * _SLOTS + len(src)} (16 slots a domain, node "
            "or segment, and the root slots)"
        )
    holder, gen_slot = np.divmod(_general_slots(rng, n_general, holders, classes), _SLOTS)
    gen_class = classes[holder]
    gen_kt = np.zeros(n_general, dtype=np.int8)
    for c, mix in enumerate(("domain", "node", "segment")):
        where = np.flatnonzero(gen_class == c)
        gen_kt[where] = _draw_types(rng, mix, where.size, count)
    src = np.concatenate([src, holders[holder]])
    slot = np.concatenate([slot, gen_slot.astype(np.int16)])
    slot_kind = np.concatenate(
        [slot_kind, np.where(gen_class == 0, _SK["key_register"], _SK["slot"]).astype(np.int8)]
    )
    key_type = np.concatenate([key_type, gen_kt])
    tgt = np.concatenate([tgt, _targets(rng, gen_kt, first, count)])
    databyte = _databytes(rng, key_type)

    del holder, gen_slot, gen_class, gen_kt
    order = (src.astype(np.int64) * max(n_objects, 1) + tgt) * _SLOTS + slot
    order = np.argsort(order, kind="stable")
    src, tgt, key_type, databyte, slot, slot_kind = (
        src[order],
        tgt[order],
        key_type[order],
        databyte[order],
        slot[order],
        slot_kind[order],
    )
    del order
    indptr = np.zeros(n_objects + 1, dtype=np.int64)
    np.cumsum(np.bincount(src, minlength=n_objects), out=indptr[1:])
    kind = np.repeat(np.arange(5, dtype=np.int8), [count[k] for k in VERTEX_KINDS[:5]])
    return CapabilityCSR(
        vertices=np.arange(n_objects, dtype=np.int64),
        kind=kind,
        indptr=indptr,
        indices=tgt,
        key_type=key_type,
        databyte=databyte,
        slot=slot,
        slot_kind=slot_kind,
        rights=rights_mask(key_type, databyte),
        sensory=sensory_mask(key_type, databyte),
    )


def random_system(
    n_objects: int, n_keys: int, *, n_subjects: int | None = None, seed: int = 0
) -> nx.MultiDiGraph:
    """``from_csr(random_csr(...))``: a random system as a capability graph (small sizes).

    >>> G = random_system(60, 200, seed=7)
    >>> G.number_of_nodes(), G.number_of_edges()
    (60, 200)
    >>> G.nodes[0]["kind"], G.nodes[0]["label"]
    ('domain', 'domain #0')
    """
    return from_csr(random_csr(n_objects, n_keys, n_subjects=n_subjects, seed=seed))
