"""Capability graphs ↔ compact arrays, tables and files (docs/analyses.md#analyses-graph-schema).

``to_csr`` packs a capability graph into a :class:`CapabilityCSR`: one row of
small integer codes per key, sorted by holder, about 13 bytes a key plus 17 a
vertex. ``from_csr`` unpacks it again; ``to_pandas_edgelist`` gives a typed
table; ``write_node_link``/``read_node_link`` (JSON) and ``write_graphml`` give
files other tools read. Names are coded by their position in the tables below.

>>> import keykos_lab as kl
>>> G = kl.Kernel().capability_graph()
>>> csr = to_csr(G)
>>> csr.n_vertices == G.number_of_nodes(), csr.n_edges == G.number_of_edges()
(True, True)
>>> list(from_csr(csr).edges(keys=True, data=True)) == list(G.edges(keys=True, data=True))
True
"""

from __future__ import annotations

import json
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from itertools import islice
from os import PathLike
from typing import TYPE_CHECKING, Any, TypeAlias

import networkx as nx
import numpy as np
import numpy.typing as npt
import pandas as pd
from numpy.typing import ArrayLike

if TYPE_CHECKING:
    from scipy.sparse import csr_array

__all__ = [
    "KEY_TYPES",
    "SLOT_KINDS",
    "RIGHTS",
    "VERTEX_KINDS",
    "CapabilityCSR",
    "to_csr",
    "from_csr",
    "rights_of",
    "rights_mask",
    "sensory_mask",
    "rights_to_mask",
    "mask_to_rights",
    "to_pandas_edgelist",
    "write_graphml",
    "write_node_link",
    "read_node_link",
]

from keykos_lab.views.schema import (  # noqa: F401  (the schema's names, re-exported)
    KEY_TYPES,
    NOCALL,
    RIGHTS,
    RO,
    SLOT_KINDS,
    VERTEX_KINDS,
    is_sensory,
    rights_of,
)

# Codes by name; looked up with attribute values as found (any value, None when absent).
_KT: dict[Hashable, int] = {name: i for i, name in enumerate(KEY_TYPES)}
_SK: dict[Hashable, int] = {name: i for i, name in enumerate(SLOT_KINDS)}
_VK: dict[Hashable, int] = {name: i for i, name in enumerate(VERTEX_KINDS)}
_BIT = {word: 1 << i for i, word in enumerate(RIGHTS)}


def rights_to_mask(words: Iterable[str]) -> int:
    """The rights mask of a collection of rights words.

    >>> rights_to_mask({"read", "write"})
    3
    >>> rights_to_mask(frozenset())
    0
    """
    try:
        return sum(_BIT[w] for w in set(words))
    except KeyError as e:
        raise ValueError(f"unknown right {e.args[0]!r}; rights are {RIGHTS}") from None


def mask_to_rights(mask: int) -> frozenset[str]:
    """The rights words of a mask (the inverse of :func:`rights_to_mask`).

    >>> sorted(mask_to_rights(3))
    ['read', 'write']
    """
    return frozenset(w for i, w in enumerate(RIGHTS) if int(mask) >> i & 1)


def _tables() -> tuple[npt.NDArray[np.int16], npt.NDArray[np.bool_]]:
    """The schema's rules (``views.schema``) as lookup tables, derived from them."""
    rights = np.zeros((len(KEY_TYPES), 2), dtype=np.int16)  # [key type, RO bit]
    sensory = np.zeros((len(KEY_TYPES), 256), dtype=bool)
    for code, name in enumerate(KEY_TYPES):
        rights[code, 0] = rights_to_mask(rights_of(name, 0))
        rights[code, 1] = rights_to_mask(rights_of(name, RO))
        sensory[code] = [is_sensory(name, db) for db in range(256)]
    return rights, sensory


_RIGHTS_TABLE, _SENSORY_TABLE = _tables()


def rights_mask(key_type: ArrayLike, databyte: ArrayLike) -> npt.NDArray[np.int16]:
    """Rights masks the kernel gives keys of these type codes and databytes (vectorised).

    >>> [sorted(mask_to_rights(m)) for m in rights_mask([1, 1], [0, 0x80])]
    [['read', 'write'], ['read']]
    """
    db = np.asarray(databyte)
    return _RIGHTS_TABLE[np.asarray(key_type), (db & RO != 0).astype(np.intp)]


def sensory_mask(key_type: ArrayLike, databyte: ArrayLike) -> npt.NDArray[np.bool_]:
    """Whether keys of these type codes and databytes are sensory (vectorised).

    >>> sensory_mask([KEY_TYPES.index("page")] * 2, [0, 0x80]).tolist()
    [False, True]
    """
    return _SENSORY_TABLE[np.asarray(key_type), np.asarray(databyte)]


#: The values a CapabilityCSR's code arrays may hold (``indices``: a vertex's position).
_BOUNDS: dict[str, tuple[int, int]] = {
    "kind": (0, len(VERTEX_KINDS) - 1),
    "key_type": (0, len(KEY_TYPES) - 1),
    "slot_kind": (0, len(SLOT_KINDS) - 1),
    "databyte": (0, 255),
    "indices": (0, 0),
    "indptr": (0, 2**62),
    "slot": (-(2**15), 2**15 - 1),  # what an int16 holds: never wrapped by the dtype
    "rights": (-(2**15), 2**15 - 1),
}


@dataclass(frozen=True, slots=True, eq=False)
class CapabilityCSR:
    """A capability graph as arrays: vertices in order, keys sorted by holder.

    The keys held by vertex ``i`` are edges ``indptr[i]:indptr[i + 1]``, going to
    vertices ``indices[…]``, with per-key codes in ``key_type`` (index into
    :data:`KEY_TYPES`), ``slot_kind`` (:data:`SLOT_KINDS`), ``rights`` (a mask
    over :data:`RIGHTS`), and ``databyte``, ``slot``, ``sensory`` as they are.
    ``vertices`` holds the vertex ids (int64 when they are all ints, else
    objects); ``label`` and ``program`` are optional object arrays (``None``
    where a vertex has none). The constructor checks what it is given (one
    dimension, integers, codes and vertex positions in range, ``indptr`` from 0 and
    never decreasing; ``ValueError`` otherwise) and converts it to these dtypes (the
    annotations name them).

    >>> csr = CapabilityCSR([7, "misc:dkc"], [0, 5], [0, 1, 1], [1], [6], [0], [3], [0],
    ...                     [32], [False])
    >>> csr.n_vertices, csr.n_edges, csr.index_of("misc:dkc")
    (2, 1, 1)
    """

    vertices: npt.NDArray[Any]  # int64, or object (any hashable ids)
    kind: npt.NDArray[np.int8]
    indptr: npt.NDArray[np.int64]
    indices: npt.NDArray[np.int32]
    key_type: npt.NDArray[np.int8]
    databyte: npt.NDArray[np.int16]
    slot: npt.NDArray[np.int16]
    slot_kind: npt.NDArray[np.int8]
    rights: npt.NDArray[np.int16]
    sensory: npt.NDArray[np.bool_]
    label: npt.NDArray[np.object_] | None = None
    program: npt.NDArray[np.object_] | None = None
    _lookup: Callable[[Hashable], int | None] | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "vertices", _id_array(self.vertices))
        dtypes = {
            "kind": np.int8,
            "indptr": np.int64,
            "indices": np.int32,
            "key_type": np.int8,
            "databyte": np.int16,
            "slot": np.int16,
            "slot_kind": np.int8,
            "rights": np.int16,
            "sensory": bool,
        }
        n = len(self.vertices)
        for name, dtype in dtypes.items():
            given = np.asarray(getattr(self, name))
            if given.ndim != 1:
                raise ValueError(f"CapabilityCSR: {name} is a one-dimensional array")
            if given.size and name != "sensory" and given.dtype.kind not in "iub":
                raise ValueError(f"CapabilityCSR: {name} holds integers, not {given.dtype}")
            bounds = _BOUNDS.get(name)
            if bounds is not None and given.size:
                lo, hi = bounds if name != "indices" else (0, n - 1)
                if int(given.min()) < lo or int(given.max()) > hi:
                    raise ValueError(
                        f"CapabilityCSR: {name} holds values outside {lo}..{hi} "
                        f"({int(given.min())}..{int(given.max())})"
                    )
            object.__setattr__(self, name, given.astype(dtype, copy=False))
        for name in ("label", "program"):
            if getattr(self, name) is not None:
                object.__setattr__(self, name, _object_array(getattr(self, name)))
        m = len(self.indices)
        if len(self.kind) != n or len(self.indptr) != n + 1 or self.indptr[-1] != m:
            raise ValueError(
                "CapabilityCSR: kind needs n entries, indptr n + 1 ending in "
                f"n_edges (n={n}, n_edges={m})"
            )
        if self.indptr[0] != 0 or (np.diff(self.indptr) < 0).any():
            raise ValueError("CapabilityCSR: indptr starts at 0 and never decreases")
        for name in ("key_type", "databyte", "slot", "slot_kind", "rights", "sensory"):
            if len(getattr(self, name)) != m:
                raise ValueError(f"CapabilityCSR: {name} needs one entry per edge ({m})")
        for name in ("label", "program"):
            extra = getattr(self, name)
            if extra is not None and len(extra) != n:
                raise ValueError(f"CapabilityCSR: {name} needs one entry per vertex ({n})")

    def __repr__(self) -> str:
        return (
            f"CapabilityCSR(n_vertices={self.n_vertices}, n_edges={self.n_edges}, "
            f"nbytes={self.nbytes})"
        )

    @property
    def n_vertices(self) -> int:
        """Number of vertices.

        >>> from keykos_lab.analysis.generate import random_csr
        >>> random_csr(100, 300).n_vertices
        100
        """
        return len(self.vertices)

    @property
    def n_edges(self) -> int:
        """Number of keys (edges).

        >>> to_csr(nx.MultiDiGraph()).n_edges
        0
        """
        return len(self.indices)

    @property
    def nbytes(self) -> int:
        """Bytes held by the arrays (object arrays count their pointers only).

        >>> to_csr(nx.MultiDiGraph()).nbytes
        8
        """
        arrays = (
            self.vertices,
            self.kind,
            self.indptr,
            self.indices,
            self.key_type,
            self.databyte,
            self.slot,
            self.slot_kind,
            self.rights,
            self.sensory,
            self.label,
            self.program,
        )
        return sum(a.nbytes for a in arrays if a is not None)

    @property
    def bytes_per_key(self) -> float:
        """``nbytes`` per edge (vertex arrays included).

        >>> from keykos_lab.analysis.generate import random_csr
        >>> 13 < random_csr(1000, 5000).bytes_per_key < 20
        True
        """
        return self.nbytes / max(self.n_edges, 1)

    def index_of(self, vertex: Hashable) -> int:
        """The position of ``vertex`` in ``vertices``; ``ValueError`` if absent.

        >>> import keykos_lab as kl
        >>> k = kl.Kernel(); csr = to_csr(k.capability_graph())
        >>> csr.vertices[csr.index_of(k.console.root)] == k.console.root
        True
        """
        lookup = self._lookup
        if lookup is None:
            lookup = self._make_lookup()
            object.__setattr__(self, "_lookup", lookup)
        i = lookup(vertex)
        if i is None:
            raise ValueError(f"{vertex!r} is not a vertex")
        return i

    def _make_lookup(self) -> Callable[[Hashable], int | None]:
        v = self.vertices
        if v.dtype != object and (len(v) < 2 or bool(np.all(v[1:] > v[:-1]))):

            def sorted_lookup(x: Hashable) -> int | None:
                if isinstance(x, bool) or not isinstance(x, int | np.integer):
                    return None
                i = int(np.searchsorted(v, x))
                return i if i < len(v) and v[i] == x else None

            return sorted_lookup
        return {x: i for i, x in enumerate(v.tolist())}.get

    def sources(self) -> npt.NDArray[np.int32]:
        """The holder's vertex index for every edge (``indices`` are the targets).

        >>> from keykos_lab.analysis.generate import random_csr
        >>> csr = random_csr(50, 100)
        >>> bool((csr.sources()[1:] >= csr.sources()[:-1]).all())
        True
        """
        return np.repeat(np.arange(self.n_vertices, dtype=np.int32), np.diff(self.indptr))

    def to_scipy(self, data: str = "ones") -> csr_array:
        """A ``scipy.sparse.csr_array`` (n × n) sharing ``indices``, for ``csgraph``.

        ``data="ones"`` stores 1 per key (parallel keys are duplicate entries,
        summed by arithmetic); ``data="index"`` stores each edge's index, so a
        traversal can find the key (index 0 is an explicit zero: csgraph
        traversals follow it, but do not use these as weights).

        >>> from scipy.sparse import csgraph
        >>> import keykos_lab as kl
        >>> k = kl.Kernel(); csr = to_csr(k.capability_graph())
        >>> order = csgraph.breadth_first_order(csr.to_scipy(), csr.index_of(k.console.root),
        ...                                     return_predecessors=False)
        >>> len(order) > 10
        True
        """
        from scipy.sparse import csr_array

        values: npt.NDArray[np.signedinteger]
        if data == "ones":
            values = np.ones(self.n_edges, dtype=np.int8)
        elif data == "index":
            values = np.arange(self.n_edges, dtype=np.int64)
        else:
            raise ValueError(f"data must be 'ones' or 'index', not {data!r}")
        indptr: npt.NDArray[np.signedinteger] = self.indptr
        if self.n_edges < np.iinfo(np.int32).max:
            indptr = indptr.astype(np.int32)
        n = self.n_vertices
        return csr_array((values, self.indices, indptr), shape=(n, n), copy=False)


def _object_array(values: Iterable[object]) -> npt.NDArray[np.object_]:
    values = list(values)
    return np.fromiter(values, dtype=object, count=len(values))


def _id_array(vertices: Iterable[Hashable] | npt.NDArray[Any]) -> npt.NDArray[Any]:
    """int64 when every id is a Python/numpy int, else an object array."""
    if isinstance(vertices, np.ndarray) and vertices.dtype.kind in "iuO":
        return vertices if vertices.dtype == object else vertices.astype(np.int64, copy=False)
    vertices = list(vertices)
    if all(type(v) is int or isinstance(v, np.integer) for v in vertices):
        try:
            return np.array(vertices, dtype=np.int64).reshape(len(vertices))
        except OverflowError:
            pass
    return _object_array(vertices)


_EDGE = np.dtype(
    [
        ("s", np.int64),
        ("t", np.int64),
        ("kt", np.int16),
        ("db", np.int64),
        ("slot", np.int64),
        ("sk", np.int16),
        ("r", np.int32),
        ("sens", np.int8),
    ]
)


#: An edge as :func:`_edges` gives it: (u, v, key or None, attributes).
_EdgeRow: TypeAlias = tuple[Hashable, Hashable, Hashable | None, dict[str, Any]]


def _edges(G: nx.DiGraph) -> Iterable[_EdgeRow]:
    """(u, v, key, data) for every edge of a (multi)digraph, in G's order."""
    if isinstance(G, nx.MultiDiGraph):  # G.is_multigraph(), for the checker
        return G.edges(keys=True, data=True)
    return ((u, v, None, d) for u, v, d in G.edges(data=True))


def _check_graph(G: object) -> None:
    if not isinstance(G, nx.DiGraph | nx.MultiDiGraph):
        raise ValueError(f"expected a networkx MultiDiGraph or DiGraph, not {type(G).__name__}")


def _edge_name(G: nx.DiGraph, i: int) -> str:
    u, v, key, _ = next(islice(_edges(G), i, None))
    return f"edge {u!r} -> {v!r}" + ("" if key is None else f" (key {key!r})")


def to_csr(G: nx.MultiDiGraph | nx.DiGraph) -> CapabilityCSR:
    """Pack a capability graph into a :class:`CapabilityCSR`, in one pass over its edges.

    Kept: vertex order and ids, ``kind``, ``label``, ``program`` (domains), edge
    order and every schema edge attribute. Dropped: domains' ``nodes`` and
    ``state``, other attributes, edge keys (:func:`from_csr` renumbers them 0, 1,
    … per vertex pair, as networkx does). Missing ``databyte`` reads as 0,
    ``slot`` as -1, ``slot_kind`` as ``transient`` (slot -1) or ``slot``, and
    missing ``rights``/``sensory`` as what the kernel gives that key.

    >>> G = nx.MultiDiGraph()
    >>> G.add_node(1, kind="domain", label="d"); G.add_node(2, kind="page", label="p")
    >>> _ = G.add_edge(1, 2, key_type="page", databyte=0x80, slot=0, slot_kind="key_register")
    >>> csr = to_csr(G)
    >>> csr.indptr.tolist(), csr.indices.tolist(), mask_to_rights(csr.rights[0])
    ([0, 1, 1], [1], frozenset({'read'}))
    >>> to_csr(nx.Graph())
    Traceback (most recent call last):
    ValueError: expected a networkx MultiDiGraph or DiGraph, not Graph
    """
    _check_graph(G)
    verts = list(G)
    index = {v: i for i, v in enumerate(verts)}
    kind = np.array([_VK.get(d.get("kind"), -1) for d in G.nodes.values()], dtype=np.int8)
    if (bad := np.flatnonzero(kind < 0)).size:
        v = verts[bad[0]]
        raise ValueError(
            f"vertex {v!r} has kind {G.nodes[v].get('kind')!r}; kinds are {VERTEX_KINDS}"
        )
    masks: dict[frozenset[str], int] = {}

    def mask(r: Any) -> int:  # r: the ``rights`` attribute as found, any value
        if r is None:
            return -1
        try:
            return masks[r]
        except (KeyError, TypeError):
            try:
                m = rights_to_mask(r)
            except (ValueError, TypeError):
                return -2
            if isinstance(r, frozenset):
                masks[r] = m
            return m

    def row(u: Hashable, v: Hashable, d: Mapping[str, Any]) -> tuple[Any, ...]:
        slot = d.get("slot", -1)
        sk_name = d.get("slot_kind")
        if sk_name is None:
            sk_name = "transient" if slot == -1 else "slot"
        sk = _SK.get(sk_name, -1)
        sens = d.get("sensory")
        return (
            index[u],
            index[v],
            _KT.get(d.get("key_type"), -1),
            d.get("databyte", 0),
            slot,
            sk,
            mask(d.get("rights")),
            -1 if sens is None else bool(sens),
        )

    m = G.number_of_edges()
    try:
        e = np.fromiter((row(u, v, d) for u, v, _, d in _edges(G)), dtype=_EDGE, count=m)
    except (TypeError, ValueError, OverflowError):
        for i, (u, v, _, d) in enumerate(_edges(G)):
            try:
                np.array([row(u, v, d)], dtype=_EDGE)
            except (TypeError, ValueError, OverflowError) as err:
                raise ValueError(f"{_edge_name(G, i)}: attribute not an integer ({err})") from None
        raise
    _validate(G, e)
    rights = e["r"]
    if (missing := rights == -1).any():
        rights[missing] = rights_mask(e["kt"][missing], e["db"][missing])
    sensory = e["sens"]
    if (missing := sensory == -1).any():
        sensory[missing] = sensory_mask(e["kt"][missing], e["db"][missing])
    src = e["s"]
    if m and not (src[1:] >= src[:-1]).all():  # never for networkx's own iteration order
        e = e[np.argsort(src, kind="stable")]
        src = e["s"]
    indptr = np.zeros(len(verts) + 1, dtype=np.int64)
    np.cumsum(np.bincount(src, minlength=len(verts)), out=indptr[1:])
    nodes = G.nodes
    return CapabilityCSR(
        vertices=_id_array(verts),
        kind=kind,
        indptr=indptr,
        indices=e["t"],
        key_type=e["kt"],
        databyte=e["db"],
        slot=e["slot"],
        slot_kind=e["sk"],
        rights=e["r"],
        sensory=e["sens"].astype(bool),
        label=_object_array(nodes[v].get("label") for v in verts),
        program=_object_array(nodes[v].get("program") for v in verts),
    )


def _validate(G: nx.DiGraph, e: npt.NDArray[np.void]) -> None:
    checks = (
        (
            e["kt"] < 0,
            lambda d: (
                "has no key_type"
                if "key_type" not in d
                else f"has unknown key_type {d['key_type']!r}; key types are {KEY_TYPES}"
            ),
        ),
        (
            e["sk"] < 0,
            lambda d: f"has unknown slot_kind {d['slot_kind']!r}; slot kinds are {SLOT_KINDS}",
        ),
        (e["r"] == -2, lambda d: f"has rights {d['rights']!r}, not a set of {RIGHTS}"),
        (
            (e["db"] < 0) | (e["db"] > 255),
            lambda d: f"has databyte {d['databyte']!r}, not in 0..255",
        ),
        (
            (e["slot"] < -1) | (e["slot"] > 32767),
            lambda d: f"has slot {d['slot']!r}, not in -1..32767",
        ),
    )
    for bad, message in checks:
        if (where := np.flatnonzero(bad)).size:
            i = int(where[0])
            d = next(islice(_edges(G), i, None))[3]
            raise ValueError(f"{_edge_name(G, i)} {message(d)}")


def from_csr(csr: CapabilityCSR) -> nx.MultiDiGraph:
    """Unpack a :class:`CapabilityCSR` into a capability graph (the schema's types).

    Vertices get ``kind``, ``label`` (``"<kind> #<id>"`` when the CSR has no
    labels) and ``program`` where the CSR has one; edges are added in CSR order,
    so ``to_csr(from_csr(csr))`` gives the same arrays when each holder's keys
    to one target are adjacent (as :func:`to_csr` and the generator make them).

    >>> from keykos_lab.analysis.generate import random_csr
    >>> G = from_csr(random_csr(20, 40))
    >>> G.number_of_nodes(), G.number_of_edges(), G.nodes[0]["label"]
    (20, 40, 'domain #0')
    """
    verts = csr.vertices.tolist()
    kinds = [VERTEX_KINDS[c] for c in csr.kind.tolist()]
    labels = (
        csr.label.tolist() if csr.label is not None else [f"{k} #{v}" for k, v in zip(kinds, verts)]
    )
    programs = csr.program.tolist() if csr.program is not None else [None] * len(verts)
    G: nx.MultiDiGraph[Hashable] = nx.MultiDiGraph()
    G.add_nodes_from(
        (v, {"kind": k, "label": lab, "program": prog})
        for v, k, lab, prog in zip(verts, kinds, labels, programs)
    )
    for v, lab, prog in zip(verts, labels, programs):
        if lab is None or prog is None:
            attrs = G.nodes[v]
            for name, value in (("label", lab), ("program", prog)):
                if value is None:
                    del attrs[name]
    rights = {int(r): mask_to_rights(r) for r in np.unique(csr.rights)}
    src = csr.sources().tolist()
    G.add_edges_from(
        (
            verts[s],
            verts[t],
            {
                "key_type": KEY_TYPES[kt],
                "databyte": db,
                "slot": sl,
                "slot_kind": SLOT_KINDS[sk],
                "rights": rights[r],
                "sensory": se,
            },
        )
        for s, t, kt, db, sl, sk, r, se in zip(
            src,
            csr.indices.tolist(),
            csr.key_type.tolist(),
            csr.databyte.tolist(),
            csr.slot.tolist(),
            csr.slot_kind.tolist(),
            csr.rights.tolist(),
            csr.sensory.tolist(),
        )
    )
    return G


def _categorical(codes: npt.NDArray[np.integer], names: Iterable[str]) -> pd.Categorical[str]:
    return pd.Categorical.from_codes(codes.astype(np.int16), categories=pd.Index(list(names)))


def to_pandas_edgelist(G: nx.MultiDiGraph | nx.DiGraph | CapabilityCSR) -> pd.DataFrame:
    """One row per key, in the graph's edge order; name columns are categoricals.

    Columns ``source``, ``target``, ``key_type``, ``databyte``, ``slot``,
    ``slot_kind``, ``rights`` (sorted words joined by commas, a categorical) and
    ``sensory``. Accepts a graph or a :class:`CapabilityCSR`.

    >>> import keykos_lab as kl
    >>> df = to_pandas_edgelist(kl.Kernel().capability_graph())
    >>> df.dtypes["key_type"].name, sorted(df[df.key_type == "start"].rights.unique())
    ('category', ['call'])
    """
    csr = G if isinstance(G, CapabilityCSR) else to_csr(G)
    masks, inverse = np.unique(csr.rights, return_inverse=True)
    words = [",".join(sorted(mask_to_rights(r))) for r in masks]
    return pd.DataFrame(
        {
            "source": csr.vertices[csr.sources()],
            "target": csr.vertices[csr.indices],
            "key_type": _categorical(csr.key_type, KEY_TYPES),
            "databyte": csr.databyte,
            "slot": csr.slot,
            "slot_kind": _categorical(csr.slot_kind, SLOT_KINDS),
            "rights": pd.Categorical.from_codes(inverse.reshape(-1), categories=pd.Index(words)),
            "sensory": csr.sensory,
        }
    )


# ------------------------------------------------------------------------ files
#: What :func:`_plain` makes of an attribute value.
_Plain: TypeAlias = bool | str | int | float | list["_Plain"] | None


def _plain(value: object, *, lists: bool) -> _Plain:
    """A value GraphML (lists=False) or JSON (lists=True) can hold, or None to drop it."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, int | float):
        return value
    if isinstance(value, frozenset | set):
        return ",".join(sorted(map(str, value)))
    if isinstance(value, list | tuple):
        items = [_plain(x, lists=lists) for x in value]
        return items if lists else ",".join(map(str, items))
    return str(value)


def _exportable(G: nx.DiGraph, *, lists: bool) -> nx.DiGraph:
    _check_graph(G)
    ids: dict[str, Any] = {}
    for v in G:
        if not isinstance(v, int | str) or isinstance(v, bool):
            raise ValueError(f"vertex {v!r}: ids must be ints or strings to be written")
        if str(v) in ids and ids[str(v)] != v:
            raise ValueError(
                f"vertices {ids[str(v)]!r} and {v!r} would both be written as {str(v)!r}"
            )
        ids[str(v)] = v
    H = G.__class__()
    H.graph.update({k: p for k, x in G.graph.items() if (p := _plain(x, lists=lists)) is not None})

    def attrs(d: Mapping[str, Any]) -> dict[str, Any]:
        return {k: p for k, x in d.items() if (p := _plain(x, lists=lists)) is not None}

    H.add_nodes_from(
        (int(v) if isinstance(v, np.integer) else v, attrs(d)) for v, d in G.nodes(data=True)
    )
    if isinstance(G, nx.MultiDiGraph):  # G.is_multigraph(), for the checker
        # networkx stubs: MultiGraph.add_edges_from lacks (u, v, key, data) edges.
        H.add_edges_from(
            (u, v, k, attrs(d))  # type: ignore[misc]  # nx stubs: no 4-tuples
            for u, v, k, d in G.edges(keys=True, data=True)
        )
    else:
        H.add_edges_from((u, v, attrs(d)) for u, v, d in G.edges(data=True))
    return H


def write_graphml(G: nx.MultiDiGraph | nx.DiGraph, path: str | PathLike[str]) -> None:
    """Write GraphML for Gephi, Cytoscape, yEd: ids become strings, rights and lists
    comma-joined strings, ``None`` values left out.

    >>> import keykos_lab as kl, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "k.graphml")
    >>> write_graphml(kl.Kernel().capability_graph(), path)
    >>> nx.read_graphml(path).nodes["misc:dkc"]["kind"]
    'misc'
    """
    nx.write_graphml(_exportable(G, lists=False), path)


def write_node_link(G: nx.MultiDiGraph | nx.DiGraph, path: str | PathLike[str]) -> None:
    """Write node-link JSON (``networkx.node_link_data(..., edges="edges")``).

    Rights become sorted comma-joined strings; int and string ids stay as they
    are; :func:`read_node_link` restores the schema's types.

    >>> import keykos_lab as kl, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "k.json")
    >>> write_node_link(kl.Kernel().capability_graph(), path)
    >>> sorted(json.load(open(path)))
    ['directed', 'edges', 'graph', 'multigraph', 'nodes']
    """
    data = nx.node_link_data(_exportable(G, lists=True), edges="edges")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f)


def read_node_link(path: str | PathLike[str]) -> nx.MultiDiGraph:
    """Read node-link JSON written by :func:`write_node_link` (plain JSON, no code run).

    ``rights`` comes back a frozenset, ``sensory`` a bool, ``databyte`` and
    ``slot`` ints; a kernel graph comes back equal, attributes and order.

    >>> import keykos_lab as kl, tempfile, os
    >>> G = kl.Kernel().capability_graph()
    >>> path = os.path.join(tempfile.mkdtemp(), "k.json")
    >>> write_node_link(G, path)
    >>> H = read_node_link(path)
    >>> list(H.nodes(data=True)) == list(G.nodes(data=True))
    True
    >>> list(H.edges(keys=True, data=True)) == list(G.edges(keys=True, data=True))
    True
    """
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    if not isinstance(data, dict) or "nodes" not in data or "edges" not in data:
        raise ValueError(f"{path}: not node-link JSON with 'nodes' and 'edges'")
    read = nx.node_link_graph(data, directed=True, multigraph=True, edges="edges")
    # A file may say it is not a multigraph or not directed: then convert.
    G = read if isinstance(read, nx.MultiDiGraph) else nx.MultiDiGraph(read)
    for *_, d in G.edges(data=True):
        if isinstance(d.get("rights"), str):
            d["rights"] = frozenset(w for w in d["rights"].split(",") if w)
        for name in ("databyte", "slot"):
            if isinstance(d.get(name), float | str):
                d[name] = int(d[name])
        if "sensory" in d:
            d["sensory"] = bool(d["sensory"])
    return G
