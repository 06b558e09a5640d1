"""The fast engine: authority on arrays (scipy.sparse), for large systems.

Same rules as the reference (:mod:`.authority`), computed on a
:class:`~.convert.CapabilityCSR` for systems where every domain acts freely (no
system programs — the generated systems of :mod:`.generate`, specs read from
elsewhere). It rests on one observation: parties that can *store* into each
other end up holding the same keys. A domain holding a node or domain key to an
object, or a start or resume key to another domain, shares every key with it,
so they form one **group** (``connected_components``); a group sees its own keys
and, through fetch keys, what the groups it reads see (breadth-first search on
the condensed graph); through sense keys, the sensory versions. Groups grow
while what they see includes node, domain or start keys to outside: a few
rounds, each linear.

Each domain ``d`` is split in two: ``d`` (its key registers, what its program
uses) and a root vertex ``n + d`` (its meter, keeper and memory slots), which
only someone holding a key *to* ``d`` reads. Tests prove the engine equal to
the reference on generated systems.

>>> from keykos_lab.analysis import random_csr
>>> csr = random_csr(2_000, 8_000, seed=1)
>>> engine = FastAuthority(csr)
>>> s = int(np.flatnonzero(csr.kind == 0)[0])          # a domain
>>> keys = engine.authority(s)                          # (target, type code, databyte) rows
>>> keys.shape[1], len(keys) > 0
(3, True)
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import Any, TypeAlias

import networkx as nx
import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.sparse import coo_array, csr_array
from scipy.sparse.csgraph import breadth_first_order, connected_components

from keykos_lab.analysis.convert import (
    KEY_TYPES,
    SLOT_KINDS,
    CapabilityCSR,
    rights_of,
    sensory_mask,
    to_csr,
)
from keykos_lab.analysis.model import CONTROLLED, SYSTEM_PROGRAMS, USABLE
from keykos_lab.views.schema import sensory

_T = {name: i for i, name in enumerate(KEY_TYPES)}
_S = {name: i for i, name in enumerate(SLOT_KINDS)}
NODE, FETCH, SENSE, DOMAIN = _T["node"], _T["fetch"], _T["sense"], _T["domain"]
START, RESUME, PAGE, SEGMENT, METER = (_T["start"], _T["resume"], _T["page"], _T["segment"],
                                       _T["meter"])
RO, RETURN, FAULT = 0x80, 2, 4
FRONTEND = _T["frontend"]
#: Keys the reference gives modelled behaviour (creation, identification).
_MODELLED = ("domtool", "node_range", "page_range")
_USABLE = np.array([name in USABLE for name in SLOT_KINDS])
_ROOT = np.array([name in CONTROLLED and name not in USABLE for name in SLOT_KINDS])


#: Integer arrays as the engine computes them (vertex indices, codes, masks' positions).
_Ints: TypeAlias = npt.NDArray[np.integer]


def _sensory_tables() -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Per (type code, databyte): the sensory version's type code (-1: DK(0)) and databyte."""
    kt = np.full((len(KEY_TYPES), 256), -1, dtype=np.int64)
    db = np.zeros((len(KEY_TYPES), 256), dtype=np.int64)
    for t, name in enumerate(KEY_TYPES):
        for b in range(256):
            version = sensory(name, b)
            if version is not None:
                kt[t, b], db[t, b] = _T[version[0]], version[1]
    return kt, db


_SENSORY_KT, _SENSORY_DB = _sensory_tables()


class FastAuthority:
    """The groups of a whole system, ready to answer ``authority(s)`` per subject."""

    _flow: csr_array | None = None            # flow_graph(), once computed

    def __init__(self, csr: CapabilityCSR) -> None:
        if csr.program is not None:
            busy = sorted({p for p in csr.program if p in SYSTEM_PROGRAMS})
            if busy:
                raise ValueError(f"the fast engine assumes every domain acts freely; this "
                                 f"system runs {busy}: use engine='reference'")
        special = np.isin(csr.key_type, [_T[t] for t in _MODELLED])
        if special.any():
            names = sorted({KEY_TYPES[t] for t in csr.key_type[special]})
            raise ValueError(f"the fast engine has no rules for {names} keys "
                             "(the reference models them): use engine='reference'")
        self.csr = csr
        n = self.n = csr.n_vertices
        self.domain = np.asarray(csr.kind == 0)
        src = np.repeat(np.arange(n, dtype=np.int64), np.diff(csr.indptr))
        dst = csr.indices.astype(np.int64)
        kt, db = csr.key_type.astype(np.int64), csr.databyte.astype(np.int64)
        sk = csr.slot_kind.astype(np.int64)
        # A domain trapping hands its keeper its domain key and a fault key.
        kept = (sk == _S["keeper"]) & np.isin(kt, (START, RESUME)) & self.domain[src] & \
            self.domain[dst]
        k_src, k_dst, m = dst[kept], src[kept], int(kept.sum())
        src = np.concatenate([src, k_src, k_src])
        dst = np.concatenate([dst, k_dst, k_dst])
        kt = np.concatenate([kt, np.full(m, DOMAIN), np.full(m, RESUME)])
        db = np.concatenate([db, np.zeros(m, np.int64), np.full(m, FAULT)])
        sk = np.concatenate([sk, np.full(2 * m, _S["key_register"])])
        # Who holds each key: a domain's registers (d), its root (n + d), an object.
        mine = self.domain[src]
        keep = ~mine | _USABLE[sk] | _ROOT[sk]
        holder = np.where(mine & ~_USABLE[sk], src + n, src)
        self.holder, self.dst, self.kt, self.db = holder[keep], dst[keep], kt[keep], db[keep]
        self.root_of = np.where(self.domain[self.dst], self.dst + n, -1)   # -1: not a domain
        self._group()

    # ----------------------------------------------------------- the groups
    def _group(self) -> None:
        n2 = 2 * self.n
        holder, dst, root_of, kt = self.holder, self.dst, self.root_of, self.kt
        stores = np.isin(kt, (NODE, DOMAIN))                   # join the object and its root
        channel = np.isin(kt, (START, RESUME)) & self.domain[dst]
        joins = stores | channel
        fetch = kt == FETCH
        vertices = np.arange(n2)
        group, n_groups = vertices, n2
        while True:
            active = np.zeros(n2, dtype=bool)
            active[group[np.flatnonzero(self.domain)]] = True
            hg = group[holder]
            # Pulls between groups: fetch keys, to the object and a domain's root.
            pulls = self._edges(hg[fetch], dst[fetch], root_of[fetch], group, n2)
            reach = self._reached(pulls, np.flatnonzero(active), n2)
            # A group that sees a node, domain or start key joins its target. Keys
            # seen through fetches are carried by "stars" (vertex n2 + group): an
            # active group joins its own star, each star those of the groups it
            # fetches from, and every star the targets of the keys its group holds.
            seen = joins & reach[hg]
            star = n2 + hg[seen]
            has_root = stores[seen] & (root_of[seen] >= 0)
            # A star links to a child's only if that child leads to such keys: two
            # groups that fetch from one holding none must not be joined through it.
            live = self._reached(pulls.T.tocsr(), _unique(hg[seen]), n2)
            pu, pv = pulls.nonzero()
            inside = reach[pu] & reach[pv] & live[pv]
            acting = np.flatnonzero(active)
            a = np.concatenate([vertices, star, star[has_root], n2 + pu[inside], acting])
            b = np.concatenate([group, dst[seen], root_of[seen][has_root], n2 + pv[inside],
                                n2 + acting])
            graph = coo_array((np.ones(len(a), np.int8), (a, b)), shape=(2 * n2, 2 * n2))
            count, labels = connected_components(graph, directed=False)
            leader = np.full(count, 2 * n2)
            np.minimum.at(leader, labels[:n2], vertices)
            new = leader[labels[:n2]]
            groups = int((new == vertices).sum())          # a group is named by its least vertex
            if groups == n_groups:
                break
            group, n_groups = new, groups
        self.group = group
        self.active = np.zeros(n2, dtype=bool)
        self.active[group[np.flatnonzero(self.domain)]] = True
        hg = group[holder]
        self.pulls = self._edges(hg[fetch], dst[fetch], root_of[fetch], group, n2)
        readable = np.isin(kt, (FETCH, SENSE, NODE))          # what a sense key reaches on
        self.senses = self._edges(hg[readable], dst[readable], root_of[readable], group, n2)
        self.holder_group = hg

    @staticmethod
    def _edges(src_group: _Ints, dst: _Ints, root: _Ints, group: _Ints, n2: int) -> csr_array:
        """Group-level edges to the objects' groups and, for domains, their roots'."""
        has_root = root >= 0
        a = np.concatenate([src_group, src_group[has_root]])
        b = np.concatenate([group[dst], group[root[has_root]]])
        return csr_array((np.ones(len(a), np.int8), (a, b)), shape=(n2, n2))

    @staticmethod
    def _reached(graph: csr_array, starts: npt.ArrayLike, n2: int) -> npt.NDArray[np.bool_]:
        """Vertices reachable from any of ``starts`` (a mask), level by level."""
        mask = np.zeros(n2, dtype=bool)
        frontier = _unique(np.asarray(starts, dtype=np.int64))
        if len(frontier) == 1:
            mask[breadth_first_order(graph, int(frontier[0]), directed=True,
                                     return_predecessors=False)] = True
            return mask
        indptr, indices = graph.indptr, graph.indices
        while len(frontier):
            mask[frontier] = True
            lo, hi = indptr[frontier], indptr[frontier + 1]
            sizes = hi - lo
            if not sizes.sum():
                break
            take = np.repeat(lo - np.cumsum(np.concatenate([[0], sizes[:-1]])), sizes) + \
                np.arange(sizes.sum())
            nxt = indices[take]
            frontier = _unique(nxt[~mask[nxt]])
        return mask

    # --------------------------------------------------------------- answers
    def authority(self, subject: int) -> npt.NDArray[np.int64]:
        """(target, key type code, databyte) rows: every key ``subject`` (a
        vertex index of a domain) can come to hold, without duplicates."""
        if not 0 <= subject < self.n or not self.domain[subject]:
            raise ValueError(f"vertex index {subject} is not a domain")
        n2 = 2 * self.n
        full = self._reached(self.pulls, [self.group[subject]], n2)
        seen = full[self.holder_group]
        held = _unique(_code(self.dst[seen], self.kt[seen], self.db[seen]))
        codes = [held, _derived(held)]
        # Sense keys seen (and those it makes from node and fetch keys): their
        # targets' groups, and all those read on from there, diminished.
        sense = seen & np.isin(self.kt, (SENSE, NODE, FETCH))
        starts = _unique(np.concatenate([
            self.group[self.dst[sense]],
            self.group[self.root_of[sense][self.root_of[sense] >= 0]]]))
        sensed = self._reached(self.senses, starts, n2)
        dim = sensed[self.holder_group]
        # Weaker keys exist where a domain holds the key: in what the active groups
        # among the sensed ones fetch.
        makers = self._reached(self.pulls, np.flatnonzero(sensed & self.active), n2)
        acting = dim & makers[self.holder_group]
        seen_dim = _unique(_code(self.dst[dim], self.kt[dim], self.db[dim]))
        made = _derived(_unique(_code(self.dst[acting], self.kt[acting], self.db[acting])))
        codes.append(_diminished(_unique(np.concatenate([seen_dim, made]))))
        code = _unique(np.concatenate(codes))
        return np.stack([code >> 16, (code >> 8) & 0xFF, code & 0xFF], axis=1)

    # ------------------------------------------------------------------ flows
    def flow_graph(self) -> csr_array:
        """Information flow as a directed graph over ``7 n`` vertices: the objects
        ``0..n-1``, then per group a writer ``W``, a reader ``R`` and a channel
        reader ``Rf`` (what it learns by replies and control). A domain passes what
        it knows to its group's ``W``; ``W`` reaches what the group's keys (and the
        keys it fetches) write; what any key it can read — through fetch, node or
        sense keys, diminished or not — reads reaches ``R``; replies reach ``Rf``."""
        if self._flow is not None:
            return self._flow
        n, csr = self.n, self.csr
        W, R, Rf = n, 3 * n, 5 * n
        dom = np.flatnonzero(self.domain)
        g = self.group
        hg, dst, kt = self.holder_group, self.dst, self.kt
        ro = (self.db & RO != 0).astype(np.int64)
        rights = _RIGHTS_OUT[kt, ro], _RIGHTS_IN[kt, ro]
        channel = np.isin(kt, (START, RESUME, DOMAIN))
        a: list[_Ints] = [dom, R + g[dom], Rf + g[dom]]
        b: list[_Ints] = [W + g[dom], dom, dom]
        pu, pv = self.pulls.nonzero()
        a += [W + pu, Rf + pv]
        b += [W + pv, Rf + pu]
        su, sv = self.senses.nonzero()
        a.append(R + sv)
        b.append(R + su)
        out = rights[0] | channel
        a += [W + hg[out], dst[rights[1]], dst[channel]]
        b += [dst[out], R + hg[rights[1]], Rf + hg[channel]]
        # A domain's own memory, and the trees behind memory someone can address.
        src = np.repeat(np.arange(n), np.diff(csr.indptr))
        e_kt, e_sk = csr.key_type.astype(np.int64), csr.slot_kind.astype(np.int64)
        e_db = (csr.databyte.astype(np.int64) & RO != 0).astype(np.int64)
        addr = (e_sk == _S["address"]) & self.domain[src]
        a += [src[addr & _RIGHTS_OUT[e_kt, e_db]], csr.indices[addr & _RIGHTS_IN[e_kt, e_db]]]
        b += [csr.indices[addr & _RIGHTS_OUT[e_kt, e_db]], src[addr & _RIGHTS_IN[e_kt, e_db]]]
        reached = self._reached(self.pulls, np.flatnonzero(self.active), 2 * n)
        roots = np.concatenate([csr.indices[addr | np.isin(e_kt, (SEGMENT, _T["frontend"]))],
                                dst[(kt == NODE) & reached[hg]]])
        tree = (e_sk == _S["slot"]) & np.isin(e_kt, _MEMORY) & ~self.domain[src]
        t_graph = csr_array((np.ones(int(tree.sum()), np.int8), (src[tree], csr.indices[tree])),
                            shape=(n, n))
        inside = self._reached(t_graph, _unique(roots), n)
        link = tree & inside[src]
        a += [src[link], csr.indices[link]]
        b += [csr.indices[link], src[link]]
        rows, cols = np.concatenate(a), np.concatenate(b)
        self._flow = csr_array((np.ones(len(rows), np.int8), (rows, cols)), shape=(7 * n, 7 * n))
        return self._flow

    def flows(self, subjects: npt.ArrayLike) -> npt.NDArray[np.bool_]:
        """The flow matrix (bool, sources × sinks) between vertex indices."""
        F = self.flow_graph()
        count, labels = connected_components(F, directed=True, connection="strong")
        a, b = F.nonzero()
        cross = labels[a] != labels[b]
        dag = csr_array((np.ones(int(cross.sum()), np.int8), (labels[a][cross],
                                                               labels[b][cross])),
                        shape=(count, count))
        index = np.asarray(subjects)
        out = np.zeros((len(index), len(index)), dtype=bool)
        for i, s in enumerate(index):
            order = breadth_first_order(dag, labels[s], directed=True,
                                        return_predecessors=False)
            seen = np.zeros(count, dtype=bool)
            seen[order] = True
            out[i] = seen[labels[index]]
        return out


def _rights_tables() -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    out = np.zeros((len(KEY_TYPES), 2), dtype=bool)
    into = np.zeros((len(KEY_TYPES), 2), dtype=bool)
    for t, name in enumerate(KEY_TYPES):
        for ro in (0, 1):
            r = rights_of(name, RO if ro else 0)
            out[t, ro] = bool(r & {"write", "store"})
            into[t, ro] = bool(r & {"read", "fetch", "sense"})
    return out, into


_RIGHTS_OUT, _RIGHTS_IN = _rights_tables()
_MEMORY = [_T[name] for name in ("page", "segment", "node", "fetch", "sense")]


def _unique(values: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """Sorted distinct values (sorting beats numpy's hashing unique here)."""
    if len(values) == 0:
        return values
    values = np.sort(values)
    keep = np.empty(len(values), dtype=bool)
    keep[0] = True
    np.not_equal(values[1:], values[:-1], out=keep[1:])
    return values[keep]


def _code(target: npt.ArrayLike, kt: npt.ArrayLike, db: npt.ArrayLike
          ) -> npt.NDArray[np.int64]:
    """One int64 per key: target << 16 | type << 8 | databyte."""
    return (np.asarray(target, np.int64) << 16) | (np.asarray(kt, np.int64) << 8) | \
        np.asarray(db, np.int64)


def _diminished(codes: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """The sensory versions of keys (codes), DK(0)s dropped."""
    kt, db = (codes >> 8) & 0xFF, codes & 0xFF
    new_kt = _SENSORY_KT[kt, db]
    ok = new_kt >= 0
    return _code(codes[ok] >> 16, new_kt[ok], _SENSORY_DB[kt, db][ok])


def _derived(codes: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """The weaker keys a holder makes from its keys (codes), and the ones it makes
    from those (node → segment → read-only segment), as the reference derives them."""
    t, kt, db = codes >> 16, (codes >> 8) & 0xFF, codes & 0xFF
    node, fetch = kt == NODE, kt == FETCH
    domain, writable = kt == DOMAIN, np.isin(kt, (PAGE, SEGMENT)) & (db & RO == 0)
    tn, dn = t[node], db[node]
    out = [_code(t[writable], kt[writable], db[writable] | RO),
           _code(t[node | fetch], SENSE, db[node | fetch] | 0xC0)]
    for b in (dn, 0):                            # Make…Key: its databyte, or any (0)
        out += [_code(tn, FETCH, b), _code(tn, SEGMENT, b), _code(tn, FRONTEND, b),
                _code(tn, SEGMENT, np.asarray(b) | RO)]
    out += [_code(tn, SENSE, 0xC0), _code(tn, METER, 0)]
    out += [_code(t[domain], START, 0), _code(t[domain], RESUME, FAULT),
            _code(t[domain], RESUME, RETURN)]
    return np.concatenate(out)


def _engine(system: FastAuthority | CapabilityCSR | nx.DiGraph) -> FastAuthority:
    """The fast engine for a CapabilityCSR or a graph (packed first), cached per CSR."""
    if isinstance(system, FastAuthority):
        return system
    csr = system if isinstance(system, CapabilityCSR) else to_csr(system)
    engine = _CACHE.get(id(csr))
    if engine is None or engine.csr is not csr:
        engine = FastAuthority(csr)
        _CACHE.clear()
        _CACHE[id(csr)] = engine
    return engine


_CACHE: dict[int, FastAuthority] = {}


def _rights_objects() -> npt.NDArray[np.object_]:
    table = np.empty((len(KEY_TYPES), 2), dtype=object)
    for t, name in enumerate(KEY_TYPES):
        for ro in (0, 1):
            table[t, ro] = rights_of(name, RO if ro else 0)
    return table


_RIGHTS_OBJECTS = _rights_objects()


def authority_frame(system: FastAuthority | CapabilityCSR | nx.DiGraph, subject: Hashable
                    ) -> pd.DataFrame:
    """:func:`~.authority.authority` by the fast engine: the same rows, ``via`` None.

    >>> from keykos_lab.analysis import random_csr
    >>> csr = random_csr(500, 2_000, seed=3)
    >>> a = authority_frame(csr, csr.vertices[0])
    >>> list(a.columns)
    ['target', 'key_type', 'databyte', 'rights', 'sensory', 'via']
    """
    engine = _engine(system)
    csr = engine.csr
    rows = engine.authority(csr.index_of(subject))
    kt, db = rows[:, 1], rows[:, 2]
    return pd.DataFrame({
        "target": csr.vertices[rows[:, 0]],
        "key_type": pd.Categorical.from_codes(kt, pd.Index(KEY_TYPES)),
        "databyte": db,
        "rights": _RIGHTS_OBJECTS[kt, (db & RO != 0).astype(np.int64)],
        "sensory": sensory_mask(kt, db),
        "via": None})


def flows_frame(system: FastAuthority | CapabilityCSR | nx.DiGraph,
                subjects: Iterable[Hashable] | None = None) -> pd.DataFrame:
    """:func:`~.flow.flows` by the fast engine (default subjects: every domain).

    >>> from keykos_lab.analysis import random_csr
    >>> csr = random_csr(500, 2_000, seed=3)
    >>> flows_frame(csr, csr.vertices[:3]).shape
    (3, 3)
    """
    engine = _engine(system)
    csr = engine.csr
    if subjects is None:
        subjects = csr.vertices[np.flatnonzero(engine.domain)]
    subjects = list(subjects)
    index = [csr.index_of(s) for s in subjects]
    return pd.DataFrame(engine.flows(index), index=subjects, columns=subjects, dtype=bool)
