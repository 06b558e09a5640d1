"""The fast engine on booted systems: system programs as the reference models them.

:class:`BootedAuthority` runs :class:`~.fast.FastAuthority` in rounds. Each round reads
which groups can come to hold a gate to a system program, a node or page range key or
the domain tool, and grants what :class:`.authority.Closure` grants for it
(:func:`.model.behaviour` names each program's behaviour): a bank sells a fresh node
and page, a DC a fresh domain (and identifies its own), a DCC a DC, a KIDC a KID, an
FCC (or FC) a creator's four facets; the domain tool makes domain keys from node keys
and identifies unbranded domains. What a creator makes is a *summary* vertex appended
to the CSR, one per creator and client group (named ``("new", creator, origin)``
as the reference names them, ``origin`` the client group's least domain); summaries
nest at most :data:`.summaries.MAX_SUMMARY_DEPTH` deep. Rounds stop when a round
grants nothing new (each grant only adds authority; the vertices are finite).

A system program's own keys are contents (its domain key's holder reads them), never
used: the engine's ``free`` mask. :meth:`BootedAuthority.flows` answers on the flow
graph with the same treatment of the system programs as :func:`.flow.flow_graph`.

>>> import keykos_lab as kl
>>> from keykos_lab.analysis.convert import to_csr
>>> k = kl.Kernel(); con = k.console
>>> engine = BootedAuthority(to_csr(k.capability_graph()))
>>> rows = engine.authority(engine.csr.index_of(con.root))
>>> ("new", con.target(con["bank"]), con.root) in set(engine.csr.vertices[rows[:, 0]].tolist())
True
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import networkx as nx
import numpy as np
import numpy.typing as npt

from keykos_lab.analysis.convert import KEY_TYPES, SLOT_KINDS, VERTEX_KINDS, CapabilityCSR
from keykos_lab.analysis.fast import FastAuthority, _Grants, _Ints, _unique
from keykos_lab.analysis.model import (
    BUILDER,
    COPY,
    FETCHER,
    LSS_BITS,
    NOCALL,
    REQUESTOR,
    RESTART,
    SYSTEM_PROGRAMS,
    behaviour,
    factory_parts,
)
from keykos_lab.analysis.summaries import origin, summary

_T = {name: i for i, name in enumerate(KEY_TYPES)}
FETCH = _T["fetch"]
NODE, PAGE, START, RESUME, DOMAIN = (_T[t] for t in ("node", "page", "start", "resume", "domain"))
SEGMENT, FRONTEND = _T["segment"], _T["frontend"]
DOMTOOL, NODE_RANGE, PAGE_RANGE = _T["domtool"], _T["node_range"], _T["page_range"]
FAULT = 4
_KIND = {name: i for i, name in enumerate(VERTEX_KINDS)}
#: Behaviours whose gate makes something (:meth:`.authority.Closure._gate`).
CREATORS = ("bank", "dc", "dcc", "kidc", "creator", "factory")
#: The behaviour of what each creator makes.
MAKES = {"bank": "container", "dc": "free", "dcc": "dc", "kidc": "kid", "creator": "creator"}


class BootedAuthority:
    """Authority on a booted system: :class:`~.fast.FastAuthority` with the system programs
    modelled, in rounds; ``csr`` is the system with the summary vertices appended."""

    def __init__(self, csr: CapabilityCSR, max_rounds: int = 64) -> None:
        self.base = csr
        n0 = self.n0 = csr.n_vertices
        if n0 >= 1 << 23:
            raise ValueError("BootedAuthority takes systems of fewer than 2**23 vertices")
        G = _neighbourhood(csr)
        self._G = G
        names = csr.vertices.tolist()
        self.names: list[Hashable] = names
        self.role: list[str] = [
            behaviour(G, v) if program in SYSTEM_PROGRAMS else ("free" if kind == 0 else "other")
            for v, kind, program in zip(
                names,
                csr.kind.tolist(),
                csr.program.tolist() if csr.program is not None else [None] * n0,
            )
        ]
        self.kinds: list[int] = csr.kind.tolist()
        self.brand = np.full(n0, -1, dtype=np.int64)
        brand = csr.slot_kind == SLOT_KINDS.index("brand")
        self.brand[csr.sources()[brand]] = csr.indices[brand]
        self._summaries: dict[tuple[str, int, Hashable], int] = {}
        self._rows: list[_Ints] = [np.empty((0, 4), dtype=np.int64)]  # granted keys
        self._buffer: list[tuple[int, int, int, int]] = []
        self._joins: set[tuple[int, int]] = set()
        self._reads: set[tuple[int, int]] = set()
        self._sensory: set[tuple[int, int]] = set()
        self._parts: dict[int, tuple[Any, list[Any], Any]] = {}
        self._index = {v: i for i, v in enumerate(names)} if csr.vertices.dtype == object else None
        self._dcc = next((i for i, r in enumerate(self.role) if r == "dcc"), -1)
        self._domtool = self._find("misc:domtool")
        core: FastAuthority | None = None
        for _ in range(max_rounds):
            core = self._round(core)
            if not self._grant(core):
                break
        else:  # pragma: no cover - the rounds are finite; this guards a mistake
            raise RuntimeError("the booted fast engine did not settle")
        assert core is not None
        self.core: FastAuthority = core
        self.csr = core.csr
        self.domain = core.domain
        self.free = core.free

    # ----------------------------------------------------------- the rounds
    def _find(self, name: Hashable) -> int:
        if self._index is not None:
            return self._index.get(name, -1)
        try:
            return self.base.index_of(name)
        except ValueError:
            return -1

    def _round(self, last: FastAuthority | None) -> FastAuthority:
        """The engine on the system with the summaries and grants so far, starting from
        the last round's groups and keeper grants (rounds only add: both only grow)."""
        csr = _augmented(self.base, self.names[self.n0 :], self.kinds[self.n0 :])
        n = csr.n_vertices
        free = np.array([r == "free" for r in self.role], dtype=bool)
        grants = _Grants(n)
        groups = None
        rows = [self._keyrows()]
        if last is not None:
            # Roots move up by the vertices added (names stay the least vertex): a root
            # index of the last round, n + d there, is n + d here too (a join's holder
            # can be a domain's root; left as it was, it named a summary instead).
            m = last.n

            def moved(pairs: set[tuple[int, int]]) -> set[tuple[int, int]]:
                return {(a + n - m if a >= m else a, b + n - m if b >= m else b) for a, b in pairs}

            rows.append(last._grants.keys)  # the keepers' grants of the last round
            grants.local |= moved(last._grants.local)
            grants.reads |= moved(last._grants.reads)
            grants.joins |= moved(last._grants.joins)
            old = np.where(last.group >= m, last.group + n - m, last.group)
            groups = np.arange(2 * n)
            groups[:m], groups[n : n + m] = old[:m], old[m:]
        grants.add_rows(np.concatenate(rows))
        grants.commit()
        grants.joins |= self._joins
        grants.reads |= self._reads
        grants.sensory |= self._sensory
        return FastAuthority(csr, free=free, seed=grants, groups=groups)

    def _made(self, creator: int, client: int, role: str, how: str = "new") -> int:
        """The summary of what ``creator`` makes for the group of domain ``client``."""
        name = self.names[creator]
        made = summary(name, self.names[client], how)
        if made is name:  # a summary nested as deep as they go makes itself
            return creator
        key = (how, creator, origin(made))
        found = self._summaries.get(key)
        if found is None:
            found = self._summaries[key] = len(self.names)
            self.names.append(made)
            self.role.append(role)
            self.kinds.append(_KIND["node"] if role == "container" else _KIND["domain"])
        return found

    def _add(self, holder: int, target: int, kt: int, db: int) -> None:
        self._buffer.append((holder, target, kt, db))

    def _keyrows(self) -> _Ints:
        """Every key granted so far: (holder, target, type code, databyte) rows."""
        if self._buffer:
            self._rows.append(np.array(self._buffer, dtype=np.int64).reshape(-1, 4))
            self._buffer = []
        if len(self._rows) > 1:
            rows = np.concatenate(self._rows)
            # One int64 a key (vertices < 2**24): holder, target, type code, databyte.
            code = (rows[:, 0] << 38) | (rows[:, 1] << 14) | (rows[:, 2] << 8) | rows[:, 3]
            _, first = np.unique(code, return_index=True)
            self._rows = [rows[np.sort(first)]]
        return self._rows[0]

    def _grant(self, core: FastAuthority) -> bool:
        """One round of the system programs' rules; True when it granted anything new."""
        before = self._size()
        n2 = 2 * core.n
        pulls_t = core.pulls.T.tocsr()
        rep = core._reps()
        hg, dst, kt, db = core.holder_group, core.dst, core.kt, core.db
        role = np.array(self.role + [""] * (core.n - len(self.role)), dtype=object)

        def reaching(mask: npt.NDArray[np.bool_]) -> _Ints:
            if not mask.any():
                return np.empty(0, dtype=np.int64)
            back = core._reached(pulls_t, _unique(hg[mask]), n2) & core.active
            return np.flatnonzero(back)

        # Gates to creators: a start key, a resume key that delivers, a domain key (which
        # makes start 0, resume 2 and resume 4 keys).
        creator = np.isin(role, CREATORS)[dst]
        gate = creator & ((kt == START) | (kt == RESUME) & core.delivers)
        dom = creator & (kt == DOMAIN)
        pairs = np.concatenate(
            [
                np.stack([dst[gate], db[gate]], axis=1),
                *(np.stack([dst[dom], np.full(int(dom.sum()), b)], axis=1) for b in (0, 2, 4)),
            ]
        )
        dcs: dict[int, set[int]] = {}
        for d in _unique(pairs[:, 0]).tolist():
            r = self.role[d]
            if r in ("creator", "factory"):  # the databyte names the facet
                asked = [(b, _db(gate, dom, db, b)) for b in _unique(pairs[pairs[:, 0] == d, 1])]
            else:
                asked = [(0, gate | dom)]
            for b, mask in asked:
                for g in reaching(mask & (dst == d)).tolist():
                    self._gate(int(rep[g]), d, int(b), r)
                    if r == "dc" and d < self.n0:
                        dcs.setdefault(g, set()).add(d)
        self._segment_calls(core, role, reaching)
        # Node and page range keys (the console's): fresh nodes and pages.
        for kind, made in ((NODE_RANGE, NODE), (PAGE_RANGE, PAGE)):
            for x in _unique(dst[kt == kind]).tolist():
                for g in reaching((kt == kind) & (dst == x)).tolist():
                    s = self._made(x, int(rep[g]), "container")
                    self._add(int(rep[g]), s, made, 0)
        # The domain tool and the DCs identify (Closure._amplify).
        tool = set()
        if self._domtool >= 0:
            tool = set(reaching((kt == DOMTOOL) & (dst == self._domtool) & (db == 0)).tolist())
        for g in sorted(tool | set(dcs)):
            self._amplify(core, g, int(rep[g]), g in tool, dcs.get(g, set()))
        return self._size() != before

    def _size(self) -> tuple[int, ...]:
        sets = (self._joins, self._reads, self._sensory, self.names)
        return (len(self._keyrows()), *map(len, sets))

    def _segment_calls(
        self, core: FastAuthority, role: npt.NDArray[np.object_], reaching: Any
    ) -> None:
        """A call on a red segment key goes to any gate that can be in the red node
        (:meth:`.authority.Closure._call_segment`): to a system program, it is a
        message to it from the caller (a frontend key reaches start keys only)."""
        n, rep = core.n, core._reps()
        hg, dst, kt, db = core.holder_group, core.dst, core.kt, core.db
        red = np.isin(kt, (SEGMENT, FRONTEND)) & (db & (NOCALL | LSS_BITS) == 0)
        if not red.any():
            return
        creator = np.isin(role, CREATORS)[dst]
        gates = creator & ((kt == START) | (kt == RESUME) & core.delivers)
        if not gates.any():
            return
        where = np.where(core.holder >= n, core.holder - n, core.holder)
        for x, fe in _unique_pairs(dst[red], kt[red] == FRONTEND):
            ok = gates & ((kt == START) if fe else True)
            inside = ok & (where == x)
            gx = int(core.group[x])
            if core.active[gx]:
                inside |= ok & core._reached(core.pulls, [gx], 2 * n)[hg]
            if not inside.any():
                continue
            calls = red & (dst == x) & ((kt == FRONTEND) == fe)
            found = np.unique(np.stack([dst[inside], db[inside]], axis=1), axis=0).tolist()
            for g in reaching(calls).tolist():
                for d, b in found:
                    self._gate(int(rep[g]), d, b, str(role[d]))

    def _gate(self, r: int, d: int, db: int, role: str) -> None:
        """What a message from domain ``r``'s group through a gate to ``d`` gives it
        (:meth:`.authority.Closure._gate`)."""
        if role == "factory":
            self._factory(r, d, db)
            return
        made = self._made(d, r, MAKES[role])
        if role == "bank":
            self._add(r, made, NODE, 0)
            self._add(r, made, PAGE, 0)
        elif role == "dc":
            self._add(r, made, DOMAIN, 0)
            self._add(r, d, START, 1)
        elif role == "creator":
            for facet in range(4):  # builder, requestor, fetcher, copy
                self._add(r, made, START, facet)
            if db == BUILDER and d >= self.n0 and self._dcc >= 0:
                self._add(r, self._made(self._dcc, r, "dc"), START, 1)  # GetDC
        else:  # dcc, kidc
            self._add(r, made, START, 0)

    def _factory(self, r: int, f: int, db: int) -> None:
        """A factory's facets (:meth:`.authority.Closure._factory`): the requestor's key
        yields a fresh domain joined to the caller; the others read the components and
        hand out facets, the DC key and (a copy key) a new factory."""
        parts = self._parts.get(f)
        if parts is None:
            found = factory_parts(self._G, self.names[f])
            parts = self._parts[f] = (
                self._triple(found[0]),
                [self._triple(key) for key in found[1]],
                self._triple(found[2]),
            )
        comp, extra, dc = parts
        if comp is None:
            return
        if db == REQUESTOR:
            y = self._made(f, r, "free", how="yield")
            self._add(y, comp[0], FETCH, 0)
            self._add(y, y, DOMAIN, 0)
            if dc is not None:
                self._add(y, *dc)
            keeper = extra[0]
            if (
                keeper is not None
                and keeper[1] in (START, RESUME)
                and self.role[keeper[0]] == "free"
            ):
                self._add(keeper[0], y, DOMAIN, 0)
                self._add(keeper[0], y, RESUME, FAULT)
            self._joins.add((r, y))
            return
        self._reads.add((r, comp[0]))
        for key in extra:
            if key is not None:
                self._add(r, *key)
        facets = {BUILDER: (REQUESTOR, FETCHER, COPY), FETCHER: (REQUESTOR, FETCHER)}
        for facet in facets.get(db, ()):
            self._add(r, f, START, facet)
        if db == BUILDER:
            if dc is not None:
                self._add(r, *dc)
            self._sensory.add((comp[0], r))  # complete: sensory installs only
        if db == COPY:
            made = self._made(f, r, "creator")
            for facet in range(4):
                self._add(r, made, START, facet)

    def _triple(self, key: tuple[Hashable, str, int] | None) -> tuple[int, int, int] | None:
        """A (target, key_type, databyte) as (vertex index, type code, databyte)."""
        return None if key is None else (self._find(key[0]), _T[key[1]], int(key[2]))

    def _amplify(self, core: FastAuthority, g: int, r: int, tool: bool, dcs: set[int]) -> None:
        """Domain keys a group makes with the domain tool (from node keys) and its DCs
        (from start and resume keys to their domains); the tool identifies unbranded
        domains of the graph (a node key)."""
        full = core._reached(core.pulls, [g], 2 * core.n)
        seen = full[core.holder_group]
        dst, kt, db = core.dst, core.kt, core.db
        found = []
        if tool:
            found.append((_unique(dst[seen & (kt == NODE)]), DOMAIN))
        gates = seen & ((kt == START) | (kt == RESUME) & (db != RESTART) | (kt == DOMAIN))
        callers = core._doms[(full & core.calling)[core.group[core._doms]]]
        targets = _unique(np.concatenate([dst[gates], callers]))
        targets = targets[targets < self.n0]  # summaries have no brand and are not identified
        brand = self.brand[targets]
        if tool:
            unbranded = (brand < 0) & (self.base.kind[targets] == _KIND["domain"])
            found.append((targets[unbranded], NODE))
        amplifiers = list(dcs)
        if tool:
            amplifiers += dst[seen & (kt == DOMAIN) & (db == 0)].tolist()
        found.append((targets[(brand >= 0) & np.isin(brand, amplifiers)], DOMAIN))
        for x, kind in found:
            self._rows.append(
                np.stack(
                    [np.full(len(x), r), x, np.full(len(x), kind), np.zeros(len(x), np.int64)],
                    axis=1,
                )
            )

    # --------------------------------------------------------------- answers
    def authority(self, subject: int) -> npt.NDArray[np.int64]:
        """:meth:`.fast.FastAuthority.authority` on the system with its summaries."""
        return self.core.authority(subject)

    def flow_graph(self) -> Any:
        """:meth:`.fast.FastAuthority.flow_graph` with the system programs as
        :func:`.flow.flow_graph` treats them: gates carry messages both ways to free
        domains and KIDs only (a bank, DC, DCC, KIDC or SBT passes nothing on); a
        factory or creator answers every holder of a gate to it (KT), its builder's
        holder assigns it values, and it gives each yield and copy its ordinal."""
        core = self.core
        n = core.n
        role = np.array(self.role + ["other"] * (n - len(self.role)), dtype=object)
        talks = np.isin(role, ("free", "kid")) & core.domain
        W, Rf = n, 5 * n
        hg, dst, kt, db = core.holder_group, core.dst, core.kt, core.db
        gate = np.isin(role, ("factory", "creator"))[dst] & ((kt == START) | (kt == RESUME))
        builder = gate & (db == BUILDER)
        # What a creator made hears its ordinal once some subject holds a key to it (a
        # creator reached only as a segment's keeper is not: flow._factory_flows).
        held = core._reached(core.pulls, np.flatnonzero(core.active), 2 * n)[hg]
        asked = set(dst[gate & held].tolist())
        made = [
            (creator, made)
            for (how, creator, _), made in self._summaries.items()
            if how in ("yield", "new") and creator in asked
        ]
        m = np.array(made, dtype=np.int64).reshape(-1, 2)
        a = np.concatenate([W + hg[builder], dst[gate], m[:, 0]])
        b = np.concatenate([dst[builder], Rf + hg[gate], m[:, 1]])
        return core.flow_graph(talks, (a, b))

    def flows(self, subjects: npt.ArrayLike) -> npt.NDArray[np.bool_]:
        """:meth:`.fast.FastAuthority.flows` on :meth:`flow_graph`."""
        self.flow_graph()
        return self.core.flows(subjects)

    def memory(self, subject: int) -> tuple[_Ints, npt.NDArray[np.bool_]]:
        """:meth:`.fast.FastAuthority.memory` on the system with its summaries."""
        return self.core.memory(subject)


def _db(
    gate: npt.NDArray[np.bool_], dom: npt.NDArray[np.bool_], db: _Ints, b: int
) -> npt.NDArray[np.bool_]:
    """Keys that are a gate with databyte ``b`` (a domain key makes 0, 2 and 4)."""
    return gate & (db == b) | (dom if b in (0, 2, 4) else np.zeros_like(dom))


def _unique_pairs(a: _Ints, b: npt.NDArray[np.bool_]) -> list[tuple[int, bool]]:
    """The distinct (value, flag) pairs."""
    return sorted({(int(x), bool(f)) for x, f in zip(a.tolist(), b.tolist())})


def _neighbourhood(csr: CapabilityCSR) -> nx.MultiDiGraph:
    """The system programs' domains, what their keys designate and those vertices' keys,
    as a graph: enough for :func:`.model.behaviour` and :func:`.model.factory_parts`."""
    G: nx.MultiDiGraph = nx.MultiDiGraph()
    if csr.program is None:
        return G
    system = np.flatnonzero([p in SYSTEM_PROGRAMS for p in csr.program.tolist()])
    edges = [np.arange(csr.indptr[i], csr.indptr[i + 1]) for i in system.tolist()]
    reached = csr.indices[np.concatenate(edges or [np.empty(0, np.int64)])]
    holders = _unique(np.concatenate([system, reached.astype(np.int64)]))
    names, kinds, programs = csr.vertices, csr.kind, csr.program
    for i in holders.tolist():
        for e in range(int(csr.indptr[i]), int(csr.indptr[i + 1])):
            j = int(csr.indices[e])
            G.add_edge(
                names[i],
                names[j],
                key_type=KEY_TYPES[csr.key_type[e]],
                databyte=int(csr.databyte[e]),
                slot=int(csr.slot[e]),
                slot_kind=SLOT_KINDS[csr.slot_kind[e]],
            )
    for v in list(G):
        i = csr.index_of(v)
        G.nodes[v].update(kind=VERTEX_KINDS[kinds[i]], program=programs[i])
    return G


def _augmented(csr: CapabilityCSR, names: list[Hashable], kinds: list[int]) -> CapabilityCSR:
    """``csr`` with vertices ``names`` (of ``kinds``) appended, holding no keys."""
    if not names:
        return csr
    m = len(names)
    vertices = np.empty(csr.n_vertices + m, dtype=object)
    vertices[: csr.n_vertices] = csr.vertices
    for i, v in enumerate(names):
        vertices[csr.n_vertices + i] = v
    extra = np.full(m, None, dtype=object)
    return CapabilityCSR(
        vertices,
        np.concatenate([csr.kind, np.asarray(kinds, dtype=np.int8)]),
        np.concatenate([csr.indptr, np.full(m, csr.indptr[-1])]),
        csr.indices,
        csr.key_type,
        csr.databyte,
        csr.slot,
        csr.slot_kind,
        csr.rights,
        csr.sensory,
        None if csr.label is None else np.concatenate([csr.label, extra]),
        None if csr.program is None else np.concatenate([csr.program, extra]),
    )
